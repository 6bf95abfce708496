package store

import (
	"slices"

	"github.com/twinkle-sh/twinkle/params"
)

// Advanced is params.Advanced as a session file holds it: vLLM's field names, each
// left out at its default, so a session without them reads as before.
type Advanced struct {
	MinP                   float64     `json:"min_p,omitempty"`
	PresencePenalty        float64     `json:"presence_penalty,omitempty"`
	FrequencyPenalty       float64     `json:"frequency_penalty,omitempty"`
	MinTokens              int         `json:"min_tokens,omitempty"`
	IgnoreEOS              bool        `json:"ignore_eos,omitempty"`
	IncludeStopStrInOutput bool        `json:"include_stop_str_in_output,omitempty"`
	LogitBias              []LogitBias `json:"logit_bias,omitempty"`
	BadWords               []string    `json:"bad_words,omitempty"`
	EnableThinking         *bool       `json:"enable_thinking,omitempty"`
	ReasoningEffort        string      `json:"reasoning_effort,omitempty"`
}

// LogitBias is one logit_bias entry: a token id, or text no tokenizer has resolved yet.
type LogitBias struct {
	ID   int     `json:"id"`
	Text string  `json:"text,omitempty"`
	Bias float64 `json:"bias"`
}

// AdvancedOf is a's form in a session file; nil when every field is at its default.
func AdvancedOf(a params.Advanced) *Advanced {
	if a.IsZero() {
		return nil
	}
	a = a.Clone()
	j := &Advanced{MinP: a.MinP, PresencePenalty: a.PresencePenalty, FrequencyPenalty: a.FrequencyPenalty, MinTokens: a.MinTokens,
		IgnoreEOS: a.IgnoreEOS, IncludeStopStrInOutput: a.IncludeStopStrInOutput, BadWords: a.BadWords,
		EnableThinking: a.EnableThinking, ReasoningEffort: a.ReasoningEffort}
	for _, b := range a.LogitBias {
		j.LogitBias = append(j.LogitBias, LogitBias(b))
	}
	return j
}

// Params is j as params.Advanced; the zero value for nil.
func (j *Advanced) Params() params.Advanced {
	if j == nil {
		return params.Advanced{}
	}
	a := params.Advanced{MinP: j.MinP, PresencePenalty: j.PresencePenalty, FrequencyPenalty: j.FrequencyPenalty, MinTokens: j.MinTokens,
		IgnoreEOS: j.IgnoreEOS, IncludeStopStrInOutput: j.IncludeStopStrInOutput, BadWords: slices.Clone(j.BadWords),
		EnableThinking: j.EnableThinking, ReasoningEffort: j.ReasoningEffort}
	for _, b := range j.LogitBias {
		a.LogitBias = append(a.LogitBias, params.LogitBias(b))
	}
	return a.Clone()
}
