package backend

import "sync"

// Emitter is the producer side of a run's event channel, for Sampler implementations:
// Emit never blocks (events queue without bound), so a stream is never held up by a slow
// consumer. Events are delivered in Emit order. After Close, the queue drains and the
// channel is closed; one goroutine (started by NewEmitter) does the delivery and exits then.
type Emitter struct {
	mu     sync.Mutex
	queue  []Event
	closed bool
	wake   chan struct{}
	out    chan Event
}

// NewEmitter returns an Emitter and the channel its events arrive on.
func NewEmitter() (*Emitter, <-chan Event) {
	e := &Emitter{wake: make(chan struct{}, 1), out: make(chan Event)}
	go e.pump()
	return e, e.out
}

// Emit queues ev. Emitting after Close is a bug and panics.
func (e *Emitter) Emit(ev Event) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		panic("backend: Emit after Close")
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
	for {
		e.mu.Lock()
		// Swap buffers so producers append to a fresh slice while this one is delivered.
		batch, e.queue = e.queue, batch[:0]
		closed := e.closed
		e.mu.Unlock()
		for i := range batch {
			e.out <- batch[i]
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

// Drain discards the rest of a run's events in the background, for a consumer that
// cancelled a run and will not read it to the end (a new run replaced it): the Sampler's
// delivery goroutine then exits once the run is over instead of waiting forever.
func Drain(events <-chan Event) {
	go func() {
		for range events {
		}
	}()
}
