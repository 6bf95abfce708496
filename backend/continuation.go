package backend

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/params"
)

// Continuation is the prefix a run continues instead of starting a sample afresh: the
// generated text up to a fork, then the token chosen there (a branch), or a whole
// sample so far (a step of step mode).
//
// How it is sent depends on the mode:
//
//   - Completion mode sends IDs as the prompt, a list of token ids as vLLM's
//     /v1/completions accepts it, when IDs is not nil: the server runs exactly those
//     tokens, so no re-tokenizing can move the boundary between the prompt, the kept
//     tokens and the chosen one. Without IDs it sends the prompt followed by Text, which
//     the server tokenizes afresh: a token boundary there can merge or shift (" a" + "b"
//     may come back as " ab"), so the sample continues from the same text but not
//     always the same tokens.
//   - Chat mode ends the conversation with an assistant message holding Text and asks
//     vLLM to continue it (continue_final_message: true, add_generation_prompt: false);
//     IDs are not used. The server re-tokenizes the templated conversation, and a chat
//     template that trims message content (many do) drops trailing whitespace of Text,
//     so a chat branch is exact only up to that. A model without a chat template (the
//     built-in model) refuses chat with vLLM's 400: branch in completion mode there.
type Continuation struct {
	// Text is the assistant text to continue, valid UTF-8 whenever it is sent as text.
	Text string `json:"text"`
	// IDs, when not nil, is the whole prompt as token ids: the prompt's own ids, the
	// generated ids kept, then the chosen token's id.
	IDs []TokenID `json:"ids,omitempty"`
	// Generated is how many tokens of the sample the prefix holds (the chosen one
	// included); ContinueRequest takes them off max_tokens and min_tokens, so a branch
	// ends where the sample it left could have.
	Generated int `json:"generated"`
}

// check says why c cannot be sent in mode api; nil when it can (or c is nil).
func (c *Continuation) check(api params.API) error {
	if c == nil {
		return nil
	}
	if c.Generated < 0 {
		return &Error{Kind: KindConfig, Message: fmt.Sprintf("continuation: generated must be at least 0, got %d", c.Generated)}
	}
	if api == params.Completion && c.IDs != nil {
		if len(c.IDs) == 0 {
			return &Error{Kind: KindConfig, Message: "continuation: the prompt ids are empty"}
		}
		for i, id := range c.IDs {
			if id < 0 {
				return &Error{Kind: KindConfig, Message: fmt.Sprintf("continuation: prompt id %d is %d, not a token id", i, id)}
			}
		}
		return nil
	}
	if !utf8.ValidString(c.Text) {
		// JSON would carry the cut character as U+FFFD: another text than the sample's.
		return &Error{Kind: KindConfig, Message: "continuation: the prefix ends inside a character, which only token ids can carry (completion mode, with the ids known)"}
	}
	return nil
}

// SentPrompt is the completion prompt as text: Prompt, then the continued text. With
// ids it is what they stand for, for aligning prompt tokens and for the trajectory.
func (r Request) SentPrompt() string {
	if r.Continue == nil {
		return r.Prompt
	}
	return r.Prompt + r.Continue.Text
}

// ContinuesMessage reports whether a chat request ends with a partial assistant message
// for the server to continue (continue_final_message). An empty prefix is not sent as
// one: some chat templates refuse an empty final message, and there is nothing to
// continue, so the request starts the reply as usual.
func (r Request) ContinuesMessage() bool {
	return r.API == params.Chat && r.Continue != nil && r.Continue.Text != ""
}

// SentMessages is the conversation a chat request sends: Messages, then the partial
// assistant message when it continues one.
func (r Request) SentMessages() []Message {
	if !r.ContinuesMessage() {
		return r.Messages
	}
	out := make([]Message, 0, len(r.Messages)+1)
	out = append(out, r.Messages...)
	return append(out, Message{Role: "assistant", Content: r.Continue.Text})
}

// SentPromptIDs is the completion prompt as token ids when the request sends ids, else
// nil.
func (r Request) SentPromptIDs() []TokenID {
	if r.API != params.Completion || r.Continue == nil {
		return nil
	}
	return r.Continue.IDs
}

// ContinueRequest returns base continued from c, with base's parameters otherwise: its
// max_tokens and min_tokens less the c.Generated tokens the prefix already holds, token
// ids asked for, so the result can be continued exactly in turn, and no prompt logprobs
// (the prompt's are the first run's, the prefix's its sample's own logprobs). It fails
// when the prefix leaves no token to generate, and for a sweep (a continuation runs one
// set of parameters).
func ContinueRequest(base Request, c Continuation) (Request, error) {
	if len(base.Variants) > 0 {
		return Request{}, &Error{Kind: KindConfig, Message: "a continuation runs one set of parameters, not a sweep"}
	}
	r := base
	r.Params, r.Options = base.Params.Clone(), base.Options.Clone()
	if m := r.Params.MaxTokens; m != nil {
		left := *m - c.Generated
		if left < 1 {
			return Request{}, &Error{Kind: KindConfig, Param: "max_tokens", Message: fmt.Sprintf(
				"the prefix already holds %d generated tokens and max_tokens is %d: nothing is left to generate (raise max_tokens)", c.Generated, *m)}
		}
		r.Params.MaxTokens = &left
	}
	r.Options.Advanced.MinTokens = max(0, r.Options.Advanced.MinTokens-c.Generated)
	r.Options.PromptLogprobs = nil
	c.IDs = append([]TokenID(nil), c.IDs...)
	if c.IDs != nil && len(c.IDs) == 0 {
		c.IDs = nil
	}
	r.Continue = &c
	r.TokenIDs = true
	return r, nil
}

// StepLogprobs is how many alternatives step mode asks for when the parameters ask for
// none: a step exists to show them.
const StepLogprobs = 10

// StepRequest is step mode's request: the next n tokens (n < 1: to the end, as
// max_tokens allows) of one sample continued from c (nil: from the start of the reply),
// with logprobs on, so each token comes with its alternatives. "Next 1" is n = 1.
//
// With a seed, the step at generated position g is drawn with seed+g: each request
// starts its random generator afresh, so steps sharing one seed would all draw the same
// random numbers, a bias no full run has; seed+g keeps a step reproducible.
func StepRequest(base Request, c *Continuation, n int) (Request, error) {
	var cont Continuation
	if c != nil {
		cont = *c
	}
	r, err := ContinueRequest(base, cont)
	if err != nil {
		return Request{}, err
	}
	if c == nil {
		r.Continue = nil
	}
	if n >= 1 && (r.Params.MaxTokens == nil || n < *r.Params.MaxTokens) {
		r.Params.MaxTokens = &n
	}
	if r.Options.Advanced.MinTokens > 0 && r.Params.MaxTokens != nil {
		r.Options.Advanced.MinTokens = min(r.Options.Advanced.MinTokens, *r.Params.MaxTokens)
	}
	r.Options.N = 1
	if r.Options.Logprobs == nil || *r.Options.Logprobs < 1 {
		k := StepLogprobs
		r.Options.Logprobs = &k
	}
	if s := r.Params.Seed; s != nil && *s != -1 {
		v := *s + int64(cont.Generated)
		r.Params.Seed = &v
	}
	return r, nil
}

// Tokenizer turns text into a model's token ids as its server does: vLLM's /tokenize.
// With special, the tokenizer adds its special tokens (a BOS, for many models) as
// /v1/completions does by default; without, the text alone.
type Tokenizer interface {
	Tokenize(ctx context.Context, model, text string, special bool) ([]TokenID, error)
}
