package serve

import (
	"charm.land/ssh"
	"context"
	"image/color"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui"
)

// panicky is the playground with a fault: "☠" panics in Update, "☢" returns
// a command that panics.
type panicky struct{ tea.Model }

func (p *panicky) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.Text {
		case "☠":
			panic("update \x1b]0;owned\a panic")
		case "☢":
			return p, func() tea.Msg { panic("command panic") }
		}
	}
	m, cmd := p.Model.Update(msg)
	p.Model = m
	return p, cmd
}

// reliability 19: a panic in one session (in Update, or in a command) ends
// that session only, logged with its id; another session goes on working.
func TestPanicEndsOnlyItsSession(t *testing.T) {
	t.Parallel()
	e := startEnvServer(t, func(s *Server) {
		s.newModel = func(c ui.Config) tea.Model { return &panicky{ui.New(c)} }
	})
	victim := e.openTerm("victim", 100, 30)
	bomb := e.openTerm("bomb", 100, 30)
	other := e.openTerm("other", 100, 30)
	for _, tm := range []*term{victim, bomb, other} {
		tm.waitFor("the playground", contains("parameters"))
	}
	victimID := e.session("victim").id
	victim.send("☠")
	got := victim.waitClosed(5 * time.Second)
	if !strings.Contains(got, "internal error") || !strings.Contains(got, victimID) {
		t.Fatalf("the viewer was not told: %q", got[max(0, len(got)-300):])
	}
	line := e.logs.waitLog(t, "msg=panic", "session="+victimID, "in=update")
	if strings.ContainsRune(line, 0x1b) {
		t.Fatalf("the panic value reached the log raw: %q", line)
	}
	bomb.send("☢")
	bomb.waitClosed(5 * time.Second)
	e.logs.waitLog(t, "msg=panic", "in=command")

	other.send("still fine")
	other.send("\x12")
	other.waitFor("the other session's run", func(s string) bool { return strings.Contains(s, "done in") })
}

// A model that panics while being built fails that session only.
func TestPanicBuildingTheModel(t *testing.T) {
	t.Parallel()
	var built atomic.Int32
	e := startEnvServer(t, func(s *Server) {
		s.newModel = func(c ui.Config) tea.Model {
			if built.Add(1) == 1 {
				panic("the first model cannot be built")
			}
			return ui.New(c)
		}
	})
	s, err := e.dial(clientConfig("first", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	s.Stderr = &stderr
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	_ = s.Wait()
	if !strings.Contains(stderr.String(), "internal error") {
		t.Fatalf("the viewer was not told: %q", stderr.String())
	}
	e.logs.waitLog(t, "msg=panic", "in=new", "user=first")
	e.openTerm("second", 100, 30).waitFor("the next session's playground", contains("parameters"))
}

// reliability 15: the idle timer counts keystrokes only: a session that
// receives a stream but sends nothing is closed, and told why; typing keeps
// one open.
func TestIdleTimerIgnoresOutput(t *testing.T) {
	t.Parallel()
	stream := newStreamSampler(10 * time.Millisecond)
	e := startEnv(t, func(c *Config) { c.Sampler, c.Limits.IdleTimeout = stream, 600*time.Millisecond })
	busy := e.openTerm("typist", 100, 30)
	// The typist types from the moment it is in, however long the rest of
	// the test takes to set up on a loaded machine.
	stop, typing := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				typing <- nil
				return
			case <-tick.C:
				if _, err := io.WriteString(busy.stdin, "k"); err != nil {
					typing <- err
					return
				}
			}
		}
	}()
	busy.waitFor("the playground", contains("parameters"))
	watcher := e.openTerm("watcher", 100, 30)
	watcher.waitFor("the playground", contains("parameters"))
	watcher.send("go")
	watcher.send("\x12")
	<-stream.started
	got := watcher.waitClosed(5 * time.Second)
	if !strings.Contains(got, "without a keystroke") {
		t.Fatalf("closed without saying why: %q", got[max(0, len(got)-200):])
	}
	select {
	case <-stream.cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the idle session's run was not cancelled")
	}
	time.Sleep(700 * time.Millisecond) // longer than the idle timeout, still typing
	close(stop)
	if err := <-typing; err != nil {
		t.Fatalf("a session that was typing in was closed as idle: %v", err)
	}
	select {
	case <-busy.done:
		t.Fatal("a session that was typing in was closed as idle")
	default:
	}
	e.logs.waitLog(t, "msg=\"session end\"", "user=watcher", "reason=idle")
}

