package openai

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

// pumps counts the goroutines delivering a run's events.
func pumps() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "backend.(*Emitter).pump")
}

// A run replaced by a new one is cancelled and then read no more (the program may quit
// first): its delivery goroutine must not wait for ever for a reader.
func TestReplacedRunLeavesNoGoroutine(t *testing.T) {
	srv, c, _ := newTest(t)
	c.linger = 20 * time.Millisecond
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.StallAt = 2 })})
	before := pumps()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := c.Start(ctx, chatReq(sampling(1, i64(1), ip(8)), 2, ip(1)))
	if err != nil {
		t.Fatal(err)
	}
	for ev := range ch {
		if ev.Kind == backend.EventTokens {
			break
		}
	}
	cancel() // replaced: the cancelled finishes and EventDone are never read
	deadline := time.Now().Add(5 * time.Second)
	for pumps() > before {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled run's delivery goroutine still waits for a reader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := srv.WaitDisconnect(ctx2, 1); err != nil {
		t.Errorf("the server did not see the cancelled request go away: %v", err)
	}
}
