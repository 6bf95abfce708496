package ui

import (
	"io"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
)

// Frames follow the work. A frame costs the terminal its changes plus a fixed part
// (cursor moves, the footers' numbers, the spinners) and costs the program a View and
// Bubble Tea's diff of the whole screen, so a frame is taken when it carries a few
// tokens per column: every 16 ms at 1,000 tokens/s, about every 100 ms at 30 tokens/s.
// Updates are never queued: the bridge hands over everything that arrived meanwhile in
// one message, so a later frame simply shows more. When the terminal (or an SSH channel)
// reads slowly, or the frames' bytes would pass the bound, the next frame waits longer.
const (
	minFrameGap = backend.DefaultFrameInterval // about 60 frames/s, Bubble Tea's own rate
	maxFrameGap = 100 * time.Millisecond       // at least 10 frames/s while tokens flow
	// frameTokens is how many tokens per streaming column make a frame worth drawing.
	frameTokens = 3
	// slowFrameGap bounds the wait a slow terminal can impose.
	slowFrameGap = time.Second
	// DefaultOutputRate is the bound on the bytes per second the program writes while
	// streaming, when the Config gives none: well above what a stream needs (under 200
	// KB/s at 4 × 1,000 tokens/s), low enough that a viewer on a slow link gets fewer,
	// fuller frames rather than a backlog.
	DefaultOutputRate = 512 << 10
)

// OutputMeter is the program's output (Bubble Tea's WithOutput) counted: the bytes
// written and the time spent writing them, which tells a terminal that reads slowly
// (an SSH viewer's writer, say). Over a terminal file it passes the file's descriptor
// through, so Bubble Tea still finds a TTY.
type OutputMeter struct {
	w     io.Writer
	bytes atomic.Int64
	busy  atomic.Int64 // nanoseconds inside Write
}

// NewOutputMeter counts what is written to w.
func NewOutputMeter(w io.Writer) *OutputMeter { return &OutputMeter{w: w} }

func (o *OutputMeter) Write(p []byte) (int, error) {
	start := time.Now()
	n, err := o.w.Write(p)
	o.busy.Add(int64(time.Since(start)))
	o.bytes.Add(int64(n))
	return n, err
}

// Read, Close and Fd make the meter over a terminal file a terminal file for Bubble Tea.
func (o *OutputMeter) Read(p []byte) (int, error) {
	if r, ok := o.w.(io.Reader); ok {
		return r.Read(p)
	}
	return 0, io.EOF
}

