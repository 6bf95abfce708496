// Package vllmcheck is the one place a vLLM-format server decides whether a request is
// one vLLM would serve, and if not, how vLLM would refuse it: the HTTP status and the
// error object (message, type, param, code), in vLLM's words and in vLLM's order. The
// built-in model's server (backend/localserver) and the test server (backend/vllmtest)
// both validate with it; the sampling rules themselves come from params
// (params.VLLMSampling.CheckVLLM, which decides with params.SamplingParams.Validate).
//
// The order is vLLM's: the request models' own checks (before the body is typed), the
// model name, the chat template, the context length once the prompt is tokenized, then
// SamplingParams' checks and the engine's (logprob caps, vocabulary, an empty prompt).
//
// It imports wire and params only; never ui, themes or a terminal library.
package vllmcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// Error is a refusal as a vLLM server sends it.
type Error struct {
	Status  int    // the HTTP status, also the body's "code"
	Type    string // "BadRequestError", "NotFoundError", ...
	Message string
	Param   string // "" is null
}

func (e *Error) Error() string { return e.Message }

// Body is the error as vLLM (since v0.10.1) sends it: {"error":{...}}.
func (e *Error) Body() wire.ErrorBody {
	var p *string
	if e.Param != "" {
		p = &e.Param
	}
	return wire.NewErrorBody(e.Status, e.Type, e.Message, p)
}

// Write answers with the error.
func (e *Error) Write(w http.ResponseWriter) {
	b, _ := wire.Marshal(e.Body())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func badRequest(msg, param string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: msg, Param: param}
}

// validation words a refusal as vLLM's VLLMValidationError prints itself
// (params.VLLMValidation), as a 400.
func validation(msg, param, value string) *Error {
	v := params.VLLMValidation(msg, param, value)
	return badRequest(v.Message, v.Param)
}

func fromParams(e *params.VLLMError) *Error {
	if e == nil {
		return nil
	}
	return badRequest(e.Message, e.Param)
}

// BadWords is vLLM's refusal of bad words that failed once tokenized (they tokenize to
// nothing, or to too many sequences): msg is the tokenizer's complaint, in vLLM's words.
func BadWords(msg string, words []string) *Error {
	return fromParams(params.VLLMBadWordsError(msg, words))
}

// NoChatTemplate is vLLM's answer to a chat request (or a /tokenize of messages) for a
// model whose tokenizer defines no chat template. A client can recognise it by status
// 400 and this message.
const NoChatTemplate = "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one."

// ErrNoChatTemplate is NoChatTemplate as the error vLLM sends (a ValueError: param null).
func ErrNoChatTemplate() *Error { return badRequest(NoChatTemplate, "") }

// MaxBodyBytes is the largest request body read.
const MaxBodyBytes = 8 << 20

// ReadBody reads a request body of at most MaxBodyBytes; a larger one is a 413 that says
// so, not a JSON error about a body cut short.
func ReadBody(r io.Reader) ([]byte, *Error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, badRequest("could not read the request body: "+err.Error(), "")
	}
	if len(b) > MaxBodyBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Type: http.StatusText(http.StatusRequestEntityTooLarge),
			Message: fmt.Sprintf("Request body is too large: more than %d bytes (%d MiB).", MaxBodyBytes, MaxBodyBytes>>20)}
	}
	return b, nil
}

// Parsed is a request body as a vLLM server reads it.
type Parsed struct {
	wire.Request
	// raw holds the top-level fields by their exact names, for the checks vLLM makes on
	// the JSON before typing it (an empty stream_options is as good as none) and for
	// telling an explicit null from an omitted field.
	raw map[string]json.RawMessage
}

// present reports whether name was sent with a value other than null.
func (p *Parsed) present(name string) bool {
	v, ok := p.raw[name]
	return ok && string(v) != "null"
}

// requestFields are wire.Request's JSON names: the fields a request may set.
var requestFields = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[wire.Request]()
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
})

