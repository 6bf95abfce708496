package backend

import (
	"context"
	"strings"
	"time"
)

// Update is what a Bridge hands the UI once per frame: every event since the last Update,
// in order, with consecutive EventTokens of the same sample merged into one.
type Update struct {
	Events []Event
	// Closed: the run's channel is closed; this is the last Update.
	Closed bool
}

// Bridge coalesces a run's event channel into at most one Update per frame interval, so
// a UI renders once per frame rather than once per token. It starts no goroutine: the TUI
// calls Next inside a tea.Cmd and issues the next Cmd when the Update message arrives.
// Nothing is ever dropped, finish and error events included. One Next at a time.
type Bridge struct {
	events   <-chan Event
	interval time.Duration
	last     time.Time
	closed   bool
	clock    Clock
}

// Clock is the time a Bridge keeps its frames by; tests pass one they move by hand.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and a function that
	// releases it early.
	After(d time.Duration) (c <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// NewBridge wraps a run's channel; interval <= 0 means DefaultFrameInterval.
func NewBridge(events <-chan Event, interval time.Duration) *Bridge {
	return NewBridgeClock(events, interval, nil)
}

// NewBridgeClock is NewBridge keeping time by clock (nil: the real clock).
func NewBridgeClock(events <-chan Event, interval time.Duration, clock Clock) *Bridge {
	if interval <= 0 {
		interval = DefaultFrameInterval
	}
	if clock == nil {
		clock = realClock{}
	}
	return &Bridge{events: events, interval: interval, clock: clock}
}

// SetInterval changes the time between Updates from the next Next on (interval <= 0
// means DefaultFrameInterval), for a UI that paces its frames to the stream. Call it
// between Nexts, not during one.
func (b *Bridge) SetInterval(interval time.Duration) {
	if interval <= 0 {
		interval = DefaultFrameInterval
	}
	b.interval = interval
}

// maxPerUpdate bounds one Update when the producer outruns the consumer, so a backlog is
// delivered over several frames instead of one unbounded batch.
const maxPerUpdate = 1 << 16

// Next blocks until at least one event arrives (or the channel closes), then keeps
// collecting until one interval has passed since the previous Update, and returns
// everything collected. ok is false once the final Update (Closed) has been returned, or
// when ctx ends before any event arrived (if it ends while collecting, what was collected
// is returned with ok true).
func (b *Bridge) Next(ctx context.Context) (u Update, ok bool) {
	if b.closed {
		return Update{Closed: true}, false
	}
	var raw []Event
	select {
	case ev, open := <-b.events:
		if !open {
			b.closed = true
			return Update{Closed: true}, true
		}
		raw = append(raw, ev)
	case <-ctx.Done():
		return Update{}, false
	}
	if wait := b.last.Add(b.interval).Sub(b.clock.Now()); wait > 0 {
		frame, stop := b.clock.After(wait)
		defer stop()
	collect:
		for len(raw) < maxPerUpdate {
			select {
			case ev, open := <-b.events:
				if !open {
					b.closed = true
					u.Closed = true
					break collect
				}
				raw = append(raw, ev)
			case <-frame:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
	}
	// Whatever is already waiting goes too: it costs no extra frame.
drain:
	for !u.Closed && len(raw) < maxPerUpdate {
		select {
		case ev, open := <-b.events:
			if !open {
				b.closed = true
				u.Closed = true
				break drain
			}
			raw = append(raw, ev)
		default:
			break drain
		}
	}
	b.last = b.clock.Now()
	u.Events = Coalesce(raw)
	return u, true
}

// Coalesce merges runs of consecutive EventTokens of the same sample into one event
// (texts and reasoning each concatenated, tokens appended, the prompt ids kept); every
// other event is kept as is, in order. It may reuse evs' storage.
func Coalesce(evs []Event) []Event {
	out := evs[:0]
	for i := 0; i < len(evs); {
		ev := evs[i]
		j := i + 1
		if ev.Kind == EventTokens {
			textLen, nTok, thought := len(ev.Text), len(ev.Tokens), ev.Reasoning != ""
			for j < len(evs) && evs[j].Kind == EventTokens && evs[j].Sample == ev.Sample {
				textLen += len(evs[j].Text)
				nTok += len(evs[j].Tokens)
				thought = thought || evs[j].Reasoning != ""
				j++
			}
			if j > i+1 {
				var sb, rb strings.Builder
				sb.Grow(textLen)
				var toks []Token
				if nTok > 0 {
					toks = make([]Token, 0, nTok)
				}
				for k := i; k < j; k++ {
					sb.WriteString(evs[k].Text)
					if thought {
						rb.WriteString(evs[k].Reasoning)
					}
					toks = append(toks, evs[k].Tokens...)
					if ev.PromptIDs == nil {
						ev.PromptIDs = evs[k].PromptIDs
					}
				}
				ev.Text, ev.Tokens = sb.String(), toks
				if thought {
					// The thinking comes before the answer, so the two concatenations
					// keep each one's order.
					ev.Reasoning = rb.String()
				}
			}
		}
		out = append(out, ev)
		i = j
	}
	return out
}
