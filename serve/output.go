package serve

import (
	"io"
	"sync"
	"time"
)

// frameWriter is a session's output: Bubble Tea writes each frame with one Write,
// and a goroutine copies what is pending to the SSH channel. Write never blocks.
// When the channel drains slower than frames come, pending bytes would pile up:
// instead a frame that does not fit in the bound is dropped whole, and once the
// backlog has left, repaint asks the program for a full redraw, so the viewer
// gets the current screen rather than a queue of stale ones.
//
// Memory: the pending buffer holds at most limit bytes (or one frame, when a
// single frame is larger: the first frame is never dropped), plus the chunk
// being written. A screen is clamped to 500x200 cells, so a frame is bounded.
//
// Bubble Tea writes '\n' meaning CRLF (it sees no TTY, so it relies on a line
// discipline's ONLCR); with an emulated PTY there is none, so Write maps a bare
// '\n' to "\r\n" while copying, as a PTY would.
type frameWriter struct {
	sink    io.Writer
	limit   int
	repaint func()

	mu       sync.Mutex
	wake     *sync.Cond
	pending  []byte
	spare    []byte
	inFlight bool
	dropped  bool // a frame was dropped since the last repaint
	closed   bool
	broken   bool // the sink failed: nothing more can leave
	lastCR   bool // the previous Write ended with '\r'
	stats    outputStats
	done     chan struct{}
	// onWrite, when set, sees every chunk after it left (benchmarks).
	onWrite func(p []byte, at time.Time)
}

// outputStats are a session's output counters, logged when it ends.
type outputStats struct {
	Bytes         int64 // bytes that left
	Frames        int64 // writes accepted
	DroppedFrames int64
	DroppedBytes  int64
	MaxPending    int // the most bytes ever waiting
	MaxFrame      int // the largest frame taken (as sent, newlines mapped)
}

func newFrameWriter(sink io.Writer, limit int) *frameWriter {
	w := &frameWriter{sink: sink, limit: limit, done: make(chan struct{})}
	w.wake = sync.NewCond(&w.mu)
	go w.drain()
	return w
}

// Write takes a frame, or drops it whole when the backlog would pass the limit.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, io.ErrClosedPipe
	}
	busy := len(w.pending) > 0 || w.inFlight
	if busy && len(w.pending)+len(p) > w.limit {
		w.dropped = true
		w.stats.DroppedFrames++
		w.stats.DroppedBytes += int64(len(p))
		return len(p), nil
	}
	before := len(w.pending)
	w.pending = appendCRLF(w.pending, p, w.lastCR)
	if len(p) > 0 {
		w.lastCR = p[len(p)-1] == '\r'
	}
	w.stats.Frames++
	w.stats.MaxFrame = max(w.stats.MaxFrame, len(w.pending)-before)
	w.stats.MaxPending = max(w.stats.MaxPending, len(w.pending))
	w.wake.Signal()
	return len(p), nil
}

// appendCRLF appends p to dst with every '\n' not preceded by '\r' written as
// "\r\n" (prevCR: the byte before p was '\r').
func appendCRLF(dst, p []byte, prevCR bool) []byte {
	start := 0
	for i, c := range p {
		if c != '\n' {
			continue
		}
		cr := prevCR
		if i > 0 {
			cr = p[i-1] == '\r'
		}
		if !cr {
			dst = append(dst, p[start:i]...)
			dst = append(dst, '\r')
			start = i
		}
	}
	return append(dst, p[start:]...)
}

func (w *frameWriter) drain() {
	defer close(w.done)
	w.mu.Lock()
	for {
		for len(w.pending) == 0 && !w.closed {
			w.wake.Wait()
		}
		if len(w.pending) == 0 && w.closed {
			w.mu.Unlock()
			return
		}
		chunk := w.pending
		w.pending, w.spare = w.spare[:0], nil
		w.inFlight = true
		w.mu.Unlock()

		_, err := w.sink.Write(chunk)
		at := time.Now()
		if w.onWrite != nil {
			w.onWrite(chunk, at)
		}

		w.mu.Lock()
		w.inFlight = false
		w.stats.Bytes += int64(len(chunk))
		if cap(chunk) <= 2*w.limit {
			w.spare = chunk[:0] // reused, unless one huge frame grew it
		}
		if err != nil {
			// The channel is gone: nothing more can leave.
			w.closed, w.broken = true, true
			w.pending = nil
			w.wake.Broadcast()
			w.mu.Unlock()
			return
		}
		// A redraw is asked for once there is room for a whole screen; the
		// frames taken meanwhile were drawn on a stale base and it covers them.
		repaint := w.dropped && len(w.pending) <= w.limit/2
		if repaint {
			w.dropped = false
		}
		w.wake.Broadcast()
		if repaint && w.repaint != nil {
			w.mu.Unlock()
			w.repaint()
			w.mu.Lock()
		}
	}
}

// Flush waits until everything accepted has left, or d passes; false on timeout.
func (w *frameWriter) Flush(d time.Duration) bool {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		w.mu.Lock()
		w.wake.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for (len(w.pending) > 0 || w.inFlight) && !w.broken {
		if !time.Now().Before(deadline) {
			return false
		}
		w.wake.Wait()
	}
	return len(w.pending) == 0 && !w.inFlight
}

// Close stops taking frames; what is pending still leaves unless the channel
// is gone. It does not wait (see Flush).
func (w *frameWriter) Close() {
	w.mu.Lock()
	w.closed = true
	w.wake.Broadcast()
	w.mu.Unlock()
}

// Stats returns the counters so far.
func (w *frameWriter) Stats() outputStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Dropped reports whether frames were dropped and not yet repainted.
func (w *frameWriter) Dropped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}