// Decode reads a body as vLLM's request models do: a JSON object whose fields match by
// exact name (pydantic's rule: "Temperature" is an unknown field, ignored, where Go's
// decoder would take it for temperature), unknown fields ignored, and chat message
// content given as a list of text parts joined into one string.
func Decode(body []byte) (*Parsed, *Error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || len(bytes.TrimSpace(body)) == 0 {
			msg := "request body is not valid JSON"
			if syn != nil {
				msg += fmt.Sprintf(" (at byte %d: %v)", syn.Offset, syn)
			}
			return nil, badRequest(msg, "")
		}
		return nil, badRequest("request body must be a JSON object", "")
	}
	known := requestFields()
	kept := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		if known[k] {
			kept[k] = v
		}
	}
	if m, ok := kept["messages"]; ok {
		norm, err := joinTextParts(m)
		if err != nil {
			return nil, badRequest("messages: "+err.Error(), "messages")
		}
		kept["messages"] = norm
	}
	filtered, err := json.Marshal(kept)
	if err != nil {
		return nil, badRequest("request body is not valid JSON", "")
	}
	p := &Parsed{raw: kept}
	if err := json.Unmarshal(filtered, &p.Request); err != nil {
		return nil, typeError(err)
	}
	return p, nil
}

// typeError names the field a value of the wrong type was given for, in JSON's terms
// rather than Go's.
func typeError(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		want := "value of another type"
		switch te.Type.Kind() {
		case reflect.Bool:
			want = "boolean"
		case reflect.Int, reflect.Int64:
			want = "integer"
		case reflect.Float64:
			want = "number"
		case reflect.String:
			want = "string"
		case reflect.Slice:
			want = "list"
		case reflect.Struct, reflect.Map, reflect.Pointer:
			want = "object"
		}
		return badRequest(fmt.Sprintf("%s: Input should be a valid %s, got JSON %s", te.Field, want, te.Value), te.Field)
	}
	return badRequest("request body does not fit the request schema: "+err.Error(), "")
}

// joinTextParts turns a message content given as [{"type":"text","text":...}, ...]
// into one string, as vLLM does for a string-content chat template.
func joinTextParts(messages json.RawMessage) (json.RawMessage, error) {
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(messages, &msgs) != nil {
		return messages, nil // not a list of objects: the typed decode says why
	}
	changed := false
	for i, m := range msgs {
		c := bytes.TrimSpace(m["content"])
		if len(c) == 0 || c[0] != '[' {
			continue
		}
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(c, &parts); err != nil {
			return nil, fmt.Errorf("message %d: content must be a string or a list of content parts", i)
		}
		var texts []string
		for j, part := range parts {
			if part.Type != "text" || part.Text == nil {
				return nil, fmt.Errorf("message %d, part %d: only text content parts are supported, got type %q", i, j, part.Type)
			}
			texts = append(texts, *part.Text)
		}
		joined, _ := json.Marshal(strings.Join(texts, "\n"))
		m["content"] = joined
		changed = true
	}
	if !changed {
		return messages, nil
	}
	return json.Marshal(msgs)
}

// Model is what the served model and server contribute to the rules.
type Model struct {
	// Names are the served model ids; a request naming another is a 404. Empty: any
	// name is served.
	Names []string
	// MaxModelLen is the context length; 0 leaves lengths unchecked.
	MaxModelLen int
	// VocabSize bounds token ids; 0 leaves them unchecked.
	VocabSize int
	// MaxLogprobs is --max-logprobs (0: vLLM's default, 20).
	MaxLogprobs int
	// MaxN caps n (0: vLLM's default cap).
	MaxN int
	// ChatTemplate reports whether the tokenizer defines a chat template; without one,
	// chat requests are refused as vLLM refuses them.
	ChatTemplate bool
}

func (m Model) limits() params.VLLMLimits {
	return params.VLLMLimits{MaxN: m.MaxN, MaxLogprobs: m.MaxLogprobs, VocabSize: m.VocabSize}
}

// Request is a generation request that passed the checks made before tokenizing, with
// vLLM's defaults in place.
type Request struct {
	Chat bool
	// Model is the model asked for ("" when the request named none).
	Model          string
	Stream         bool
	IncludeUsage   bool
	Echo           bool // completions only
	ReturnTokenIDs bool
	Messages       []wire.Message // chat
	// Prompt is a completions prompt given as text; PromptIDs one given as token ids.
	Prompt    string
	PromptIDs []int
	// Sampling holds every sampling field; MaxTokens is nil when the output may run to
	// the end of the context (chat without max_tokens, completions with max_tokens
	// null), 16 for a completions request that left it out.
	Sampling       params.VLLMSampling
	Seed           *int64 // nil: random (-1 asks for random too)
	IncludeStopStr bool
	IgnoreEOS      bool
	// Logprobs is the top-k per generated token, -1 for no logprobs at all.
	Logprobs int
	// PromptLogprobs is prompt_logprobs as asked (-1: not asked for).
	PromptLogprobs int
}

