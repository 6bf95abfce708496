package backend

import (
	"context"
	"time"
)

// Timing is one sample's speed as the client saw it: the numbers the playground's footer
// shows, for comparing deployments. Null in JSON where unknown.
type Timing struct {
	// TTFTMillis is the time from the run's start to the sample's first token or text.
	TTFTMillis *float64 `json:"ttft_ms"`
	// Tokens is the sample's length in tokens: its logprobs entries, or without logprobs
	// the request's usage when the request drew this sample alone.
	Tokens *int `json:"tokens"`
	// TokensPerSecond is (Tokens-1) over the time from the first token to the last, as
	// the footer computes it; null under two tokens.
	TokensPerSecond *float64 `json:"tokens_per_s"`
	// TotalMillis is the time from the run's start to the sample's finish.
	TotalMillis *float64 `json:"total_ms"`
	// Parts times a reasoning model's thinking and answer apart; omitted when the sample
	// has no thinking.
	Parts *PartTimings `json:"parts,omitempty"`
}

// PartTimings times the thinking and the answer of one sample.
type PartTimings struct {
	Thinking PartTiming `json:"thinking"`
	Answer   PartTiming `json:"answer"`
}

// PartTiming is one part's speed, null in JSON where unknown.
type PartTiming struct {
	// Tokens counts the part's tokens; null without logprobs.
	Tokens *int `json:"tokens"`
	// TokensPerSecond is (Tokens-1) over the part's span; null under two tokens.
	TokensPerSecond *float64 `json:"tokens_per_s"`
	// Millis is the part's span: from its first token (or text, without logprobs) to its
	// last.
	Millis *float64 `json:"ms"`
}

// Result is one request's samples (one variant of a run) and their timings.
type Result struct {
	Response SampleResponse
	Timings  []Timing
}

// Collector folds a run's events into one Result per variant, as if each variant had
// been its own run (samples numbered from 0 in each), timing every sample by its clock.
// A run without variants gives one Result. Not safe for concurrent use.
type Collector struct {
	parts []*collectedPart
	err   error
}

type collectedPart struct {
	asm          *Assembler
	now          func() time.Time
	start        time.Time
	first, count int
	started      bool
	samples      []sampleTiming
}

type sampleTiming struct {
	first, last, end time.Time
	tokens           int
	haveTokens       bool
	usage            int
	haveUsage        bool
	parts            [2]partSpan // thinking, answer
	thought          bool
}

// partSpan is when one part of a sample arrived.
type partSpan struct {
	first, last time.Time
	tokens      int
}

func (p *partSpan) see(now time.Time, tokens int) {
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	p.tokens += tokens
}

// NewCollector starts collecting req's run; the run's clock starts now.
func NewCollector(req Request, now func() time.Time) *Collector {
	c := &Collector{}
	start := now()
	for _, p := range req.AllParams() {
		one := req
		one.Params, one.Variants = p, nil
		c.parts = append(c.parts, &collectedPart{asm: NewAssembler(one), now: now, start: start})
	}
	return c
}

// Apply folds one event in.
func (c *Collector) Apply(ev Event) {
	switch ev.Kind {
	case EventStart:
		if ev.Start == nil || ev.Start.Variant < 0 || ev.Start.Variant >= len(c.parts) {
			return
		}
		p := c.parts[ev.Start.Variant]
		p.first, p.count, p.started = ev.Start.First, ev.Start.Count, true
		s := *ev.Start
		s.Variant, s.First = 0, 0
		ev.Start = &s
		p.apply(ev)
		return
	case EventDone:
		if ev.Err != nil {
			c.err = ev.Err
		}
		for _, p := range c.parts {
			p.apply(ev)
		}
		return
	}
	for _, p := range c.parts {
		if p.started && ev.Sample >= p.first && ev.Sample < p.first+p.count {
			ev.Sample -= p.first
			p.apply(ev)
			return
		}
	}
	// An event no variant owns concerns the run as a whole: every variant hears of it.
	for _, p := range c.parts {
		p.apply(ev)
	}
}

