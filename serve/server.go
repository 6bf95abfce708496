// Package serve is `twinkle serve`: the playground over SSH, one program per
// connection, safe to leave open for a demo.
//
// Each session gets its own ui program with its own colour profile and
// background from its own terminal, no access to the server's disk, and the
// server's backend behind caps and a queue: nothing a viewer does reaches a new
// address, outgrows its bounds, or stops another viewer. The limits are the
// server's flags (see Limits); reliability.md items 13-20 name what each test
// proves.
//
// serve imports ui and backend; nothing imports serve but main.
package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui"
)

// Config is a server: how viewers get in, what they sample from, and the bounds.
type Config struct {
	// HostKeyPath is the host key, created (ed25519, 0600) when missing.
	HostKeyPath string
	// AuthorizedKeysPath admits the public keys listed there. Open admits any
	// public key instead. Exactly one of them must be set.
	AuthorizedKeysPath string
	Open               bool

	// Sampler is the server's backend, shared by every session. Endpoint is
	// what the sessions' headers show (never a key); Model is the default
	// model (empty: the first one the server lists).
	Sampler  backend.Sampler
	Endpoint string
	Model    string
	// API, Params and Options are where every session starts.
	API     params.API
	Params  params.SamplingParams
	Options params.Options

	Caps   Caps
	Limits Limits
	// Log receives structured records (connects, auth, sessions, runs,
	// refusals); nil discards them.
	Log *slog.Logger
}

// Limits bound what the server gives out. Zero values take the defaults of
// DefaultLimits.
type Limits struct {
	MaxConns      int // open connections in total
	MaxConnsPerIP int // per IPv4 address or IPv6 /64
	// MaxRuns is the runs in flight to the backend across all sessions; more
	// wait in line, each told its place. A session has one run at a time.
	MaxRuns          int
	IdleTimeout      time.Duration // without a keystroke (output does not count)
	MaxSession       time.Duration
	HandshakeTimeout time.Duration // connect to authenticated
	// OutputBuffer bounds a session's pending output in bytes; frames beyond
	// it are dropped and the screen redrawn once the viewer catches up.
	OutputBuffer int
	// ShutdownGrace is how long sessions get to say goodbye on shutdown.
	ShutdownGrace time.Duration
	// FPS caps how often a session's screen is redrawn and sent. Drawing is
	// most of a streaming session's cost, so this is what divides a server's
	// cores among its viewers.
	FPS int
}

