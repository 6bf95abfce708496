package backend

import (
	"slices"
	"strings"

	"github.com/twinkle-sh/twinkle/params"
)

// Assembler folds a run's events into a SampleResponse, incrementally: the UI keeps one
// per run and applies every event it receives; the CLI applies them all and prints
// Response. Not safe for concurrent use.
type Assembler struct {
	req      Request
	samples  []*sampleState
	variants []VariantInfo
	started  []bool
	model    string
	usage    Usage
	notes    []string
	mode     LogprobsMode
	done     bool
	err      *Error
}

type sampleState struct {
	text         strings.Builder
	reasoning    strings.Builder
	thinking     ThinkingState
	tokens       []Token
	align        *Aligner // places tokens in text as both arrive (with logprobs)
	alignThink   *Aligner // the thinking tokens in the thinking, for a reasoning model
	promptTokens []Token
	promptAlign  PromptAlignment
	havePrompt   bool
	promptIDs    []TokenID
	finished     bool
	reason       StopReason
	stoppedBy    StoppedBy
	err          *Error
	seed         *int64
}

const unalignedNote = "prompt logprobs: the prompt's tokens could not be told from their alternatives (no usable prompt_token_ids, and they could not be matched to the prompt), so none are given"

// NewAssembler starts an empty response for req.
func NewAssembler(req Request) *Assembler {
	n := len(req.AllParams())
	return &Assembler{req: req, variants: make([]VariantInfo, n), started: make([]bool, n)}
}

func (a *Assembler) sample(i int) *sampleState {
	for i >= len(a.samples) {
		a.samples = append(a.samples, &sampleState{})
	}
	return a.samples[i]
}

// Apply folds one event in.
func (a *Assembler) Apply(ev Event) {
	switch ev.Kind {
	case EventStart:
		s := ev.Start
		if s == nil {
			return
		}
		if a.model == "" {
			a.model = s.Model
		}
		if a.mode == "" {
			a.mode = s.LogprobsMode
		}
		if s.Variant >= 0 && s.Variant < len(a.variants) {
			a.variants[s.Variant] = VariantInfo{Params: s.Params, First: s.First, Count: s.Count, Requested: s.Requested}
			a.started[s.Variant] = true
		}
		for i := 0; i < s.Count; i++ {
			st := a.sample(s.First + i)
			if i < len(s.Seeds) {
				st.seed = s.Seeds[i]
			}
		}
		if s.Note != "" {
			a.notes = append(a.notes, s.Note)
		}
	case EventTokens:
		st := a.sample(ev.Sample)
		if ev.PromptIDs != nil {
			st.promptIDs = ev.PromptIDs
		}
		st.text.WriteString(ev.Text)
		st.reasoning.WriteString(ev.Reasoning)
		st.thinking.Add(ev)
		st.tokens = append(st.tokens, ev.Tokens...)
		if a.req.Options.Logprobs != nil {
			if st.align == nil {
				st.align = NewAligner()
			}
			if ev.Reasoning == "" && st.alignThink == nil && allAnswer(ev.Tokens) {
				st.align.Add(ev.Tokens, ev.Text)
			} else {
				if st.alignThink == nil {
					st.alignThink = NewAligner()
				}
				thinking, _, answer := SplitParts(ev.Tokens)
				st.alignThink.Add(thinking, ev.Reasoning)
				st.align.Add(answer, ev.Text)
			}
		}
	case EventFinish:
		st := a.sample(ev.Sample)
		st.finished, st.reason, st.stoppedBy, st.err = true, ev.Reason, ev.StoppedBy, ev.Err
		if st.align != nil {
			if st.thinking.Still() && st.alignThink != nil {
				// A stop string met while thinking ends the thinking, not the answer.
				st.alignThink.Finish(StopTail(st.reasoning.String(), ev.StoppedBy))
				st.align.Finish("")
			} else {
				st.align.Finish(StopTail(st.text.String(), ev.StoppedBy))
				if st.alignThink != nil {
					st.alignThink.Finish("")
				}
			}
		}
	case EventPromptLogprobs:
		for i := 0; i < max(ev.Count, 1); i++ {
			st := a.sample(ev.Sample + i)
			st.promptTokens, st.promptAlign, st.havePrompt = ev.PromptTokens, ev.PromptAlignment, true
		}
		if ev.PromptAlignment == PromptUnaligned && !slices.Contains(a.notes, unalignedNote) {
			a.notes = append(a.notes, unalignedNote) // once, however many variants it concerns
		}
	case EventUsage:
		a.usage = a.usage.Add(ev.Usage)
	case EventError:
		if ev.Err != nil {
			a.notes = append(a.notes, ev.Err.Error())
		}
	case EventNote:
		if ev.Text != "" && !slices.Contains(a.notes, ev.Text) {
			a.notes = append(a.notes, ev.Text)
		}
	case EventDone:
		a.done = true
		if ev.Err != nil {
			a.err = ev.Err
		}
	}
}

// Done reports whether EventDone has been applied.
func (a *Assembler) Done() bool { return a.done }

// Err is the run-level error EventDone carried (the run failed before any sample started),
// or nil. A failed sample is reported in the response (Errors, StopReason) instead.
func (a *Assembler) Err() error {
	if a.err == nil {
		return nil
	}
	return a.err
}

