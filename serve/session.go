package serve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/ui"
)

// endReason is why a session ended, when the server ended it.
type endReason int

const (
	endByViewer endReason = iota // quit, or the connection went
	endIdle
	endMaxSession
	endShutdown
	endPanic
)

func (r endReason) String() string {
	return [...]string{"viewer", "idle", "max session", "shutdown", "panic"}[r]
}

// session is one viewer's program and the timers around it.
type session struct {
	id        string
	user      string
	out       *frameWriter
	log       *slog.Logger
	prog      *tea.Program
	runCancel context.CancelFunc

	once   sync.Once
	reason atomic.Int32
	ended  chan struct{}
}

// end stops the session for r: runs are cancelled at once (the backend sees
// the disconnect), the program quits, and the handler tells the viewer why.
func (ss *session) end(r endReason) {
	ss.once.Do(func() {
		ss.reason.Store(int32(r))
		ss.runCancel()
		close(ss.ended)
		if ss.prog != nil { // nil: the model could not even be built
			go ss.prog.Quit()
		}
	})
}

func (s *Server) refuse(sess ssh.Session, log *slog.Logger, what, line string, attrs ...any) {
	log.Info("refused", append([]any{"what", what}, attrs...)...)
	_, _ = io.WriteString(sess.Stderr(), line+"\n")
	_ = sess.Exit(1)
}

// refuseSubsystem answers sftp and every other subsystem.
func (s *Server) refuseSubsystem(sess ssh.Session) {
	s.refuse(sess, s.sessionLog(sess, newID()), "subsystem", "twinkle: the "+sess.Subsystem()+" subsystem is off; this server serves the playground only (ssh without a command)",
		"subsystem", truncate(sess.Subsystem(), 64))
}