// DefaultLimits are sized for a room: a few dozen viewers, a few runs at once.
func DefaultLimits() Limits {
	return Limits{
		MaxConns: 64, MaxConnsPerIP: 8, MaxRuns: 4,
		IdleTimeout: 10 * time.Minute, MaxSession: 2 * time.Hour, HandshakeTimeout: 20 * time.Second,
		OutputBuffer: 256 << 10, ShutdownGrace: 3 * time.Second, FPS: 30,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	pickD := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	pick(&l.MaxConns, d.MaxConns)
	pick(&l.MaxConnsPerIP, d.MaxConnsPerIP)
	pick(&l.MaxRuns, d.MaxRuns)
	pick(&l.OutputBuffer, d.OutputBuffer)
	pick(&l.FPS, d.FPS)
	pickD(&l.IdleTimeout, d.IdleTimeout)
	pickD(&l.MaxSession, d.MaxSession)
	pickD(&l.HandshakeTimeout, d.HandshakeTimeout)
	pickD(&l.ShutdownGrace, d.ShutdownGrace)
	return l
}

// backstop is how far past a session's own timers the connection's deadlines
// sit: the session says why it ends; the deadline only catches what does not.
const backstop = time.Minute

// Server is a configured SSH server; Serve runs it.
type Server struct {
	cfg     Config
	limits  Limits
	log     *slog.Logger
	ssh     *ssh.Server
	hostKey gossh.Signer
	keyPath string
	created bool
	auth    *authorizedKeys
	conns   *connLimiter
	shared  *sharedBackend
	// styles are the built-in themes' styles, built once for every viewer.
	styles *ui.SharedStyles

	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
	active   sync.WaitGroup

	// newModel builds a session's root model (tests wrap it).
	newModel func(ui.Config) tea.Model
	// onOutput sees every chunk a session's output sends (benchmarks).
	onOutput func(user string, p []byte, at time.Time)
}

// ErrNoAuthPolicy is returned by New when neither keys nor --open were given.
var ErrNoAuthPolicy = errors.New("no authentication policy: pass --authorized-keys FILE to admit those keys, or --open to admit anyone (a public demo)")

// New checks cfg, loads or creates the host key and builds the server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Open && cfg.AuthorizedKeysPath != "":
		return nil, errors.New("--open and --authorized-keys together: choose one (the keys would be ignored)")
	case !cfg.Open && cfg.AuthorizedKeysPath == "":
		return nil, ErrNoAuthPolicy
	case cfg.Sampler == nil:
		return nil, errors.New("no backend to serve")
	}
	s := &Server{cfg: cfg, limits: cfg.Limits.withDefaults(), log: cfg.Log, sessions: map[*session]struct{}{}, styles: ui.NewSharedStyles(),
		newModel: func(c ui.Config) tea.Model { return ui.New(c) }}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !cfg.Open {
		a, err := loadAuthorizedKeys(cfg.AuthorizedKeysPath)
		if err != nil {
			return nil, fmt.Errorf("--authorized-keys: %w", err)
		}
		s.auth = a
	}
	path := cfg.HostKeyPath
	if path == "" {
		p, err := DefaultHostKeyPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	signer, created, err := loadHostKey(path)
	if err != nil {
		return nil, err
	}
	s.hostKey, s.keyPath, s.created = signer, path, created
	s.conns = newConnLimiter(s.limits.MaxConns, s.limits.MaxConnsPerIP)
	s.shared = &sharedBackend{inner: cfg.Sampler, defaultModel: cfg.Model, caps: cfg.Caps, queue: newRunQueue(s.limits.MaxRuns)}
	srv, err := wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithVersion("twinkle"),
		wish.WithPublicKeyAuth(s.publicKey), // and no password or keyboard-interactive handler: both stay off
		wish.WithBannerHandler(s.banner),
		wish.WithIdleTimeout(s.limits.IdleTimeout+backstop),
		wish.WithMaxTimeout(s.limits.MaxSession+backstop),
		wish.WithMiddleware(func(next ssh.Handler) ssh.Handler {
			return func(sess ssh.Session) {
				s.handle(sess)
				next(sess)
			}
		}),
		func(srv *ssh.Server) error {
			srv.HandshakeTimeout = s.limits.HandshakeTimeout
			srv.ConnCallback = s.accept
			srv.ServerConfigCallback = s.serverConfig
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel, "default": s.refuseChannel}
			srv.RequestHandlers = map[string]ssh.RequestHandler{"default": s.refuseRequest}
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{"default": s.refuseSubsystem}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	s.ssh = srv
	return s, nil
}

// Fingerprint is the host key's SHA256 fingerprint, as ssh shows it.
func (s *Server) Fingerprint() string { return gossh.FingerprintSHA256(s.hostKey.PublicKey()) }

// HostKeyCreated reports whether New made the host key (first start).
func (s *Server) HostKeyCreated() bool { return s.created }

// HostKeyPath is where the host key is kept.
func (s *Server) HostKeyPath() string { return s.keyPath }

// HostKey is the host's public key (for known_hosts).
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey.PublicKey() }

// ListenAndServe listens on addr, calls ready with the address, and serves
// until ctx ends (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down: no new connections,
// every session told the server is going and its run cancelled, and after
// at most Limits.ShutdownGrace every connection closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.ssh.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.shutdown(ln)
	<-errc // the accept loop ends on the closed listener; that error is the shutdown
	return nil
}