// reliability 15: a session has a maximum length.
func TestMaxSessionLength(t *testing.T) {
	t.Parallel()
	e := startEnv(t, func(c *Config) { c.Limits.MaxSession = 400 * time.Millisecond })
	tm := e.openTerm("long", 100, 30)
	tm.waitFor("the playground", contains("parameters"))
	got := tm.waitClosed(5 * time.Second)
	if !strings.Contains(got, "a session lasts at most 400ms") {
		t.Fatalf("closed without saying why: %q", got[max(0, len(got)-200):])
	}
}

// A viewer that stops reading cannot grow the server's memory: its pending
// output stays within the bound (frames are dropped whole), and once it reads
// again it gets the current screen. The client here reads its connection
// through a gate, with a small socket buffer, so closing the gate soon
// stalls the server's writes.
func TestSlowReaderDropsFrames(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	stream := newStreamSampler(2 * time.Millisecond)
	e := startEnvServer(t, func(s *Server) {
		// Small socket buffers on both ends: the stall reaches the server
		// after kilobytes, not after the kernel has taken megabytes.
		accept := s.ssh.ConnCallback
		s.ssh.ConnCallback = func(ctx ssh.Context, c net.Conn) net.Conn {
			_ = c.(*net.TCPConn).SetWriteBuffer(8 << 10)
			return accept(ctx, c)
		}
	}, func(c *Config) { c.Sampler, c.Limits.OutputBuffer = stream, limit })
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.(*net.TCPConn).SetReadBuffer(8 << 10)
	gate := &gateConn{Conn: raw}
	gate.cond = sync.NewCond(&gate.mu)
	conn, chans, reqs, err := gossh.NewClientConn(gate, "pipe", clientConfig("stalled", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	client := gossh.NewClient(conn, chans, reqs)
	t.Cleanup(func() {
		gate.set(false)
		_ = client.Close()
	})
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := startTerm(t, s, termOpts{term: "xterm-256color"}, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor("the playground", contains("parameters"))
	ss := e.session("stalled")
	tm.send("flood")
	tm.send("\x12")
	<-stream.started

	gate.set(true)
	// Every resize is a full redraw (window changes ask for no reply, so
	// they still reach the server).
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ss.out.Stats().DroppedFrames < 3; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("nothing dropped: %+v", ss.out.Stats())
		}
		if err := s.WindowChange(30, 99+i%2); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more frames come and go
	st := ss.out.Stats()
	t.Logf("stalled after %s: %+v", 10*time.Second-time.Until(deadline), st)
	if st.MaxPending > max(limit, st.MaxFrame) || st.MaxFrame > 64<<10 {
		t.Fatalf("pending output grew to %d bytes (bound %d, largest frame %d)", st.MaxPending, limit, st.MaxFrame)
	}

	// Reading again, at the size it had: the screen is whole and current.
	if err := s.WindowChange(30, 100); err != nil {
		t.Fatal(err)
	}
	gate.set(false)
	tm.waitFor("a whole screen after the backlog", func(scr string) bool {
		lines := strings.Split(scr, "\n")
		return len(lines) == 30 && strings.HasPrefix(lines[0], " twinkle") && strings.Contains(scr, "parameters") &&
			strings.Contains(lines[28], "running 2 samples") && strings.Contains(lines[29], "ctrl+c quit") && !ss.out.Dropped()
	})
	// And it follows the stream again: the token count moves on.
	count := regexp.MustCompile(`(\d+) tok · `)
	first := count.FindString(tm.screen())
	tm.waitFor("the stream going on", func(scr string) bool { return count.FindString(scr) != first })
}

// gateConn stops reading while its gate is shut.
type gateConn struct {
	net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
}

func (g *gateConn) set(paused bool) {
	g.mu.Lock()
	g.paused = paused
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *gateConn) Read(p []byte) (int, error) {
	g.mu.Lock()
	for g.paused {
		g.cond.Wait()
	}
	g.mu.Unlock()
	return g.Conn.Read(p)
}

// reliability 10 and the shutdown: SIGINT/SIGTERM (the context ending) tells
// every viewer, cancels their runs (the model server sees the disconnect),
// and Serve returns within a few seconds.
func TestShutdownTellsViewersAndCancelsRuns(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	f := vllmtest.NoFault()
	f.StallAt = 2
	e.vllm.SetDefault(vllmtest.Script{Fault: &f})
	a := e.openTerm("a", 100, 30)
	b := e.openTerm("b", 100, 30)
	a.waitFor("the playground", contains("parameters"))
	b.waitFor("the playground", contains("parameters"))
	a.send("stall")
	a.send("\x12")
	a.waitFor("the stream, stalled after its first token", contains("1 tok"))
	start := time.Now()
	e.stop()
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	for _, tm := range []*term{a, b} {
		if got := tm.waitClosed(2 * time.Second); !strings.Contains(got, "the server is shutting down") {
			t.Fatalf("viewer not told: %q\n%s", got[max(0, len(got)-200):], e.logs.String())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.vllm.WaitDisconnect(ctx, 1); err != nil {
		t.Fatalf("the run's request was not cancelled: %v\n%s", err, e.logs.String())
	}
	if _, err := e.dial(clientConfig("late", e.allowed)); err == nil {
		t.Fatal("a connection was accepted after shutdown")
	}
}

// Each program has its own colour profile (from the client's TERM and
// environment) and its own background (from its terminal's answer): one
// viewer's light terminal does not change another's.
func TestColoursArePerSession(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	open := func(user string, o termOpts) *term {
		tm, err := e.tryTerm(user, 100, 30, o)
		if err != nil {
			t.Fatal(err)
		}
		tm.waitFor("the playground", contains("parameters"))
		return tm
	}
	truecolor := map[string]string{"COLORTERM": "truecolor"}
	dark := open("dark", termOpts{env: truecolor, bg: color.Black})
	light := open("light", termOpts{env: truecolor, bg: color.White})
	ansi256 := open("256", termOpts{})

	direct := regexp.MustCompile(`\x1b\[[0-9;]*38;2;`)
	indexed := regexp.MustCompile(`\x1b\[[0-9;]*38;5;`)
	time.Sleep(300 * time.Millisecond) // the background answers have been applied
	if raw := ansi256.raw.String(); direct.MatchString(raw) || !indexed.MatchString(raw) {
		t.Fatal("xterm-256color without COLORTERM got 24-bit colour")
	}
	if !direct.MatchString(dark.raw.String()) {
		t.Fatal("COLORTERM=truecolor got no 24-bit colour")
	}
	// The "temperature" label is drawn in the palette's subtle colour.
	fg := func(tm *term) color.Color {
		for y, line := range strings.Split(tm.screen(), "\n") {
			if x := strings.Index(line, "temperature"); x >= 0 {
				return tm.emu.CellAt(len([]rune(line[:x])), y).Style.Fg
			}
		}
		t.Fatal("no temperature label")
		return nil
	}
	want := func(isDark bool) color.Color {
		p, _ := themes.Builtin(themes.DefaultName, isDark)
		st := themes.NewStyles(p, isDark)
		return st.Slider.Label.GetForeground()
	}
	same := func(a, b color.Color) bool {
		if a == nil || b == nil {
			return a == b
		}
		ar, ag, ab, _ := a.RGBA()
		br, bg, bb, _ := b.RGBA()
		return ar>>8 == br>>8 && ag>>8 == bg>>8 && ab>>8 == bb>>8
	}
	if !same(fg(light), want(false)) || !same(fg(dark), want(true)) || same(want(false), want(true)) {
		t.Fatalf("labels: light %v (want %v), dark %v (want %v)", fg(light), want(false), fg(dark), want(true))
	}
}

// reliability 3: client-supplied fields reach the log quoted, never raw.
func TestLogsQuoteClientFields(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	evil := "eve\x1b]0;owned\a\x1b[2J"
	tm, err := e.tryTerm(evil, 100, 30, termOpts{term: "xterm\x1b[31m"})
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor("the playground", contains("parameters"))
	line := e.logs.waitLog(t, "msg=session ", `user="eve\x1b]0;owned\a\x1b[2J"`)
	if !strings.Contains(line, `term="xterm\x1b[31m"`) {
		t.Fatalf("TERM not quoted: %s", line)
	}
	if strings.ContainsRune(e.logs.String(), 0x1b) || strings.ContainsRune(e.logs.String(), 0x07) {
		t.Fatal("a control character reached the log raw")
	}
	tm.send("hi")
	tm.send("\x12")
	tm.waitFor("a run", contains("done in"))
	e.logs.waitLog(t, "msg=run ")
	if len(e.vllm.Requests()) == 0 || strings.Contains(e.logs.String(), testAPIKey) {
		t.Fatal("the API key was logged (or no run was made to check)")
	}
}
