//go:build unix

// Package ptybench measures what streaming costs the terminal: it runs the twinkle binary
// in a real pseudo-terminal against the vLLM-format test server (backend/vllmtest) at a
// fixed token rate, with samples that all run to max_tokens, and counts the bytes the
// program writes and the CPU it spends per streamed token. The terminal side is a
// virtual terminal (x/vt) that answers the program's queries as a modern terminal does
// and keeps the screen, so a run can also check what the user would see.
//
// The benchmarks in this package's tests drive it (see the README's performance section).
// It is a measuring tool: it imports backend/vllmtest, never ui.
package ptybench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

// Case is one streaming run.
type Case struct {
	Samples   int     // -n
	Tokens    int     // max_tokens; every sample runs to it
	TrueColor bool    // COLORTERM=truecolor; otherwise TERM=xterm-256color alone
	Rate      float64 // tokens per second per sample; 0: as fast as the program reads
	Width     int     // terminal size; 0: 160x45
	Height    int
	// Args are extra command-line flags for the program.
	Args []string
	// Env are extra environment variables (NAME=value) for the program.
	Env []string
}

// Name is the case as a benchmark name: n=4/tok=500/color=256/rate=1000.
func (c Case) Name() string {
	col := "256"
	if c.TrueColor {
		col = "truecolor"
	}
	rate := "max"
	if c.Rate > 0 {
		rate = strconv.FormatFloat(c.Rate, 'f', -1, 64)
	}
	return fmt.Sprintf("n=%d/tok=%d/color=%s/rate=%s", c.Samples, c.Tokens, col, rate)
}

// Options say how to run the program.
type Options struct {
	// Binary is the twinkle executable.
	Binary string
	// CPUs, when set, pins the program with taskset -c CPUs (e.g. "0,1").
	CPUs string
	// Raw, when not nil, receives the program's output during the measured window.
	Raw io.Writer
	// Settle is how long the run waits, after the request arrives and before the first
	// token, for the screen to settle; 0: 300 ms.
	Settle time.Duration
	// Quiet is how long the output must stay silent after the last token for the run to
	// count as drawn; 0: 400 ms.
	Quiet time.Duration
}

// Result is what one run measured, over the window from the first token until the
// screen was drawn after the last.
type Result struct {
	Tokens int           // streamed: Samples × Tokens
	Bytes  int64         // written by the program in the window
	CPU    time.Duration // user+sys of the program in the window (/proc, 10 ms ticks)
	Total  time.Duration // user+sys of the whole process, start to exit (rusage)
	Wall   time.Duration // first token until the last byte drawn
	Stream time.Duration // what the stream takes at its rate (0 unpaced)
	Frames int           // synchronized-output frames in the window
	Kinds  Kinds         // the window's bytes by kind
	Screen string        // the screen at the end, without styles
}

// BytesPerToken and the others are per streamed token.
func (r Result) BytesPerToken() float64 { return float64(r.Bytes) / float64(r.Tokens) }

// CPUPerToken is CPU milliseconds per streamed token.
func (r Result) CPUPerToken() float64 {
	return float64(r.CPU) / float64(time.Millisecond) / float64(r.Tokens)
}

// WallRatio is the wall time over the stream's own duration (1: kept up).
func (r Result) WallRatio() float64 {
	if r.Stream <= 0 {
		return 0
	}
	return float64(r.Wall) / float64(r.Stream)
}

