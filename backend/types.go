package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/twinkle-sh/twinkle/params"
)

// ---------------------------------------------------------------------------------------
// Logprobs and tokens
// ---------------------------------------------------------------------------------------

// Logprob is a natural-log probability as the server reported it (vLLM reports the model's
// raw logprobs, before temperature, top-k/top-p and penalties).
//
// A value the server did not give, or gave as vLLM's -9999 ("minus infinity or unknown"),
// is Unknown: it is NaN in memory so that it can never pass for a real probability in
// arithmetic (exp, sums and comparisons all fail loudly), and null in JSON. Always check
// Known before colouring or sorting by it.
type Logprob float64

// Unknown is the Logprob of a value the server did not know or did not send.
func Unknown() Logprob { return Logprob(math.NaN()) }

// Known reports whether l is a real logprob.
func (l Logprob) Known() bool { return !math.IsNaN(float64(l)) }

// Prob is exp(l), or NaN when unknown.
func (l Logprob) Prob() float64 { return math.Exp(float64(l)) }

// LogprobFromWire converts a server's number: -9999 and below, NaN and infinities become
// Unknown, because vLLM uses -9999.0 for "minus infinity or unknown".
func LogprobFromWire(v float64) Logprob {
	if v <= -9999 || math.IsNaN(v) || math.IsInf(v, 0) {
		return Unknown()
	}
	return Logprob(v)
}

// MarshalJSON writes null for Unknown, and minus infinity (a token the sampler cut, in
// processed logprobs) as vLLM writes it, -9999.
func (l Logprob) MarshalJSON() ([]byte, error) {
	if !l.Known() {
		return []byte("null"), nil
	}
	if math.IsInf(float64(l), -1) {
		return []byte("-9999"), nil
	}
	return strconv.AppendFloat(nil, float64(l), 'g', -1, 64), nil
}

// UnmarshalJSON reads null (and -9999) as Unknown.
func (l *Logprob) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = Unknown()
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("logprob: %w", err)
	}
	*l = LogprobFromWire(v)
	return nil
}

// TokenID is a vocabulary id; NoTokenID when the server did not say (vLLM sends ids only
// with return_token_ids, and chat logprobs carry none).
type TokenID int32

// NoTokenID marks an unknown token id.
const NoTokenID TokenID = -1

// Alt is one of the top-K alternatives at a position.
type Alt struct {
	Text    string  `json:"text"`
	Logprob Logprob `json:"logprob"`
}

// Token is one generated (or prompt) token, built from the server's logprobs entries, never
// from the delta text: one chunk may carry several entries and the text lags them.
//
// Text is the token decoded on its own, so a multibyte character split across tokens
// shows as "\ufffd" pieces; it is untrusted and must go through ui/sanitize before display.
type Token struct {
	Text    string
	Logprob Logprob
	ID      TokenID
	// Part says which part of a reasoning model's output the token belongs to: its
	// thinking, the boundary between thinking and answer (a token whose text is in
	// neither, such as "</think>"), or the answer. PartAnswer, the zero value, for every
	// token of a model without thinking and in completion mode.
	Part Part
	// Top holds the top-K alternatives sorted by logprob, highest first (Unknown last),
	// whatever order the server sent. It may include the sampled token itself; it is empty
	// when K is 0.
	Top []Alt
	// Processed, when not nil, holds the same token's and alternatives' processed
	// logprobs beside Logprob's values (see Processed). Only the built-in model gives
	// both at once; a server gives one kind, which LogprobsMode names.
	Processed *Processed
	// Place is where the token sits in the sample's content (see Align), or for a
	// thinking token in its thinking (a boundary token sits in neither); nil until a
	// SampleResponse is built.
	Place *Place
}

// Processed is a generated token's place in the distribution it was drawn from: vLLM's
// processed_logprobs, after bad words, min_tokens, logit bias, penalties, temperature,
// min-p, top-k and top-p. A token the sampler cut has minus infinity (probability
// exactly 0; JSON -9999, as vLLM writes it).
type Processed struct {
	// Logprob is the token's own.
	Logprob Logprob
	// Top[i] is Token.Top[i]'s, in the same order; Unknown where the server gave none.
	Top []Logprob
}

