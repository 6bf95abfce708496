package ui

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// Frames follow the stream: at 1,000 tokens/s per column every 16 ms, at 30 tokens/s
// about every 100 ms (a few tokens per column each), never slower than maxFrameGap while
// tokens flow.
func TestFramePacerFollowsTheRate(t *testing.T) {
	for _, tc := range []struct {
		perSec float64
		want   time.Duration
	}{{1000, minFrameGap}, {30, maxFrameGap}, {60, 50 * time.Millisecond}, {2, maxFrameGap}} {
		var p framePacer
		now := time.Unix(100, 0)
		p.start(now)
		due := 0.0 // tokens sent and not yet taken; an update comes once one is there
		for range 40 {
			gap := max(p.gap, minFrameGap)
			due += tc.perSec * gap.Seconds() * 4
			if due < 1 {
				gap += time.Duration((1 - due) / (tc.perSec * 4) * float64(time.Second))
				due = 1
			}
			now = now.Add(gap)
			p.observe(now, int(due), 4)
			due -= float64(int(due))
		}
		if d := p.gap - tc.want; d < -5*time.Millisecond || d > 5*time.Millisecond {
			t.Errorf("%v tokens/s per column: gap %v, want about %v", tc.perSec, p.gap, tc.want)
		}
	}
}

// The bytes a frame wrote are paid for at the bound before the next frame, and a
// terminal that is slow to take them gets twice its time: frames are dropped (the next
// update carries everything), never queued.
func TestFramePacerBoundsBytes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	meter := NewOutputMeter(w)
	if meter.Fd() != w.Fd() {
		t.Fatal("the meter hides the terminal's descriptor from Bubble Tea")
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	p := framePacer{meter: meter, bytesPerSec: 100 << 10}
	now := time.Unix(100, 0)
	p.start(now)
	if _, err := meter.Write(make([]byte, 50<<10)); err != nil {
		t.Fatal(err)
	}
	p.observe(now.Add(minFrameGap), 64, 4) // a fast stream, but 50 KB just went out
	if p.gap < 450*time.Millisecond {
		t.Errorf("50 KB at a bound of 100 KB/s: next frame after %v, want about 500ms", p.gap)
	}
	if n, _ := meter.Written(); n != 50<<10 {
		t.Errorf("meter counted %d bytes", n)
	}
	p.observe(now.Add(minFrameGap+p.gap), 64, 4) // nothing written since
	if p.gap != minFrameGap {
		t.Errorf("nothing written: gap %v, want %v", p.gap, minFrameGap)
	}
	// A terminal that took 300 ms to read the last frame.
	meter.busy.Add(int64(300 * time.Millisecond))
	p.observe(now.Add(time.Second), 64, 4)
	if p.gap != 600*time.Millisecond {
		t.Errorf("a 300 ms write: gap %v, want 600ms", p.gap)
	}
}

// While tokens flow, the columns' spinners step with the frames every spinBusyStep
// rather than on their own ticks, and the footers' numbers are refreshed every
// footEvery; the final numbers are drawn at once.
func TestStreamingSpinnerAndFooterPace(t *testing.T) {
	s := newStreamSim(t, 4, 160, 45, 0)
	start := s.m.spin.View()
	steps := 0
	last := start
	for range 20 { // 2 s at 100 ms a frame
		s.tokens(3, 100*time.Millisecond)
		if v := s.m.spin.View(); v != last {
			steps++
			last = v
		}
	}
	if steps < 3 || steps > 5 {
		t.Errorf("the spinner stepped %d times in 2 s of frames, want about 4", steps)
	}
	c := s.m.samples.cols[0]
	var refreshed []time.Time
	for range 20 {
		before := c.footShown
		s.tokens(3, 100*time.Millisecond)
		if c.footShown != before {
			refreshed = append(refreshed, s.now)
		}
	}
	if len(refreshed) < 3 || len(refreshed) > 5 {
		t.Errorf("the footer was refreshed %d times in 2 s of frames, want about 4", len(refreshed))
	}
	for i := 1; i < len(refreshed); i++ {
		if d := refreshed[i].Sub(refreshed[i-1]); d < footEvery {
			t.Errorf("footer refreshes %v apart", d)
		}
	}
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if c.footStamp(s.now) != c.version {
		t.Error("a finished column's footer does not show its last numbers")
	}
}
