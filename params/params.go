// Package params holds twinkle's SamplingParams — the Go mirror of the Python
// twinkle.data_format.SamplingParams — with vLLM's validation rules, the one table of
// slider and flag specs, and the conversions to vLLM requests, transformers kwargs and
// code exports.
//
// params is the foundation every other package reads; it must never import backend/,
// ui/ or themes/, nor any terminal library.
package params

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// GreedyBelow is vLLM's threshold: a temperature below it samples greedily.
const GreedyBelow = 1e-5

// SamplingParams controls how a model samples. Field names and JSON names match the
// Python original exactly; nil pointers mean "not set" (server default max_tokens,
// random seed).
type SamplingParams struct {
	MaxTokens         *int    `json:"max_tokens"`
	Seed              *int64  `json:"seed"`
	Stop              Stop    `json:"stop"`
	Temperature       float64 `json:"temperature"`
	TopK              int     `json:"top_k"`
	TopP              float64 `json:"top_p"`
	RepetitionPenalty float64 `json:"repetition_penalty"`
}

// Default returns the Python dataclass defaults.
func Default() SamplingParams {
	return SamplingParams{Temperature: 1.0, TopK: -1, TopP: 1.0, RepetitionPenalty: 1.0}
}

// IsGreedy reports whether vLLM would sample greedily at this temperature.
func (p SamplingParams) IsGreedy() bool { return p.Temperature < GreedyBelow }

// Clone returns a deep copy, so callers can change one without touching the other.
func (p SamplingParams) Clone() SamplingParams {
	q := p
	if p.MaxTokens != nil {
		v := *p.MaxTokens
		q.MaxTokens = &v
	}
	if p.Seed != nil {
		v := *p.Seed
		q.Seed = &v
	}
	q.Stop = p.Stop.Clone()
	return q
}

// UnmarshalJSON starts from Default, so a JSON object that leaves a field out gets the
// dataclass default rather than Go's zero value (a missing temperature is 1, not greedy).
func (p *SamplingParams) UnmarshalJSON(data []byte) error {
	q := plainParams(Default())
	if err := json.Unmarshal(data, &q); err != nil {
		return err
	}
	*p = SamplingParams(q)
	return nil
}

// plainParams has SamplingParams' fields without its methods, so decoders can fill it
// without recursing into UnmarshalJSON.
type plainParams SamplingParams