// completionsMaxTokens is vLLM's max_tokens for a completions request that leaves it out.
const completionsMaxTokens = 16

// Check applies what a vLLM server checks before it tokenizes the prompt: the request
// model's own validators, the model name, the prompt's shape and the chat template.
func Check(p *Parsed, chat bool, m Model) (*Request, *Error) {
	wr := &p.Request
	if e := checkModelValidators(p, chat); e != nil {
		return nil, e
	}
	// The fields' own types, which pydantic checks after the "before" validators.
	if e := p.checkNotNull(); e != nil {
		return nil, e
	}
	bias, e := logitBias(p.raw["logit_bias"])
	if e != nil {
		return nil, e
	}
	if wr.Model != "" && len(m.Names) > 0 && !contains(m.Names, wr.Model) {
		return nil, &Error{Status: http.StatusNotFound, Type: "NotFoundError", Message: fmt.Sprintf("The model `%s` does not exist.", wr.Model), Param: "model"}
	}
	r := &Request{Chat: chat, Model: wr.Model, Stream: wr.Stream, ReturnTokenIDs: wr.ReturnTokenIDs,
		IncludeStopStr: wr.IncludeStopStrInOutput, IgnoreEOS: wr.IgnoreEOS, Logprobs: -1, PromptLogprobs: -1}
	r.IncludeUsage = wr.Stream && wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage
	if chat {
		if !m.ChatTemplate {
			return nil, ErrNoChatTemplate()
		}
		r.Messages = wr.Messages
	} else {
		r.Echo = wr.Echo
		if ids, ok := promptIDs(wr.Prompt); ok {
			r.PromptIDs = ids
		} else {
			text, err := wr.PromptText()
			if err != nil {
				return nil, badRequest(err.Error(), "prompt")
			}
			r.Prompt = text
		}
	}
	stop, err := wr.StopStrings()
	if err != nil {
		return nil, badRequest(err.Error(), "stop")
	}
	s := params.DefaultVLLMSampling()
	setInt(&s.N, wr.N)
	setFloat(&s.Temperature, wr.Temperature)
	setFloat(&s.TopP, wr.TopP)
	setInt(&s.TopK, wr.TopK)
	setFloat(&s.MinP, wr.MinP)
	setFloat(&s.RepetitionPenalty, wr.RepetitionPenalty)
	setFloat(&s.PresencePenalty, wr.PresencePenalty)
	setFloat(&s.FrequencyPenalty, wr.FrequencyPenalty)
	setInt(&s.MinTokens, wr.MinTokens)
	s.MaxTokens = wr.MaxTokens
	if _, sent := p.raw["max_tokens"]; !chat && !sent {
		// Left out, completions stop at 16 tokens; sent as null, they run to the end of
		// the context (vLLM's CompletionRequest defaults the field, not its value).
		s.MaxTokens = ptr(completionsMaxTokens)
	}
	s.Stop, s.StopTokenIDs = stop, wr.StopTokenIDs
	s.LogitBias, s.BadWords = bias, wr.BadWords
	if k := logprobsK(p, chat); k != nil {
		s.Logprobs = k
		r.Logprobs = *k
	}
	s.PromptLogprobs = wr.PromptLogprobs
	if wr.PromptLogprobs != nil {
		r.PromptLogprobs = *wr.PromptLogprobs
	} else if r.Echo && s.Logprobs != nil {
		// vLLM computes the prompt's logprobs for echo at the sample logprobs' k, and
		// checks that k against the cap as prompt logprobs.
		s.PromptLogprobs = s.Logprobs
	}
	r.Sampling = s
	if wr.Seed != nil && *wr.Seed != -1 {
		r.Seed = wr.Seed
	}
	return r, nil
}

// checkModelValidators are the request models' "before" validators: they see the JSON as
// sent, so truthiness is Python's (an empty stream_options object is as good as none).
func checkModelValidators(p *Parsed, chat bool) *Error {
	wr := &p.Request
	if p.truthy("stream_options") && !wr.Stream {
		return validation("Stream options can only be defined when `stream=True`.", "stream_options", "")
	}
	if pl := wr.PromptLogprobs; pl != nil {
		if wr.Stream && (*pl > 0 || *pl == -1) {
			return validation("`prompt_logprobs` are not available when `stream=True`.", "prompt_logprobs", "")
		}
		if *pl < -1 {
			return validation("`prompt_logprobs` must be a positive value or -1.", "prompt_logprobs", strconv.Itoa(*pl))
		}
	}
	if chat {
		return checkChatValidators(p)
	}
	return checkCompletionValidators(p)
}

