package params

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Scale is how a slider's bar maps to values.
type Scale int

const (
	Linear Scale = iota
	// Log spaces values geometrically, for fields whose useful values span orders of
	// magnitude (max_tokens, top_k).
	Log
)

// Kind is the value type of a spec row.
type Kind int

const (
	Int Kind = iota
	Float
	// StopList is the stop row: an editable list of strings and token ids, no bar.
	StopList
	// Bool is an on/off row: 0 is off, 1 is on.
	Bool
	// BiasList is the logit_bias row: an editable list of token=bias entries, no bar.
	BiasList
	// WordList is the bad_words row: an editable list of strings, no bar.
	WordList
	// Choice is a row of named values (Spec.Choices): the value is the index of one.
	Choice
)

// IsList reports whether the row is an editable list rather than a value on a bar.
func (k Kind) IsList() bool { return k == StopList || k == BiasList || k == WordList }

// Special names one in-range value in words ("greedy" at temperature 0).
type Special struct {
	Value float64
	Word  string
}

// Spec is one row of the table every slider, CLI flag and help text reads. No range,
// step or special word is written anywhere else.
type Spec struct {
	Key   string // JSON/vLLM name: "top_p", "n", "logprobs"
	Flag  string // CLI flag name without dashes: "top-p"
	Short string // one-letter flag, if any
	Label string // slider label
	Help  string // one line for help text
	Kind  Kind
	// Min and Max bound the slider. Validation uses vLLM's rules (Validate), which can
	// be wider: repetition_penalty has no upper bound in vLLM.
	Min, Max float64
	// Fine and Coarse steps: absolute for Linear; for Log, Fine multiplies by 2^(1/4)
	// and Coarse by 2, landing on round numbers.
	Fine, Coarse float64
	Decimals     int // digits after the point when shown
	Scale        Scale
	Default      Value
	// Floor is the word for the position left of Min: an unset value ("server
	// default", "random") for Nullable rows, else Off (top_k's -1).
	Floor    string
	Nullable bool
	Off      float64 // the value stored at the floor of a non-nullable row
	Specials []Special
	Options  bool // the row sets Options' request knobs (n, logprobs), not sampling
	// Advanced rows are vLLM's fields beyond the seven (Options.Advanced): a view
	// groups them below the others.
	Advanced bool
	// Strict rows hold typed values (flags) to Min..Max too, not only the slider: the
	// help states that range and nothing outside it means anything.
	Strict bool
	// Choices names the values of a Choice row, in bar order; its Specials name them too.
	Choices []string
}

// Value is a spec row's value; Set is false for a nullable row left unset.
type Value struct {
	V   float64
	Set bool
}

// V builds a set Value.
func V(f float64) Value { return Value{V: f, Set: true} }