// Close closes the underlying writer if it can be closed.
func (o *OutputMeter) Close() error {
	if c, ok := o.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Fd is the underlying file's descriptor; a writer that is no file has none (and is no
// terminal).
func (o *OutputMeter) Fd() uintptr {
	if f, ok := o.w.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

// Written is the bytes written so far and the time spent writing them.
func (o *OutputMeter) Written() (int64, time.Duration) {
	return o.bytes.Load(), time.Duration(o.busy.Load())
}

// framePacer decides how long after one stream update the next is taken (the bridge's
// interval: it keeps reading the stream meanwhile and hands over everything at once).
type framePacer struct {
	at   time.Time // when the last update was applied
	rate float64   // tokens per second per streaming column, smoothed; 0: not known yet
	gap  time.Duration

	meter        *OutputMeter
	bytesPerSec  float64
	bytes        int64
	busy         time.Duration
	spunAt       time.Time // when a frame last stepped the spinner
	lastProgress time.Time // when an update last carried tokens
}

// start begins a run: nothing is known of its rate.
func (p *framePacer) start(now time.Time) {
	p.at, p.rate, p.gap = now, 0, minFrameGap
	p.lastProgress, p.spunAt = time.Time{}, now
}

// observe notes an update applied at now that carried tokens over streaming columns, and
// works out the gap before the next one.
func (p *framePacer) observe(now time.Time, tokens, streaming int) {
	dt := now.Sub(p.at).Seconds()
	p.at = now
	if tokens > 0 {
		p.lastProgress = now
	}
	if streaming > 0 && dt > 0 {
		inst := float64(tokens) / float64(streaming) / dt
		if p.rate == 0 {
			p.rate = inst
		} else {
			p.rate += 0.3 * (inst - p.rate)
		}
	}
	gap := minFrameGap
	if p.rate > 0 {
		gap = time.Duration(frameTokens / p.rate * float64(time.Second))
	}
	gap = min(max(gap, minFrameGap), maxFrameGap)
	if p.meter != nil {
		b, busy := p.meter.Written()
		wrote, took := b-p.bytes, busy-p.busy
		p.bytes, p.busy = b, busy
		// The bytes just written are paid for at the bound before the next frame; a
		// terminal that took long to take them gets at least as long again to breathe.
		if p.bytesPerSec > 0 {
			gap = max(gap, time.Duration(float64(wrote)/p.bytesPerSec*float64(time.Second)))
		}
		gap = min(max(gap, 2*took), slowFrameGap)
	}
	p.gap = gap
}

// streamTokens counts what an update brings to the columns: tokens, or text chunks for a
// run without logprobs.
func streamTokens(u backend.Update) int {
	n := 0
	for _, ev := range u.Events {
		if ev.Kind != backend.EventTokens {
			continue
		}
		if len(ev.Tokens) > 0 {
			n += len(ev.Tokens)
		} else if ev.Text != "" {
			n++
		}
	}
	return n
}

// paceUpdate is called when an update has been applied; more says whether others follow.
func (m *Model) paceUpdate(u backend.Update, at time.Time, more bool) {
	streaming := 0
	for _, c := range m.samples.cols {
		if c.Streaming {
			streaming++
		}
	}
	m.pace.observe(at, streamTokens(u), streaming)
	// The last update shows everything: nothing would come after it to show what waits.
	m.samples.stagger.on = more
	if streamTokens(u) > 0 {
		m.stepSpinnerWithFrame(at)
	}
}

// The spinners in the column headers sit on one line, so every step of theirs redraws
// that line from the first column to the last. While tokens flow, the text shows the
// stream is alive and the spinner steps with the frames, every spinBusyStep; when
// nothing arrives for a while it steps on its own ticks again, at its own rate.
const (
	spinBusyStep = 500 * time.Millisecond
	// spinCheck is how often the spinner's tick looks in while frames step it.
	spinCheck = 500 * time.Millisecond
)

func (m *Model) stepSpinner(now time.Time) {
	m.spin, _ = m.spin.Update(m.spin.Tick())
	m.pace.spunAt = now
}

func (m *Model) stepSpinnerWithFrame(now time.Time) {
	if now.Sub(m.pace.spunAt) >= spinBusyStep {
		m.stepSpinner(now)
	}
}

// onSpinnerTick steps the spinner when no tokens came for a while, and schedules the next
// tick: at the spinner's rate while waiting, less often while frames step it.
func (m *Model) onSpinnerTick() tea.Cmd {
	if !m.streaming() {
		m.spinning = false
		return nil
	}
	m.samples.stagger.on = true
	now := m.c.Now()
	every := m.spin.Spinner.FPS
	next := every
	if now.Sub(m.pace.lastProgress) < spinBusyStep {
		next = spinCheck
	} else {
		m.stepSpinner(now)
	}
	tick := m.spin.Tick
	return tea.Tick(next, func(time.Time) tea.Msg { return tick() })
}

// A streaming column's footer numbers (tokens, tokens/s) change with every token, and the
// footers of all columns share a line, so refreshing them every frame redraws that line
// from the first column to the last. While streaming they are refreshed every footEvery
// (their values are those of that moment); the final numbers are drawn at once.
const footEvery = 500 * time.Millisecond

// footStamp is the version the footer shows at now: the column's version, or while
// streaming the one it showed less than footEvery ago. A clock that has not moved (a
// test's) refreshes every time.
func (c *column) footStamp(now time.Time) int {
	if d := now.Sub(c.footAt); !c.Streaming || d <= 0 || d >= footEvery {
		if c.footShown != c.version {
			c.footShown, c.footAt = c.version, now
		}
	}
	return c.footShown
}