// checkChatValidators are ChatCompletionRequest's own: top_logprobs needs logprobs, a
// continued final message cannot also get a generation prompt, and messages are
// required.
func checkChatValidators(p *Parsed) *Error {
	if tl := p.TopLogprobs; tl != nil {
		if *tl < -1 {
			return validation("`top_logprobs` must be a positive value or -1.", "top_logprobs", strconv.Itoa(*tl))
		}
		if (*tl == -1 || *tl > 0) && !p.truthy("logprobs") {
			return validation("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs", "")
		}
	}
	if p.truthy("continue_final_message") && p.truthy("add_generation_prompt") {
		return validation("Cannot set both `continue_final_message` and `add_generation_prompt` to True.", "", "")
	}
	if p.present("logprobs") {
		var on bool
		if json.Unmarshal(p.raw["logprobs"], &on) != nil {
			return badRequest("logprobs: Input should be a valid boolean", "logprobs")
		}
	}
	if !p.present("messages") {
		return badRequest("messages: Field required", "messages")
	}
	return nil
}

// checkCompletionValidators are CompletionRequest's own: logprobs is a count, and a
// prompt is required.
func checkCompletionValidators(p *Parsed) *Error {
	if p.present("logprobs") {
		var k int
		if json.Unmarshal(p.raw["logprobs"], &k) != nil {
			return badRequest("logprobs: Input should be a valid integer", "logprobs")
		}
		if k < 0 {
			return validation("`logprobs` must be a positive value.", "logprobs", strconv.Itoa(k))
		}
	}
	if !p.present("prompt") || string(bytes.TrimSpace(p.raw["prompt"])) == `""` {
		return badRequest("Either prompt or prompt_embeds must be provided and non-empty.", "")
	}
	return nil
}

// notNullable are the fields the request models type without None (a default, but no
// null): sent as null, they fail the model's validation where Go would read a zero.
var notNullable = []struct{ name, want string }{
	{"min_tokens", "integer"}, {"ignore_eos", "boolean"}, {"include_stop_str_in_output", "boolean"}, {"bad_words", "list"},
}

func (p *Parsed) checkNotNull() *Error {
	for _, f := range notNullable {
		if v, ok := p.raw[f.name]; ok && string(bytes.TrimSpace(v)) == "null" {
			return badRequest(fmt.Sprintf("%s: Input should be a valid %s, got JSON null", f.name, f.want), f.name)
		}
	}
	return nil
}

// logitBias reads logit_bias as sent, keys in the request's order (a Go map would lose
// it, and vLLM's messages list keys in it). A value that is not a number, null
// included, fails the request model's validation.
func logitBias(raw json.RawMessage) ([]params.VLLMLogitBias, *Error) {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, badRequest("logit_bias: Input should be a valid object", "logit_bias")
	}
	var out []params.VLLMLogitBias
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return nil, badRequest("logit_bias: Input should be a valid object", "logit_bias")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badRequest("logit_bias: Input should be a valid object", "logit_bias")
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || string(v) == "null" {
			got := "null"
			if string(v) != "null" {
				got = jsonKind(v)
			}
			return nil, badRequest(fmt.Sprintf("logit_bias.%s: Input should be a valid number, got JSON %s", key, got), "logit_bias")
		}
		out = append(out, params.VLLMLogitBias{Key: key, Bias: f})
	}
	return out, nil
}

// jsonKind names a JSON value's type.
func jsonKind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return "number"
}

// truthy is Python's truthiness of a top-level field as sent.
func (p *Parsed) truthy(name string) bool {
	v := bytes.TrimSpace(p.raw[name])
	switch string(v) {
	case "", "null", "false", "0", `""`, "[]", "{}":
		return false
	}
	if len(v) > 0 && v[0] == '{' {
		var m map[string]json.RawMessage
		return json.Unmarshal(v, &m) != nil || len(m) > 0
	}
	if f, err := strconv.ParseFloat(string(v), 64); err == nil {
		return f != 0
	}
	return true
}

// logprobsK is the sample logprobs' k: chat's logprobs=true with top_logprobs (0 when
// left out), or completions' logprobs=k; nil when none are asked for.
func logprobsK(p *Parsed, chat bool) *int {
	if !p.present("logprobs") {
		return nil
	}
	if chat {
		var on bool
		if json.Unmarshal(p.raw["logprobs"], &on) != nil || !on {
			return nil
		}
		k := 0
		if p.TopLogprobs != nil {
			k = *p.TopLogprobs
		}
		return &k
	}
	var k int
	if json.Unmarshal(p.raw["logprobs"], &k) != nil {
		return nil
	}
	return &k
}