// Specs returns the table, in the order the playground shows the sliders.
func Specs() []Spec {
	return []Spec{
		{Key: "temperature", Flag: "temperature", Label: "temperature", Kind: Float,
			Help: "sampling temperature", Min: 0, Max: 2, Fine: 0.05, Coarse: 0.25, Decimals: 2,
			Default: V(1), Specials: []Special{{0, "greedy"}}},
		{Key: "top_p", Flag: "top-p", Label: "top_p", Kind: Float,
			Help: "nucleus sampling: keep the smallest set of tokens whose probability reaches top_p", Min: 0.01, Max: 1, Fine: 0.01, Coarse: 0.1, Decimals: 2,
			Default: V(1), Specials: []Special{{1, "off"}}},
		{Key: "top_k", Flag: "top-k", Label: "top_k", Kind: Int,
			Help: "keep only the k most likely tokens", Min: 1, Max: 1000, Scale: Log,
			Default: V(-1), Floor: "off", Off: -1, Specials: []Special{{0, "off"}, {-1, "off"}}},
		{Key: "repetition_penalty", Flag: "repetition-penalty", Label: "rep_penalty", Kind: Float,
			Help: "the multiplicative penalty vLLM applies to tokens already in the prompt or output", Min: 0.5, Max: 2, Fine: 0.01, Coarse: 0.1, Decimals: 2,
			Default: V(1), Specials: []Special{{1, "off"}}},
		{Key: "max_tokens", Flag: "max-tokens", Label: "max_tokens", Kind: Int,
			Help: "most tokens to generate per sample", Min: 1, Max: 8192, Scale: Log,
			Floor: "server default", Nullable: true},
		{Key: "seed", Flag: "seed", Label: "seed", Kind: Int,
			Help: "the sampler's seed; sample i uses seed+i", Min: 0, Max: math.MaxInt32, Fine: 1, Coarse: 100,
			Floor: "random", Nullable: true, Strict: true},
		{Key: "stop", Flag: "stop", Label: "stop", Kind: StopList,
			Help: "stop strings (repeatable; \\n, \\t, \\\\, \\xNN and \\uNNNN escapes) and stop token ids"},
		{Key: "n", Flag: "samples", Short: "n", Label: "samples", Kind: Int, Options: true,
			Help: "number of samples drawn at once", Min: 1, Max: MaxSamples, Fine: 1, Coarse: 4, Default: V(1), Strict: true},
		{Key: "logprobs", Flag: "logprobs", Label: "logprobs", Kind: Int, Options: true,
			Help: "top-K alternatives returned per generated token", Min: 0, Max: MaxLogprobs, Fine: 1, Coarse: 5, Default: V(5), Strict: true},
		{Key: "min_p", Flag: "min-p", Label: "min_p", Kind: Float, Advanced: true,
			Help: "drop tokens less likely than min_p times the most likely one, after temperature and before top-k/top-p", Min: 0, Max: 1, Fine: 0.01, Coarse: 0.05, Decimals: 2,
			Default: V(0), Specials: []Special{{0, "off"}}, Strict: true},
		{Key: "presence_penalty", Flag: "presence-penalty", Label: "presence", Kind: Float, Advanced: true,
			Help: "subtracted once from the logit of every token already in the output; negative encourages repeats", Min: -2, Max: 2, Fine: 0.05, Coarse: 0.25, Decimals: 2,
			Default: V(0), Specials: []Special{{0, "off"}}, Strict: true},
		{Key: "frequency_penalty", Flag: "frequency-penalty", Label: "frequency", Kind: Float, Advanced: true,
			Help: "subtracted from a token's logit once per time it is already in the output; negative encourages repeats", Min: -2, Max: 2, Fine: 0.05, Coarse: 0.25, Decimals: 2,
			Default: V(0), Specials: []Special{{0, "off"}}, Strict: true},
		{Key: "min_tokens", Flag: "min-tokens", Label: "min_tokens", Kind: Int, Advanced: true,
			Help: "tokens to generate before EOS, stop token ids or stop strings can end a sample; at most max_tokens", Min: 1, Max: 8192, Scale: Log,
			Default: V(0), Floor: "off", Off: 0, Specials: []Special{{0, "off"}}},
		{Key: "ignore_eos", Flag: "ignore-eos", Label: "ignore_eos", Kind: Bool, Advanced: true,
			Help: "keep generating past the model's end-of-sequence token", Min: 0, Max: 1, Fine: 1, Coarse: 1,
			Default: V(0), Specials: []Special{{0, "off"}, {1, "on"}}, Strict: true},
		{Key: "include_stop_str_in_output", Flag: "include-stop-str-in-output", Label: "include_stop", Kind: Bool, Advanced: true,
			Help: "keep the stop string that ended a sample in its text", Min: 0, Max: 1, Fine: 1, Coarse: 1,
			Default: V(0), Specials: []Special{{0, "off"}, {1, "on"}}, Strict: true},
		{Key: "logit_bias", Flag: "logit-bias", Label: "logit_bias", Kind: BiasList, Advanced: true,
			Help: "add BIAS to the logit of TOKEN, given as TOKEN=BIAS, repeatable: TOKEN is a token id, or \"text\" for a server's /tokenize to resolve; BIAS is clamped to -100..100 as vLLM does"},
		{Key: "bad_words", Flag: "bad-words", Label: "bad_words", Kind: WordList, Advanced: true,
			Help: "a word never to generate, repeatable (escapes as for --stop); matched with and without a leading space"},
		{Key: "enable_thinking", Flag: "thinking", Label: "thinking", Kind: Bool, Advanced: true,
			Help: "whether a hybrid reasoning model thinks, in chat (sent as chat_template_kwargs {\"enable_thinking\": ...}, which Qwen3-style templates read)",
			Min:  0, Max: 1, Fine: 1, Coarse: 1, Floor: "model default", Nullable: true, Specials: []Special{{0, "off"}, {1, "on"}}, Strict: true},
		choiceRow(Spec{Key: "reasoning_effort", Flag: "reasoning-effort", Label: "effort", Advanced: true,
			Help:  "how long a reasoning model thinks, in chat, for models that take it (gpt-oss; vLLM hands it to the chat template too)",
			Floor: "model default", Nullable: true, Strict: true}, ReasoningEfforts()),
	}
}

