package backend

import (
	"context"
	"sync"
	"time"
)

// Emitter is the producer side of a run's event channel, for Sampler implementations:
// Emit never blocks (events queue without bound), so a stream is never held up by a slow
// consumer. Events are delivered in Emit order. After Close, the queue drains and the
// channel is closed; one goroutine (started by NewEmitter) does the delivery and exits then.
//
// An Emitter made by NewRunEmitter also stops waiting for a consumer that has gone away:
// once the run's context is done, a delivery that no one takes within the linger ends the
// delivery for good (the rest of the queue and every later Emit are dropped, and the
// channel is closed), so a cancelled run that nobody reads to the end leaves no goroutine
// behind. A consumer that keeps reading still gets every event, the cancelled finishes
// included.
type Emitter struct {
	mu     sync.Mutex
	queue  []Event
	closed bool
	gaveUp bool
	wake   chan struct{}
	out    chan Event

	// done is the run's ctx.Done(); nil (never ready) for an Emitter that never gives up.
	done   <-chan struct{}
	linger time.Duration
}

// DefaultLinger is how long, once a run's context is done, an Emitter waits for its
// consumer to take the next event before deciding that no one is reading. It is long
// next to a frame (a UI reads every 16-33 ms) so a live consumer loses nothing.
const DefaultLinger = 2 * time.Second

// NewEmitter returns an Emitter that delivers until its consumer has read everything;
// the consumer must read the channel to the end.
func NewEmitter() (*Emitter, <-chan Event) { return newEmitter(nil, 0) }

// NewRunEmitter returns an Emitter for a run under ctx: it gives up on a consumer that
// stops reading once ctx is done (see Emitter). linger <= 0 means DefaultLinger.
func NewRunEmitter(ctx context.Context, linger time.Duration) (*Emitter, <-chan Event) {
	if linger <= 0 {
		linger = DefaultLinger
	}
	return newEmitter(ctx.Done(), linger)
}

func newEmitter(done <-chan struct{}, linger time.Duration) (*Emitter, <-chan Event) {
	e := &Emitter{wake: make(chan struct{}, 1), out: make(chan Event), done: done, linger: linger}
	go e.pump()
	return e, e.out
}

// Emit queues ev. Emitting after Close is a bug and panics; after the Emitter gave up on
// its consumer, ev is dropped.
func (e *Emitter) Emit(ev Event) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		panic("backend: Emit after Close")
	}
	if e.gaveUp {
		e.mu.Unlock()
		return
	}
	e.queue = append(e.queue, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Close marks the end of the run; the channel closes once the queue is delivered.
// Emit EventDone before closing.
func (e *Emitter) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Emitter) pump() {
	defer close(e.out)
	var batch []Event
	var linger *time.Timer // started once the run's context is done
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for {
		e.mu.Lock()
		// Swap buffers so producers append to a fresh slice while this one is delivered.
		batch, e.queue = e.queue, batch[:0]
		closed := e.closed
		e.mu.Unlock()
		for i := range batch {
			if !e.send(batch[i], &linger) {
				e.giveUp()
				return
			}
			batch[i] = Event{} // drop references so delivered tokens can be collected
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-e.wake
		}
	}
}

// send delivers ev, reporting false when the run's context is done and no one took ev
// within the linger.
func (e *Emitter) send(ev Event, linger **time.Timer) bool {
	if *linger == nil {
		select {
		case e.out <- ev:
			return true
		case <-e.done:
			*linger = time.NewTimer(e.linger)
		}
	} else {
		(*linger).Reset(e.linger)
	}
	select {
	case e.out <- ev:
		return true
	case <-(*linger).C:
		return false
	}
}

// giveUp drops what is queued and everything emitted from now on.
func (e *Emitter) giveUp() {
	e.mu.Lock()
	e.gaveUp = true
	e.queue = nil
	e.mu.Unlock()
}
