package params

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Advanced holds vLLM's sampling fields beyond twinkle's seven: min_p, the presence and
// frequency penalties, min_tokens, ignore_eos, include_stop_str_in_output, logit_bias
// and bad_words; and the switches a reasoning model takes per chat request.
//
// They live beside SamplingParams, not in it: SamplingParams mirrors the Python
// dataclass field for field, and its JSON (--params files, presets, sessions) must stay
// exactly that format. They ride in Options (Options.Advanced), which already carries
// every per-request knob the dataclass lacks, so each path that turns parameters into a
// request — ToVLLM and the exports, the OpenAI client, the built-in model — receives
// them with no second argument to forget. The zero value is vLLM's default for every
// field, so an Options without them sends and samples exactly as before.
type Advanced struct {
	// MinP in [0, 1] drops every token less likely than MinP times the most likely
	// one, after temperature and before top-k/top-p. 0 is off; greedy ignores it.
	MinP float64
	// PresencePenalty and FrequencyPenalty, each in [-2, 2], are subtracted from the
	// logit of every token the output already holds: once, and once per occurrence.
	// The prompt does not count (repetition_penalty's does).
	PresencePenalty  float64
	FrequencyPenalty float64
	// MinTokens blocks the EOS token and the stop token ids until this many tokens
	// exist; stop strings are not looked for before then either.
	MinTokens int
	// IgnoreEOS generates on past the model's EOS token.
	IgnoreEOS bool
	// IncludeStopStrInOutput keeps the stop string that ended a sample in its text.
	IncludeStopStrInOutput bool
	// LogitBias adds a bias to chosen tokens' logits, before the penalties; vLLM
	// clamps each bias to [-100, 100] (ClampBias).
	LogitBias []LogitBias
	// BadWords can never be generated: vLLM tokenizes each word with and without a
	// leading space and blocks a word's last token when the output ends with the
	// tokens before it.
	BadWords []string

	// EnableThinking turns a hybrid reasoning model's thinking on or off, for chat
	// templates that read enable_thinking (Qwen3's): sent as chat_template_kwargs
	// {"enable_thinking": ...}. nil sends nothing: the template's default (on for
	// Qwen3). Chat only: completion mode has no template.
	EnableThinking *bool
	// ReasoningEffort is one of ReasoningEfforts, for models that take it (gpt-oss;
	// vLLM hands it to the chat template as well, and turns enable_thinking off for
	// "none", which only newer servers accept). "" sends nothing. Chat only.
	ReasoningEffort string
}

// ReasoningEfforts are the reasoning_effort values every vLLM that has the field and
// OpenAI's API accept. Newer vLLM also takes none, minimal, xhigh and max; an older
// server refuses those with a 400.
func ReasoningEfforts() []string { return []string{"low", "medium", "high"} }

// ChatOnly names the fields set that only a chat request carries (the chat template
// reads them), by key: a completion request leaves them out.
func (a Advanced) ChatOnly() []string {
	var out []string
	if a.EnableThinking != nil {
		out = append(out, "enable_thinking")
	}
	if a.ReasoningEffort != "" {
		out = append(out, "reasoning_effort")
	}
	return out
}

// LogitBias is one logit_bias entry: a token, given by id or by its text, and the bias
// added to its logit.
type LogitBias struct {
	ID int
	// Text, when not empty, is the token as text, which only a server's tokenizer can
	// turn into an id (ResolveText, through its /tokenize). ID is unused until then.
	Text string
	Bias float64
}

// Key names the token as a person wrote it: the id, or the text quoted.
func (b LogitBias) Key() string {
	if b.Text != "" {
		return strconv.Quote(b.Text)
	}
	return strconv.Itoa(b.ID)
}

// MaxLogitBias is the largest bias vLLM applies; larger ones are clamped to it, as the
// OpenAI API specifies.
const MaxLogitBias = 100

// ClampBias is vLLM's clamp of a logit_bias value to [-100, 100].
func ClampBias(b float64) float64 { return math.Max(-MaxLogitBias, math.Min(MaxLogitBias, b)) }

// IsZero reports whether every field has vLLM's default.
func (a Advanced) IsZero() bool {
	return a.MinP == 0 && a.PresencePenalty == 0 && a.FrequencyPenalty == 0 && a.MinTokens == 0 &&
		!a.IgnoreEOS && !a.IncludeStopStrInOutput && len(a.LogitBias) == 0 && len(a.BadWords) == 0 &&
		a.EnableThinking == nil && a.ReasoningEffort == ""
}

