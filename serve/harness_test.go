package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
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
}

type envOption func(*Config)

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
	dir := t.TempDir()
	e := &testEnv{t: t, logs: &logBuffer{}, allowed: newSigner(t), other: newSigner(t)}
	e.vllm = vllmtest.New()
	t.Cleanup(e.vllm.Close)
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, gossh.MarshalAuthorizedKey(e.allowed.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err := openai.New(openai.Config{BaseURL: e.vllm.URL, MaxRetries: -1})
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
	e.cancel()
	select {
	case err, ok := <-e.served:
		if ok && err != nil {
			e.t.Errorf("Serve: %v", err)
		}
		close(e.served)
	case <-time.After(10 * time.Second):
		e.t.Error("Serve did not return after shutdown")
	}
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
	tm, err := e.tryTerm(user, w, h, nil, signers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return tm
}

func (e *testEnv) tryTerm(user string, w, h int, env map[string]string, signers ...gossh.Signer) (*term, error) {
	if len(signers) == 0 {
		signers = []gossh.Signer{e.allowed}
	}
	sess, err := e.dial(clientConfig(user, signers...))
	if err != nil {
		return nil, err
	}
	for k, v := range env {
		if err := sess.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	return startTerm(e.t, sess, "xterm-256color", w, h)
}

func startTerm(t testing.TB, sess *gossh.Session, termName string, w, h int) (*term, error) {
	if err := sess.RequestPty(termName, h, w, gossh.TerminalModes{}); err != nil {
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
	tm := &term{t: t, sess: sess, stdin: stdin, emu: vt.NewSafeEmulator(w, h), raw: &logBuffer{}, done: make(chan struct{})}
	if err := sess.Shell(); err != nil {
		return nil, err
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
	// The terminal's answers to queries go back to the server.
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
	t.Cleanup(func() {
		_ = sess.Close()
		_ = tm.emu.InputPipe().(io.Closer).Close()
	})
	return tm, nil
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
	time.Sleep(15 * time.Millisecond) // separate keys stay separate
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

var errRefused = errors.New("refused")

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