func (s *Server) sessionLog(sess ssh.Session, id string) *slog.Logger {
	conn := ""
	if st := stateOf(sess.Context()); st != nil {
		conn = st.id
	}
	return s.log.With("session", id, "conn", conn, "user", truncate(sess.User(), 128), "remote", sess.RemoteAddr().String())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// handle serves a shell session with a PTY; everything else is refused with
// a line saying why.
func (s *Server) handle(sess ssh.Session) {
	id := newID()
	log := s.sessionLog(sess, id)
	if cmd := sess.RawCommand(); cmd != "" {
		s.refuse(sess, log, "exec", "twinkle: commands are not run here; connect without one to open the playground", "command", truncate(cmd, 200))
		return
	}
	pty, winch, ok := sess.Pty()
	if !ok {
		s.refuse(sess, log, "no terminal", "twinkle: the playground needs a terminal; connect with ssh -t")
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.refuse(sess, log, "shutting down", "twinkle: the server is shutting down")
		return
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	key := ""
	if pk := sess.PublicKey(); pk != nil {
		key = gossh.FingerprintSHA256(pk)
	}
	cols, rows := int(clampDim(uint32(pty.Window.Width), maxCols)), int(clampDim(uint32(pty.Window.Height), maxRows))
	log.Info("session", "key", key, "term", pty.Term, "cols", cols, "rows", rows, "client", sess.Context().ClientVersion())
	started := time.Now()

	runCtx, runCancel := context.WithCancel(sess.Context())
	defer runCancel()
	ss := &session{id: id, user: sess.User(), log: log, runCancel: runCancel, ended: make(chan struct{})}

	sampler := newSessionSampler(runCtx, s.shared, log)
	env := append(sess.Environ(), "TERM="+pty.Term)
	onPanic := func(where string, v any, stack []byte) {
		log.Error("panic", "in", where, "value", fmt.Sprint(v), "stack", string(stack))
		ss.end(endPanic)
	}
	model, ok := s.buildModel(s.uiConfig(runCtx, sampler), onPanic)
	if !ok {
		_, _ = io.WriteString(sess.Stderr(), s.goodbye(endPanic, id)+"\n")
		return
	}

	var sink io.Writer = sess
	if st := stateOf(sess.Context()); st != nil && st.rawChannel() != nil {
		sink = st.rawChannel() // frameWriter maps newlines itself; the session's writer would copy each frame twice more
	}
	out := newFrameWriter(sink, s.limits.OutputBuffer)
	ss.out = out
	if s.onOutput != nil {
		user := sess.User()
		out.onWrite = func(p []byte, at time.Time) { s.onOutput(user, p, at) }
	}
	in := &activityReader{r: sess, ended: ss.ended}
	in.touch()

	g := newGuard(model, onPanic)
	quiet := quietReader{done: make(chan struct{})}
	p := tea.NewProgram(g,
		tea.WithInput(quiet), tea.WithOutput(out),
		tea.WithEnvironment(env), tea.WithColorProfile(colorprofile.Env(env)),
		tea.WithWindowSize(cols, rows),
		tea.WithFPS(s.limits.FPS),
		tea.WithContext(sess.Context()),
		// The process's signals are the server's, not this viewer's.
		tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok {
				return nil // suspending would stop the server's process
			}
			return msg
		}),
	)
	ss.prog = p
	out.repaint = func() { p.Send(tea.ClearScreen()) }
	sampler.notify = func(line string) { p.Send(ui.NoticeMsg(line)) }

	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
	}()

	stopTimers := s.startTimers(ss, in)
	defer stopTimers()
	followResizes(runCtx, winch, p)
	// A program that does not quit when asked (stuck in a command's result)
	// is stopped.
	handlerDone := make(chan struct{})
	defer close(handlerDone)
	go func() {
		select {
		case <-ss.ended:
		case <-handlerDone:
			return
		}
		t := time.NewTimer(3 * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			p.Kill()
		case <-handlerDone:
		}
	}()

	stopInput := feedInput(p, in, pty.Term)
	_, err := p.Run()
	stopInput()
	close(quiet.done)
	g.release()
	runCancel()
	reason := endReason(ss.reason.Load())
	if err != nil && reason == endByViewer && sess.Context().Err() == nil {
		log.Warn("program ended with an error", "error", err.Error())
	}
	if line := s.goodbye(reason, ss.id); line != "" {
		out.Flush(2 * time.Second)
		_, _ = out.Write([]byte("\r\n" + line + "\r\n"))
	}
	out.Close()
	out.Flush(2 * time.Second)
	st := out.Stats()
	log.Info("session end", "reason", reason.String(), "after", time.Since(started).Round(time.Millisecond),
		"bytes_out", st.Bytes, "frames", st.Frames, "dropped_frames", st.DroppedFrames, "max_pending", st.MaxPending)
}

// buildModel makes a session's model; a panic doing so is that session's.
func (s *Server) buildModel(cfg ui.Config, onPanic func(string, any, []byte)) (m tea.Model, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			onPanic("new", r, debug.Stack())
		}
	}()
	return s.newModel(cfg), true
}

// goodbye is the line a viewer reads after the server ended the session.
func (s *Server) goodbye(r endReason, id string) string {
	switch r {
	case endIdle:
		return fmt.Sprintf("twinkle: closed after %s without a keystroke.", s.limits.IdleTimeout)
	case endMaxSession:
		return fmt.Sprintf("twinkle: a session lasts at most %s; this one is over.", s.limits.MaxSession)
	case endShutdown:
		return "twinkle: the server is shutting down; any run in progress was cancelled."
	case endPanic:
		return "twinkle: this session hit an internal error and was closed (session " + id + ")."
	}
	return ""
}

// startTimers ends ss after the idle timeout without input and after the
// maximum session length.
func (s *Server) startTimers(ss *session, in *activityReader) (stop func()) {
	idle := s.limits.IdleTimeout
	var idleTimer *time.Timer
	idleTimer = time.AfterFunc(idle, func() {
		if left := idle - in.since(); left > 0 {
			idleTimer.Reset(left)
			return
		}
		ss.log.Info("idle", "after", idle)
		ss.end(endIdle)
	})
	maxTimer := time.AfterFunc(s.limits.MaxSession, func() { ss.end(endMaxSession) })
	return func() {
		idleTimer.Stop()
		maxTimer.Stop()
	}
}