type processedJSON struct {
	Logprob Logprob   `json:"logprob"`
	Top     []Logprob `json:"top,omitempty"`
}

// MarshalJSON writes {"logprob","top"?}.
func (p Processed) MarshalJSON() ([]byte, error) {
	return json.Marshal(processedJSON(p))
}

// UnmarshalJSON is the inverse of MarshalJSON: -9999 reads back as minus infinity, since
// in processed logprobs it stands for a cut token; null reads as Unknown.
func (p *Processed) UnmarshalJSON(b []byte) error {
	var j struct {
		Logprob json.RawMessage   `json:"logprob"`
		Top     []json.RawMessage `json:"top"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	lp, err := ProcessedFromJSON(j.Logprob)
	if err != nil {
		return err
	}
	*p = Processed{Logprob: lp}
	if j.Top != nil {
		p.Top = make([]Logprob, len(j.Top))
		for i, raw := range j.Top {
			if p.Top[i], err = ProcessedFromJSON(raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProcessedFromJSON reads a processed logprob as a server writes it: null (or nothing)
// is Unknown, and -9999 or below is minus infinity, a token the sampler cut.
func ProcessedFromJSON(raw []byte) (Logprob, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Unknown(), nil
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return Unknown(), fmt.Errorf("processed logprob: %w", err)
	}
	return ProcessedFromWire(v), nil
}

// ProcessedFromWire is LogprobFromWire for processed logprobs, where vLLM's -9999 means
// minus infinity: the token was cut.
func ProcessedFromWire(v float64) Logprob {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 1):
		return Unknown()
	case v <= -9999:
		return Logprob(math.Inf(-1))
	}
	return Logprob(v)
}

type tokenJSON struct {
	Text      string     `json:"text"`
	Logprob   Logprob    `json:"logprob"`
	ID        *TokenID   `json:"id,omitempty"`
	Part      Part       `json:"part,omitzero"`
	Top       []Alt      `json:"top,omitempty"`
	Processed *Processed `json:"processed,omitempty"`
	*placeJSON
}

// MarshalJSON writes {"text","logprob","id"?,"part"?,"top"?,"processed"?} and the place
// fields when placed; id only when known, part only when not the answer ("thinking" or
// "boundary").
func (t Token) MarshalJSON() ([]byte, error) {
	j := tokenJSON{Text: t.Text, Logprob: t.Logprob, Part: t.Part, Top: t.Top, Processed: t.Processed, placeJSON: t.Place.json()}
	if t.ID != NoTokenID {
		id := t.ID
		j.ID = &id
	}
	return json.Marshal(j)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (t *Token) UnmarshalJSON(b []byte) error {
	j := tokenJSON{Logprob: Unknown(), placeJSON: &placeJSON{}}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	j.placeJSON = j.placeJSON.ifPresent(b)
	*t = Token{Text: j.Text, Logprob: j.Logprob, ID: NoTokenID, Part: j.Part, Top: j.Top, Processed: j.Processed, Place: j.placeJSON.place()}
	if j.ID != nil {
		t.ID = *j.ID
	}
	return nil
}

// PromptAlignment says how the prompt's tokens were told from the alternatives the server
// sent with them (vLLM's prompt_logprobs dicts hold both, in no promised order).
type PromptAlignment string

const (
	// PromptByID: prompt_token_ids named each position's token.
	PromptByID PromptAlignment = "ids"
	// PromptMatched: no ids; each position's token is the one candidate that makes the
	// tokens join back into the prompt sent, or the one the ranks single out.
	PromptMatched PromptAlignment = "matched"
	// PromptUnaligned: the prompt's tokens could not be told apart, so none are given: a
	// UI says so and colours nothing, rather than show a text that is not the prompt.
	PromptUnaligned PromptAlignment = "unaligned"
)

// ---------------------------------------------------------------------------------------
// Stop reasons
// ---------------------------------------------------------------------------------------

// StopReason is why a sample ended: twinkle's StopReason ("stop", "length") extended with
// what a playground sees. A finish_reason the server sends that is not listed here (vLLM's
// "repetition", chat's "tool_calls") is kept verbatim.
type StopReason string

const (
	// StopStop: EOS, a stop string or a stop token id (see StoppedBy).
	StopStop StopReason = "stop"
	// StopLength: max_tokens or the context length was reached.
	StopLength StopReason = "length"
	// StopAbort: the server aborted the request (its finish_reason "abort").
	StopAbort StopReason = "abort"
	// StopError: the request failed before anything streamed (HTTP error, connection
	// refused, first-token timeout) or the server reported an error in the stream; the
	// Finish event's Err says which.
	StopError StopReason = "error"
	// StopInterrupted: the stream started but ended without [DONE] or a finish_reason for
	// this sample (connection dropped, idle or first-token timeout, malformed chunk); the
	// partial text is kept.
	StopInterrupted StopReason = "interrupted"
	// StopCancelled: the caller cancelled the run's context.
	StopCancelled StopReason = "cancelled"
)

// Failed reports whether the sample did not end on the model's own terms.
func (r StopReason) Failed() bool {
	return r == StopError || r == StopInterrupted || r == StopCancelled || r == StopAbort
}

// StoppedByKind says which of StoppedBy's fields is meaningful.
type StoppedByKind uint8

const (
	// StoppedByNone: nothing in particular (length, errors), or unknown: a server that
	// sends no stop_reason (llm-d-inference-sim, other OpenAI-compatible servers) and a
	// sample that does not end with a requested stop.
	StoppedByNone StoppedByKind = iota
	// StoppedByString: the stop string in String matched.
	StoppedByString
	// StoppedByToken: the stop token id in TokenID matched (including the model's extra
	// EOS ids, e.g. 128009, which vLLM reports this way).
	StoppedByToken
	// StoppedByEOS: the model's own EOS token: finish_reason "stop" with vLLM's
	// stop_reason present and null. Never claimed when stop_reason is absent.
	StoppedByEOS
)

// StoppedBy is what stopped a sample. JSON: the stop string, the stop token id (a number),
// "eos", or null.
type StoppedBy struct {
	Kind    StoppedByKind
	String  string
	TokenID int
}

// MarshalJSON writes a string, a number, "eos" or null.
func (s StoppedBy) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case StoppedByString:
		return json.Marshal(s.String)
	case StoppedByToken:
		return strconv.AppendInt(nil, int64(s.TokenID), 10), nil
	case StoppedByEOS:
		return []byte(`"eos"`), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads what MarshalJSON writes ("eos" is read as EOS, not as a stop string).
func (s *StoppedBy) UnmarshalJSON(b []byte) error {
	*s = StoppedBy{}
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s.String); err != nil {
			return err
		}
		s.Kind = StoppedByString
		if s.String == "eos" {
			*s = StoppedBy{Kind: StoppedByEOS}
		}
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("stopped_by: want a string, an integer or null, got %s", b)
	}
	*s = StoppedBy{Kind: StoppedByToken, TokenID: n}
	return nil
}

// ---------------------------------------------------------------------------------------
// SampleResponse
// ---------------------------------------------------------------------------------------

// Message is one chat turn. Content is untrusted when it came from a model.
//
// Reasoning is a reasoning model's thinking, kept apart from its answer (Content) as
// vLLM's assistant message keeps it ("reasoning"); empty, and absent from the JSON, for
// a model without thinking. It is not sent back in requests: what a template does with
// earlier thinking is the model's (vLLM's default templates drop it).
type Message struct {
	Role      string `json:"role"`
	Content   string `json:"content"`
	Reasoning string `json:"reasoning,omitempty"`
}

// Trajectory is one sample's conversation: in chat mode the messages sent, in completion
// mode one user message holding the prompt; then the generated assistant message.
type Trajectory struct {
	Messages []Message `json:"messages"`
}

// Usage is token accounting summed over a run's requests.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens,omitempty"`
}

// Add sums u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CompletionTokens + o.CompletionTokens, u.TotalTokens + o.TotalTokens}
}