// choiceRow completes a Choice row: its bar runs over the choices, each named.
func choiceRow(s Spec, choices []string) Spec {
	s.Kind, s.Choices = Choice, choices
	s.Min, s.Max, s.Fine, s.Coarse = 0, float64(len(choices)-1), 1, 1
	for i, c := range choices {
		s.Specials = append(s.Specials, Special{float64(i), c})
	}
	return s
}

// MainSpecs returns the rows above the advanced group, in order.
func MainSpecs() []Spec {
	var out []Spec
	for _, s := range Specs() {
		if !s.Advanced {
			out = append(out, s)
		}
	}
	return out
}

// Lookup finds a row by JSON key or flag name.
func Lookup(key string) (Spec, bool) {
	for _, s := range Specs() {
		if s.Key == key || s.Flag == key {
			return s, true
		}
	}
	return Spec{}, false
}

// Get reads this row's value from params and options.
func (s Spec) Get(p SamplingParams, o Options) Value {
	switch s.Key {
	case "temperature":
		return V(p.Temperature)
	case "top_p":
		return V(p.TopP)
	case "top_k":
		return V(float64(p.TopK))
	case "repetition_penalty":
		return V(p.RepetitionPenalty)
	case "max_tokens":
		if p.MaxTokens == nil {
			return Value{}
		}
		return V(float64(*p.MaxTokens))
	case "seed":
		if p.Seed == nil {
			return Value{}
		}
		return V(float64(*p.Seed))
	case "n":
		return V(float64(o.Samples()))
	case "logprobs":
		if o.Logprobs == nil {
			return Value{}
		}
		return V(float64(*o.Logprobs))
	case "min_p":
		return V(o.Advanced.MinP)
	case "presence_penalty":
		return V(o.Advanced.PresencePenalty)
	case "frequency_penalty":
		return V(o.Advanced.FrequencyPenalty)
	case "min_tokens":
		return V(float64(o.Advanced.MinTokens))
	case "ignore_eos":
		return boolValue(o.Advanced.IgnoreEOS)
	case "include_stop_str_in_output":
		return boolValue(o.Advanced.IncludeStopStrInOutput)
	case "enable_thinking":
		if o.Advanced.EnableThinking == nil {
			return Value{}
		}
		return boolValue(*o.Advanced.EnableThinking)
	case "reasoning_effort":
		if i := slices.Index(s.Choices, o.Advanced.ReasoningEffort); i >= 0 {
			return V(float64(i))
		}
	}
	return Value{}
}

func boolValue(b bool) Value {
	if b {
		return V(1)
	}
	return V(0)
}

// Put stores v into params or options. Integer rows round to the nearest integer.
func (s Spec) Put(p *SamplingParams, o *Options, v Value) {
	n := int(math.Round(v.V))
	switch s.Key {
	case "temperature":
		p.Temperature = v.V
	case "top_p":
		p.TopP = v.V
	case "top_k":
		p.TopK = n
	case "repetition_penalty":
		p.RepetitionPenalty = v.V
	case "max_tokens":
		if !v.Set {
			p.MaxTokens = nil
		} else {
			p.MaxTokens = &n
		}
	case "seed":
		if !v.Set {
			p.Seed = nil
		} else {
			seed := int64(math.Round(v.V))
			p.Seed = &seed
		}
	case "n":
		o.N = n
	case "logprobs":
		if !v.Set {
			o.Logprobs = nil
		} else {
			o.Logprobs = &n
		}
	case "min_p":
		o.Advanced.MinP = v.V
	case "presence_penalty":
		o.Advanced.PresencePenalty = v.V
	case "frequency_penalty":
		o.Advanced.FrequencyPenalty = v.V
	case "min_tokens":
		o.Advanced.MinTokens = n
	case "ignore_eos":
		o.Advanced.IgnoreEOS = v.V != 0
	case "include_stop_str_in_output":
		o.Advanced.IncludeStopStrInOutput = v.V != 0
	case "enable_thinking":
		if !v.Set {
			o.Advanced.EnableThinking = nil
		} else {
			on := v.V != 0
			o.Advanced.EnableThinking = &on
		}
	case "reasoning_effort":
		o.Advanced.ReasoningEffort = ""
		if v.Set && len(s.Choices) > 0 {
			o.Advanced.ReasoningEffort = s.Choices[min(max(n, 0), len(s.Choices)-1)]
		}
	}
}

