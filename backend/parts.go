package backend

import (
	"encoding/json"
	"fmt"
	"math"
)

// Part is which part of a reasoning model's output a token belongs to. A model served
// behind vLLM's --reasoning-parser thinks first (streamed as "reasoning"), then answers
// (streamed as "content"); the logprobs cover both and the end-of-thinking token
// between them ("</think>"), whose text is in neither.
type Part uint8

const (
	// PartAnswer: the answer, the content. The zero value: every token of a model
	// without thinking, and every token in completion mode (no parser splits the text).
	PartAnswer Part = iota
	// PartThinking: the thinking, streamed as reasoning.
	PartThinking
	// PartBoundary: a token whose text is in neither the thinking nor the answer: the
	// end-of-thinking token ("</think>"), or a start-of-thinking token the model wrote
	// itself ("<think>").
	PartBoundary
)

var partNames = [...]string{"answer", "thinking", "boundary"}

// String is the part's JSON name: "answer", "thinking" or "boundary".
func (p Part) String() string {
	if int(p) < len(partNames) {
		return partNames[p]
	}
	return "unknown"
}

// IsZero reports PartAnswer, which token JSON leaves out.
func (p Part) IsZero() bool { return p == PartAnswer }

// MarshalJSON writes the part's name.
func (p Part) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a part's name.
func (p *Part) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("part: want a string, got %s", b)
	}
	for i, n := range partNames {
		if s == n {
			*p = Part(i)
			return nil
		}
	}
	return fmt.Errorf("part: want answer, thinking or boundary, got %q", s)
}

// ThinkingState follows one sample's thinking as its events arrive: whether it thought,
// and whether the thinking ended. A UI keeps one per column; the Assembler keeps one per
// sample.
type ThinkingState struct {
	// Thought: thinking arrived (reasoning text, or a thinking token).
	Thought bool
	// Ended: after thinking, the answer began (answer text or an answer token) or the
	// end-of-thinking token came. Without logprobs only the answer's text shows the
	// end, so a sample whose end-of-thinking token was its very last reads as still
	// thinking.
	Ended bool
}

// Add folds one event in (only EventTokens matter).
func (s *ThinkingState) Add(ev Event) {
	if ev.Kind != EventTokens {
		return
	}
	if ev.Reasoning != "" {
		s.Thought = true
	}
	for i := range ev.Tokens {
		switch ev.Tokens[i].Part {
		case PartThinking:
			s.Thought = true
		case PartBoundary, PartAnswer:
			// A boundary before any thinking is a start-of-thinking token.
			if s.Thought {
				s.Ended = true
			}
		}
	}
	if ev.Text != "" && s.Thought {
		s.Ended = true
	}
}

// Still reports a sample in the middle of its thinking.
func (s ThinkingState) Still() bool { return s.Thought && !s.Ended }

// StoppedWhileThinking reports a sample that ran out of tokens (StopLength) while still
// thinking, so it has no answer: the "length, still thinking" a UI shows, with the hint
// that a larger max_tokens may be needed.
func (s ThinkingState) StoppedWhileThinking(reason StopReason) bool {
	return reason == StopLength && s.Still()
}

// PartStats summarises the tokens of one part of a sample. MeanLogprob and
// MeanSurprisalBits are over the Scored tokens (those with a known logprob); null when
// there are none. The logprobs are the model's raw ones, as in SampleStats.
type PartStats struct {
	Tokens      int      `json:"tokens"`
	Scored      int      `json:"scored"`
	MeanLogprob *float64 `json:"mean_logprob"`
	// MeanSurprisalBits is -MeanLogprob in bits (-log2 p), as the heatmap measures it.
	MeanSurprisalBits *float64 `json:"mean_surprisal_bits"`
}

// PartsStats is PartStats for each part of a reasoning model's sample.
type PartsStats struct {
	Thinking PartStats `json:"thinking"`
	Boundary PartStats `json:"boundary"`
	Answer   PartStats `json:"answer"`
}

// Of returns the statistics of part p.
func (s *PartsStats) Of(p Part) *PartStats {
	switch p {
	case PartThinking:
		return &s.Thinking
	case PartBoundary:
		return &s.Boundary
	}
	return &s.Answer
}

// PartsOf splits a sample's statistics by part, or returns nil when every token is the
// answer (a model without thinking, or completion mode).
func PartsOf(tokens []Token) *PartsStats {
	var s PartsStats
	var sums [len(partNames)]float64
	split := false
	for i := range tokens {
		t := &tokens[i]
		if int(t.Part) >= len(partNames) {
			continue
		}
		split = split || t.Part != PartAnswer
		ps := s.Of(t.Part)
		ps.Tokens++
		if t.Logprob.Known() {
			ps.Scored++
			sums[t.Part] += float64(t.Logprob)
		}
	}
	if !split {
		return nil
	}
	for p := range partNames {
		ps := s.Of(Part(p))
		if ps.Scored == 0 {
			continue
		}
		mean := sums[p] / float64(ps.Scored)
		bits := -mean / math.Ln2
		ps.MeanLogprob, ps.MeanSurprisalBits = &mean, &bits
	}
	return &s
}

// CountParts counts a sample's tokens by part: "thought for 812 tokens" is thinking.
func CountParts(tokens []Token) (thinking, boundary, answer int) {
	for i := range tokens {
		switch tokens[i].Part {
		case PartThinking:
			thinking++
		case PartBoundary:
			boundary++
		default:
			answer++
		}
	}
	return thinking, boundary, answer
}

// SplitParts divides tokens by part, each part's tokens in order (shared with toks when
// they are all one part). An Aligner places a reasoning model's thinking tokens in its
// thinking text and its answer tokens in its answer; boundary tokens are in neither.
func SplitParts(toks []Token) (thinking, boundary, answer []Token) {
	if allAnswer(toks) {
		return nil, nil, toks
	}
	for i := range toks {
		switch toks[i].Part {
		case PartThinking:
			thinking = append(thinking, toks[i])
		case PartBoundary:
			boundary = append(boundary, toks[i])
		default:
			answer = append(answer, toks[i])
		}
	}
	return thinking, boundary, answer
}

func allAnswer(toks []Token) bool {
	for i := range toks {
		if toks[i].Part != PartAnswer {
			return false
		}
	}
	return true
}

// placedByPart returns a copy of toks with each token's Place: a thinking token's in the
// thinking text (from thinking, which may be nil), an answer token's in the answer; a
// boundary token is not placed.
func placedByPart(toks []Token, answer, thinking *Aligner) []Token {
	if thinking == nil {
		return placed(toks, answer.Places())
	}
	out := make([]Token, len(toks))
	copy(out, toks)
	ap, tp := answer.Places(), thinking.Places()
	for i := range out {
		var pl *Place
		switch out[i].Part {
		case PartThinking:
			if len(tp) > 0 {
				pl, tp = &tp[0], tp[1:]
			}
		case PartBoundary:
			pl = &Place{}
		default:
			if len(ap) > 0 {
				pl, ap = &ap[0], ap[1:]
			}
		}
		if pl != nil {
			p := *pl
			out[i].Place = &p
		}
	}
	return out
}