// SampleResponse mirrors twinkle's SampleResponse and extends it for a playground. Its
// JSON, which `twinkle sample` prints, is a contract. Every per-sample slice has one entry
// per sample drawn, in sample order (a sweep's variants one after another).
type SampleResponse struct {
	Trajectories []Trajectory `json:"trajectories"`
	// Logprobs: per sample, the logprob of each generated token; null when not asked for.
	Logprobs [][]Logprob `json:"logprobs"`
	// PromptLogprobs: per sample, one per prompt token (the first is null: nothing
	// precedes it); null when not asked for.
	PromptLogprobs [][]Logprob  `json:"prompt_logprobs"`
	StopReason     []StopReason `json:"stop_reason"`
	StoppedBy      []StoppedBy  `json:"stopped_by"`
	// Tokens: per sample, the generated tokens with their top-K; null when logprobs were
	// not asked for (the text alone cannot be split into tokens).
	Tokens [][]Token `json:"tokens"`
	// PromptTokens: per sample, the prompt's tokens with their top-K alternatives; omitted
	// when prompt logprobs were not asked for.
	PromptTokens [][]Token `json:"prompt_tokens,omitempty"`
	// PromptAlignment: per sample, how its prompt tokens were identified ("" where none
	// came); with "unaligned", PromptTokens and PromptLogprobs are null for that sample.
	// Omitted when prompt logprobs were not asked for.
	PromptAlignment []PromptAlignment `json:"prompt_alignment,omitempty"`
	// PromptTokenIDs: per sample, the prompt as the server tokenized it (in chat, the
	// templated conversation); omitted unless Request.TokenIDs asked for them, null for a
	// sample the server sent none for.
	PromptTokenIDs [][]TokenID `json:"prompt_token_ids,omitempty"`
	// Seeds: the seed each sample was drawn with (seed+i for sample i of a request), null
	// where the sampler chose at random.
	Seeds []*int64 `json:"seeds"`
	Usage Usage    `json:"usage"`
	Model string   `json:"model"`
	// Params: the parameters sent (the first variant's in a sweep; see Variants).
	Params params.SamplingParams `json:"params"`
	// Errors: per sample, why it failed (null where it did not); omitted when none failed.
	Errors []*Error `json:"errors,omitempty"`
	// Variants: present for a sweep (more than one variant): which samples each produced.
	Variants []VariantInfo `json:"variants,omitempty"`
	// Notes: facts the user should know, e.g. that greedy samples were not repeated, or
	// that the logprobs do not look like the mode claimed.
	Notes []string `json:"notes,omitempty"`
	// LogprobsMode names the distribution Logprobs and Tokens come from: the mode the
	// server was said to run with (vLLM's --logprobs-mode; the API does not report it),
	// raw_logprobs unless configured. Tokens' "processed", where present, adds the
	// processed values beside them.
	LogprobsMode LogprobsMode `json:"logprobs_mode"`
	// StoppedWhileThinking: per sample, true when a reasoning model's sample ran out of
	// tokens (stop_reason "length") before its thinking ended, so it has no answer: a
	// larger max_tokens may be needed. Present only when some sample of the run thought
	// (its trajectory's assistant message has "reasoning"); omitted otherwise. See
	// ThinkingState.
	StoppedWhileThinking []bool `json:"stopped_while_thinking,omitempty"`
}

