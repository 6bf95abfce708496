package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// program is the real Bubble Tea program driven through a virtual terminal
// (x/vt): keys go in as the bytes a terminal sends, the screen is what the
// terminal shows after parsing the program's output.
type program struct {
	t     *testing.T
	emu   *vt.SafeEmulator
	p     *tea.Program
	done  chan error
	mu    sync.Mutex
	title string
}

func startProgram(t *testing.T, m *Model, w, h int) *program {
	t.Helper()
	emu := vt.NewSafeEmulator(w, h)
	pr := &program{t: t, emu: emu, done: make(chan error, 1)}
	emu.SetCallbacks(vt.Callbacks{Title: func(s string) {
		pr.mu.Lock()
		pr.title = s
		pr.mu.Unlock()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	// The terminal answers queries (background colour) by writing to its
	// input while the program is writing output to it; a queue between them
	// keeps the two from waiting on each other, as a real PTY's buffer does.
	in, inW := io.Pipe()
	queue := make(chan []byte, 4096)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := emu.Read(buf)
			if n > 0 {
				queue <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				close(queue)
				return
			}
		}
	}()
	go func() {
		for b := range queue {
			if _, err := inW.Write(b); err != nil {
				break
			}
		}
		inW.Close()
	}()
	pr.p = tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(onlcr{emu}), tea.WithWindowSize(w, h),
		tea.WithColorProfile(colorprofile.TrueColor), tea.WithoutSignals(), tea.WithContext(ctx))
	stopped := make(chan struct{})
	go func() {
		_, err := pr.p.Run()
		close(stopped)
		pr.done <- err
	}()
	// Tests that start a program are not parallel: a program's teardown takes
	// a moment, and run first (before the parallel tests) it is over before
	// goleak looks.
	t.Cleanup(func() {
		cancel()
		pr.p.Kill()
		// Not emu.Close: it flips an unsynchronised flag the reader goroutine reads.
		_ = emu.InputPipe().(io.Closer).Close()
		// A reply the terminal sends as the program stops is not waited on.
		_ = in.Close()
		select {
		case <-stopped:
		case <-time.After(3 * time.Second):
			t.Error("program did not stop")
		}
	})
	pr.waitFor("first frame", func(s string) bool { return strings.Contains(s, "parameters") })
	return pr
}

// onlcr does what a PTY's output processing does: Bubble Tea, seeing no TTY,
// moves to the next line with a bare '\n' and counts on the line discipline
// to add the '\r' (ONLCR); the emulator is the raw terminal behind it.
type onlcr struct{ w io.Writer }

