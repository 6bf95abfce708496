package wire

import (
	"encoding/json"
	"fmt"
)

// StreamOptions is the request's stream_options.
type StreamOptions struct {
	IncludeUsage         bool `json:"include_usage"`
	ContinuousUsageStats bool `json:"continuous_usage_stats,omitempty"`
}

// Request is a request body of either endpoint as a server decodes it. Pointers tell an
// omitted field (the server's default applies) from one sent explicitly.
type Request struct {
	Model    string          `json:"model"`
	Messages []Message       `json:"messages,omitempty"` // chat
	Prompt   json.RawMessage `json:"prompt,omitempty"`   // completions: string or [string]

	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`

	N                 *int     `json:"n,omitempty"`
	MaxTokens         *int     `json:"max_tokens,omitempty"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	TopK              *int     `json:"top_k,omitempty"`
	MinP              *float64 `json:"min_p,omitempty"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	PresencePenalty   *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty  *float64 `json:"frequency_penalty,omitempty"`
	Seed              *int64   `json:"seed,omitempty"`
	MinTokens         *int     `json:"min_tokens,omitempty"`

	Stop                   json.RawMessage `json:"stop,omitempty"` // string or [string]
	StopTokenIDs           []int           `json:"stop_token_ids,omitempty"`
	IncludeStopStrInOutput bool            `json:"include_stop_str_in_output,omitempty"`
	IgnoreEOS              bool            `json:"ignore_eos,omitempty"`
	// LogitBias is keyed by the token id as a string, as the OpenAI API has it.
	LogitBias map[string]float64 `json:"logit_bias,omitempty"`
	BadWords  []string           `json:"bad_words,omitempty"`

	// Logprobs is a bool in chat and an integer k in completions.
	Logprobs       json.RawMessage `json:"logprobs,omitempty"`
	TopLogprobs    *int            `json:"top_logprobs,omitempty"`
	PromptLogprobs *int            `json:"prompt_logprobs,omitempty"`
	Echo           bool            `json:"echo,omitempty"`
	ReturnTokenIDs bool            `json:"return_token_ids,omitempty"`

	// Chat only. ContinueFinalMessage continues the conversation's last message (a
	// partial assistant reply) instead of starting a new one; AddGenerationPrompt opens a
	// new assistant turn and is true when omitted, so a continuation sends it false: vLLM
	// refuses both true.
	ContinueFinalMessage bool  `json:"continue_final_message,omitempty"`
	AddGenerationPrompt  *bool `json:"add_generation_prompt,omitempty"`
	// ReasoningEffort and ChatTemplateKwargs (chat) are read by the chat template:
	// {"enable_thinking": false} turns a hybrid model's thinking off.
	ReasoningEffort    *string        `json:"reasoning_effort,omitempty"`
	ChatTemplateKwargs map[string]any `json:"chat_template_kwargs,omitempty"`
}

// TokenizeRequest is vLLM's /tokenize body for a text prompt. AddSpecialTokens is true
// on vLLM when omitted, as for /v1/completions, so the two tokenize a prompt alike.
type TokenizeRequest struct {
	Model            string `json:"model,omitempty"`
	Prompt           string `json:"prompt"`
	AddSpecialTokens *bool  `json:"add_special_tokens,omitempty"`
	ReturnTokenStrs  bool   `json:"return_token_strs,omitempty"`
}

// TokenizeResponse is vLLM's /tokenize answer.
type TokenizeResponse struct {
	Count       int      `json:"count"`
	MaxModelLen int      `json:"max_model_len"`
	Tokens      []int    `json:"tokens"`
	TokenStrs   []string `json:"token_strs"`
}

// PromptText returns a completions prompt given as a string or a one-string list.
func (r *Request) PromptText() (string, error) {
	if len(r.Prompt) == 0 || string(r.Prompt) == "null" {
		return "", fmt.Errorf("prompt is required")
	}
	var s string
	if json.Unmarshal(r.Prompt, &s) == nil {
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(r.Prompt, &list); err != nil || len(list) != 1 {
		return "", fmt.Errorf("prompt must be a string or a list of one string")
	}
	return list[0], nil
}

// StopStrings returns stop as a list (a single string becomes a list of one).
func (r *Request) StopStrings() ([]string, error) {
	if len(r.Stop) == 0 || string(r.Stop) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(r.Stop, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(r.Stop, &list); err != nil {
		return nil, fmt.Errorf("stop must be a string or a list of strings")
	}
	return list, nil
}

// LogprobsK returns how many alternatives per generated token were asked for, or nil for
// none: chat's logprobs=true with top_logprobs (0 when omitted), or completions' logprobs=k.
func (r *Request) LogprobsK(chat bool) (*int, error) {
	if len(r.Logprobs) == 0 || string(r.Logprobs) == "null" {
		if chat && r.TopLogprobs != nil && *r.TopLogprobs > 0 {
			return nil, fmt.Errorf("top_logprobs needs logprobs=true")
		}
		return nil, nil
	}
	if chat {
		var on bool
		if err := json.Unmarshal(r.Logprobs, &on); err != nil {
			return nil, fmt.Errorf("logprobs must be a boolean in chat completions")
		}
		if !on {
			if r.TopLogprobs != nil && *r.TopLogprobs > 0 {
				return nil, fmt.Errorf("top_logprobs needs logprobs=true")
			}
			return nil, nil
		}
		k := 0
		if r.TopLogprobs != nil {
			k = *r.TopLogprobs
		}
		return &k, nil
	}
	var k int
	if err := json.Unmarshal(r.Logprobs, &k); err != nil {
		return nil, fmt.Errorf("logprobs must be an integer in completions")
	}
	return &k, nil
}