// atFloor reports whether v sits left of Min (unset, or the Off value).
func (s Spec) atFloor(v Value) bool {
	if s.Nullable {
		return !v.Set
	}
	return s.Floor != "" && v.V < s.Min
}

func (s Spec) floorValue() Value {
	if s.Nullable {
		return Value{}
	}
	return V(s.Off)
}

// Clamp brings v into the slider's range and rounds it to the row's precision.
func (s Spec) Clamp(v Value) Value {
	if s.atFloor(v) {
		return s.floorValue()
	}
	f := math.Max(s.Min, math.Min(s.Max, v.V))
	if s.integral() {
		f = math.Round(f)
	} else {
		p := math.Pow(10, float64(s.Decimals))
		f = math.Round(f*p) / p
	}
	return V(f)
}

// Pos maps a value to its place on the bar, 0..1. A floor value sits at 0 and the
// range starts a small gap to its right.
func (s Spec) Pos(v Value) float64 {
	if s.atFloor(v) {
		return 0
	}
	lo, hi := 0.0, 1.0
	if s.Floor != "" {
		lo = floorGap
	}
	f := math.Max(s.Min, math.Min(s.Max, v.V))
	var t float64
	if s.Scale == Log {
		t = math.Log(f/s.Min) / math.Log(s.Max/s.Min)
	} else {
		t = (f - s.Min) / (s.Max - s.Min)
	}
	return lo + t*(hi-lo)
}

// floorGap is the share of the bar given to the floor value.
const floorGap = 0.04

// FromPos maps a place on the bar (0..1, as from a mouse click) back to a value.
func (s Spec) FromPos(pos float64) Value {
	pos = math.Max(0, math.Min(1, pos))
	lo := 0.0
	if s.Floor != "" {
		if pos < floorGap/2 {
			return s.floorValue()
		}
		lo = floorGap
	}
	t := math.Max(0, (pos-lo)/(1-lo))
	var f float64
	if s.Scale == Log {
		f = s.Min * math.Pow(s.Max/s.Min, t)
		if s.Kind == Int {
			f = roundNice(f)
		}
	} else {
		f = s.Min + t*(s.Max-s.Min)
		if s.Fine > 0 {
			f = math.Round(f/s.Fine) * s.Fine
		}
	}
	return s.Clamp(V(f))
}

// Step moves v by one fine or coarse step in direction dir (+1 or -1). Stepping left
// from Min reaches the floor; stepping right from the floor reaches Min (or the
// default for a nullable row with one).
func (s Spec) Step(v Value, dir int, coarse bool) Value {
	if s.Kind.IsList() || dir == 0 {
		return v
	}
	if s.Kind == Bool {
		// Right is on, left is off; a nullable row's floor (unset) is left of off.
		switch {
		case s.Nullable && !v.Set && dir < 0:
			return v
		case s.Nullable && !v.Set:
			return V(0)
		case s.Nullable && v.V == 0 && dir < 0:
			return s.floorValue()
		}
		return s.Clamp(V(float64(max(0, dir))))
	}
	if s.atFloor(v) {
		if dir < 0 {
			return v
		}
		return V(s.Min)
	}
	cur := math.Max(s.Min, math.Min(s.Max, v.V))
	if s.Floor != "" && dir < 0 && cur <= s.Min {
		return s.floorValue()
	}
	var next float64
	if s.Scale == Log {
		factor := math.Pow(2, 0.25)
		if coarse {
			factor = 2
		}
		if dir > 0 {
			next = roundNice(cur * factor)
			if next <= cur {
				next = cur + 1
			}
		} else {
			next = roundNice(cur / factor)
			if next >= cur {
				next = cur - 1
			}
		}
	} else {
		step := s.Fine
		if coarse {
			step = s.Coarse
		}
		// Step to the next grid point in that direction, so an off-grid value (0.73)
		// lands on a round one (0.75) and repeated steps stay round.
		const eps = 1e-9
		if dir > 0 {
			next = (math.Floor(cur/step+eps) + 1) * step
		} else {
			next = (math.Ceil(cur/step-eps) - 1) * step
		}
	}
	return s.Clamp(V(next))
}

