package serve

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// reliability 16: connection N+1 over the total cap is refused, and told why
// (SSH clients show the banner); a closed connection frees its place.
func TestConnectionOverTheCapIsRefused(t *testing.T) {
	t.Parallel()
	e := startEnv(t, func(c *Config) { c.Limits.MaxConns, c.Limits.MaxConnsPerIP = 2, 100 })
	var open []*gossh.Client
	for range 2 {
		c, err := gossh.Dial("tcp", e.addr, clientConfig("x", e.allowed))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	banner := ""
	cc := clientConfig("third", e.allowed)
	cc.BannerCallback = func(msg string) error { banner = msg; return nil }
	if _, err := gossh.Dial("tcp", e.addr, cc); err == nil {
		t.Fatal("connection 3 of a cap of 2 got in")
	}
	if !strings.Contains(banner, "the server is full") {
		t.Fatalf("refused without a word: banner %q", banner)
	}
	e.logs.waitLog(t, "msg=refused", "what=connection", `reason="the server is full"`)
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := gossh.Dial("tcp", e.addr, clientConfig("x", e.allowed))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a freed place was not given back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	open[1].Close()
}

func TestConnectionsPerAddressAreCapped(t *testing.T) {
	t.Parallel()
	e := startEnv(t, func(c *Config) { c.Limits.MaxConns, c.Limits.MaxConnsPerIP = 100, 1 })
	first, err := gossh.Dial("tcp", e.addr, clientConfig("x", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	banner := ""
	cc := clientConfig("x", e.allowed)
	cc.BannerCallback = func(msg string) error { banner = msg; return nil }
	if _, err := gossh.Dial("tcp", e.addr, cc); err == nil || !strings.Contains(banner, "too many connections from your address") {
		t.Fatalf("second connection from one address: %v, banner %q", err, banner)
	}
}

// The per-IP cap counts an IPv6 /64 as one source (one host usually holds
// one), and an IPv4-mapped address as its IPv4 address.
func TestSourceOf(t *testing.T) {
	t.Parallel()
	src := func(s string) netip.Prefix {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return sourceOf(a)
	}
	if src("[2001:db8::1]:22") != src("[2001:db8::ffff:1]:9") {
		t.Fatal("one /64 counted as two sources")
	}
	if src("[2001:db8::1]:22") == src("[2001:db8:0:1::1]:22") {
		t.Fatal("two /64s counted as one")
	}
	if src("[::ffff:10.0.0.1]:5") != src("10.0.0.1:6") || src("10.0.0.1:6") == src("10.0.0.2:6") {
		t.Fatal("IPv4 sources")
	}
}

// Past the cap, a few connections are kept to be told why; past those, they
// are closed without a handshake, so refusing costs a bounded amount.
func TestRefusalsAreBounded(t *testing.T) {
	t.Parallel()
	l := newConnLimiter(1, 1)
	src := netip.MustParsePrefix("10.0.0.1/32")
	if a, _, rel := l.acquire(src); a != admitted || rel == nil {
		t.Fatal("first connection")
	}
	var releases []func()
	for i := range refusalSlots {
		a, reason, rel := l.acquire(src)
		if a != overCap || reason == "" {
			t.Fatalf("refusal %d: %v", i, a)
		}
		releases = append(releases, rel)
	}
	if a, _, rel := l.acquire(src); a != closeNow || rel != nil {
		t.Fatalf("refusal past the slots: %v", a)
	}
	releases[0]()
	if a, _, _ := l.acquire(src); a != overCap {
		t.Fatal("a freed refusal slot was not reused")
	}
}

// reliability 16: runs wait in line first come, first served, each told its
// place as it changes; giving up while waiting moves the others up.
func TestRunQueue(t *testing.T) {
	t.Parallel()
	q := newRunQueue(1)
	relA, err := q.acquire(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	type waiter struct {
		places chan int
		got    chan func()
		cancel context.CancelFunc
	}
	wait := func() *waiter {
		ctx, cancel := context.WithCancel(context.Background())
		w := &waiter{places: make(chan int, 8), got: make(chan func(), 1), cancel: cancel}
		go func() {
			rel, err := q.acquire(ctx, func(p int) { w.places <- p })
			if err == nil {
				w.got <- rel
			}
			close(w.places)
		}()
		return w
	}
	b := wait()
	if p := <-b.places; p != 1 {
		t.Fatalf("b is %d in line", p)
	}
	c := wait()
	if p := <-c.places; p != 2 {
		t.Fatalf("c is %d in line", p)
	}
	b.cancel()
	if p := <-c.places; p != 1 {
		t.Fatalf("after b gave up, c is %d in line", p)
	}
	select {
	case <-c.got:
		t.Fatal("c ran while a held the only slot")
	case <-time.After(20 * time.Millisecond):
	}
	relA()
	relC := <-c.got
	if active, waiting := q.state(); active != 1 || waiting != 0 {
		t.Fatalf("active %d waiting %d", active, waiting)
	}
	relC()
	relC() // releasing twice frees one slot
	if active, _ := q.state(); active != 0 {
		t.Fatalf("active %d after release", active)
	}
}

// reliability 16 and 20: caps apply below the UI whatever a request says;
// an unset max_tokens becomes the cap; a model the server does not list is
// refused before anything is sent; one run per session at a time.
func TestSessionSamplerEnforcesCapsAndOneRun(t *testing.T) {
	t.Parallel()
	stream := newStreamSampler(5 * time.Millisecond)
	shared := &sharedBackend{inner: stream, defaultModel: "stream", caps: Caps{MaxTokens: 64, Samples: 4, Logprobs: 5}, queue: newRunQueue(4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSessionSampler(ctx, shared, slog.New(slog.DiscardHandler))
	req := func(mt *int, n, lp int) backend.Request {
		p := params.Default()
		p.MaxTokens = mt
		return backend.Request{API: params.Completion, Prompt: "x", Params: p, Options: params.Options{N: n, Logprobs: &lp}}
	}
	big := 5000
	for _, tc := range []struct {
		req   backend.Request
		field string
	}{
		{req(&big, 1, 1), "max_tokens"},
		{req(nil, 8, 1), "n"},
		{req(nil, 1, 20), "logprobs"},
	} {
		_, err := s.Start(ctx, tc.req)
		var es params.Errors
		if !errors.As(err, &es) || es[0].Field != tc.field {
			t.Fatalf("%s over the cap: %v", tc.field, err)
		}
	}
	other := req(nil, 1, 1)
	other.Model = "http://169.254.169.254/latest"
	if _, err := s.Start(ctx, other); err == nil || !strings.Contains(err.Error(), "not served here") {
		t.Fatalf("an unlisted model: %v", err)
	}
	if len(stream.started) != 0 {
		t.Fatal("a refused request reached the backend")
	}

	// An unset max_tokens goes out as the cap.
	run1, cancel1 := context.WithCancel(ctx)
	ch1, err := s.Start(run1, req(nil, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range ch1 {
		}
	}()
	got := <-stream.started
	if got.Params.MaxTokens == nil || *got.Params.MaxTokens != 64 {
		t.Fatalf("max_tokens sent %v", got.Params.MaxTokens)
	}
	// A second run of the same session waits until the first has ended.
	ch2, err := s.Start(ctx, req(nil, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stream.started:
		t.Fatal("two runs of one session in flight")
	case <-time.After(50 * time.Millisecond):
	}
	cancel1()
	select {
	case <-stream.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the second run never started after the first was cancelled")
	}
	cancel()
	for range ch2 {
	}
}

// reliability 18: a window-change of 2^32-1 by 2^32-1 allocates nothing of
// its size: it is clamped before anything reads it, and the session goes on.
func TestHugeWindowChangeDoesNotAllocate(t *testing.T) {
	e := startEnv(t)
	tm := e.openTerm("wide", 100, 30)
	tm.waitFor("the playground", contains("parameters"))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := tm.sess.WindowChange(math.MaxUint32, math.MaxUint32); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := tm.sess.WindowChange(24, 80); err != nil {
		t.Fatal(err)
	}
	tm.send("still here")
	tm.waitFor("the session to go on", contains("still here"))
	runtime.ReadMemStats(&after)
	// A 500x200 screen is a few MB of cells; 2^32 squared would not fit at all.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Fatalf("allocated %d MB for a window change", grew>>20)
	}

	// The same in the PTY request itself.
	s, err := e.dial(clientConfig("huge", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", math.MaxUint32, math.MaxUint32, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	e.logs.waitLog(t, "msg=session ", "user=huge", "cols=500", "rows=200")
}

// The environment a client may send is bounded (each entry is kept for the
// session's life).
func TestEnvironmentIsCapped(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	s, err := e.dial(clientConfig("x", e.allowed))
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxEnv {
		if err := s.Setenv("V", strings.Repeat("x", i)); err != nil {
			t.Fatalf("env %d refused: %v", i, err)
		}
	}
	if err := s.Setenv("ONE_TOO_MANY", "x"); err == nil {
		t.Fatal("the environment grew past its cap")
	}
}

// reliability 16: with one run at a time server-wide, a second viewer's run
// waits in line and its status line says so; it runs when the first ends.
func TestQueuedRunShowsItsPlace(t *testing.T) {
	t.Parallel()
	stream := newStreamSampler(20 * time.Millisecond)
	e := startEnv(t, func(c *Config) { c.Sampler, c.Limits.MaxRuns = stream, 1 })
	a := e.openTerm("a", 110, 32)
	b := e.openTerm("b", 110, 32)
	a.waitFor("a's playground", contains("parameters"))
	b.waitFor("b's playground", contains("parameters"))
	a.send("first")
	a.send("\x12") // ctrl+r
	<-stream.started
	b.send("second")
	b.send("\x12")
	b.waitFor("b's place in line", contains("waiting for the model: 1st in line"))
	select {
	case <-stream.started:
		t.Fatal("b's run started while a's held the only slot")
	default:
	}
	a.send("\x1b") // esc cancels a's run
	time.Sleep(50 * time.Millisecond)
	<-stream.started
	b.waitFor("b running", contains("w2"))
	b.send("\x1b")
}

// reliability 20: a remote viewer's sliders end at the server's caps, and
// the help line says so.
func TestSlidersShowTheServersCaps(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	tm := e.openTerm("caps", 120, 40)
	tm.waitFor("the playground", contains("parameters"))
	tm.send("\t") // to the sliders
	for range 4 {
		tm.send("\x1b[B") // down to max_tokens
	}
	tm.waitFor("max_tokens's range", contains("most tokens to generate per sample (1 to", "64, log scale)"))
	for range 3 {
		tm.send("\x1b[B") // samples, past seed and stop
	}
	tm.waitFor("the samples range", contains("(1 to 4)"))
	tm.send("\x1b[B")
	tm.waitFor("the logprobs range", contains("(0 to 5)"))
}
