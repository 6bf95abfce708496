package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// Caps are the server's upper bounds on one run, whatever a remote viewer's
// sliders say. Zero means no cap.
type Caps struct {
	MaxTokens int // max_tokens per sample; an unset max_tokens becomes this
	Samples   int // samples per run (n, times the variants of a sweep)
	Logprobs  int // top-K per generated or prompt token
}

// apply checks req against the caps, filling an unset max_tokens with the cap
// (a server's own default could be the whole context). The request's
// parameters are copied before any change: the caller's stay as they were.
func (c Caps) apply(req *backend.Request) error {
	var errs params.Errors
	fix := func(p params.SamplingParams) params.SamplingParams {
		p = p.Clone()
		if c.MaxTokens > 0 {
			switch {
			case p.MaxTokens == nil:
				n := c.MaxTokens
				p.MaxTokens = &n
			case *p.MaxTokens > c.MaxTokens:
				errs = append(errs, params.FieldError{Field: "max_tokens", Msg: fmt.Sprintf("%d is over this server's cap of %d", *p.MaxTokens, c.MaxTokens)})
			}
		}
		return p
	}
	req.Params = fix(req.Params)
	if len(req.Variants) > 0 {
		vs := make([]params.SamplingParams, len(req.Variants))
		for i, v := range req.Variants {
			vs[i] = fix(v)
		}
		req.Variants = vs
	}
	if n := req.Options.Samples() * max(1, len(req.Variants)); c.Samples > 0 && n > c.Samples {
		errs = append(errs, params.FieldError{Field: "n", Msg: fmt.Sprintf("%d samples is over this server's cap of %d", n, c.Samples)})
	}
	if lp := req.Options.Logprobs; c.Logprobs > 0 && lp != nil && *lp > c.Logprobs {
		errs = append(errs, params.FieldError{Field: "logprobs", Msg: fmt.Sprintf("%d is over this server's cap of %d", *lp, c.Logprobs)})
	}
	if lp := req.Options.PromptLogprobs; c.Logprobs > 0 && lp != nil && *lp > c.Logprobs {
		errs = append(errs, params.FieldError{Field: "prompt_logprobs", Msg: fmt.Sprintf("%d is over this server's cap of %d", *lp, c.Logprobs)})
	}
	if len(errs) > 0 {
		// Deduplicate a sweep's repeated max_tokens problem.
		errs = slices.CompactFunc(errs, func(a, b params.FieldError) bool { return a.Field == b.Field })
		return errs
	}
	return nil
}

// sharedBackend is the server's one backend, shared by every session: the run
// queue in front of it and a short-lived copy of its model list.
type sharedBackend struct {
	inner        backend.Sampler
	defaultModel string
	caps         Caps
	queue        *runQueue

	mu       sync.Mutex
	models   []backend.Model
	listedAt time.Time
}

// modelsTTL is how long a model list is reused: every session asks for it when
// it opens, and a demo's room connecting at once should not mean one request
// each to the model server.
const modelsTTL = 30 * time.Second

func (b *sharedBackend) Models(ctx context.Context) ([]backend.Model, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.models != nil && time.Since(b.listedAt) < modelsTTL {
		return slices.Clone(b.models), nil
	}
	ms, err := b.inner.Models(ctx)
	if err != nil {
		return nil, err
	}
	b.models, b.listedAt = ms, time.Now()
	return slices.Clone(ms), nil
}

// served reports whether name may be asked for: the default model or one the
// server last listed. A remote viewer picks among these and nothing else.
func (b *sharedBackend) served(name string) bool {
	if name == "" || name == b.defaultModel {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.models, func(m backend.Model) bool { return m.ID == name })
}

// sessionSampler is one session's view of the shared backend: caps checked
// below the UI, one run in flight at a time, the server-wide queue (its place
// in line shown through notify), and every run logged.
type sessionSampler struct {
	shared *sharedBackend
	log    *slog.Logger
	// notify shows a status line in the session's program.
	notify func(string)
	// sessCtx ends with the session; a run still waiting then gives up.
	sessCtx context.Context
	one     chan struct{} // holds a token while a run is in flight
}

func newSessionSampler(ctx context.Context, shared *sharedBackend, log *slog.Logger) *sessionSampler {
	return &sessionSampler{shared: shared, log: log, sessCtx: ctx, one: make(chan struct{}, 1), notify: func(string) {}}
}

func (s *sessionSampler) Models(ctx context.Context) ([]backend.Model, error) {
	return s.shared.Models(ctx)
}

