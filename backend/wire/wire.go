// Package wire is vLLM's OpenAI-compatible wire format: request bodies with vLLM's
// extras, streamed chunks and non-streamed responses for both /v1/chat/completions and
// /v1/completions, the model list, error bodies in both shapes, and a server-sent-events
// reader and writer. Clients (backend/openai) and servers (backend/vllmtest, the built-in
// model's server in backend/localserver) share it, so both sides agree byte for byte.
//
// Field order and null-versus-absent follow what vLLM sends (see shared/vllm-protocol.md).
// wire imports only the standard library and params; never backend, ui or themes.
package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Marshal is json.Marshal without HTML escaping, as vLLM (pydantic) writes JSON.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Opt is a field that can be absent, null, or a value: vLLM omits fields it did not set
// and writes null for others. Use with `json:",omitzero"`: absent when !Present.
type Opt[T any] struct {
	Present bool
	Valid   bool // false: null
	V       T
}

// Some is a present, non-null value.
func Some[T any](v T) Opt[T] { return Opt[T]{Present: true, Valid: true, V: v} }

// Null is a present null.
func Null[T any]() Opt[T] { return Opt[T]{Present: true} }

// IsZero is true when absent (for omitzero).
func (o Opt[T]) IsZero() bool { return !o.Present }

// MarshalJSON writes null or the value.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.Valid {
		return []byte("null"), nil
	}
	return Marshal(o.V)
}

// UnmarshalJSON reads null or a value.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Present = true
	if string(b) == "null" {
		o.Valid = false
		var zero T
		o.V = zero
		return nil
	}
	o.Valid = true
	return json.Unmarshal(b, &o.V)
}

// StopReason is vLLM's stop_reason: the stop string that matched, the stop token id that
// matched (an integer), or null (EOS or length). Absent on servers that do not send it.
type StopReason struct {
	Present bool
	Kind    StopReasonKind
	String  string
	TokenID int
}

// StopReasonKind says which StopReason field is set.
type StopReasonKind uint8

const (
	StopReasonNull StopReasonKind = iota
	StopReasonString
	StopReasonToken
)

// StopString and StopToken build present stop_reasons; StopNull a present null.
func StopString(s string) StopReason {
	return StopReason{Present: true, Kind: StopReasonString, String: s}
}
func StopToken(id int) StopReason {
	return StopReason{Present: true, Kind: StopReasonToken, TokenID: id}
}
func StopNull() StopReason { return StopReason{Present: true} }

// IsZero is true when absent (for omitzero).
func (s StopReason) IsZero() bool { return !s.Present }

// MarshalJSON writes a string, an integer or null.
func (s StopReason) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case StopReasonString:
		return Marshal(s.String)
	case StopReasonToken:
		return strconv.AppendInt(nil, int64(s.TokenID), 10), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON accepts a string, an integer or null.
func (s *StopReason) UnmarshalJSON(b []byte) error {
	*s = StopReason{Present: true}
	switch {
	case string(b) == "null":
	case len(b) > 0 && b[0] == '"':
		s.Kind = StopReasonString
		return json.Unmarshal(b, &s.String)
	default:
		n, err := strconv.Atoi(string(b))
		if err != nil {
			return fmt.Errorf("stop_reason: want a string, an integer or null, got %.40s", b)
		}
		s.Kind, s.TokenID = StopReasonToken, n
	}
	return nil
}

// Usage is the usage object (the usage chunk has "choices":[] and this).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CompletionTokensDetails comes from servers running a reasoning parser (newer vLLM).
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// CompletionTokensDetails splits completion_tokens: ReasoningTokens are the thinking's,
// summed over the request's choices.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ---- chat ----

// Message is a chat message in a request or a non-streamed response.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Delta is a streamed chat choice's delta. The role chunk has Role and Content "".
//
// Behind a reasoning parser, vLLM sends only the keys it set: the thinking as
// Reasoning ({"reasoning":"..."}), the answer as Content, both in the one chunk that
// crosses from thinking to answer (Content null when no answer text came with it), and
// an empty delta ({}) for a chunk whose only token is the end-of-thinking token, which
// then appears in the logprobs alone. Older servers name the thinking ReasoningContent.
type Delta struct {
	Role             string      `json:"role,omitempty"`
	Content          Opt[string] `json:"content,omitzero"`
	Reasoning        Opt[string] `json:"reasoning,omitzero"`
	ReasoningContent Opt[string] `json:"reasoning_content,omitzero"`
}

