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
	"reflect"
	"slices"
	"strconv"
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
// A type error stays a *json.UnmarshalTypeError, so the enclosing decoder can place it;
// TypeErrorWords says it in JSON's words.
func (p *SamplingParams) UnmarshalJSON(data []byte) error {
	q := plainParams(Default())
	if err := json.Unmarshal(data, &q); err != nil {
		return err
	}
	*p = SamplingParams(q)
	return nil
}

// TypeErrorWords says what a JSON type error means in JSON's words, never Go's:
// "field top_k: expected an integer, got a string", not "cannot unmarshal string into
// Go struct field plainParams.top_k of type int".
func TypeErrorWords(te *json.UnmarshalTypeError) string {
	msg := fmt.Sprintf("expected %s, got %s", jsonKindOf(te.Type), jsonKindWord(te.Value))
	if te.Field == "" {
		return msg
	}
	return "field " + te.Field + ": " + msg
}

// jsonKindOf names the JSON a Go type decodes from.
func jsonKindOf(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKindOf(t.Elem()) + " or null"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}

// plainParams has SamplingParams' fields without its methods, so decoders can fill it
// without recursing into UnmarshalJSON.
type plainParams SamplingParams

// fieldKinds names, in JSON's words, what each field holds, in the dataclass's order.
var fieldKinds = map[string]string{
	"max_tokens":         "an integer or null",
	"seed":               "an integer or null",
	"stop":               "a string, a list of strings or a list of token ids",
	"temperature":        "a number",
	"top_k":              "an integer",
	"top_p":              "a number",
	"repetition_penalty": "a number",
}

const fieldList = "max_tokens, seed, stop, temperature, top_k, top_p, repetition_penalty"

// jsonKindWord turns encoding/json's name for a JSON value ("string", "number 1.5",
// "array") into words for a person.
func jsonKindWord(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "a boolean"
	case v == "string":
		return "a string"
	case v == "number":
		return "a number"
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return v
}

// ParseError is every problem found in a SamplingParams file, each "name:line: field
// ...: message", in the order they occur.
type ParseError struct{ Problems []string }

func (e *ParseError) Error() string { return strings.Join(e.Problems, "\n") }

// Parse decodes a JSON SamplingParams strictly and reports every problem at once, each
// naming the source, the line and the field: field names must match exactly (Go's
// decoder would take "Temperature"), a key may appear only once, a value must have its
// field's type, and the result must pass Validate. name labels the source in messages
// (a file path, "--params"). The error is a *ParseError.
func Parse(name string, data []byte) (SamplingParams, error) {
	var problems []string
	add := func(line int, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", name, line)+fmt.Sprintf(format, a...))
	}
	fail := func() (SamplingParams, error) { return Default(), &ParseError{problems} }
	syntax := func(err error) (SamplingParams, error) {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			add(lineOf(data, int(syn.Offset)), "invalid JSON: %s", syn.Error())
		case errors.Is(err, io.ErrUnexpectedEOF):
			add(lineOf(data, len(data)), "invalid JSON: the file ends inside the object")
		default:
			add(lineOf(data, len(data)), "invalid JSON: %v", err)
		}
		return fail()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		problems = append(problems, name+": empty file: expected a JSON object")
		return fail()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return syntax(err)
	} else if tok != json.Delim('{') {
		add(lineOf(data, int(dec.InputOffset())), "expected a JSON object of SamplingParams fields, got %s", describeJSON(bytes.TrimSpace(data)))
		return fail()
	}
	p := Default()
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		key, _ := tok.(string)
		line := lineOf(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntax(err)
		}
		if prev, dup := seen[key]; dup {
			add(line, "field %s: set twice (first on line %d)", key, prev)
			continue
		}
		seen[key] = line
		if msg := p.decodeField(key, raw); msg != "" {
			add(line, "%s", msg)
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntax(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		add(lineOf(data, int(dec.InputOffset())), "unexpected data after the JSON object")
	}
	var es Errors
	if errors.As(p.Validate(), &es) {
		for _, e := range es {
			add(seen[e.Field], "field %s: %s", e.Field, e.Msg)
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b string) int { return problemLine(a, name) - problemLine(b, name) })
		return fail()
	}
	return p, nil
}

// problemLine reads the line number back out of a "name:line: ..." problem, so problems
// found in different passes read in file order.
func problemLine(problem, name string) int {
	rest := strings.TrimPrefix(problem, name+":")
	n, _ := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ':'))])
	return n
}