func (o onlcr) Write(p []byte) (int, error) {
	if _, err := o.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (pr *program) screen() string { return ansi.Strip(pr.emu.Render()) }

func (pr *program) waitFor(what string, cond func(screen string) bool) string {
	pr.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := pr.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			pr.t.Fatalf("waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (pr *program) key(code rune, mod uv.KeyMod) {
	pr.emu.SendKey(uv.KeyPressEvent{Code: code, Mod: mod})
	// Give the program a moment so separate keys are not read as one
	// sequence (esc followed by a key reads as alt+key in every terminal).
	time.Sleep(10 * time.Millisecond)
}

func (pr *program) typeText(s string) {
	pr.emu.SendText(s)
	time.Sleep(10 * time.Millisecond)
}

func countOf(s, sub string) int { return strings.Count(s, sub) }

// tokCount matches a column footer's token count.
var tokCount = regexp.MustCompile(`\d+ tok\b`)

// The whole loop a person goes through: type a prompt, move sliders with keys
// and the mouse, edit values exactly, run, and the request the server got
// matches every slider.
func TestE2ESlidersReachTheServer(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 160, 48, func(c *Config) { c.Prompt = ""; c.Options.N = 1 })
	pr := startProgram(t, m, 160, 48)

	pr.typeText("Tell me a story")
	pr.key(uv.KeyTab, 0) // prompt -> parameters (completion mode)
	pr.waitFor("panel focus", func(s string) bool { return strings.Contains(s, "▸ temperature") })
	pr.key(uv.KeyLeft, 0)    // temperature 0.95
	pr.typeText("\x1b[1;2D") // shift+left as xterm sends it (the emulator has no modified arrows): 0.75
	pr.key(uv.KeyDown, 0)    // top_p
	pr.typeText("0.9")       // typing a number edits exactly
	pr.key(uv.KeyEnter, 0)
	pr.key(uv.KeyDown, 0)    // top_k
	pr.key(uv.KeyRight, 0)   // off -> 1
	pr.typeText("\x1b[1;2C") // shift+right: 1 -> 2
	pr.key(uv.KeyDown, 0)    // repetition_penalty
	pr.key(uv.KeyRight, 0)   // 1.01
	pr.key(uv.KeyDown, 0)    // max_tokens
	pr.key(uv.KeyEnter, 0)
	pr.typeText("12")
	pr.key(uv.KeyEnter, 0)
	pr.key(uv.KeyDown, 0) // seed
	pr.typeText("777")    // typing a seed locks it
	pr.key(uv.KeyEnter, 0)
	pr.key(uv.KeyDown, 0) // stop
	pr.key(uv.KeyEnter, 0)
	pr.typeText(`"\n\n" "END" 7`)
	pr.key(uv.KeyEnter, 0)
	pr.key(uv.KeyDown, 0) // samples
	pr.key(uv.KeyRight, 0)
	pr.key(uv.KeyRight, 0) // 3
	pr.key(uv.KeyDown, 0)  // logprobs
	pr.key(uv.KeyLeft, 0)  // 4
	pr.waitFor("values on screen", func(s string) bool {
		return strings.Contains(s, `"\n\n" "END" 7`) && strings.Contains(s, "[lock] 777")
	})
	pr.key('r', uv.ModCtrl)
	pr.waitFor("3 finished samples", func(s string) bool { return strings.Contains(s, "done in") && countOf(s, "· seed 7") == 3 })

	reqs := srv.Requests()
	var body map[string]any
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/completions") {
			body = r.Fields()
		}
	}
	if body == nil {
		t.Fatalf("no completion request recorded: %+v", reqs)
	}
	want := map[string]any{
		"prompt": "Tell me a story", "temperature": 0.75, "top_p": 0.9, "top_k": 2.0,
		"repetition_penalty": 1.01, "max_tokens": 12.0, "seed": 777.0, "n": 3.0, "logprobs": 4.0,
		"model": "twinkle-test/tiny-chat",
	}
	for k, v := range want {
		if got := body[k]; got != v {
			t.Errorf("request field %s = %#v, want %#v", k, got, v)
		}
	}
	stop, _ := json.Marshal(body["stop"])
	ids, _ := json.Marshal(body["stop_token_ids"])
	if string(stop) != `["\n\n","END"]` || string(ids) != `[7]` {
		t.Errorf("stop %s stop_token_ids %s", stop, ids)
	}
	pr.mu.Lock()
	title := pr.title
	pr.mu.Unlock()
	if !strings.Contains(title, "twinkle-test/tiny-chat") || !strings.Contains(title, "done") {
		t.Errorf("window title %q", title)
	}
}

// Clicking on a slider's bar sets it; the wheel steps it.
func TestE2EMouseSetsSliders(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 120, 40, nil)
	r := m.rects.panel // read before the program owns the model
	pr := startProgram(t, m, 120, 40)
	bx, bw := barGeometry(r.W)
	row := r.Y // temperature
	pr.emu.SendMouse(uv.MouseClickEvent{X: r.X + bx + bw - 1, Y: row, Button: uv.MouseLeft})
	pr.emu.SendMouse(uv.MouseReleaseEvent{X: r.X + bx + bw - 1, Y: row, Button: uv.MouseLeft})
	pr.waitFor("temperature at max", func(s string) bool { return strings.Contains(s, "2.00") })
	pr.emu.SendMouse(uv.MouseWheelEvent{X: r.X + 2, Y: row, Button: uv.MouseWheelDown})
	pr.waitFor("temperature one step down", func(s string) bool { return strings.Contains(s, "1.95") })
}

// Cancel mid-stream keeps the text and marks every column; resizing while
// streaming re-lays the screen without losing anything; the server sees the
// request go away.
func TestE2ECancelAndResizeMidStream(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, nil)
	f := vllmtest.NoFault()
	f.StallAt = 8
	srv.Push(vllmtest.Script{Fault: &f})
	pr := startProgram(t, m, 120, 40)
	pr.key('r', uv.ModCtrl)
	before := pr.waitFor("streaming", func(s string) bool {
		return strings.Contains(s, "running 4 samples") && len(tokCount.FindAllString(s, -1)) == 4
	})
	words := strings.Fields(firstCellBelow(before, "#1 · seed"))
	if len(words) == 0 {
		t.Fatalf("no text streamed:\n%s", before)
	}

	pr.emu.Resize(90, 30)
	pr.p.Send(tea.WindowSizeMsg{Width: 90, Height: 30})
	after := pr.waitFor("re-laid at 90 columns", func(s string) bool {
		lines := strings.Split(s, "\n")
		return len(lines) >= 30 && strings.Contains(s, "samples · 4") && strings.Contains(s, "running 4 samples")
	})
	for _, w := range words[:min(3, len(words))] {
		if !strings.Contains(after, w) {
			t.Errorf("word %q lost after resize:\n%s", w, after)
		}
	}
	pr.key(uv.KeyEscape, 0)
	pr.waitFor("cancelled badges", func(s string) bool { return strings.Contains(s, "cancelled after") })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.WaitDisconnect(ctx, 1); err != nil {
		t.Fatalf("server never saw the request cancelled: %v", err)
	}
}

