package ui

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbles/v2/spinner"
	bt "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// serverModel is a playground wired to a real openai client and a vllmtest
// server over HTTP, with the clock, seeds and displayed endpoint pinned so
// screens are reproducible.
func serverModel(t testing.TB, w, h int, mutate func(*Config)) (*Model, *vllmtest.Server) {
	t.Helper()
	srv := vllmtest.New()
	t.Cleanup(srv.Close)
	cl, err := openai.New(openai.Config{BaseURL: srv.URL, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(1000)
	// The program's context: cancelled when the test ends, as an SSH
	// session's would be, so runs left streaming are drained and end.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := Config{
		Context:  ctx,
		Sampler:  cl,
		Endpoint: "http://vllm.test:8000/v1",
		API:      params.Completion,
		Params:   params.Default(),
		Options:  params.Options{N: 4},
		Prompt:   "Once upon a time",
		IsDark:   true,
		Now:      func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) },
		NewSeed:  func() int64 { seed += 1000; return seed },
		Store:    store.New(t.TempDir(), t.TempDir()),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m := New(cfg)
	m.Update(bt.WindowSizeMsg{Width: w, Height: h})
	drive(t, m, m.Init())
	t.Cleanup(func() {
		if m.run != nil && m.run.cancel != nil {
			m.run.cancel()
		}
	})
	return m, srv
}

// driver runs commands concurrently, as the program does, and applies their
// messages in order. A command still blocked when a condition holds (a
// stalled stream) stays pending for the next until.
type driver struct {
	t       testing.TB
	m       *Model
	msgs    chan bt.Msg
	pending int
}

func newDriver(t testing.TB, m *Model) *driver {
	return &driver{t: t, m: m, msgs: make(chan bt.Msg, 64)}
}

func (d *driver) exec(c bt.Cmd) {
	if c == nil {
		return
	}
	d.pending++
	go func() { d.msgs <- c() }()
}

// until runs cmd and applies messages until cond holds.
func (d *driver) until(cmd bt.Cmd, cond func() bool) {
	d.t.Helper()
	d.exec(cmd)
	timeout := time.After(5 * time.Second)
	for !cond() {
		if d.pending == 0 {
			d.t.Fatalf("no command left and the condition never held; screen:\n%s", plainScreen(d.m))
		}
		select {
		case msg := <-d.msgs:
			d.pending--
			switch msg := msg.(type) {
			case nil, tea.TickMsg:
			case bt.BatchMsg:
				for _, c := range msg {
					d.exec(c)
				}
			default:
				_, next := d.m.Update(msg)
				d.exec(next)
			}
		case <-timeout:
			d.t.Fatalf("timed out; screen:\n%s", plainScreen(d.m))
		}
	}
}

// driveUntil is until on a fresh driver.
func driveUntil(t testing.TB, m *Model, cmd bt.Cmd, cond func() bool) *driver {
	t.Helper()
	d := newDriver(t, m)
	d.until(cmd, cond)
	return d
}

func allDone(m *Model) func() bool {
	return func() bool { return m.run != nil && m.run.done }
}

func checkGolden(t *testing.T, m *Model) {
	t.Helper()
	content := m.View().Content
	for i, l := range strings.Split(content, "\n") {
		if w := lipglossWidth(l); w != m.c.Width {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, w, m.c.Width, l)
		}
	}
	if n := strings.Count(content, "\n") + 1; n != m.c.Height {
		t.Errorf("screen has %d lines, want %d", n, m.c.Height)
	}
	golden.RequireEqual(t, content)
}

var sizes = []struct{ w, h int }{{120, 40}, {200, 60}}

func TestGoldenIdle(t *testing.T) {
	t.Parallel()
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := serverModel(t, sz.w, sz.h, nil)
			checkGolden(t, m)
		})
	}
}

// Six samples that end every way a sample can end on its own: length, a stop
// string, a stop token id, EOS (vllmtest.Generate's rules for seed 2000).
func TestGoldenFinished(t *testing.T) {
	t.Parallel()
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, srv := serverModel(t, sz.w, sz.h, func(c *Config) {
				mt := 24
				c.Params.MaxTokens = &mt
				c.Params.Stop = params.Stop{Strings: []string{"###"}, TokenIDs: []int{2}}
				c.Options.N = 6
			})
			driveUntil(t, m, m.startRun(), allDone(m))
			want := []string{"length", `stop "###"`, "stop token 2", `stop "###"`, "eos", `stop "###"`}
			for i, c := range m.samples.cols {
				if c.Badge() != want[i] {
					t.Errorf("column %d badge %q, want %q", i, c.Badge(), want[i])
				}
			}
			if len(srv.Requests()) == 0 {
				t.Fatal("server saw no request")
			}
			checkGolden(t, m)
		})
	}
}