func (s *Server) shutdown(ln net.Listener) {
	start := time.Now()
	s.mu.Lock()
	s.closing = true
	open := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		open = append(open, ss)
	}
	s.mu.Unlock()
	// Stop accepting. (Not ssh.Server.Shutdown: its wait for connections
	// races with connections still being accepted.)
	_ = ln.Close()
	s.log.Info("shutting down", "sessions", len(open))
	for _, ss := range open {
		ss.end(endShutdown)
	}
	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.limits.ShutdownGrace):
		s.log.Warn("sessions still open after the grace period; closing their connections")
	}
	_ = s.ssh.Close()
	s.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// connState is what the server knows about one connection.
type connState struct {
	id      string
	remote  string
	refused string // over a cap: authentication is refused, the banner says why
	started time.Time

	mu       sync.Mutex
	user     string
	authed   bool
	attempts int
	methods  []string
	lastErr  string
	channel  gossh.Channel

	sessionOpen atomic.Bool
}

func (st *connState) setChannel(ch gossh.Channel) {
	st.mu.Lock()
	st.channel = ch
	st.mu.Unlock()
}

func (st *connState) rawChannel() gossh.Channel {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.channel
}

type connStateKey struct{}

func stateOf(ctx context.Context) *connState {
	st, _ := ctx.Value(connStateKey{}).(*connState)
	return st
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// trackedConn releases its place in the connection count once, on close.
type trackedConn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// accept counts a new connection against the caps. One over a cap still gets
// a handshake so the client can be told why (the banner), unless too many are
// already waiting for that.
func (s *Server) accept(ctx ssh.Context, conn net.Conn) net.Conn {
	adm, reason, release := s.conns.acquire(sourceOf(conn.RemoteAddr()))
	st := &connState{id: newID(), remote: conn.RemoteAddr().String(), refused: reason, started: time.Now()}
	log := s.log.With("conn", st.id, "remote", st.remote)
	switch adm {
	case closeNow:
		log.Info("refused", "what", "connection", "reason", reason, "told", false)
		return nil
	case overCap:
		log.Info("refused", "what", "connection", "reason", reason, "told", true)
	default:
		log.Info("connect")
	}
	ctx.SetValue(connStateKey{}, st)
	return &trackedConn{Conn: conn, onClose: func() {
		release()
		st.mu.Lock()
		defer st.mu.Unlock()
		if !st.authed && st.refused == "" {
			log.Info("auth refused", "user", st.user, "attempts", st.attempts, "methods", st.methods, "error", st.lastErr)
		}
		log.Info("disconnect", "after", time.Since(st.started).Round(time.Millisecond))
	}}
}

// serverConfig sets what charm.land/ssh leaves to x/crypto: the auth log,
// which sees every attempt (a key only offered is not an attempt).
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	return &gossh.ServerConfig{
		MaxAuthTries: 6,
		AuthLogCallback: func(conn gossh.ConnMetadata, method string, err error) {
			st := stateOf(ctx)
			if st == nil {
				return
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			st.user = conn.User()
			if err == nil {
				st.authed = true
				s.log.Info("auth", "conn", st.id, "user", st.user, "method", method, "client", string(conn.ClientVersion()))
				return
			}
			st.attempts++
			if len(st.methods) < 8 {
				st.methods = append(st.methods, method)
			}
			st.lastErr = err.Error()
		},
	}
}

// publicKey is the only way in: a listed key, or any key with --open.
// x/crypto calls it for keys only offered too; identity is taken later from
// the key that signed (Session.PublicKey), never from here.
func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	st := stateOf(ctx)
	if st == nil || st.refused != "" || s.isClosing() {
		return false
	}
	if s.cfg.Open {
		return true
	}
	ok, err := s.auth.allowed(key)
	if err != nil {
		s.log.Warn("authorized keys unreadable; using the last good list", "path", s.cfg.AuthorizedKeysPath, "error", err.Error())
	}
	return ok
}

// banner tells a connection over a cap why it is refused; SSH clients show
// it before "Permission denied".
func (s *Server) banner(ctx ssh.Context) string {
	if st := stateOf(ctx); st != nil && st.refused != "" {
		return "twinkle: " + st.refused + "; try again later.\n"
	}
	return ""
}
