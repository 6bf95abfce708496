package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/wish/v2/testsession"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// Every session's goroutines (program, output, timers, runs) must be gone
// when the tests end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// x/crypto's client keeps a goroutine per connection until the
		// server's close reaches it; the servers are closed by then.
		goleak.IgnoreAnyFunction("golang.org/x/crypto/ssh.(*handshakeTransport).kexLoop"),
	)
}

// logBuffer collects a server's log records as text, for tests to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log has a line containing every part.
func (l *logBuffer) waitLog(t testing.TB, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q; log:\n%s", parts, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testEnv is a running server on loopback with a vLLM-format test backend,
// one authorized key and one that is not.
type testEnv struct {
	t       testing.TB
	addr    string
	srv     *Server
	vllm    *vllmtest.Server
	logs    *logBuffer
	allowed gossh.Signer // listed in authorized_keys
	other   gossh.Signer // not listed
	cancel  context.CancelFunc
	served  chan error
	stopped sync.Once
}

type envOption func(*Config)

// testAPIKey is the backend's key in tests: it must never reach a log.
const testAPIKey = "sk-twinkle-test-key-7f3a"

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	return startEnvServer(t, nil, opts...)
}

// startEnvServer is startEnv with a hook on the server before it serves.
func startEnvServer(t testing.TB, setup func(*Server), opts ...envOption) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, logs: &logBuffer{}, allowed: newSigner(t), other: newSigner(t)}
	e.vllm = vllmtest.New()
	t.Cleanup(e.vllm.Close)
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(e.allowed.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err := openai.New(openai.Config{BaseURL: e.vllm.URL, MaxRetries: -1, APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	n, k := 8, 2
	p := params.Default()
	p.MaxTokens = &n
	cfg := Config{
		HostKeyPath: filepath.Join(dir, "host_key"), AuthorizedKeysPath: keys,
		Sampler: cl, Endpoint: e.vllm.URL, API: params.Completion,
		Params: p, Options: params.Options{N: 2, Logprobs: &k},
		Caps:   Caps{MaxTokens: 64, Samples: 4, Logprobs: 5},
		Limits: Limits{ShutdownGrace: 2 * time.Second, HandshakeTimeout: 5 * time.Second},
		Log:    slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if setup != nil {
		setup(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.served = cancel, make(chan error, 1)
	go func() { e.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(e.stop)
	return e
}

// stop shuts the server down (once) and waits for Serve to return.
func (e *testEnv) stop() {
	e.stopped.Do(func() {
		e.cancel()
		select {
		case err := <-e.served:
			if err != nil {
				e.t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			e.t.Error("Serve did not return after shutdown")
		}
	})
}

func clientConfig(user string, signers ...gossh.Signer) *gossh.ClientConfig {
	return &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signers...)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	}
}

// dial opens a client session with testsession's helper (closed at cleanup).
func (e *testEnv) dial(cfg *gossh.ClientConfig) (*gossh.Session, error) {
	return testsession.NewClientSession(e.t, e.addr, cfg)
}

// term is a client session with a PTY whose output feeds a virtual terminal
// that answers the program's queries, as a real one does.
type term struct {
	t     testing.TB
	sess  *gossh.Session
	stdin io.WriteCloser
	emu   *vt.SafeEmulator
	raw   *logBuffer // every byte received
	done  chan struct{}
}

func (e *testEnv) openTerm(user string, w, h int, signers ...gossh.Signer) *term {
	e.t.Helper()
	tm, err := e.tryTerm(user, w, h, termOpts{}, signers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return tm
}

// termOpts are what a client brings besides its key: environment, TERM and
// its terminal's background (which it reports when asked).
type termOpts struct {
	env  map[string]string
	term string
	bg   color.Color
}

func (e *testEnv) tryTerm(user string, w, h int, o termOpts, signers ...gossh.Signer) (*term, error) {
	if len(signers) == 0 {
		signers = []gossh.Signer{e.allowed}
	}
	sess, err := e.dial(clientConfig(user, signers...))
	if err != nil {
		return nil, err
	}
	for k, v := range o.env {
		if err := sess.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	if o.term == "" {
		o.term = "xterm-256color"
	}
	return startTerm(e.t, sess, o, w, h)
}

func startTerm(t testing.TB, sess *gossh.Session, o termOpts, w, h int) (*term, error) {
	if err := sess.RequestPty(o.term, h, w, gossh.TerminalModes{}); err != nil {
		return nil, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Shell(); err != nil {
		return nil, err
	}
	tm := attachTerm(t, stdin, stdout, w, h, o.bg)
	tm.sess = sess
	t.Cleanup(func() { _ = sess.Close() })
	return tm, nil
}

// attachTerm runs a virtual terminal on a session's pipes: what arrives is
// drawn, and the terminal's answers to queries go back.
func attachTerm(t testing.TB, stdin io.WriteCloser, stdout io.Reader, w, h int, bg color.Color) *term {
	tm := &term{t: t, stdin: stdin, emu: vt.NewSafeEmulator(w, h), raw: &logBuffer{}, done: make(chan struct{})}
	if bg != nil {
		tm.emu.SetBackgroundColor(bg)
	}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				_, _ = tm.raw.Write(buf[:n])
				_, _ = tm.emu.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tm.emu.Read(buf)
			if n > 0 {
				if _, werr := stdin.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = tm.emu.InputPipe().(io.Closer).Close() })
	return tm
}

func (tm *term) screen() string { return ansi.Strip(tm.emu.Render()) }

func (tm *term) waitFor(what string, cond func(string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := tm.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
	// Separate keys stay separate; a lone escape waits out the reader's
	// escape timeout, so no partial sequence is pending when a test ends.
	time.Sleep(15 * time.Millisecond)
	if s == "\x1b" {
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClosed waits for the server to end the session; it returns what the
// viewer received in all.
func (tm *term) waitClosed(d time.Duration) string {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(d):
		tm.t.Fatalf("session still open after %s; screen:\n%s", d, tm.screen())
	}
	return tm.raw.String()
}

func contains(parts ...string) func(string) bool {
	return func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	}
}

// badSigner presents one key and signs with another: the offered-key bypass.
type badSigner struct {
	pub  gossh.PublicKey
	sign gossh.Signer
}

func (b badSigner) PublicKey() gossh.PublicKey { return b.pub }
func (b badSigner) Sign(r io.Reader, data []byte) (*gossh.Signature, error) {
	return b.sign.Sign(r, data)
}

// fakeSampler is a backend the tests script directly.
type fakeSampler struct {
	start func(ctx context.Context, req backend.Request) (<-chan backend.Event, error)
}

func (f *fakeSampler) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "fake"}}, nil
}

func (f *fakeSampler) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	return f.start(ctx, req)
}

// session returns the server's one open session for user, waiting for it.
func (e *testEnv) session(user string) *session {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e.srv.mu.Lock()
		for ss := range e.srv.sessions {
			if ss.user == user {
				e.srv.mu.Unlock()
				return ss
			}
		}
		e.srv.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("no session for %q", user)
	return nil
}

// streamSampler streams one token per sample every interval until its run is
// cancelled, then finishes the samples as cancelled. started receives each
// run's request; cancelled is told when a run's context ends.
type streamSampler struct {
	interval  time.Duration
	started   chan backend.Request
	cancelled chan struct{}
}

func newStreamSampler(interval time.Duration) *streamSampler {
	return &streamSampler{interval: interval, started: make(chan backend.Request, 16), cancelled: make(chan struct{}, 16)}
}

func (f *streamSampler) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "stream"}}, nil
}

func (f *streamSampler) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	em, ch := backend.NewEmitter()
	n := req.Options.Samples()
	select {
	case f.started <- req:
	default:
	}
	go func() {
		defer em.Close()
		em.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{First: 0, Count: n, Requested: n, Model: "stream", Seeds: make([]*int64, n)}})
		tick := time.NewTicker(f.interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				for s := range n {
					em.Emit(backend.Event{Kind: backend.EventFinish, Sample: s, Reason: backend.StopCancelled,
						Err: &backend.Error{Kind: backend.KindCancelled, Message: "cancelled"}})
				}
				em.Emit(backend.Event{Kind: backend.EventDone})
				select {
				case f.cancelled <- struct{}{}:
				default:
				}
				return
			case <-tick.C:
				for s := range n {
					text := fmt.Sprintf(" w%d", i)
					em.Emit(backend.Event{Kind: backend.EventTokens, Sample: s, Text: text,
						Tokens: []backend.Token{{Text: text, Logprob: -0.5, ID: backend.NoTokenID}}})
				}
			}
		}
	}()
	return ch, nil
}