func TestGoldenStreaming(t *testing.T) {
	t.Parallel()
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, srv := serverModel(t, sz.w, sz.h, nil)
			f := vllmtest.NoFault()
			f.StallAt = 12 // chunks are interleaved: 3 tokens per sample
			srv.Push(vllmtest.Script{Fault: &f})
			driveUntil(t, m, m.startRun(), func() bool {
				for _, c := range m.samples.cols {
					if c.TokenCount() < 3 {
						return false
					}
				}
				return true
			})
			checkGolden(t, m)
		})
	}
}

func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	t.Run("http400_top_p", func(t *testing.T) {
		m, srv := serverModel(t, 120, 40, nil)
		f := vllmtest.NoFault()
		f.Status, f.Message, f.Type = 400, "top_p must be in (0, 1], got 0.0. (parameter=top_p, value=0.0)", "BadRequestError"
		p := "top_p"
		f.Param = &p
		srv.Push(vllmtest.Script{Fault: &f})
		driveUntil(t, m, m.startRun(), allDone(m))
		if m.panel.Problem("top_p") == "" {
			t.Error("the top_p slider is not marked by the server's error")
		}
		checkGolden(t, m)
	})
	t.Run("inband_and_interrupted", func(t *testing.T) {
		m, srv := serverModel(t, 120, 40, nil)
		f := vllmtest.NoFault()
		f.InBandAt, f.InBandCode, f.Message = 9, 500, "generation failed: CUDA out of memory\x1b]0;pwned\x07"
		srv.Push(vllmtest.Script{Fault: &f})
		driveUntil(t, m, m.startRun(), allDone(m))
		screen := m.View().Content
		if strings.Contains(screen, "\x1b]0;pwned") {
			t.Fatal("a server error reached the screen unsanitized")
		}
		checkGolden(t, m)
	})
	t.Run("closed_without_done", func(t *testing.T) {
		m, srv := serverModel(t, 120, 40, nil)
		f := vllmtest.NoFault()
		f.CloseAt = 6
		srv.Push(vllmtest.Script{Fault: &f})
		driveUntil(t, m, m.startRun(), allDone(m))
		for i, c := range m.samples.cols {
			if c.Badge() != "interrupted" {
				t.Errorf("column %d: badge %q, want interrupted", i, c.Badge())
			}
		}
		checkGolden(t, m)
	})
	t.Run("cancelled", func(t *testing.T) {
		m, srv := serverModel(t, 120, 40, nil)
		f := vllmtest.NoFault()
		f.StallAt = 8
		srv.Push(vllmtest.Script{Fault: &f})
		d := driveUntil(t, m, m.startRun(), func() bool { return len(m.samples.cols) > 0 && m.samples.cols[0].TokenCount() >= 2 })
		d.until(press(m, "esc"), func() bool { return m.run.done })
		for i, c := range m.samples.cols {
			if c.Badge() != "cancelled" {
				t.Errorf("column %d: badge %q, want cancelled", i, c.Badge())
			}
			if c.TokenCount() < 2 {
				t.Errorf("column %d lost its text on cancel", i)
			}
		}
		checkGolden(t, m)
	})
}

func TestGoldenNarrow(t *testing.T) {
	t.Parallel()
	t.Run("too_small_50x14", func(t *testing.T) {
		m, _ := serverModel(t, 50, 14, nil)
		if !strings.Contains(plainScreen(m), "needs at least 60x16") {
			t.Fatalf("no size notice:\n%s", plainScreen(m))
		}
		checkGolden(t, m)
	})
	t.Run("minimum_60x16", func(t *testing.T) {
		m, _ := serverModel(t, 60, 16, nil)
		driveUntil(t, m, m.startRun(), allDone(m))
		checkGolden(t, m)
	})
	t.Run("chat_100x30", func(t *testing.T) {
		m, _ := serverModel(t, 100, 30, func(c *Config) { c.API = params.Chat; c.System = "You are terse." })
		driveUntil(t, m, m.startRun(), allDone(m))
		checkGolden(t, m)
	})
}

func lipglossWidth(s string) int { return ansiWidth(s) }