func (p *collectedPart) apply(ev Event) {
	p.asm.Apply(ev)
	if ev.Kind == EventStart || ev.Kind == EventDone {
		return
	}
	for ev.Sample >= len(p.samples) {
		p.samples = append(p.samples, sampleTiming{})
	}
	if ev.Sample < 0 {
		return
	}
	st := &p.samples[ev.Sample]
	switch ev.Kind {
	case EventTokens:
		if ev.Text == "" && ev.Reasoning == "" && len(ev.Tokens) == 0 {
			return
		}
		now := p.now()
		if st.first.IsZero() {
			st.first = now
		}
		st.last = now
		if len(ev.Tokens) > 0 {
			st.tokens += len(ev.Tokens)
			st.haveTokens = true
		}
		st.seeParts(now, ev)
	case EventFinish:
		st.end = p.now()
	case EventUsage:
		if ev.Count <= 1 {
			st.usage, st.haveUsage = ev.Usage.CompletionTokens, true
		}
	}
}

// Err is the run-level error (the run failed before any sample started), or nil.
func (c *Collector) Err() error { return c.err }

// Results is one Result per variant, in variant order.
func (c *Collector) Results() []Result {
	out := make([]Result, len(c.parts))
	for v, p := range c.parts {
		r := Result{Response: p.asm.Response()}
		r.Timings = make([]Timing, len(r.Response.StopReason))
		for i := range r.Timings {
			if i < len(p.samples) {
				r.Timings[i] = p.samples[i].timing(p.start)
			}
		}
		out[v] = r
	}
	return out
}

// seeParts times the thinking and the answer of one tokens event: by its tokens' parts
// when it has tokens, else by its texts.
func (s *sampleTiming) seeParts(now time.Time, ev Event) {
	if len(ev.Tokens) == 0 {
		if ev.Reasoning != "" {
			s.thought = true
			s.parts[0].see(now, 0)
		}
		if ev.Text != "" {
			s.parts[1].see(now, 0)
		}
		return
	}
	think, _, answer := CountParts(ev.Tokens)
	if think > 0 {
		s.thought = true
		s.parts[0].see(now, think)
	}
	if answer > 0 {
		s.parts[1].see(now, answer)
	}
}

func (s sampleTiming) partTimings() *PartTimings {
	if !s.thought {
		return nil
	}
	var out PartTimings
	for k, p := range []*PartTiming{&out.Thinking, &out.Answer} {
		span := s.parts[k]
		if span.first.IsZero() {
			continue
		}
		ms := float64(span.last.Sub(span.first).Microseconds()) / 1000
		p.Millis = &ms
		if s.haveTokens {
			n := span.tokens
			p.Tokens = &n
			if d := span.last.Sub(span.first); n > 1 && d > 0 {
				tps := float64(n-1) / d.Seconds()
				p.TokensPerSecond = &tps
			}
		}
	}
	return &out
}

func (s sampleTiming) timing(start time.Time) Timing {
	var t Timing
	ms := func(d time.Duration) *float64 {
		v := float64(d.Microseconds()) / 1000
		return &v
	}
	if !s.first.IsZero() {
		t.TTFTMillis = ms(s.first.Sub(start))
	}
	if !s.end.IsZero() {
		t.TotalMillis = ms(s.end.Sub(start))
	}
	n, known := s.tokens, s.haveTokens
	if !known && s.haveUsage {
		n, known = s.usage, true
	}
	if known {
		t.Tokens = &n
		if span := s.last.Sub(s.first); n > 1 && span > 0 {
			tps := float64(n-1) / span.Seconds()
			t.TokensPerSecond = &tps
		}
	}
	t.Parts = s.partTimings()
	return t
}

// Collect runs req on s to the end and returns one Result per variant. The error is
// non-nil when the request is invalid (no results) or the run failed as a whole (the
// results hold what there is); a failed sample is in its Response (see Failures).
func Collect(ctx context.Context, s Sampler, req Request, now func() time.Time) ([]Result, error) {
	c := NewCollector(req, now)
	ch, err := s.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	for ev := range ch {
		c.Apply(ev)
	}
	return c.Results(), c.Err()
}

// Failures summarises the samples of r that did not end on the model's own terms, as
// `twinkle sample` reports them, or nil.
func Failures(r SampleResponse) error { return failures(r) }