// roundNice rounds to two significant digits (137 -> 140), so log steps land on
// numbers a person would type.
func roundNice(f float64) float64 {
	if f < 10 {
		return math.Round(f)
	}
	mag := math.Pow(10, math.Floor(math.Log10(f))-1)
	return math.Round(f/mag) * mag
}

// Describe renders a value as text plus its special word, if any ("0.00", "greedy").
func (s Spec) Describe(v Value) (text, word string) {
	if s.Nullable && !v.Set {
		return "", s.Floor
	}
	text = s.FormatNumber(v.V)
	for _, sp := range s.Specials {
		if v.V == sp.Value {
			return text, sp.Word
		}
	}
	if s.atFloor(v) {
		return text, s.Floor
	}
	return text, ""
}

// integral reports a row whose values are whole numbers.
func (s Spec) integral() bool { return s.Kind == Int || s.Kind == Bool || s.Kind == Choice }

// FormatNumber writes f with the row's precision.
func (s Spec) FormatNumber(f float64) string {
	if s.integral() {
		return strconv.FormatInt(int64(math.Round(f)), 10)
	}
	return strconv.FormatFloat(f, 'f', s.Decimals, 64)
}

// Parse reads a number a person typed for this row. An empty string or the floor
// word gives the floor value.
func (s Spec) Parse(text string) (Value, error) {
	t := strings.TrimSpace(text)
	if t == "" || (s.Floor != "" && strings.EqualFold(t, s.Floor)) {
		if s.Floor == "" {
			return Value{}, fmt.Errorf("%s: a number is required", s.Key)
		}
		return s.floorValue(), nil
	}
	switch s.Kind {
	case Int:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%s: %q is not an integer", s.Key, text)
		}
		return V(float64(n)), nil
	case Bool:
		switch strings.ToLower(t) {
		case "true", "on", "yes", "1":
			return V(1), nil
		case "false", "off", "no", "0":
			return V(0), nil
		}
		return Value{}, fmt.Errorf("%s: %q is not on or off (true/false, on/off, yes/no, 1/0)", s.Key, text)
	case Choice:
		for i, c := range s.Choices {
			if strings.EqualFold(t, c) {
				return V(float64(i)), nil
			}
		}
		return Value{}, fmt.Errorf("%s: %q is not %s", s.Key, text, orList(s.Choices))
	case StopList, BiasList, WordList:
		return Value{}, fmt.Errorf("%s: a list, not one value", s.Key)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%s: %q is not a number", s.Key, text)
	}
	if !finite(f) {
		return Value{}, fmt.Errorf("%s: must be a finite number, got %s", s.Key, text)
	}
	return V(f), nil
}

// RangeText describes the row's slider range and specials for help text:
// "0 to 2; 0 = greedy".
func (s Spec) RangeText() string {
	if s.Kind.IsList() {
		return ""
	}
	unset := ""
	if s.Nullable {
		unset = "; unset = " + s.Floor
	}
	switch s.Kind {
	case Bool:
		return "on or off" + unset
	case Choice:
		return orList(s.Choices) + unset
	}
	parts := []string{s.FormatNumber(s.Min) + " to " + s.FormatNumber(s.Max)}
	if s.Scale == Log {
		parts[0] += ", log scale"
	}
	if s.Nullable {
		parts = append(parts, "unset = "+s.Floor)
	}
	// Values that read as the same word are named together: "-1 or 0 = off".
	var words []string
	values := map[string][]string{}
	if !s.Nullable && s.Floor != "" {
		words = append(words, s.Floor)
		values[s.Floor] = append(values[s.Floor], s.FormatNumber(s.Off))
	}
	for _, sp := range s.Specials {
		n := s.FormatNumber(sp.Value)
		if !slices.Contains(values[sp.Word], n) {
			if len(values[sp.Word]) == 0 {
				words = append(words, sp.Word)
			}
			values[sp.Word] = append(values[sp.Word], n)
		}
	}
	for _, w := range words {
		parts = append(parts, strings.Join(values[w], " or ")+" = "+w)
	}
	return strings.Join(parts, "; ")
}