// Running again while a run streams cancels the old run first.
func TestE2ERunWhileStreamingReplacesRun(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, nil)
	f := vllmtest.NoFault()
	f.StallAt = 4
	srv.Push(vllmtest.Script{Fault: &f})
	pr := startProgram(t, m, 120, 40)
	pr.key('r', uv.ModCtrl)
	pr.waitFor("streaming", func(s string) bool { return tokCount.MatchString(s) && strings.Contains(s, "running") })
	pr.key('r', uv.ModCtrl)
	pr.waitFor("second run done", func(s string) bool { return strings.Contains(s, "done in") })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.WaitDisconnect(ctx, 1); err != nil {
		t.Fatalf("the first run was not cancelled: %v", err)
	}
}

// Save a session with a key, reopen it with no server: the same samples,
// badges and parameters show.
func TestE2ESaveAndReloadSession(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 120, 40, func(c *Config) {
		c.Params.Stop = params.Stop{Strings: []string{"###"}}
		mt := 20
		c.Params.MaxTokens = &mt
	})
	pr := startProgram(t, m, 120, 40)
	pr.key('r', uv.ModCtrl)
	first := pr.waitFor("run done", func(s string) bool { return strings.Contains(s, "done in") })
	path := filepath.Join(t.TempDir(), "run.json")
	pr.key('s', uv.ModCtrl)
	pr.waitFor("save dialog", func(s string) bool { return strings.Contains(s, "save session to") })
	pr.key('u', uv.ModCtrl) // clear the suggested name
	pr.typeText(path)
	pr.key(uv.KeyEnter, 0)
	pr.waitFor("saved", func(s string) bool { return strings.Contains(s, "session saved") })

	s, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Response.Tokens) != 4 || len(s.Response.Tokens[0]) == 0 {
		t.Fatalf("session lost tokens: %+v", s.Response.Tokens)
	}
	m2 := New(Config{Session: s, SessionPath: "run.json", IsDark: true, Store: store.New(t.TempDir(), t.TempDir())})
	pr2 := startProgram(t, m2, 120, 40)
	second := pr2.waitFor("session shown", func(s string) bool { return strings.Contains(s, "samples · 4") })
	if a, b := samplesBlock(first), samplesBlock(second); a != b {
		t.Errorf("reloaded samples differ:\n--- saved\n%s\n--- reloaded\n%s", a, b)
	}
	if !strings.Contains(second, `"###"`) || !strings.Contains(second, "no server") {
		t.Errorf("reloaded screen:\n%s", second)
	}
}

// firstCellBelow is the text of the sample cell on the line below the one
// holding marker (the first line of that sample's text).
func firstCellBelow(s, marker string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, marker) && i+1 < len(lines) {
			parts := strings.SplitN(lines[i+1], "││", 2)
			if len(parts) == 2 {
				return strings.SplitN(parts[1], "│", 2)[0]
			}
		}
	}
	return ""
}

// samplesBlock is the samples pane of a screen without its timing numbers.
func samplesBlock(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "╮╭"); i >= 0 || strings.Contains(l, "││") {
			parts := strings.SplitN(l, "││", 2)
			if len(parts) == 2 {
				seg := parts[1]
				if k := strings.Index(seg, " · ttft"); k >= 0 {
					seg = seg[:k]
				}
				out = append(out, seg)
			}
		}
	}
	return strings.Join(out, "\n")
}

// Quitting mid-stream, in a program whose context is never cancelled (a
// local run), cancels the request and reads the run's channel to the end, so
// no goroutine is left waiting (TestMain's goleak check would catch it).
func TestE2EQuitMidStream(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, nil)
	m.c.Ctx = context.Background()
	f := vllmtest.NoFault()
	f.StallAt = 6
	srv.Push(vllmtest.Script{Fault: &f})
	pr := startProgram(t, m, 120, 40)
	pr.key('r', uv.ModCtrl)
	pr.waitFor("streaming", func(s string) bool { return tokCount.MatchString(s) })
	pr.key('c', uv.ModCtrl)
	select {
	case err := <-pr.done:
		pr.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("ctrl+c did not quit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.WaitDisconnect(ctx, 1); err != nil {
		t.Fatalf("the request outlived the program: %v", err)
	}
}