// followResizes hands the program the viewer's window size. A burst of
// window changes collapses to the latest: the SSH request loop is never held
// up by a program busy drawing (which would also hold up the flow-control
// messages that let its output leave).
func followResizes(ctx context.Context, winch <-chan ssh.Window, p *tea.Program) {
	var mu sync.Mutex
	var latest ssh.Window
	changed := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case w, ok := <-winch:
				if !ok {
					return
				}
				mu.Lock()
				latest = w
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				mu.Lock()
				w := latest
				mu.Unlock()
				p.Send(tea.WindowSizeMsg{Width: int(clampDim(uint32(w.Width), maxCols)), Height: int(clampDim(uint32(w.Height), maxRows))})
			}
		}
	}()
}

// feedInput reads the viewer's input, parses it as Bubble Tea would, and
// hands each event to p with Send. Bubble Tea's own reader gets a quiet input
// instead (quietReader): its hand-off to the program does not watch for the
// program stopping, so a key arriving as a session ends (a lone escape still
// waiting for its timeout, a reply to a query) would leave that goroutine,
// and the program it holds, blocked for good. Send returns once the program
// has stopped, and the events are drained until the reader ends, which it
// does when the channel closes after the session.
func feedInput(p *tea.Program, in io.Reader, term string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan uv.Event)
	streamed := make(chan struct{})
	rd := uv.NewTerminalReader(in, term)
	go func() {
		defer close(streamed)
		_ = rd.StreamEvents(ctx, events)
	}()
	go func() {
		for {
			select {
			case ev := <-events:
				p.Send(ev)
			case <-streamed:
				return
			}
		}
	}()
	return cancel
}

// quietReader is the input Bubble Tea reads itself: nothing, until done.
type quietReader struct{ done chan struct{} }

func (q quietReader) Read([]byte) (int, error) {
	<-q.done
	return 0, io.EOF
}

// activityReader is a session's input, noting when the viewer last sent
// anything (keys, mouse, paste, terminal replies). Output and SSH keep-alives
// never pass here, so they keep no session alive.
type activityReader struct {
	r     io.Reader
	ended <-chan struct{} // once closed, input ends: the program is on its way out
	last  atomic.Int64
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	select {
	case <-a.ended:
		return 0, io.EOF
	default:
	}
	if n > 0 {
		a.touch()
	}
	return n, err
}

func (a *activityReader) touch() { a.last.Store(time.Now().UnixNano()) }

func (a *activityReader) since() time.Duration {
	return time.Duration(time.Now().UnixNano() - a.last.Load())
}

// uiConfig is a remote session's playground: the server's backend behind the
// session's sampler, the server's caps on the sliders, and no files — the one
// place that decides a viewer never touches the server's disk.
func (s *Server) uiConfig(ctx context.Context, sampler *sessionSampler) ui.Config {
	c := s.cfg
	cfg := ui.Config{
		Sampler: sampler, Endpoint: publicEndpoint(c.Endpoint), Model: c.Model, API: c.API,
		Params: c.Params.Clone(), Options: c.Options,
		Caps:    ui.Caps{MaxTokens: c.Caps.MaxTokens, Samples: c.Caps.Samples, Logprobs: c.Caps.Logprobs},
		IsDark:  true, // until the viewer's terminal answers
		Context: ctx,
		// Themes' styles are read only: one copy serves every viewer.
		SharedStyles: s.styles,
	}
	cfg.Store = nil // no store: no sessions, presets, user themes or export files
	return cfg
}

// publicEndpoint is the endpoint as viewers see it: no user, password or query.
func publicEndpoint(e string) string {
	u, err := url.Parse(e)
	if err != nil || u.Host == "" {
		return e
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