// ChatTopLogprob is one alternative in chat logprobs.
type ChatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatLogprob is one generated token's entry. TopLogprobs is not guaranteed sorted: the
// sampled token comes first.
type ChatLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []ChatTopLogprob `json:"top_logprobs"`
}

// ChatLogprobs is a chat choice's "logprobs". One chunk can carry several entries.
type ChatLogprobs struct {
	Content []ChatLogprob `json:"content"`
}

// ChatChunkChoice is the one choice of a streamed chat chunk.
type ChatChunkChoice struct {
	Index        int           `json:"index"`
	Delta        Delta         `json:"delta"`
	Logprobs     *ChatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
	StopReason   StopReason    `json:"stop_reason,omitzero"`
	TokenIDs     Opt[[]int]    `json:"token_ids,omitzero"`
}

// ChatChunk is one "chat.completion.chunk" event.
type ChatChunk struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Created        int64             `json:"created"`
	Model          string            `json:"model"`
	Choices        []ChatChunkChoice `json:"choices"`
	Usage          *Usage            `json:"usage,omitempty"`
	PromptTokenIDs Opt[[]int]        `json:"prompt_token_ids,omitzero"`
}

// ChatMessage is a non-streamed chat choice's message as vLLM writes it: Content null
// when there is no answer (a reasoning model cut off while thinking), OpenAI's refusal,
// annotations, audio and function_call (null from vLLM), and vLLM's Reasoning, the
// thinking, null without a reasoning parser. Older servers name it ReasoningContent.
// vLLM leaves out an empty tool_calls.
type ChatMessage struct {
	Role             string          `json:"role"`
	Content          Opt[string]     `json:"content"`
	Refusal          json.RawMessage `json:"refusal"`
	Annotations      json.RawMessage `json:"annotations"`
	Audio            json.RawMessage `json:"audio"`
	FunctionCall     json.RawMessage `json:"function_call"`
	Reasoning        Opt[string]     `json:"reasoning,omitzero"`
	ReasoningContent Opt[string]     `json:"reasoning_content,omitzero"`
}

// ChatChoice is a non-streamed chat choice.
type ChatChoice struct {
	Index        int           `json:"index"`
	Message      ChatMessage   `json:"message"`
	Logprobs     *ChatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
	StopReason   StopReason    `json:"stop_reason,omitzero"`
	TokenIDs     Opt[[]int]    `json:"token_ids,omitzero"`
}

// ChatResponse is a non-streamed "chat.completion". PromptLogprobs and PromptTokenIDs are
// top-level here (per choice in completions).
type ChatResponse struct {
	ID             string           `json:"id"`
	Object         string           `json:"object"`
	Created        int64            `json:"created"`
	Model          string           `json:"model"`
	Choices        []ChatChoice     `json:"choices"`
	Usage          *Usage           `json:"usage"`
	PromptLogprobs []PromptPosition `json:"prompt_logprobs"`
	PromptTokenIDs []int            `json:"prompt_token_ids"`
}

// ---- completions ----

// CompletionLogprobs is the completions logprobs format. TokenLogprobs entries are null
// for the first prompt token under echo; TopLogprobs is keyed by token string.
type CompletionLogprobs struct {
	TextOffset    []int      `json:"text_offset"`
	TokenLogprobs []*float64 `json:"token_logprobs"`
	Tokens        []string   `json:"tokens"`
	TopLogprobs   []TopMap   `json:"top_logprobs"`
}

// TopMap is a completions top_logprobs entry: a JSON object {token: logprob}, kept in the
// server's order (a Go map would lose it). Null decodes as nil.
type TopMap []TokenLogprob

// TokenLogprob is one key of a TopMap.
type TokenLogprob struct {
	Token   string
	Logprob float64
}