// Clone returns a deep copy.
func (a Advanced) Clone() Advanced {
	a.LogitBias = slices.Clone(a.LogitBias)
	a.BadWords = slices.Clone(a.BadWords)
	if a.EnableThinking != nil {
		on := *a.EnableThinking
		a.EnableThinking = &on
	}
	return a
}

// Unresolved lists the logit_bias entries still given as text, in order.
func (a Advanced) Unresolved() []string {
	var out []string
	for _, b := range a.LogitBias {
		if b.Text != "" {
			out = append(out, b.Text)
		}
	}
	return out
}

// UnresolvedError is logit_bias text that no tokenizer has turned into token ids: a
// request cannot carry it (vLLM's logit_bias takes ids only).
type UnresolvedError struct{ Texts []string }

func (e *UnresolvedError) Error() string {
	q := make([]string, len(e.Texts))
	for i, t := range e.Texts {
		q[i] = strconv.Quote(t)
	}
	what := "is text, not a token id"
	if len(q) > 1 {
		what = "are text, not token ids"
	}
	return fmt.Sprintf("logit_bias: %s %s; only the server's tokenizer (its /tokenize) turns text into token ids: resolve it there, or give the id", strings.Join(q, ", "), what)
}

// ResolveText returns a copy whose text entries are token ids, from tokenize (a
// server's /tokenize, without special tokens). Text that is not exactly one token, a
// tokenize failure, and a token biased twice are each a problem; every one is reported
// at once, as Errors on logit_bias.
func (a Advanced) ResolveText(tokenize func(text string) ([]int, error)) (Advanced, error) {
	out := a.Clone()
	var es Errors
	add := func(format string, v ...any) { es = append(es, FieldError{"logit_bias", fmt.Sprintf(format, v...)}) }
	seen := map[int]string{}
	for _, b := range out.LogitBias {
		if b.Text == "" {
			seen[b.ID] = b.Key()
		}
	}
	for i, b := range out.LogitBias {
		if b.Text == "" {
			continue
		}
		ids, err := tokenize(b.Text)
		switch {
		case err != nil:
			add("%s: %v", b.Key(), err)
			continue
		case len(ids) != 1:
			add("%s is %d tokens %v, not one: a bias applies to a single token", b.Key(), len(ids), ids)
			continue
		}
		if prev, dup := seen[ids[0]]; dup {
			add("%s is token %d, which %s already biases", b.Key(), ids[0], prev)
			continue
		}
		seen[ids[0]] = b.Key()
		out.LogitBias[i] = LogitBias{ID: ids[0], Bias: b.Bias}
	}
	if len(es) > 0 {
		return a, es
	}
	return out, nil
}

// problems applies vLLM's checks (SamplingParams._verify_args and from_optional) to a,
// with p for min_tokens <= max_tokens.
func (a Advanced) problems(p SamplingParams) Errors {
	var es Errors
	add := func(field, format string, v ...any) { es = append(es, FieldError{field, fmt.Sprintf(format, v...)}) }
	switch {
	case !finite(a.MinP):
		add("min_p", "must be a finite number, got %v", a.MinP)
	case a.MinP < 0 || a.MinP > 1:
		add("min_p", "must be in [0, 1], got %v", a.MinP)
	}
	for _, pen := range []struct {
		field string
		v     float64
	}{{"presence_penalty", a.PresencePenalty}, {"frequency_penalty", a.FrequencyPenalty}} {
		switch {
		case !finite(pen.v):
			add(pen.field, "must be a finite number, got %v", pen.v)
		case pen.v < -2 || pen.v > 2:
			add(pen.field, "must be in [-2, 2], got %v", pen.v)
		}
	}
	switch {
	case a.MinTokens < 0:
		add("min_tokens", "must be at least 0, got %d", a.MinTokens)
	case p.MaxTokens != nil && a.MinTokens > *p.MaxTokens:
		add("min_tokens", "must be at most max_tokens (%d), got %d", *p.MaxTokens, a.MinTokens)
	}
	seen := map[string]bool{}
	for _, b := range a.LogitBias {
		switch {
		case b.Text == "" && b.ID < 0:
			add("logit_bias", "token id must be >= 0, got %d", b.ID)
		case !finite(b.Bias):
			add("logit_bias", "the bias for token %s must be a finite number, got %v", b.Key(), b.Bias)
		case seen[b.Key()]:
			add("logit_bias", "token %s is biased twice", b.Key())
		}
		seen[b.Key()] = true
	}
	for i, w := range a.BadWords {
		switch {
		case w == "":
			add("bad_words", "bad word %d is empty", i+1)
		case strings.TrimLeftFunc(w, unicode.IsSpace) == "":
			// vLLM strips leading whitespace before tokenizing, and refuses a word
			// that leaves no tokens.
			add("bad_words", "bad word %d is only whitespace, which vLLM strips to nothing", i+1)
		}
	}
	if e := a.ReasoningEffort; e != "" && !slices.Contains(ReasoningEfforts(), e) {
		add("reasoning_effort", "must be %s, got %q", orList(ReasoningEfforts()), e)
	}
	return es
}

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// chatFields are the reasoning switches a chat request carries, each only when set.
func (a Advanced) chatFields() Fields {
	var f Fields
	if a.ReasoningEffort != "" {
		f = append(f, Field{"reasoning_effort", a.ReasoningEffort})
	}
	if a.EnableThinking != nil {
		f = append(f, Field{"chat_template_kwargs", Fields{{"enable_thinking", *a.EnableThinking}}})
	}
	return f
}