// VariantInfo describes the samples one variant (one request) produced.
type VariantInfo struct {
	Params params.SamplingParams `json:"params"`
	// First and Count: samples [First, First+Count) of the response.
	First int `json:"first"`
	Count int `json:"count"`
	// Requested is Options.N; more than Count when a greedy request was sent as one
	// sample because the others would be identical.
	Requested int `json:"requested"`
}

// ---------------------------------------------------------------------------------------
// Requests and the Sampler
// ---------------------------------------------------------------------------------------

// Request is one run: a prompt, the parameters, and how many samples.
type Request struct {
	// API chooses /v1/chat/completions (params.Chat, Messages) or /v1/completions
	// (params.Completion, Prompt).
	API params.API
	// Model to use; empty means the first model the server lists.
	Model string
	// Messages is the conversation sent in chat mode (usually ending with a user turn).
	Messages []Message
	// Prompt is the raw prompt in completion mode.
	Prompt string
	// Params are the sampling parameters; ignored when Variants is not empty.
	Params params.SamplingParams
	// Options: N samples per request (0 reads as 1), Logprobs (top-K, 0..20; nil = none), PromptLogprobs
	// (top-K; nil = none).
	Options params.Options
	// Variants, when not empty, make a sweep: one request per entry, each with Options,
	// all run concurrently; samples are numbered variant after variant.
	Variants []params.SamplingParams
	// Continue, when not nil, continues a sample from a prefix instead of starting it
	// afresh: a branch forked on another token, or a step of step mode (see Continuation).
	Continue *Continuation
	// TokenIDs asks the server for the ids of the prompt and of every generated token
	// (vLLM's return_token_ids): Token.ID and SampleResponse.PromptTokenIDs, from which a
	// later Continuation sends exact ids. A server without the field ignores it.
	TokenIDs bool
	// LogprobsMode is the mode the server runs with, which the API does not report: it
	// names what the logprobs are and what CheckLogprobs holds them to. Empty: the
	// Sampler's own setting.
	LogprobsMode LogprobsMode
}