// Greedy with several samples: marked on both sliders before sending; the
// sampler draws one sample and says why.
func TestGoldenGreedyConflict(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, func(c *Config) { c.Params.Temperature = 0; c.Options.N = 4 })
	if !m.panel.Warned("n") || !m.panel.Warned("temperature") {
		t.Fatal("conflict not shown before sending")
	}
	driveUntil(t, m, m.startRun(), allDone(m))
	if len(m.samples.cols) != 1 {
		t.Fatalf("%d columns for a greedy run", len(m.samples.cols))
	}
	for _, r := range srv.Requests() {
		if f := r.Fields(); f["n"] != nil && f["n"] != 1.0 {
			t.Fatalf("greedy request sent n=%v", f["n"])
		}
	}
	checkGolden(t, m)
}

// The inspector open on the third token of sample 2, with the heatmap on.
func TestGoldenInspector(t *testing.T) {
	t.Parallel()
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := serverModel(t, sz.w, sz.h, func(c *Config) { c.Params.TopK = 3; c.Params.Temperature = 0.7 })
			driveUntil(t, m, m.startRun(), allDone(m))
			m.setFocus(focusSamples)
			m.Update(keyMsg("right")) // sample 2
			m.Update(keyMsg("i"))
			m.Update(keyMsg("right"))
			m.Update(keyMsg("right"))
			if !m.samples.inspecting || m.samples.focus != 1 || m.samples.cols[1].Cursor != 2 {
				t.Fatalf("inspecting=%v focus=%d cursor=%d", m.samples.inspecting, m.samples.focus, m.samples.cols[1].Cursor)
			}
			for _, c := range m.samples.cols {
				if c.Cursor != 2 {
					t.Fatalf("the cursor is not at the same position in every sample")
				}
			}
			checkGolden(t, m)
		})
	}
}

// Prompt logprobs on: the prompt pane shows the prompt coloured by them once
// focus leaves it.
func TestGoldenPromptHeatmap(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, func(c *Config) { c.Prompt = "The quick brown fox jumps over the lazy dog" })
	m.setFocus(focusParams)
	m.Update(keyMsg("P"))
	driveUntil(t, m, m.startRun(), allDone(m))
	if len(m.prompt.heat.tokens) == 0 {
		t.Fatalf("no prompt tokens; requests: %d", len(srv.Requests()))
	}
	sawPL := false
	for _, r := range srv.Requests() {
		if f := r.Fields(); f["prompt_logprobs"] != nil {
			sawPL = true
			if f["stream"] == true {
				t.Fatal("prompt_logprobs sent on a stream (vLLM refuses it)")
			}
		}
	}
	if !sawPL {
		t.Fatal("no request asked for prompt_logprobs")
	}
	if !strings.Contains(plainScreen(m), "prompt logprobs (tab here to edit)") {
		t.Fatalf("prompt heatmap not shown:\n%s", plainScreen(m))
	}
	checkGolden(t, m)
}

// The same finished screen on a light terminal, and with the high-contrast
// theme: styles come from the theme, so each must draw the whole screen.
func TestGoldenThemes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, theme string
		dark        bool
	}{{"light", "", false}, {"high-contrast-dark", "high-contrast", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := serverModel(t, 120, 40, func(c *Config) { c.IsDark = tc.dark; c.Theme = tc.theme })
			driveUntil(t, m, m.startRun(), allDone(m))
			checkGolden(t, m)
		})
	}
}

// A value being typed into a slider's exact-value editor.
func TestGoldenEditing(t *testing.T) {
	t.Parallel()
	t.Run("number_200x60", func(t *testing.T) {
		m, _ := serverModel(t, 200, 60, nil)
		m.setFocus(focusParams)
		m.panel.Select(panelRow(t, m.panel, "top_p"))
		m.Update(keyMsg("0"))
		m.Update(keyMsg("."))
		m.Update(keyMsg("9"))
		if !m.panel.Editing() || m.panel.input.Value() != "0.9" {
			t.Fatalf("editing %v value %q", m.panel.Editing(), m.panel.input.Value())
		}
		checkGolden(t, m)
	})
	t.Run("letters_in_a_number_120x40", func(t *testing.T) {
		m, _ := serverModel(t, 120, 40, nil)
		m.setFocus(focusParams)
		m.Update(keyMsg("1"))
		m.Update(keyMsg("o"))
		checkGolden(t, m)
	})
	t.Run("empty_stop_string_120x40", func(t *testing.T) {
		m, _ := serverModel(t, 120, 40, nil)
		m.setFocus(focusParams)
		m.panel.Select(panelRow(t, m.panel, "stop"))
		for _, k := range []string{"enter", `"`, "#", `"`, "space", `"`, `"`, "enter"} {
			m.Update(keyMsg(k))
		}
		checkGolden(t, m)
	})
}