// MarshalJSON writes the object in order.
func (m TopMap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := Marshal(e.Token)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(strconv.AppendFloat(nil, e.Logprob, 'g', -1, 64))
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an object of numbers, keeping key order.
func (m *TopMap) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = nil
		return nil
	}
	out := (*m)[:0]
	err := scanObject(b, func(key string, val []byte) error {
		f, err := strconv.ParseFloat(string(val), 64)
		if err != nil {
			return fmt.Errorf("top_logprobs[%q]: want a number, got %.40s", key, val)
		}
		out = append(out, TokenLogprob{key, f})
		return nil
	})
	if out == nil {
		out = TopMap{}
	}
	*m = out
	return err
}

// CompletionChunkChoice is the one choice of a streamed completion chunk.
type CompletionChunkChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *CompletionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
	StopReason   StopReason          `json:"stop_reason,omitzero"`
	TokenIDs     Opt[[]int]          `json:"token_ids,omitzero"`
	// PromptTokenIDs comes once per choice with return_token_ids.
	PromptTokenIDs Opt[[]int] `json:"prompt_token_ids,omitzero"`
	// Processed is twinkle's own, never vLLM's: see ProcessedLogprobs.
	Processed *ProcessedLogprobs `json:"twinkle_processed_logprobs,omitempty"`
}

// ProcessedLogprobs is twinkle's extension to a completions choice, sent only by the
// built-in model's server reached in-process (never by `twinkle serve-model`, whose
// output stays vLLM's): the processed logprobs (vLLM's processed_logprobs) of the same
// tokens as the choice's logprobs, entry for entry, each top_logprobs object with the
// same keys. A token the sampler cut has vLLM's -9999.0; an echoed prompt token, null.
type ProcessedLogprobs struct {
	TokenLogprobs []*float64 `json:"token_logprobs"`
	TopLogprobs   []TopMap   `json:"top_logprobs"`
}

// CompletionChunk is one streamed "text_completion" event.
type CompletionChunk struct {
	ID      string                  `json:"id"`
	Object  string                  `json:"object"`
	Created int64                   `json:"created"`
	Model   string                  `json:"model"`
	Choices []CompletionChunkChoice `json:"choices"`
	Usage   *Usage                  `json:"usage,omitempty"`
}

// CompletionChoice is a non-streamed completion choice.
type CompletionChoice struct {
	Index          int                 `json:"index"`
	Text           string              `json:"text"`
	Logprobs       *CompletionLogprobs `json:"logprobs"`
	FinishReason   *string             `json:"finish_reason"`
	StopReason     StopReason          `json:"stop_reason,omitzero"`
	TokenIDs       Opt[[]int]          `json:"token_ids,omitzero"`
	PromptLogprobs []PromptPosition    `json:"prompt_logprobs"`
	PromptTokenIDs []int               `json:"prompt_token_ids"`
	// Processed is twinkle's own, never vLLM's: see ProcessedLogprobs.
	Processed *ProcessedLogprobs `json:"twinkle_processed_logprobs,omitempty"`
}

// CompletionResponse is a non-streamed "text_completion".
type CompletionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage"`
}

// ---- prompt logprobs ----

// PromptLogprob is one entry of a prompt position: vLLM's Logprob dataclass under its
// token id.
type PromptLogprob struct {
	TokenID      int
	Logprob      float64
	Rank         *int
	DecodedToken *string
}

// PromptPosition is one prompt token's {token_id: {logprob, rank, decoded_token}} dict
// (null, i.e. nil, for the first token), in the server's order: vLLM puts the prompt
// token itself first, then the top-K.
type PromptPosition []PromptLogprob

type promptLogprobJSON struct {
	Logprob      float64 `json:"logprob"`
	Rank         *int    `json:"rank"`
	DecodedToken *string `json:"decoded_token"`
}

// MarshalJSON writes the dict in order.
func (p PromptPosition) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range p {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(strconv.Itoa(e.TokenID))
		buf.WriteString(`":`)
		v, err := Marshal(promptLogprobJSON{e.Logprob, e.Rank, e.DecodedToken})
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the dict keeping order.
func (p *PromptPosition) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = nil
		return nil
	}
	out := PromptPosition{}
	err := scanObject(b, func(key string, val []byte) error {
		id, err := strconv.Atoi(key)
		if err != nil {
			return fmt.Errorf("prompt_logprobs: key %q is not a token id", key)
		}
		var j promptLogprobJSON
		if err := json.Unmarshal(val, &j); err != nil {
			return fmt.Errorf("prompt_logprobs[%q]: %w", key, err)
		}
		out = append(out, PromptLogprob{id, j.Logprob, j.Rank, j.DecodedToken})
		return nil
	})
	*p = out
	return err
}