// promptIDs reads a completions prompt given as token ids ([1,2,3] or [[1,2,3]]).
func promptIDs(raw json.RawMessage) ([]int, bool) {
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return ids, true
	}
	var nested [][]int
	if json.Unmarshal(raw, &nested) == nil && len(nested) == 1 && len(nested[0]) > 0 {
		return nested[0], true
	}
	return nil, false
}

// TextTooLong refuses, before it is tokenized, a text prompt so long that it cannot fit
// whatever its tokenization: each token covers at most maxTokenBytes bytes. The count it
// reports is a lower bound, as vLLM's "at least" allows.
func (r *Request) TextTooLong(textBytes, maxTokenBytes int, m Model) *Error {
	if m.MaxModelLen <= 0 || maxTokenBytes <= 0 {
		return nil
	}
	// A text that could fit the context is left to the tokenizer, so that a refusal
	// (max_tokens beyond the context) reports its real token count.
	room := max(r.maxPromptTokens(m), m.MaxModelLen)
	if room >= math.MaxInt/maxTokenBytes || textBytes <= room*maxTokenBytes {
		return nil
	}
	return r.contextError((textBytes+maxTokenBytes-1)/maxTokenBytes, m)
}

// contextError is vLLM's refusal of a prompt of (at least) promptTokens tokens that
// leaves no room for the output asked for.
func (r *Request) contextError(promptTokens int, m Model) *Error {
	out := r.outputTokens()
	total := promptTokens + out
	if out > 0 && total < promptTokens {
		total = math.MaxInt // a max_tokens near the integer limit
	}
	return validation(fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d output tokens and your prompt contains at least %d input tokens, for a total of at least %d tokens. Please reduce the length of the input prompt or the number of requested output tokens.",
		m.MaxModelLen, out, promptTokens, total), "input_tokens", strconv.Itoa(promptTokens))
}

// maxPromptTokens is the longest prompt that leaves room for the output asked for.
func (r *Request) maxPromptTokens(m Model) int {
	out := r.outputTokens()
	room := m.MaxModelLen - out
	if out < 0 && room < m.MaxModelLen {
		room = math.MaxInt // a negative max_tokens near the integer limit
	}
	return room
}

// outputTokens is max_tokens as the context check counts it (0 when left to the context).
func (r *Request) outputTokens() int {
	if r.Sampling.MaxTokens == nil {
		return 0
	}
	return *r.Sampling.MaxTokens
}

// Tokens applies the checks made once the prompt is token ids, in vLLM's order: the
// context length, SamplingParams' checks, the engine's (logprob caps, stop token ids),
// then the prompt itself (empty, filling the context, out of the vocabulary).
func (r *Request) Tokens(ids []int, m Model) *Error {
	if m.MaxModelLen > 0 && len(ids) > r.maxPromptTokens(m) {
		return r.contextError(len(ids), m)
	}
	if e := fromParams(r.Sampling.CheckVLLM(m.limits())); e != nil {
		return e
	}
	if len(ids) == 0 {
		return validation("The decoder prompt cannot be empty", "", "")
	}
	if m.MaxModelLen > 0 && len(ids) >= m.MaxModelLen {
		return validation(fmt.Sprintf("The decoder prompt (length %d) plus the number of requested output tokens (at least 1) is longer than the maximum model length of %d. Make sure that `max_model_len` is no smaller than the number of text tokens (prompt + requested output tokens).", len(ids), m.MaxModelLen), "", "")
	}
	if m.VocabSize > 0 {
		for _, id := range ids {
			if id < 0 || id >= m.VocabSize {
				return validation(fmt.Sprintf("Token id %d is out of vocabulary", outOfVocab(ids, m.VocabSize)), "", "")
			}
		}
	}
	return nil
}

// outOfVocab is the id vLLM names: the largest, or a negative one when none is too large.
func outOfVocab(ids []int, vocab int) int {
	hi, lo := ids[0], ids[0]
	for _, id := range ids {
		hi, lo = max(hi, id), min(lo, id)
	}
	if hi >= vocab {
		return hi
	}
	return lo
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setFloat(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

func ptr[T any](v T) *T { return &v }
