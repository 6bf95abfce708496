package backend

import (
	"context"
	"errors"
	"sync"

	"github.com/twinkle-sh/twinkle/params"
)

// Target is one endpoint and model that a compare run sends the same request to.
type Target struct {
	// Name is how the target is shown ("main", "fp8"); Endpoint is its URL as shown
	// (no credentials); Model is the model asked for ("" for the server's first).
	Name, Endpoint, Model string
	// Main marks the target the request's own model was picked for: it runs that
	// model, not Model.
	Main    bool
	Sampler Sampler
}

// Multi is a Sampler that sends every request to several targets at once, for
// comparing deployments side by side. Target t's samples are numbered from t×n (n the
// samples each is sent, so the numbers follow the targets' order whichever answers
// first), and its EventStart carries the target's index as
// the Variant, so a consumer tells the targets apart as it tells a sweep's variants
// apart. A target that fails (at start, or its whole run) ends its own samples with
// the error and never stops the others; the run's EventDone comes once all are over.
type Multi struct {
	Targets []Target
}

// Models lists the first target's models.
func (m *Multi) Models(ctx context.Context) ([]Model, error) {
	if len(m.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	return m.Targets[0].Sampler.Models(ctx)
}

// Start starts the request on every target. A sweep (req.Variants) is refused: its
// variants and the targets would share the Variant numbering.
func (m *Multi) Start(ctx context.Context, req Request) (<-chan Event, error) {
	if len(req.Variants) > 0 {
		return nil, &Error{Kind: KindConfig, Message: "a sweep runs on one target: turn the compare off to sweep"}
	}
	if len(m.Targets) == 0 {
		return nil, &Error{Kind: KindConfig, Message: "no targets to compare"}
	}
	// A request no target would take is refused at once, as one sampler refuses it.
	if err := req.Validate(); err != nil {
		return nil, err
	}
	parts := make([]fanPart, len(m.Targets))
	for t, tg := range m.Targets {
		r := req
		if !tg.Main {
			r.Model = tg.Model
		}
		parts[t] = fanPart{sampler: tg.Sampler, req: r, model: tg.Model}
	}
	return fanOut(ctx, req, parts), nil
}

// Batch is a Sampler that samples several prompts with one request's parameters, all
// at once: prompt i replaces the request's prompt (in chat mode, the content of its
// last message) and runs as variant i, numbered as Multi numbers its targets. A
// prompt that fails ends its own samples only.
type Batch struct {
	Sampler Sampler
	Prompts []string
}

// Models lists the sampler's models.
func (b *Batch) Models(ctx context.Context) ([]Model, error) { return b.Sampler.Models(ctx) }

// Start starts every prompt. A sweep (req.Variants) is refused, as by Multi.
func (b *Batch) Start(ctx context.Context, req Request) (<-chan Event, error) {
	switch {
	case len(req.Variants) > 0:
		return nil, &Error{Kind: KindConfig, Message: "a sweep samples one prompt: run the batch without it"}
	case len(b.Prompts) == 0:
		return nil, &Error{Kind: KindConfig, Message: "no prompts in the batch"}
	case req.API == params.Chat && len(req.Messages) == 0:
		return nil, &Error{Kind: KindConfig, Message: "a chat batch needs a message to put each prompt in"}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	parts := make([]fanPart, len(b.Prompts))
	for i, p := range b.Prompts {
		r := req
		if req.API == params.Chat {
			r.Messages = append([]Message(nil), req.Messages...)
			r.Messages[len(r.Messages)-1].Content = p
		} else {
			r.Prompt = p
		}
		parts[i] = fanPart{sampler: b.Sampler, req: r, model: req.Model}
	}
	return fanOut(ctx, req, parts), nil
}

// fanPart is one request of a fanned-out run and the sampler it goes to.
type fanPart struct {
	sampler Sampler
	req     Request
	model   string
}

// fanOut runs every part at once and merges their events into one run: part t's
// samples are numbered from t×n, its EventStart carries t as the Variant, and the
// run's one EventDone comes when every part is over.
func fanOut(ctx context.Context, req Request, parts []fanPart) <-chan Event {
	em, out := NewRunEmitter(ctx, 0)
	n := req.Options.Samples()
	if req.Params.IsGreedy() {
		n = 1 // as every sampler sends it (see Request.Validate)
	}
	f := &fanIn{em: em, n: n, seed: req.Params.Seed, targets: make([]targetState, len(parts))}
	var wg sync.WaitGroup
	for t, part := range parts {
		wg.Add(1)
		// Each part starts on its own: one slow to answer (a model list to fetch, a
		// connection to open) holds up no other.
		go func() {
			defer wg.Done()
			ch, err := part.sampler.Start(ctx, part.req)
			if err != nil {
				f.fail(t, part.model, asBackendError(err))
				return
			}
			for ev := range ch {
				f.apply(t, ev)
			}
			f.end(t)
		}()
	}
	go func() {
		wg.Wait()
		em.Emit(Event{Kind: EventDone})
		em.Close()
	}()
	return out
}

func asBackendError(err error) *Error {
	if e, ok := AsError(err); ok {
		return e
	}
	return &Error{Kind: KindConfig, Message: err.Error()}
}

// fanIn renumbers the targets' events into one run.
type fanIn struct {
	mu      sync.Mutex
	em      *Emitter
	n       int // samples sent to each target
	seed    *int64
	targets []targetState
}

type targetState struct {
	started      bool
	first, count int
	finished     map[int]bool
	model        string
}

// begin gives target t its sample numbers; the caller holds mu.
func (f *fanIn) begin(t, count int, model string) *targetState {
	ts := &f.targets[t]
	if !ts.started {
		ts.started, ts.first, ts.count, ts.finished = true, t*f.n, min(count, f.n), map[int]bool{}
	}
	if model != "" {
		ts.model = model
	}
	return ts
}

// fail ends target t, which could not start, with err on each of its samples.
func (f *fanIn) fail(t int, model string, err *Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.begin(t, f.n, model)
	f.em.Emit(Event{Kind: EventStart, Start: &StartInfo{Variant: t, First: ts.first, Count: ts.count, Requested: f.n, Model: model, Seeds: f.seeds(ts.count)}})
	f.finishRest(ts, err)
}

// seeds are the seeds n samples of the request would have been drawn with.
func (f *fanIn) seeds(n int) []*int64 {
	out := make([]*int64, n)
	for i := range out {
		if f.seed != nil {
			s := *f.seed + int64(i)
			out[i] = &s
		}
	}
	return out
}

// finishRest ends every unfinished sample of ts with err; the caller holds mu.
func (f *fanIn) finishRest(ts *targetState, err *Error) {
	for i := 0; i < ts.count; i++ {
		if !ts.finished[i] {
			ts.finished[i] = true
			f.em.Emit(Event{Kind: EventFinish, Sample: ts.first + i, Reason: StopError, Err: err})
		}
	}
}

func (f *fanIn) apply(t int, ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := &f.targets[t]
	switch ev.Kind {
	case EventStart:
		if ev.Start == nil {
			return
		}
		s := *ev.Start
		ts = f.begin(t, s.First+s.Count, s.Model)
		s.Variant, s.First = t, ts.first+s.First
		ev.Start = &s
	case EventDone:
		// The run's one EventDone comes when every target is over; a target whose
		// run failed as a whole ends its own samples with the error.
		if ev.Err != nil {
			if !ts.started {
				ts = f.begin(t, f.n, "")
				f.em.Emit(Event{Kind: EventStart, Start: &StartInfo{Variant: t, First: ts.first, Count: ts.count, Requested: f.n, Seeds: f.seeds(ts.count)}})
			}
			f.finishRest(ts, ev.Err)
		}
		return
	case EventRetry:
		if !ts.started {
			// Before the target has numbers: said of no sample in particular.
			break
		}
		if ev.Count == 0 {
			ev.Sample, ev.Count = ts.first, ts.count
		} else {
			ev.Sample += ts.first
		}
	default:
		if !ts.started {
			ts = f.begin(t, f.n, "")
		}
		if ev.Kind == EventFinish {
			ts.finished[ev.Sample] = true
		}
		ev.Sample += ts.first
	}
	f.em.Emit(ev)
}

// end follows target t's channel closing: samples it never finished are interrupted.
func (f *fanIn) end(t int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := &f.targets[t]
	for i := 0; ts.started && i < ts.count; i++ {
		if !ts.finished[i] {
			ts.finished[i] = true
			f.em.Emit(Event{Kind: EventFinish, Sample: ts.first + i, Reason: StopInterrupted})
		}
	}
}
