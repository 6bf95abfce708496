package serve

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingSink takes writes only while open; it records what arrived.
type blockingSink struct {
	mu   sync.Mutex
	cond *sync.Cond
	open bool
	got  bytes.Buffer
}

func newBlockingSink(open bool) *blockingSink {
	b := &blockingSink{open: open}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *blockingSink) set(open bool) {
	b.mu.Lock()
	b.open = open
	b.cond.Broadcast()
	b.mu.Unlock()
}

func (b *blockingSink) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.open {
		b.cond.Wait()
	}
	return b.got.Write(p)
}

func (b *blockingSink) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String()
}

// Bubble Tea's '\n' means CRLF; a '\r\n' split across two writes stays one.
func TestFrameWriterMapsNewlines(t *testing.T) {
	t.Parallel()
	sink := newBlockingSink(true)
	w := newFrameWriter(sink, 1<<20)
	for _, p := range []string{"a\nb", "\r", "\nc\r\n", "\n\n"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	w.Close()
	w.Flush(time.Second)
	if got, want := sink.String(), "a\r\nb\r\nc\r\n\r\n\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// While the sink is stalled, Write never blocks, pending bytes stay within
// the bound, frames are dropped whole (never cut), and the frames that were
// taken arrive complete and in order; a redraw is asked for once the backlog
// has room.
func TestFrameWriterDropsWholeFramesUnderABound(t *testing.T) {
	t.Parallel()
	sink := newBlockingSink(false)
	w := newFrameWriter(sink, 4096)
	repaints := make(chan struct{}, 8)
	w.repaint = func() { repaints <- struct{}{} }
	frame := func(i int) []byte { return []byte(fmt.Sprintf("<%04d%s>", i, strings.Repeat("x", 1000))) }
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			_, _ = w.Write(frame(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Write blocked on a stalled sink")
	}
	st := w.Stats()
	if st.MaxPending > 4096 || st.DroppedFrames == 0 || st.Frames+st.DroppedFrames != 100 {
		t.Fatalf("stats %+v", st)
	}
	select {
	case <-repaints:
		t.Fatal("a redraw asked for while nothing can leave")
	default:
	}
	sink.set(true)
	select {
	case <-repaints:
	case <-time.After(5 * time.Second):
		t.Fatal("no redraw after the backlog left")
	}
	w.Close()
	w.Flush(time.Second)
	got := sink.String()
	last := -1
	for _, part := range strings.SplitAfter(got, ">") {
		if part == "" {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(part, "<%04d", &i); err != nil || part != string(frame(i)) {
			t.Fatalf("a frame arrived cut: %.40q", part)
		}
		if i <= last {
			t.Fatalf("frame %d after %d", i, last)
		}
		last = i
	}
	if int64(len(got)) != w.Stats().Bytes {
		t.Fatalf("sent %d bytes, counted %d", len(got), w.Stats().Bytes)
	}
}

// The first frame is taken even when it is larger than the bound (a screen
// must be drawable), and nothing is written after a failed write.
func TestFrameWriterTakesAnOversizedFirstFrame(t *testing.T) {
	t.Parallel()
	sink := newBlockingSink(true)
	w := newFrameWriter(sink, 16)
	big := strings.Repeat("y", 100)
	_, _ = w.Write([]byte(big))
	w.Close()
	if !w.Flush(time.Second) || sink.String() != big {
		t.Fatalf("got %q", sink.String())
	}
	if _, err := w.Write([]byte("z")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}