// Start checks the request at once (caps, model, parameters) and returns the
// run's channel; waiting for this session's previous run to end and for a
// place in the server's queue happens behind it, so cancelling while waiting
// works like cancelling a stream.
func (s *sessionSampler) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	if err := s.shared.caps.apply(&req); err != nil {
		s.log.Info("run refused", "reason", err.Error())
		return nil, err
	}
	if !s.shared.served(req.Model) {
		err := &backend.Error{Kind: backend.KindConfig, Message: fmt.Sprintf("model %q is not served here", req.Model)}
		s.log.Info("run refused", "reason", err.Message)
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	out := make(chan backend.Event)
	go s.run(ctx, req, out)
	return out, nil
}

func (s *sessionSampler) run(ctx context.Context, req backend.Request, out chan<- backend.Event) {
	defer close(out)
	send := func(ev backend.Event) bool {
		select {
		case out <- ev:
			return true
		case <-s.sessCtx.Done():
			return false
		}
	}
	// This goroutine is the server's, not the program's: a backend that
	// panics here fails this run only.
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "in", "backend", "value", fmt.Sprint(r), "stack", string(debug.Stack()))
			send(backend.Event{Kind: backend.EventDone, Err: &backend.Error{Kind: backend.KindConfig, Message: "internal error in the backend"}})
		}
	}()
	// A run given up before it reached the backend still ends the way a
	// stream does: every sample finished, then done.
	cancelled := func(err error) {
		be := &backend.Error{Kind: backend.KindCancelled, Message: "cancelled while waiting for the model", Err: err}
		for i := range req.Options.Samples() * max(1, len(req.Variants)) {
			send(backend.Event{Kind: backend.EventFinish, Sample: i, Reason: backend.StopCancelled, Err: be})
		}
		send(backend.Event{Kind: backend.EventDone})
	}
	failed := func(err error) {
		be, ok := backend.AsError(err)
		if !ok {
			be = &backend.Error{Kind: backend.KindConfig, Message: err.Error(), Err: err}
		}
		send(backend.Event{Kind: backend.EventDone, Err: be})
	}
	queued := time.Now()
	select {
	case s.one <- struct{}{}:
	case <-ctx.Done():
		cancelled(ctx.Err())
		return
	}
	defer func() { <-s.one }()
	waited := false
	release, err := s.shared.queue.acquire(ctx, func(place int) {
		waited = true
		s.notify(fmt.Sprintf("waiting for the model: %s in line (the server runs %d at a time)", ordinal(place), s.shared.queue.slots))
	})
	if err != nil {
		cancelled(err)
		return
	}
	defer release()
	wait := time.Since(queued)
	if waited {
		n := req.Options.Samples()
		s.notify(fmt.Sprintf("running %d sample%s…", n, plural(n)))
	}
	started := time.Now()
	ch, err := s.shared.inner.Start(ctx, req)
	if err != nil {
		s.log.Info("run failed", "reason", err.Error())
		failed(err)
		return
	}
	var st runStats
	for ev := range ch {
		st.see(ev, started)
		if !send(ev) {
			// The session is gone: read the rest so the backend's producer ends.
			for range ch {
			}
			break
		}
	}
	paramsJSON, _ := json.Marshal(req.Params)
	s.log.Info("run",
		"model", req.Model, "api", string(req.API), "samples", req.Options.Samples(), "variants", len(req.Variants),
		"params", string(paramsJSON), "logprobs", intOr(req.Options.Logprobs), "prompt_logprobs", intOr(req.Options.PromptLogprobs),
		"prompt_bytes", promptBytes(req),
		"queued", wait.Round(time.Millisecond), "first_token", st.firstToken.Round(time.Millisecond),
		"took", time.Since(started).Round(time.Millisecond),
		"tokens", st.tokens, "completion_tokens", st.usage.CompletionTokens, "prompt_tokens", st.usage.PromptTokens,
		"stops", st.stopSummary(), "error", st.err)
}

// runStats is what a run's log line reports, gathered as events pass.
type runStats struct {
	firstToken time.Duration
	tokens     int
	usage      backend.Usage
	stops      map[backend.StopReason]int
	err        string
}

func (st *runStats) see(ev backend.Event, started time.Time) {
	switch ev.Kind {
	case backend.EventTokens:
		if st.tokens == 0 && st.firstToken == 0 {
			st.firstToken = time.Since(started)
		}
		st.tokens += len(ev.Tokens)
	case backend.EventUsage:
		st.usage = st.usage.Add(ev.Usage)
	case backend.EventFinish:
		if st.stops == nil {
			st.stops = map[backend.StopReason]int{}
		}
		st.stops[ev.Reason]++
	case backend.EventError, backend.EventDone:
		if ev.Err != nil && st.err == "" {
			st.err = ev.Err.Error()
		}
	}
}

func (st *runStats) stopSummary() string {
	keys := make([]string, 0, len(st.stops))
	for k := range st.stops {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s=%d", k, st.stops[backend.StopReason(k)])
	}
	return out
}

func intOr(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func promptBytes(req backend.Request) int {
	n := len(req.Prompt)
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	return n
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n, suffix)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