// Run streams c through the program once.
func Run(ctx context.Context, c Case, o Options) (Result, error) {
	if c.Width == 0 {
		c.Width, c.Height = 160, 45
	}
	if o.Settle == 0 {
		o.Settle = 300 * time.Millisecond
	}
	if o.Quiet == 0 {
		o.Quiet = 400 * time.Millisecond
	}
	res := Result{Tokens: c.Samples * c.Tokens}
	if c.Rate > 0 {
		res.Stream = time.Duration(float64(c.Tokens) / c.Rate * float64(time.Second))
	}

	srv := vllmtest.NewHandler()
	srv.SetPace(vllmtest.Pace{PerSample: c.Rate, NoEOS: true})
	w := newWatch()
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			srv.ServeHTTP(rw, r)
			return
		}
		// The columns are laid out before the first token; the window starts after.
		select {
		case <-time.After(o.Settle):
		case <-r.Context().Done():
			return
		}
		w.begin()
		srv.ServeHTTP(rw, r)
		w.served()
	}))
	defer hs.Close()

	dir, err := os.MkdirTemp("", "ptybench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	args := []string{"--endpoint", hs.URL + "/v1", "--model", "twinkle-test/tiny-chat",
		"--prompt", "Tell me a story about a fox.", "--samples", strconv.Itoa(c.Samples),
		"--max-tokens", strconv.Itoa(c.Tokens), "--logprobs", "5", "--heatmap", "probability", "--seed", "1"}
	args = append(args, c.Args...)
	name := o.Binary
	if o.CPUs != "" {
		args = append([]string{"-c", o.CPUs, o.Binary}, args...)
		name = "taskset"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "TERM=xterm-256color", "LANG=C.UTF-8"}
	if c.TrueColor {
		cmd.Env = append(cmd.Env, "COLORTERM=truecolor")
	}
	cmd.Env = append(cmd.Env, c.Env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(c.Width), Rows: uint16(c.Height)})
	if err != nil {
		return res, err
	}
	term := newTerminal(tty, c.Width, c.Height, w, o.Raw)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
		tty.Close()
		term.close()
	}

	fail := func(err error) (Result, error) {
		screen := term.screen()
		stop()
		return res, fmt.Errorf("%s: %w; screen:\n%s", c.Name(), err, screen)
	}
	if err := term.waitScreen(ctx, 20*time.Second, func(s string) bool { return strings.Contains(s, "parameters") }); err != nil {
		return fail(fmt.Errorf("no first frame: %w", err))
	}
	before := strings.Count(term.screen(), "length")
	if _, err := tty.Write([]byte{0x12}); err != nil { // ctrl+r
		return fail(err)
	}
	if err := w.waitBegin(ctx, 20*time.Second); err != nil {
		return fail(fmt.Errorf("no request: %w", err))
	}
	cpu0, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	limit := 60*time.Second + 3*res.Stream
	if err := w.waitServed(ctx, limit); err != nil {
		return fail(fmt.Errorf("stream not read: %w", err))
	}
	last, err := term.waitQuiet(ctx, o.Quiet, limit)
	if err != nil {
		return fail(err)
	}
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	res.CPU = cpu1 - cpu0
	res.Bytes, res.Frames, res.Kinds = term.window()
	res.Wall = last.Sub(w.beginAt())
	res.Screen = term.screen()
	if got := strings.Count(res.Screen, "length") - before; got < 1 {
		return fail(errors.New(`no sample shows "length" at the end`))
	}

	if _, err := tty.Write([]byte{0x03}); err != nil { // ctrl+c
		return fail(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		return fail(errors.New("did not quit on ctrl+c"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	tty.Close()
	term.close()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.Total = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return res, nil
}

// procCPU is the process's user+sys time so far, all threads, from /proc (clock ticks of
// 10 ms: USER_HZ is 100 on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after its ')' are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// watch is the server side of a run: when the window began and when the stream was sent.
type watch struct {
	mu       sync.Mutex
	start    time.Time
	begun    chan struct{}
	done     chan struct{}
	onceB    sync.Once
	onceDone sync.Once
}

func newWatch() *watch { return &watch{begun: make(chan struct{}), done: make(chan struct{})} }

func (w *watch) begin() {
	w.onceB.Do(func() {
		w.mu.Lock()
		w.start = time.Now()
		w.mu.Unlock()
		close(w.begun)
	})
}

func (w *watch) served() { w.onceDone.Do(func() { close(w.done) }) }

func (w *watch) beginAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.start
}

func waitChan(ctx context.Context, ch <-chan struct{}, limit time.Duration) error {
	select {
	case <-ch:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("timed out after %v", limit)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *watch) waitBegin(ctx context.Context, limit time.Duration) error {
	return waitChan(ctx, w.begun, limit)
}

func (w *watch) waitServed(ctx context.Context, limit time.Duration) error {
	return waitChan(ctx, w.done, limit)
}

// terminal is the far end of the PTY: it reads everything the program writes, feeds a
// virtual terminal with it, answers queries, and counts the bytes of the window.
type terminal struct {
	tty  *os.File
	emu  *vt.SafeEmulator
	w    *watch
	raw  io.Writer
	done chan struct{}
	// The emulator is fed from a queue, so that reading the program's output never waits
	// on it (a slow reader would slow the program down and change what it writes).
	feed          chan []byte
	queued, taken atomic.Int64
	emuDone       chan struct{}

	mu       sync.Mutex
	bytes    int64
	frames   int
	kinds    Kinds
	scan     scanner
	lastRead time.Time
}

// syncQuery is Bubble Tea's question whether the terminal has synchronized output (mode
// 2026); the answer is yes, as from the terminals that have it (x/vt does not).
const (
	syncQuery = "\x1b[?2026$p"
	syncReply = "\x1b[?2026;2$y"
	syncBegin = "\x1b[?2026h"
)

func newTerminal(tty *os.File, width, height int, w *watch, raw io.Writer) *terminal {
	t := &terminal{tty: tty, emu: vt.NewSafeEmulator(width, height), w: w, raw: raw, done: make(chan struct{}),
		feed: make(chan []byte, 1<<16), emuDone: make(chan struct{})}
	go func() {
		defer close(t.emuDone)
		for b := range t.feed {
			_, _ = t.emu.Write(b)
			t.taken.Add(1)
		}
	}()
	// The emulator's answers go back to the program through a queue, as a PTY's buffer
	// would carry them, so its writes never wait on the program reading.
	answers := make(chan []byte, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := t.emu.Read(buf)
			if n > 0 {
				answers <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				close(answers)
				return
			}
		}
	}()
	go func() {
		for b := range answers {
			_, _ = tty.Write(b)
		}
	}()
	go t.read()
	return t
}

func (t *terminal) read() {
	defer close(t.done)
	buf := make([]byte, 64<<10)
	var tail []byte
	for {
		n, err := t.tty.Read(buf)
		if n > 0 {
			b := buf[:n]
			inWindow := false
			select {
			case <-t.w.begun:
				inWindow = true
			default:
			}
			t.mu.Lock()
			t.lastRead = time.Now()
			if inWindow {
				t.bytes += int64(n)
				t.frames += t.scan.feed(b, &t.kinds)
				if t.raw != nil {
					_, _ = t.raw.Write(b)
				}
			}
			t.mu.Unlock()
			// A query may be split across reads: look at the end of the last one too.
			probe := append(tail, b...)
			if bytes.Contains(probe, []byte(syncQuery)) {
				_, _ = t.tty.Write([]byte(syncReply))
				probe = nil
			}
			tail = append(tail[:0], probe[max(0, len(probe)-len(syncQuery)):]...)
			t.queued.Add(1)
			t.feed <- append([]byte(nil), b...)
		}
		if err != nil {
			return
		}
	}
}

func (t *terminal) window() (int64, int, Kinds) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bytes, t.frames, t.kinds
}

// screen is what the terminal shows once it has taken in everything read so far.
func (t *terminal) screen() string {
	for q := t.queued.Load(); t.taken.Load() < q; {
		time.Sleep(time.Millisecond)
	}
	return ansi.Strip(t.emu.Render())
}

func (t *terminal) waitScreen(ctx context.Context, limit time.Duration, ok func(string) bool) error {
	deadline := time.Now().Add(limit)
	for !ok(t.screen()) {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", limit)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// waitQuiet waits until nothing was written for quiet and returns when the last byte came.
func (t *terminal) waitQuiet(ctx context.Context, quiet, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		t.mu.Lock()
		last := t.lastRead
		t.mu.Unlock()
		if time.Since(last) >= quiet {
			return last, nil
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("output never went quiet in %v", limit)
		}
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		time.Sleep(quiet / 8)
	}
}

func (t *terminal) close() {
	<-t.done
	close(t.feed)
	<-t.emuDone
	_ = t.emu.InputPipe().(io.Closer).Close()
}

// Kinds splits output bytes by what they do.
type Kinds struct {
	Text  int64 // printed characters, CR and LF
	Words int64 // runs of letters among them: about how many tokens were drawn
	SGR   int64 // colours and attributes (CSI … m)
	Move  int64 // cursor movement (CUP, CUU/CUD/CUF/CUB, CHA, VPA, …)
	Edit  int64 // erasing, scrolling, inserting and deleting (EL, ED, ECH, REP, SU, IL, DECSTBM, …)
	Other int64 // modes, OSC and the rest
}

// scanner classifies a byte stream split across reads.
type scanner struct {
	pending []byte // an escape sequence cut by the end of a read
	inWord  bool
}

// feed classifies b into k and returns how many frames began in it.
func (s *scanner) feed(b []byte, k *Kinds) (frames int) {
	if len(s.pending) > 0 {
		b = append(s.pending, b...)
		s.pending = nil
	}
	for i := 0; i < len(b); {
		if b[i] != 0x1b {
			j := i
			for j < len(b) && b[j] != 0x1b {
				letter := b[j]|0x20 >= 'a' && b[j]|0x20 <= 'z'
				if letter && !s.inWord {
					k.Words++
				}
				s.inWord = letter
				j++
			}
			k.Text += int64(j - i)
			i = j
			continue
		}
		s.inWord = false
		n, kind := escLen(b[i:])
		if n == 0 { // incomplete: keep for the next read
			s.pending = append([]byte(nil), b[i:]...)
			return frames
		}
		seq := b[i : i+n]
		switch kind {
		case 'm':
			k.SGR += int64(n)
		case 'H', 'f', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'd', 'e', 'a', '`':
			k.Move += int64(n)
		case 'J', 'K', 'X', 'b', 'S', 'T', 'L', 'M', '@', 'P', 'r', 's':
			k.Edit += int64(n)
		default:
			k.Other += int64(n)
		}
		if string(seq) == syncBegin {
			frames++
		}
		i += n
	}
	return frames
}

// escLen is the length of the escape sequence at the start of b (0: incomplete) and, for
// CSI, its final byte (other sequences report 0).
func escLen(b []byte) (int, byte) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '[':
		for j := 2; j < len(b); j++ {
			if b[j] >= 0x40 && b[j] <= 0x7e {
				// CSI ? … s is not a cursor save but a private mode save; rare here.
				return j + 1, b[j]
			}
		}
		return 0, 0
	case ']', 'P', '_', '^':
		for j := 2; j < len(b); j++ {
			if b[j] == 0x07 {
				return j + 1, 0
			}
			if b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\' {
				return j + 2, 0
			}
		}
		return 0, 0
	}
	return 2, 0
}