// decodeField sets one field from its raw JSON value; it returns what is wrong, or "".
func (p *SamplingParams) decodeField(key string, raw json.RawMessage) string {
	want, known := fieldKinds[key]
	if !known {
		for k := range fieldKinds {
			if strings.EqualFold(k, key) {
				return fmt.Sprintf("unknown field %q (did you mean %q? names are matched exactly)", key, k)
			}
		}
		if s, ok := Lookup(key); ok && s.Advanced && s.Key == key {
			return fmt.Sprintf("unknown field %q: it is one of vLLM's settings beyond twinkle's SamplingParams, which this file cannot hold (set it with --%s)", key, s.Flag)
		}
		return fmt.Sprintf("unknown field %q (SamplingParams has %s)", key, fieldList)
	}
	raw = bytes.TrimSpace(raw)
	wrongType := func() string { return fmt.Sprintf("field %s: expected %s, got %s", key, want, describeJSON(raw)) }
	isNull := string(raw) == "null"
	integer := func() (int64, string) {
		if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
			return 0, wrongType()
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		var ne *strconv.NumError
		switch {
		case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
			return 0, fmt.Sprintf("field %s: %s is out of range", key, raw)
		case err != nil:
			return 0, wrongType()
		case n > 1<<53 || n < -(1<<53):
			return 0, fmt.Sprintf("field %s: %s is out of range", key, raw)
		}
		return n, ""
	}
	number := func() (float64, string) {
		if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
			return 0, wrongType()
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return 0, fmt.Sprintf("field %s: %s is out of range", key, raw)
		}
		return f, ""
	}
	switch key {
	case "max_tokens", "seed":
		if isNull {
			if key == "seed" {
				p.Seed = nil
			} else {
				p.MaxTokens = nil
			}
			return ""
		}
		n, msg := integer()
		if msg != "" {
			return msg
		}
		if key == "seed" {
			p.Seed = &n
		} else {
			m := int(n)
			p.MaxTokens = &m
		}
	case "top_k":
		n, msg := integer()
		if msg != "" {
			return msg
		}
		p.TopK = int(n)
	case "temperature", "top_p", "repetition_penalty":
		f, msg := number()
		if msg != "" {
			return msg
		}
		switch key {
		case "temperature":
			p.Temperature = f
		case "top_p":
			p.TopP = f
		default:
			p.RepetitionPenalty = f
		}
	case "stop":
		var s Stop
		if err := s.UnmarshalJSON(raw); err != nil {
			return "field " + err.Error()
		}
		p.Stop = s
	}
	return ""
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
// to_vllm(num_samples, logprobs, prompt_logprobs), and vLLM's sampling fields that the
// dataclass has no room for.
type Options struct {
	N              int  // samples; 0 reads as 1
	Logprobs       *int // top-K alternatives per generated token (0..20); nil: not asked for
	PromptLogprobs *int // top-K per prompt token; nil: not asked for
	Advanced       Advanced
}

// Clone returns a deep copy.
func (o Options) Clone() Options {
	if o.Logprobs != nil {
		v := *o.Logprobs
		o.Logprobs = &v
	}
	if o.PromptLogprobs != nil {
		v := *o.PromptLogprobs
		o.PromptLogprobs = &v
	}
	o.Advanced = o.Advanced.Clone()
	return o
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

// GreedyIgnores names the fields set to something vLLM overrides when sampling is
// greedy (it forces top_p 1, top_k off and min_p 0), so a view can say they do nothing.
// It is not an error: vLLM accepts them.
func (o Options) GreedyIgnores(p SamplingParams) []string {
	if !p.IsGreedy() {
		return nil
	}
	var out []string
	if p.TopP != 1 {
		out = append(out, "top_p")
	}
	if p.TopK > 0 {
		out = append(out, "top_k")
	}
	if o.Advanced.MinP != 0 {
		out = append(out, "min_p")
	}
	return out
}

// Validate checks the options against vLLM's limits, the advanced fields included.
// Greedy with several samples is left to GreedyConflict and ToVLLM.
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
	es = append(es, o.Advanced.problems(p)...)
	if len(es) == 0 {
		return nil
	}
	return es
}

// PlaygroundDefaults are the values the playground starts with where no flag, file or
// session sets them, and the values a reset returns to: 4 samples to compare, 256
// tokens each (a server's own default is 16 tokens for completions or the rest of the
// context for chat: too few to compare, or more than a screen holds), and the top-5
// alternatives of every token for the heatmap. The CLI's defaults (1 sample, the
// server's max_tokens, no logprobs) suit scripts instead.
func PlaygroundDefaults() (SamplingParams, Options) {
	p := Default()
	n, k := 256, 5
	p.MaxTokens = &n
	return p, Options{N: 4, Logprobs: &k}
}