var goldenSize = regexp.MustCompile(`(\d+)x(\d+)`)

// Every line of every golden screen is exactly as wide as the screen, and a
// screen named WxH has H lines of W cells: a line one cell too wide pushes
// the terminal's layout out of place and would hide in a diff.
func TestEveryGoldenLineHasTheScreenWidth(t *testing.T) {
	t.Parallel()
	var files []string
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".golden") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 20 {
		t.Fatalf("%d golden files (%v)", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		w, h := ansiWidth(lines[0]), 0
		if sz := goldenSize.FindStringSubmatch(f); sz != nil {
			w, _ = strconv.Atoi(sz[1])
			h, _ = strconv.Atoi(sz[2])
		}
		if h > 0 && len(lines) != h {
			t.Errorf("%s: %d lines, want %d", f, len(lines), h)
		}
		for i, l := range lines {
			if lw := ansiWidth(l); lw != w {
				t.Errorf("%s: line %d is %d cells wide, want %d", f, i+1, lw, w)
			}
		}
	}
}

// 80x24, the terminal's default size, is a first-class size: a run, the
// inspector open, and 16 samples.
func TestGoldenSmall(t *testing.T) {
	t.Parallel()
	t.Run("run_80x24", func(t *testing.T) {
		m, _ := serverModel(t, 80, 24, nil)
		driveUntil(t, m, m.startRun(), allDone(m))
		checkGolden(t, m)
	})
	t.Run("inspector_80x24", func(t *testing.T) {
		m, _ := serverModel(t, 80, 24, func(c *Config) { c.Params.TopK = 3; c.Params.Temperature = 0.7 })
		driveUntil(t, m, m.startRun(), allDone(m))
		m.setFocus(focusSamples)
		m.Update(keyMsg("i"))
		m.Update(keyMsg("right"))
		checkGolden(t, m)
	})
	t.Run("16_samples_80x24", func(t *testing.T) {
		m, _ := serverModel(t, 80, 24, func(c *Config) { c.Options.N = 16 })
		driveUntil(t, m, m.startRun(), allDone(m))
		m.setFocus(focusSamples)
		checkGolden(t, m)
	})
	t.Run("params_80x24", func(t *testing.T) {
		m, _ := serverModel(t, 80, 24, nil)
		driveUntil(t, m, m.startRun(), allDone(m))
		m.setFocus(focusParams)
		checkGolden(t, m)
	})
}

// On a compact screen the parameter panel is one line until it has focus,
// the samples take the width, the inspector leaves them a real column, and
// the legend keeps its scale in every state.
func TestCompactScreen(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 80, 24, func(c *Config) { c.Params.TopK = 3 })
	driveUntil(t, m, m.startRun(), allDone(m))
	legendOK := func(state string) {
		t.Helper()
		lines := strings.Split(plainScreen(m), "\n")
		if l := lines[m.rects.legend.Y]; !strings.Contains(l, "1 .88 .75 .63 .5 .38 .25 .13") {
			t.Errorf("%s: the legend lost its scale: %q", state, l)
		}
	}
	if m.rects.panelOuter.W != 0 || m.rects.samplesOuter.X != 0 || m.rects.samplesOuter.W != 80 {
		t.Fatalf("panel %+v samples %+v", m.rects.panelOuter, m.rects.samplesOuter)
	}
	if l := strings.Split(plainScreen(m), "\n")[1]; !strings.Contains(l, "params temperature 1.00 · top_k 3") {
		t.Fatalf("summary line %q", l)
	}
	legendOK("run")
	// A click on the summary opens the panel; leaving it closes it again.
	m.Update(bt.MouseClickMsg{X: 10, Y: m.rects.summary.Y, Button: bt.MouseLeft})
	if m.focus != focusParams || m.rects.panelOuter.W == 0 || !strings.Contains(plainScreen(m), "rep_penalty") {
		t.Fatalf("the panel did not open:\n%s", plainScreen(m))
	}
	legendOK("panel open")
	m.Update(keyMsg("tab"))
	if m.focus != focusSamples || m.rects.panelOuter.W != 0 {
		t.Fatalf("focus %v panel %+v", m.focus, m.rects.panelOuter)
	}
	m.Update(keyMsg("i"))
	if !m.samples.inspecting || m.samples.grid.Cells[m.samples.focus].W < minColumnW {
		t.Fatalf("inspecting %v, the focused sample is %d cells wide", m.samples.inspecting, m.samples.grid.Cells[m.samples.focus].W)
	}
	legendOK("inspector")
}