// ---- models ----

// ModelCard is one /v1/models entry.
type ModelCard struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	Root        string `json:"root,omitempty"`
	MaxModelLen int    `json:"max_model_len,omitempty"`
}

// ModelList is /v1/models.
type ModelList struct {
	Object string      `json:"object"`
	Data   []ModelCard `json:"data"`
}

// ---- errors ----

// ErrorInfo is an error as vLLM reports it. Param is null for some checks. Code is the
// HTTP status as a number (some servers send a string).
type ErrorInfo struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   *string         `json:"param"`
	Code    json.RawMessage `json:"code"`
}

// StatusCode is Code as an integer, 0 when absent or not numeric.
func (e ErrorInfo) StatusCode() int {
	s := string(e.Code)
	if len(s) > 1 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	n, _ := strconv.Atoi(s)
	return n
}

// ErrorBody is the current error body: {"error": {...}}.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// FlatErrorBody is the pre-v0.10.1 body: {"object":"error","message":...,"type":...}.
type FlatErrorBody struct {
	Object string `json:"object"`
	ErrorInfo
}

// NewErrorBody returns vLLM's current error body.
func NewErrorBody(status int, typ, message string, param *string) ErrorBody {
	return ErrorBody{ErrorInfo{Message: message, Type: typ, Param: param, Code: json.RawMessage(strconv.Itoa(status))}}
}

// ParseError recognises an error in any of its shapes: {"error":{...}}, {"error":"text"},
// and the flat {"object":"error","message":...}. ok is false when b is not an error.
func ParseError(b []byte) (ErrorInfo, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return ErrorInfo{}, false
	}
	var probe struct {
		Error  json.RawMessage `json:"error"`
		Object string          `json:"object"`
	}
	if json.Unmarshal(b, &probe) != nil {
		return ErrorInfo{}, false
	}
	if len(probe.Error) > 0 && string(probe.Error) != "null" {
		var info ErrorInfo
		if probe.Error[0] == '"' {
			if json.Unmarshal(probe.Error, &info.Message) != nil {
				return ErrorInfo{}, false
			}
			return info, true
		}
		if json.Unmarshal(probe.Error, &info) != nil {
			return ErrorInfo{}, false
		}
		return info, true
	}
	if probe.Object == "error" {
		var flat FlatErrorBody
		if json.Unmarshal(b, &flat) != nil {
			return ErrorInfo{}, false
		}
		return flat.ErrorInfo, true
	}
	return ErrorInfo{}, false
}

// ---- object scanning ----

// scanObject calls fn for each key of the JSON object b, in order, with the raw value.
// It scans b itself rather than running a second json.Decoder over it: a completions
// chunk holds one TopMap per generated token, and encoding/json has already checked b
// before calling an UnmarshalJSON. Malformed input still gets an error, never a panic;
// the values are checked by fn's own parsing.
func scanObject(b []byte, fn func(key string, val []byte) error) error {
	bad := func() error { return fmt.Errorf("want a JSON object, got %.40s", b) }
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return bad()
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return bad()
			}
			end, ok := skipValue(b, i)
			if !ok {
				return bad()
			}
			key, err := unquote(b[i:end])
			if err != nil {
				return err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return bad()
			}
			i = skipSpace(b, i+1)
			end, ok = skipValue(b, i)
			if !ok {
				return bad()
			}
			if err := fn(key, b[i:end]); err != nil {
				return err
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return bad()
		}
	}
	if skipSpace(b, i) != len(b) {
		return bad()
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at b[i]: a string, an object or array
// (brackets counted, strings skipped), or a literal. ok is false when it is cut off.
func skipValue(b []byte, i int) (end int, ok bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return len(b), false
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, ok := skipValue(b, j)
				if !ok {
					return e, false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	}
	j := i
	for j < len(b) && !endsLiteral(b[j]) {
		j++
	}
	return j, j > i
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// unquote decodes a JSON string token; plain ones (the usual key) are copied directly.
func unquote(q []byte) (string, error) {
	raw := q[1 : len(q)-1]
	plain := utf8.Valid(raw)
	for _, c := range raw {
		if c < 0x20 || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}