// Parse decodes a JSON SamplingParams strictly: unknown fields, wrong types and trailing
// data are errors that name the field and the line. name labels the source in messages
// (a file path, "--params").
func Parse(name string, data []byte) (SamplingParams, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	q := plainParams(Default())
	if err := dec.Decode(&q); err != nil {
		return Default(), describeJSONError(name, data, err)
	}
	if dec.More() {
		return Default(), fmt.Errorf("%s:%d: unexpected data after the JSON object", name, lineOf(data, int(dec.InputOffset())))
	}
	p := SamplingParams(q)
	if err := p.Validate(); err != nil {
		return Default(), fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func describeJSONError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var stop *StopError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s:%d: invalid JSON: %v", name, lineOf(data, int(syn.Offset)), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("%s:%d: field %s: expected %s, got JSON %s", name, lineOf(data, int(typ.Offset)), typ.Field, typ.Type, typ.Value)
	case errors.As(err, &stop):
		return fmt.Errorf("%s:%d: field stop: %s", name, lineOf(data, locateField(data, "stop")), stop.Msg)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fmt.Errorf("%s:%d: unknown field %q (SamplingParams has max_tokens, seed, stop, temperature, top_k, top_p, repetition_penalty)", name, lineOf(data, locateField(data, field)), field)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: empty file: expected a JSON object", name)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// lineOf turns a byte offset into a 1-based line number.
func lineOf(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// locateField finds the offset of a quoted key; good enough to point a person at a line.
func locateField(data []byte, field string) int {
	i := bytes.Index(data, []byte(`"`+field+`"`))
	if i < 0 {
		return 0
	}
	return i
}

// FieldError is one validation problem. Field is the JSON name ("top_p").
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errors is every validation problem at once.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Has reports whether a problem names field.
func (es Errors) Has(field string) bool {
	for _, e := range es {
		if e.Field == field {
			return true
		}
	}
	return false
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Validate applies vLLM's own rules (vllm/sampling_params.py and the OpenAI protocol
// checks) and returns nil or Errors holding every problem.
func (p SamplingParams) Validate() error {
	var es Errors
	add := func(field, format string, a ...any) { es = append(es, FieldError{field, fmt.Sprintf(format, a...)}) }
	if p.MaxTokens != nil && *p.MaxTokens < 1 {
		add("max_tokens", "must be at least 1, got %d", *p.MaxTokens)
	}
	switch {
	case !finite(p.Temperature):
		add("temperature", "must be a finite number, got %v", p.Temperature)
	case p.Temperature < 0 || p.Temperature > 2:
		add("temperature", "must be in [0, 2], got %v", p.Temperature)
	}
	if p.TopK < -1 {
		add("top_k", "must be -1 or 0 (off) or at least 1, got %d", p.TopK)
	}
	switch {
	case !finite(p.TopP):
		add("top_p", "must be a finite number, got %v", p.TopP)
	case p.TopP <= 0 || p.TopP > 1:
		add("top_p", "must be in (0, 1], got %v", p.TopP)
	}
	switch {
	case !finite(p.RepetitionPenalty):
		add("repetition_penalty", "must be a finite number, got %v", p.RepetitionPenalty)
	case p.RepetitionPenalty <= 0:
		add("repetition_penalty", "must be greater than 0, got %v", p.RepetitionPenalty)
	}
	for i, s := range p.Stop.Strings {
		if s == "" {
			add("stop", "stop string %d is empty", i+1)
		}
	}
	for _, id := range p.Stop.TokenIDs {
		if id < 0 {
			add("stop", "stop token id must be >= 0, got %d", id)
		}
	}
	if len(es) == 0 {
		return nil
	}
	return es
}

// API selects which OpenAI endpoint a request is for.
type API string

const (
	Chat       API = "chat"
	Completion API = "completion"
)

// ParseAPI accepts the mode names a person would type.
func ParseAPI(s string) (API, error) {
	switch strings.ToLower(s) {
	case "chat", "chat-completion", "chat-completions":
		return Chat, nil
	case "completion", "completions", "text":
		return Completion, nil
	}
	return "", fmt.Errorf("mode must be chat or completion, got %q", s)
}

// Options are the per-request knobs beyond SamplingParams: twinkle's
// to_vllm(num_samples, logprobs, prompt_logprobs).
type Options struct {
	N              int  // samples; 0 reads as 1
	Logprobs       *int // top-K alternatives per generated token (0..20); nil: not asked for
	PromptLogprobs *int // top-K per prompt token; nil: not asked for
}

// MaxLogprobs is vLLM's default --max-logprobs cap.
const MaxLogprobs = 20

// MaxSamples is the most samples the playground runs at once.
const MaxSamples = 16

// Samples returns N with 0 read as 1.
func (o Options) Samples() int {
	if o.N <= 0 {
		return 1
	}
	return o.N
}

// GreedyConflict reports greedy sampling asked for several samples, which vLLM refuses
// ("n must be 1 when using greedy sampling"). It is not a Validate error: a sampler can
// still honour the request by drawing one sample, since the others would be identical.
func (o Options) GreedyConflict(p SamplingParams) bool {
	return p.IsGreedy() && o.Samples() > 1
}

// Validate checks the options against vLLM's limits. Greedy with several samples is
// left to GreedyConflict and ToVLLM.
func (o Options) Validate(p SamplingParams) error {
	var es Errors
	if o.N < 0 || o.N > MaxSamples {
		es = append(es, FieldError{"n", fmt.Sprintf("must be in [1, %d], got %d", MaxSamples, o.N)})
	}
	if o.Logprobs != nil && (*o.Logprobs < 0 || *o.Logprobs > MaxLogprobs) {
		es = append(es, FieldError{"logprobs", fmt.Sprintf("must be in [0, %d], got %d", MaxLogprobs, *o.Logprobs)})
	}
	if o.PromptLogprobs != nil && (*o.PromptLogprobs < 0 || *o.PromptLogprobs > MaxLogprobs) {
		es = append(es, FieldError{"prompt_logprobs", fmt.Sprintf("must be in [0, %d], got %d", MaxLogprobs, *o.PromptLogprobs)})
	}
	if len(es) == 0 {
		return nil
	}
	return es
}