// AllParams returns the parameters of each request of the run: Variants, or Params alone.
func (r Request) AllParams() []params.SamplingParams {
	if len(r.Variants) > 0 {
		return r.Variants
	}
	return []params.SamplingParams{r.Params}
}

// Validate checks the request's shape and every variant's parameters. It returns
// params.Errors (field by field) for parameter problems, and an *Error of KindConfig for
// the rest.
func (r Request) Validate() error {
	switch r.API {
	case params.Chat:
		if len(r.Messages) == 0 {
			return &Error{Kind: KindConfig, Message: "chat mode needs at least one message"}
		}
	case params.Completion:
	default:
		return &Error{Kind: KindConfig, Message: fmt.Sprintf("unknown API %q: want %q or %q", r.API, params.Chat, params.Completion)}
	}
	if err := r.Continue.check(r.API); err != nil {
		return err
	}
	if r.LogprobsMode != "" {
		if _, err := ParseLogprobsMode(string(r.LogprobsMode)); err != nil {
			return &Error{Kind: KindConfig, Message: "logprobs mode: " + err.Error()}
		}
	}
	for i, p := range r.AllParams() {
		o := r.Options
		if p.IsGreedy() {
			o.N = 1 // greedy with n > 1 is sent as one sample; see StartInfo.Requested
		}
		err := p.Validate()
		if err == nil {
			err = o.Validate(p)
		}
		if err != nil {
			if len(r.Variants) > 0 {
				return fmt.Errorf("variant %d: %w", i, err)
			}
			return err
		}
	}
	return nil
}

// Model is one entry of a server's model list.
type Model struct {
	ID string `json:"id"`
	// MaxModelLen is the context length when the server says (vLLM does), else 0.
	MaxModelLen int `json:"max_model_len,omitempty"`
}