// Len is the number of samples seen so far.
func (a *Assembler) Len() int { return len(a.samples) }

// Text is sample i's assistant text so far.
func (a *Assembler) Text(i int) string {
	if i < 0 || i >= len(a.samples) {
		return ""
	}
	return a.samples[i].text.String()
}

// Reasoning is sample i's thinking so far (a reasoning model's; "" for others).
func (a *Assembler) Reasoning(i int) string {
	if i < 0 || i >= len(a.samples) {
		return ""
	}
	return a.samples[i].reasoning.String()
}

// Thinking is where sample i's thinking stands.
func (a *Assembler) Thinking(i int) ThinkingState {
	if i < 0 || i >= len(a.samples) {
		return ThinkingState{}
	}
	return a.samples[i].thinking
}

// Tokens is sample i's tokens so far (shared; do not modify).
func (a *Assembler) Tokens(i int) []Token {
	if i < 0 || i >= len(a.samples) {
		return nil
	}
	return a.samples[i].tokens
}

// Response builds the SampleResponse from everything applied so far. Unfinished samples
// have an empty StopReason. Token slices are copies when their tokens were placed in the
// text (logprobs were asked for), else shared with the Assembler.
func (a *Assembler) Response() SampleResponse {
	r := SampleResponse{
		Model:        a.model,
		Usage:        a.usage,
		Notes:        a.notes,
		LogprobsMode: a.mode,
	}
	if r.LogprobsMode == "" {
		r.LogprobsMode = a.req.LogprobsMode.OrDefault()
	}
	all := a.req.AllParams()
	r.Params = all[0]
	if len(a.req.Variants) > 0 {
		for v, vi := range a.variants {
			if a.started[v] {
				r.Variants = append(r.Variants, vi)
			} else {
				r.Variants = append(r.Variants, VariantInfo{Params: all[v], First: -1, Requested: a.req.Options.Samples()})
			}
		}
	}
	// What was sent, a continued prefix included; the generated message follows.
	var base []Message
	if a.req.API == params.Chat {
		base = a.req.SentMessages()
	} else {
		base = []Message{{Role: "user", Content: a.req.SentPrompt()}}
	}
	withLogprobs := a.req.Options.Logprobs != nil
	withPrompt := a.req.Options.PromptLogprobs != nil
	n := len(a.samples)
	r.Trajectories = make([]Trajectory, n)
	r.StopReason = make([]StopReason, n)
	r.StoppedBy = make([]StoppedBy, n)
	r.Seeds = make([]*int64, n)
	if withLogprobs {
		r.Logprobs = make([][]Logprob, n)
		r.Tokens = make([][]Token, n)
	}
	if withPrompt {
		r.PromptLogprobs = make([][]Logprob, n)
		r.PromptTokens = make([][]Token, n)
		r.PromptAlignment = make([]PromptAlignment, n)
	}
	if a.req.TokenIDs {
		r.PromptTokenIDs = make([][]TokenID, n)
	}
	anyErr, thought := false, false
	for i := range a.samples {
		st := a.samples[i]
		if a.req.TokenIDs {
			r.PromptTokenIDs[i] = st.promptIDs
		}
		msgs := make([]Message, 0, len(base)+1)
		msgs = append(msgs, base...)
		msgs = append(msgs, Message{Role: "assistant", Content: st.text.String(), Reasoning: st.reasoning.String()})
		thought = thought || st.thinking.Thought
		r.Trajectories[i] = Trajectory{Messages: msgs}
		r.StopReason[i], r.StoppedBy[i], r.Seeds[i] = st.reason, st.stoppedBy, st.seed
		if withLogprobs {
			r.Logprobs[i], r.Tokens[i] = logprobsOf(st.tokens), nonNil(st.tokens)
			if st.align != nil {
				r.Tokens[i] = placedByPart(st.tokens, st.align, st.alignThink)
			}
		}
		if withPrompt && st.havePrompt {
			r.PromptAlignment[i] = st.promptAlign
			if st.promptAlign != PromptUnaligned {
				r.PromptLogprobs[i], r.PromptTokens[i] = logprobsOf(st.promptTokens), nonNil(st.promptTokens)
				if a.req.API == params.Completion {
					if pl := AlignPrompt(st.promptTokens, a.req.SentPrompt()); pl != nil {
						r.PromptTokens[i] = placed(st.promptTokens, pl)
					}
				}
			}
		}
		if st.err != nil {
			anyErr = true
		}
	}
	if thought {
		r.StoppedWhileThinking = make([]bool, n)
		for i, st := range a.samples {
			r.StoppedWhileThinking[i] = st.thinking.StoppedWhileThinking(st.reason)
		}
	}
	if anyErr {
		r.Errors = make([]*Error, n)
		for i := range a.samples {
			r.Errors[i] = a.samples[i].err
		}
	}
	return r
}

func logprobsOf(t []Token) []Logprob {
	lp := make([]Logprob, len(t))
	for i := range t {
		lp[i] = t[i].Logprob
	}
	return lp
}

func nonNil(t []Token) []Token {
	if t == nil {
		return []Token{}
	}
	return t
}
