package backend_test

import (
	"context"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// A UI that paces its frames changes the interval between Nexts: the next Update then
// collects for the new interval since the last one (0 goes back to the default).
func TestBridgeSetInterval(t *testing.T) {
	clk := newFakeClock()
	ch := make(chan backend.Event)
	b := backend.NewBridgeClock(ch, 20*time.Millisecond, clk)
	tok := backend.Event{Kind: backend.EventTokens, Text: "x"}
	next := func() chan backend.Update {
		r := make(chan backend.Update, 1)
		go func() {
			u, _ := b.Next(context.Background())
			r <- u
		}()
		return r
	}
	first := next()
	ch <- tok
	<-first
	for _, tc := range []struct{ set, want time.Duration }{{100 * time.Millisecond, 100 * time.Millisecond}, {0, backend.DefaultFrameInterval}} {
		b.SetInterval(tc.set)
		done := next()
		ch <- tok
		select {
		case d := <-clk.waits:
			if d != tc.want {
				t.Errorf("SetInterval(%v): the update waits %v, want %v", tc.set, d, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("SetInterval(%v): the update did not wait", tc.set)
		}
		clk.Advance(tc.want)
		<-done
	}
}