// Sampler draws samples from a model. Implementations: backend/openai (vLLM and other
// OpenAI-compatible servers) and backend/local (the built-in model). Safe for concurrent use.
type Sampler interface {
	// Models lists the models the server offers, in the server's order.
	Models(ctx context.Context) ([]Model, error)
	// Start validates req and starts the run. An invalid request returns an error at once
	// (params.Errors or *Error) and no channel. Otherwise every event of the run arrives on
	// the channel, which is closed after the final EventDone.
	//
	// The producer never blocks on the consumer (events queue without bound), so a slow UI
	// cannot stall a stream. Cancelling ctx stops every request of the run at once (the
	// server sees the disconnects), ends the unfinished samples with StopCancelled, and the
	// channel closes soon after. A consumer reads until the channel is closed; one that
	// stops reading earlier must cancel ctx, after which the run stops waiting for it
	// (within DefaultLinger, as Emitter does) and leaves no goroutine behind.
	Start(ctx context.Context, req Request) (<-chan Event, error)
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

// EventKind says which fields of an Event are set.
type EventKind uint8

const (
	// EventStart: one per request (variant), before any other event of its samples:
	// Start is set.
	EventStart EventKind = iota + 1
	// EventTokens: Text, Reasoning and/or Tokens appended to sample Sample. Text is the
	// assistant content (the answer) as the server streams it; Reasoning is a reasoning
	// model's thinking (vLLM's delta "reasoning", or "reasoning_content" from older
	// servers), which comes before the answer. Tokens come from logprobs entries (only
	// when logprobs were asked for), each with its Part, and can run ahead of the text
	// (vLLM holds back text that might start a stop string, and neither the stop string's
	// tokens nor the end-of-thinking token appear in any text).
	EventTokens
	// EventFinish: sample Sample ended with Reason and StoppedBy. Err is set when it did not
	// end on the model's own terms (StopError, StopInterrupted, StopCancelled): the
	// server's message and, when the server named one, the parameter at fault. Exactly one
	// per sample; always delivered.
	EventFinish
	// EventPromptLogprobs: PromptTokens for samples [Sample, Sample+Count), identified as
	// PromptAlignment says; none when PromptUnaligned.
	EventPromptLogprobs
	// EventUsage: Usage of one request, covering samples [Sample, Sample+Count); add them up.
	EventUsage
	// EventError: a problem that ends no sample (e.g. the prompt-logprobs request failed):
	// Err is set, Sample/Count say which samples it concerns.
	EventError
	// EventDone: the last event. Err is set when the run failed as a whole before any
	// sample started (e.g. no model could be listed); such a run has no EventStart.
	EventDone
	// EventRetry: a request failed before its first token (429, 503, another 5xx or a
	// connection error) and will be sent again after a wait: Retry says when and which
	// attempt, Err what failed. Sample/Count say which samples wait; Count 0 means the
	// run as a whole (listing the models, before any EventStart). The separate
	// prompt-logprobs request retries without one: no sample waits on it.
	EventRetry
	// EventNote: a fact about the run as a whole that the user should read once, in
	// Text, e.g. that the logprobs do not look like the mode claimed (CheckLogprobs).
	// It comes before EventDone and ends nothing.
	EventNote
)

var eventKindNames = [...]string{"", "start", "tokens", "finish", "prompt_logprobs", "usage", "error", "done", "retry", "note"}

// String is the kind's name as used in `twinkle sample --stream` lines.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// StartInfo describes one request (variant) of a run. Its JSON is the "start" object of
// `twinkle sample --stream`.
type StartInfo struct {
	Variant int `json:"variant"`
	// First and Count: the samples this request draws, [First, First+Count).
	First int `json:"first"`
	Count int `json:"count"`
	// Requested is Options.N. Count is 1 when greedy sampling made the others pointless
	// (vLLM refuses n > 1 when greedy); Note then says so, and no events come for the
	// other Requested-1 samples: a UI shows sample First for all of them.
	Requested int                   `json:"requested"`
	Model     string                `json:"model"`
	Params    params.SamplingParams `json:"params"`
	// Seeds holds one entry per sample: seed+i, or nil when the server picks.
	Seeds []*int64 `json:"seeds"`
	Note  string   `json:"note,omitempty"`
	// LogprobsMode names the distribution this request's logprobs come from (see
	// SampleResponse.LogprobsMode).
	LogprobsMode LogprobsMode `json:"logprobs_mode,omitempty"`
}

// RetryInfo describes a request that failed before its first token and will be sent
// again. Its JSON is the "retry" object of `twinkle sample --stream`.
type RetryInfo struct {
	// Status is the HTTP status that failed (429, 503 or another 5xx); 0 when the
	// connection itself failed.
	Status int
	// Wait is the pause before the next attempt: the server's Retry-After when it sent
	// one (FromServer), else the client's own backoff.
	Wait       time.Duration
	FromServer bool
	// Attempt is the attempt about to be made, counting the first request as 1 (so 2 for
	// the first retry), out of MaxAttempts.
	Attempt     int
	MaxAttempts int
}

// Cause names what failed in a few words: "rate-limited" (429), "unavailable" (503),
// "server error (HTTP 502)", or "could not connect".
func (r RetryInfo) Cause() string {
	switch {
	case r.Status == 429:
		return "rate-limited"
	case r.Status == 503:
		return "unavailable"
	case r.Status != 0:
		return fmt.Sprintf("server error (HTTP %d)", r.Status)
	}
	return "could not connect"
}

// String is the line to show while waiting, e.g. "rate-limited, retrying in 2s
// (attempt 2 of 4)".
func (r RetryInfo) String() string {
	return fmt.Sprintf("%s, retrying in %s (attempt %d of %d)", r.Cause(), ShortDuration(r.Wait), r.Attempt, r.MaxAttempts)
}

// MarshalJSON writes {"status","wait_s","from_server","attempt","max_attempts"}.
func (r RetryInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Status      int     `json:"status"`
		WaitS       float64 `json:"wait_s"`
		FromServer  bool    `json:"from_server"`
		Attempt     int     `json:"attempt"`
		MaxAttempts int     `json:"max_attempts"`
	}{r.Status, r.Wait.Seconds(), r.FromServer, r.Attempt, r.MaxAttempts})
}