// vllmFields are a's request fields: min_p always, since a server fills an omitted
// min_p from the model's generation_config as it does the seven; the others only when
// set, as their defaults come from vLLM itself.
func (a Advanced) vllmFields() (minP Field, rest Fields, err error) {
	if texts := a.Unresolved(); len(texts) > 0 {
		return Field{}, nil, &UnresolvedError{Texts: texts}
	}
	minP = Field{"min_p", a.MinP}
	if a.PresencePenalty != 0 {
		rest = append(rest, Field{"presence_penalty", a.PresencePenalty})
	}
	if a.FrequencyPenalty != 0 {
		rest = append(rest, Field{"frequency_penalty", a.FrequencyPenalty})
	}
	if a.MinTokens != 0 {
		rest = append(rest, Field{"min_tokens", a.MinTokens})
	}
	if a.IgnoreEOS {
		rest = append(rest, Field{"ignore_eos", true})
	}
	if a.IncludeStopStrInOutput {
		rest = append(rest, Field{"include_stop_str_in_output", true})
	}
	if len(a.LogitBias) > 0 {
		rest = append(rest, Field{"logit_bias", biasDict(a.LogitBias)})
	}
	if len(a.BadWords) > 0 {
		rest = append(rest, Field{"bad_words", slices.Clone(a.BadWords)})
	}
	return minP, rest, nil
}

// biasDict is resolved logit_bias entries as vLLM's dict: a JSON object keyed by the
// token id as a string (the OpenAI API's form), a Python dict keyed by the integer id.
// Biases are clamped as vLLM clamps them, so what is shown is what applies.
type biasDict []LogitBias

func (d biasDict) MarshalJSON() ([]byte, error) {
	f := make(Fields, len(d))
	for i, b := range d {
		f[i] = Field{strconv.Itoa(b.ID), ClampBias(b.Bias)}
	}
	return f.MarshalJSON()
}

// python writes the dict vLLM's SamplingParams takes: integer keys.
func (d biasDict) python() string {
	parts := make([]string, len(d))
	for i, b := range d {
		parts[i] = strconv.Itoa(b.ID) + ": " + pyLiteral(ClampBias(b.Bias))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ParseLogitBias reads one "TOKEN=BIAS" as a person types it (--logit-bias): TOKEN is a
// token id, or text to resolve later ("TEXT" in double quotes when it could read as an
// id or holds an '='; the escapes of Unescape work in both). The last '=' splits.
func ParseLogitBias(s string) (LogitBias, error) {
	at := strings.LastIndexByte(s, '=')
	if at < 0 {
		return LogitBias{}, errors.New("want TOKEN=BIAS, with a token id or text before the '='")
	}
	key, val := s[:at], strings.TrimSpace(s[at+1:])
	bias, err := strconv.ParseFloat(val, 64)
	if err != nil || !finite(bias) {
		return LogitBias{}, fmt.Errorf("the bias %q is not a finite number", val)
	}
	if id, err := strconv.Atoi(strings.TrimSpace(key)); err == nil {
		return LogitBias{ID: id, Bias: bias}, nil
	}
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	text, err := Unescape(key)
	if err != nil {
		return LogitBias{}, err
	}
	if text == "" {
		return LogitBias{}, errors.New("the token before the '=' is empty")
	}
	return LogitBias{Text: text, Bias: bias}, nil
}

// FormatLogitBias writes b as ParseLogitBias reads it.
func FormatLogitBias(b LogitBias) string {
	bias := strconv.FormatFloat(b.Bias, 'g', -1, 64)
	if b.Text == "" {
		return strconv.Itoa(b.ID) + "=" + bias
	}
	return `"` + strings.ReplaceAll(Escape(b.Text), `"`, `\"`) + `"=` + bias
}