// ShortDuration writes d for people: whole seconds as seconds ("60s", not "1m0s"),
// under a second in milliseconds ("150ms"), else seconds to a tenth ("1.6s").
func ShortDuration(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d < time.Second:
		return strconv.FormatInt(int64(d.Round(time.Millisecond)/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64) + "s"
}

// Event is one thing that happened in a run; Kind says which fields are set.
type Event struct {
	Kind   EventKind
	Sample int
	// Count: for EventPromptLogprobs, EventUsage and EventError, how many samples from
	// Sample on the event concerns.
	Count int
	Text  string
	// Reasoning: for EventTokens, thinking text (see EventTokens).
	Reasoning    string
	Tokens       []Token
	Reason       StopReason
	StoppedBy    StoppedBy
	Err          *Error
	Usage        Usage
	Start        *StartInfo
	PromptTokens []Token
	// PromptAlignment: for EventPromptLogprobs.
	PromptAlignment PromptAlignment
	// PromptIDs: on an EventTokens (possibly with no text or tokens), the prompt as the
	// server tokenized it, sent once per sample when Request.TokenIDs asked for it.
	PromptIDs []TokenID
	// Retry: for EventRetry.
	Retry *RetryInfo
}

type eventJSON struct {
	Type         string          `json:"type"`
	Sample       *int            `json:"sample,omitempty"`
	Count        int             `json:"count,omitempty"`
	Text         string          `json:"text,omitempty"`
	Reasoning    string          `json:"reasoning,omitempty"`
	Tokens       []Token         `json:"tokens,omitempty"`
	Reason       StopReason      `json:"stop_reason,omitempty"`
	StoppedBy    *StoppedBy      `json:"stopped_by,omitempty"`
	Err          *Error          `json:"error,omitempty"`
	Usage        *Usage          `json:"usage,omitempty"`
	Start        *StartInfo      `json:"start,omitempty"`
	PromptTokens []Token         `json:"prompt_tokens,omitempty"`
	Alignment    PromptAlignment `json:"prompt_alignment,omitempty"`
	PromptIDs    []TokenID       `json:"prompt_token_ids,omitempty"`
	Retry        *RetryInfo      `json:"retry,omitempty"`
}

// MarshalJSON is the line `twinkle sample --stream` prints: {"type":"tokens","sample":0,...}
// with only the fields that kind uses.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{Type: e.Kind.String(), Err: e.Err}
	switch e.Kind {
	case EventStart:
		j.Start = e.Start
	case EventTokens:
		j.Sample, j.Text, j.Reasoning, j.Tokens, j.PromptIDs = &e.Sample, e.Text, e.Reasoning, e.Tokens, e.PromptIDs
	case EventFinish:
		sb := e.StoppedBy
		j.Sample, j.Reason, j.StoppedBy = &e.Sample, e.Reason, &sb
	case EventPromptLogprobs:
		j.Sample, j.Count, j.PromptTokens, j.Alignment = &e.Sample, e.Count, e.PromptTokens, e.PromptAlignment
	case EventUsage:
		u := e.Usage
		j.Sample, j.Count, j.Usage = &e.Sample, e.Count, &u
	case EventError:
		j.Sample, j.Count = &e.Sample, e.Count
	case EventRetry:
		j.Sample, j.Count, j.Retry = &e.Sample, e.Count, e.Retry
	case EventNote:
		j.Text = e.Text
	}
	return json.Marshal(j)
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

// ErrorKind classifies an Error.
type ErrorKind string

const (
	// KindHTTP: the server answered with a non-2xx status (Status, Message, Param set).
	KindHTTP ErrorKind = "http"
	// KindServer: an error event inside a 200 stream (any of its three shapes).
	KindServer ErrorKind = "server"
	// KindTransport: the connection failed or dropped.
	KindTransport ErrorKind = "transport"
	// KindTimeout: connect, first-token or idle timeout (Message says which).
	KindTimeout ErrorKind = "timeout"
	// KindProtocol: the server sent something that is not vLLM's format.
	KindProtocol ErrorKind = "protocol"
	// KindInterrupted: the stream ended without [DONE] or a finish_reason.
	KindInterrupted ErrorKind = "interrupted"
	// KindCancelled: the caller cancelled.
	KindCancelled ErrorKind = "cancelled"
	// KindConfig: the request or configuration is unusable before anything was sent.
	KindConfig ErrorKind = "config"
)

// Error is every failure a Sampler reports: HTTP errors, in-band error events, transport
// failures, timeouts. Message is the server's own text when there is one (untrusted:
// sanitize before display).
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Status is the HTTP status, or the code an in-band error carried; 0 if none.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message"`
	// Type is the server's error type, e.g. "BadRequestError".
	Type string `json:"type,omitempty"`
	// Param is the request field the server blamed, as a JSON name ("top_p", "n"), taken
	// from the error's "param" or, when that is null, from the message; the UI points at
	// that slider. Empty when unknown.
	Param string `json:"param,omitempty"`
	// Detail is the raw text behind a plain Message, e.g. Go's network error ("read tcp
	// 127.0.0.1:39670->...: connection reset by peer") under "the server closed the
	// connection mid-stream": for session files and --verbose, not for the screen.
	// Untrusted like Message.
	Detail string `json:"detail,omitempty"`
	// RetryAfter is the server's Retry-After, if it sent one.
	RetryAfter time.Duration `json:"-"`
	// Err is the underlying cause (e.g. a net error, context.Canceled), if any.
	Err error `json:"-"`
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.Status != 0 && e.Kind == KindHTTP:
		s = fmt.Sprintf("server returned HTTP %d: %s", e.Status, e.Message)
	case e.Kind == KindServer:
		s = "server error: " + e.Message
	default:
		s = e.Message
	}
	if e.Message == "" && e.Err != nil {
		s = string(e.Kind) + ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err's *Error, if it holds one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// DefaultFrameInterval is the Bridge's default: about one frame at 60 Hz.
const DefaultFrameInterval = 16 * time.Millisecond
