package params

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// vLLM's own checks on a request's sampling fields, worded as a vLLM server words its
// 400s (vllm/sampling_params.py: SamplingParams._verify_args, _verify_greedy_sampling
// and verify). The servers that speak vLLM's wire format (the built-in model's and the
// test server) refuse requests with these. For the fields SamplingParams holds, whether a
// value is refused is decided by Validate, so a value the playground refuses is exactly
// one a vLLM-format server refuses.

// VLLMSampling is a request's sampling fields as vLLM's SamplingParams holds them once the
// fields a request left out have their defaults (DefaultVLLMSampling).
type VLLMSampling struct {
	N                 int
	PresencePenalty   float64
	FrequencyPenalty  float64
	RepetitionPenalty float64
	Temperature       float64
	TopP              float64
	TopK              int
	MinP              float64
	// MaxTokens nil: up to the end of the context.
	MaxTokens *int
	MinTokens int
	// Logprobs and PromptLogprobs are top-k counts; nil: not asked for; -1: the whole
	// vocabulary.
	Logprobs       *int
	PromptLogprobs *int
	Stop           []string
	StopTokenIDs   []int
	// LogitBias is logit_bias as the request sent it: keys as strings, in the request's
	// order (vLLM's dict keeps it, and its messages list keys in it). LogitBiasIDs turns
	// it into token ids as vLLM does.
	LogitBias []VLLMLogitBias
	// BadWords as sent; vLLM drops repeats, keeping the first of each.
	BadWords []string
}

// VLLMLogitBias is one logit_bias entry as sent: the key is a token id written as a
// string (JSON object keys are strings).
type VLLMLogitBias struct {
	Key  string
	Bias float64
}

// DefaultVLLMSampling is what vLLM uses for a field a request leaves out when the model's
// generation_config says nothing: one sample, temperature 1, top_p 1, top_k off, no
// penalties.
func DefaultVLLMSampling() VLLMSampling {
	return VLLMSampling{N: 1, RepetitionPenalty: 1, Temperature: 1, TopP: 1}
}

// VLLMLimits are the server's side of the checks.
type VLLMLimits struct {
	// MaxN caps n; 0 is vLLM's VLLM_MAX_N_SEQUENCES default.
	MaxN int
	// MaxLogprobs is the server's --max-logprobs; 0 is vLLM's default, MaxLogprobs.
	MaxLogprobs int
	// VocabSize bounds token ids; 0 leaves them unchecked.
	VocabSize int
}

// vllmMaxN is vLLM's default VLLM_MAX_N_SEQUENCES.
const vllmMaxN = 16384

// VLLMError is one refusal in vLLM's words. Param is the error body's "param"; "" stands
// for null, which vLLM sends for most sampling checks.
type VLLMError struct {
	Param   string
	Message string
}

func (e *VLLMError) Error() string { return e.Message }

// VLLMValidation words an error as vLLM's VLLMValidationError prints itself: the message,
// then "(parameter=..., value=...)" for whichever of the two it was given.
func VLLMValidation(msg, param, value string) *VLLMError {
	var extras []string
	if param != "" {
		extras = append(extras, "parameter="+param)
	}
	if value != "" {
		extras = append(extras, "value="+value)
	}
	if len(extras) > 0 {
		msg += " (" + strings.Join(extras, ", ") + ")"
	}
	return &VLLMError{Param: param, Message: msg}
}

// CheckVLLM applies vLLM's checks in vLLM's order and returns the first failure, or nil:
// logit_bias's keys (SamplingParams.from_optional turns them into ids before anything
// else), _verify_args, _verify_greedy_sampling, then verify's checks against the model.
func (s VLLMSampling) CheckVLLM(lim VLLMLimits) *VLLMError {
	bias, e := s.logitBias()
	if e != nil {
		return e
	}
	shared := SamplingParams{MaxTokens: s.MaxTokens, Temperature: s.Temperature, TopK: s.TopK,
		TopP: s.TopP, RepetitionPenalty: s.RepetitionPenalty, Stop: Stop{Strings: s.Stop}}
	var refused Errors
	if err := shared.Validate(); err != nil {
		refused, _ = err.(Errors)
	}
	if e := s.checkDistribution(lim, refused); e != nil {
		return e
	}
	if e := s.checkLengths(refused); e != nil {
		return e
	}
	return s.checkVLLMModel(lim, bias)
}

// checkDistribution is the first half of SamplingParams._verify_args: n, then the
// fields that shape the next-token distribution.
func (s VLLMSampling) checkDistribution(lim VLLMLimits, refused Errors) *VLLMError {
	switch {
	case s.N < 1:
		return VLLMValidation(fmt.Sprintf("n must be at least 1, got %d.", s.N), "", "")
	case lim.MaxN <= 0 && s.N > vllmMaxN:
		return VLLMValidation(fmt.Sprintf("n must be at most %d, got %d. To increase this limit, set the VLLM_MAX_N_SEQUENCES environment variable.", vllmMaxN, s.N), "", "")
	case lim.MaxN > 0 && s.N > lim.MaxN:
		return VLLMValidation(fmt.Sprintf("n must be at most %d on this server, got %d.", lim.MaxN, s.N), "", "")
	case !(s.PresencePenalty >= -2 && s.PresencePenalty <= 2):
		return VLLMValidation("presence_penalty must be in [-2, 2], got "+pyFloat(s.PresencePenalty)+".", "", "")
	case !(s.FrequencyPenalty >= -2 && s.FrequencyPenalty <= 2):
		return VLLMValidation("frequency_penalty must be in [-2, 2], got "+pyFloat(s.FrequencyPenalty)+".", "", "")
	case refused.Has("repetition_penalty") && !finite(s.RepetitionPenalty):
		return VLLMValidation("repetition_penalty must be a finite number, got "+pyFloat(s.RepetitionPenalty)+".", "", "")
	case refused.Has("repetition_penalty"):
		return VLLMValidation("repetition_penalty must be greater than zero, got "+pyFloat(s.RepetitionPenalty)+".", "", "")
	case refused.Has("temperature"):
		t := pyFloat(s.Temperature)
		switch {
		case !finite(s.Temperature):
			return VLLMValidation("temperature must be a finite number, got "+t+".", "temperature", t)
		case s.Temperature < 0:
			return VLLMValidation("temperature must be non-negative, got "+t+".", "temperature", t)
		}
		return VLLMValidation("temperature must be in [0, 2], got "+t+".", "temperature", t)
	case refused.Has("top_p"):
		p := pyFloat(s.TopP)
		return VLLMValidation("top_p must be in (0, 1], got "+p+".", "top_p", p)
	case refused.Has("top_k"):
		return VLLMValidation(fmt.Sprintf("top_k must be 0 (disable), or at least 1, got %d.", s.TopK), "", "")
	case !(s.MinP >= 0 && s.MinP <= 1):
		return VLLMValidation("min_p must be in [0, 1], got "+pyFloat(s.MinP)+".", "", "")
	}
	return nil
}

// checkLengths is the rest of _verify_args (lengths, logprob counts, stop strings) and
// _verify_greedy_sampling.
func (s VLLMSampling) checkLengths(refused Errors) *VLLMError {
	switch {
	case refused.Has("max_tokens"):
		v := strconv.Itoa(*s.MaxTokens)
		return VLLMValidation("max_tokens must be at least 1, got "+v+".", "max_tokens", v)
	case s.MinTokens < 0:
		return VLLMValidation(fmt.Sprintf("min_tokens must be greater than or equal to 0, got %d.", s.MinTokens), "", "")
	case s.MaxTokens != nil && s.MinTokens > *s.MaxTokens:
		return VLLMValidation(fmt.Sprintf("min_tokens must be less than or equal to max_tokens=%d, got %d.", *s.MaxTokens, s.MinTokens), "", "")
	case s.Logprobs != nil && *s.Logprobs < -1:
		v := strconv.Itoa(*s.Logprobs)
		return VLLMValidation("logprobs must be non-negative or -1, got "+v+".", "logprobs", v)
	case s.PromptLogprobs != nil && *s.PromptLogprobs < -1:
		v := strconv.Itoa(*s.PromptLogprobs)
		return VLLMValidation("prompt_logprobs must be non-negative or -1, got "+v+".", "prompt_logprobs", v)
	case refused.Has("stop"):
		return VLLMValidation("stop cannot contain an empty string.", "", "")
	case slices.Contains(s.BadWords, ""):
		return VLLMValidation("bad_words cannot contain an empty string. Got bad_words="+PyStrList(uniqueStrings(s.BadWords)), "", "")
	case s.Temperature < GreedyBelow && s.N > 1:
		return VLLMValidation(fmt.Sprintf("n must be 1 when using greedy sampling, got %d.", s.N), "", "")
	}
	return nil
}

// checkVLLMModel is vLLM's SamplingParams.verify: the checks that need the model (the
// logprob cap, the vocabulary).
func (s VLLMSampling) checkVLLMModel(lim VLLMLimits, bias []vllmBias) *VLLMError {
	maxLP := lim.MaxLogprobs
	if maxLP <= 0 {
		maxLP = MaxLogprobs
	}
	count := func(k *int) int {
		if k == nil {
			return 0
		}
		if *k == -1 {
			return lim.VocabSize
		}
		return *k
	}
	if k := count(s.Logprobs); k > maxLP {
		return VLLMValidation(fmt.Sprintf("Requested sample logprobs of %d, which is greater than max allowed: %d", k, maxLP), "logprobs", strconv.Itoa(k))
	}
	if k := count(s.PromptLogprobs); k > maxLP {
		return VLLMValidation(fmt.Sprintf("Requested prompt logprobs of %d, which is greater than max allowed: %d", k, maxLP), "prompt_logprobs", strconv.Itoa(k))
	}
	if lim.VocabSize > 0 {
		var outside []string
		for _, b := range bias {
			if b.huge || b.id < 0 || b.id >= lim.VocabSize {
				outside = append(outside, b.repr)
			}
		}
		if len(outside) > 0 {
			list := "[" + strings.Join(outside, ", ") + "]"
			return VLLMValidation(fmt.Sprintf("token_id(s) %s in logit_bias contain out-of-vocab token ids. Vocabulary size: %d", list, lim.VocabSize), "logit_bias", list)
		}
		var bad []int
		for _, id := range s.StopTokenIDs {
			if id < 0 || id >= lim.VocabSize {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			list := pyIntList(bad)
			return VLLMValidation(fmt.Sprintf("token_id(s) %s in stop_token_ids contain out-of-vocab token ids. Vocabulary size: %d", list, lim.VocabSize), "stop_token_ids", list)
		}
	}
	return nil
}

// pyFloat formats a float as Python's repr does, as it appears in vLLM's messages: 0.0,
// 2.5, 1e-05, 1e+16, inf, nan.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if v != 0 {
		// Python switches to exponent form when the shortest digits' exponent is below -4
		// or at least 16; both languages write at least two exponent digits (1e-05).
		s := strconv.FormatFloat(v, 'e', -1, 64)
		if e, err := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:]); err == nil && (e < -4 || e >= 16) {
			return s
		}
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// pyIntList formats ints as Python prints a list of them: [1, -2].
func pyIntList(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// vllmBias is a logit_bias entry once its key is an int, as vLLM's dict holds it.
type vllmBias struct {
	id   int    // the token id (clamped to the int range when huge)
	huge bool   // beyond int64: Python's int holds it, and it is out of any vocabulary
	repr string // the id as Python prints it
	bias float64
}

// logitBias is SamplingParams.from_optional's conversion: each key through Python's
// int(), each bias clamped to [-100, 100]; a key that is no integer is vLLM's 400, naming
// every such key. Keys that convert to the same id keep the first one's place and the
// last one's bias, as a dict does.
func (s VLLMSampling) logitBias() ([]vllmBias, *VLLMError) {
	var out []vllmBias
	var invalid []string
	at := map[string]int{}
	for _, e := range s.LogitBias {
		b, ok := pyInt(e.Key)
		if !ok {
			invalid = append(invalid, e.Key)
			continue
		}
		b.bias = ClampBias(e.Bias)
		if i, seen := at[b.repr]; seen {
			out[i].bias = b.bias
			continue
		}
		at[b.repr] = len(out)
		out = append(out, b)
	}
	if len(invalid) > 0 {
		list := PyStrList(invalid)
		return nil, VLLMValidation("logit_bias contains key(s) that cannot be converted to integer token IDs: "+list, "logit_bias", list)
	}
	return out, nil
}

// LogitBiasIDs is logit_bias as the engine applies it: token id -> bias, clamped as
// vLLM clamps it. Call it on a request CheckVLLM passed (its keys are integers within
// the vocabulary).
func (s VLLMSampling) LogitBiasIDs() map[int]float64 {
	bias, _ := s.logitBias()
	if len(bias) == 0 {
		return nil
	}
	m := make(map[int]float64, len(bias))
	for _, b := range bias {
		m[b.id] = b.bias
	}
	return m
}

// pyInt is Python's int() of a string: surrounding whitespace, a sign, then decimal
// digits (any script's), with single underscores allowed between digits.
func pyInt(s string) (vllmBias, bool) {
	s = strings.TrimFunc(s, pySpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var digits []byte
	underscore := false
	for _, r := range s {
		if r == '_' {
			if underscore || len(digits) == 0 {
				return vllmBias{}, false
			}
			underscore = true
			continue
		}
		d, ok := digitValue(r)
		if !ok {
			return vllmBias{}, false
		}
		digits = append(digits, '0'+d)
		underscore = false
	}
	if len(digits) == 0 || underscore {
		return vllmBias{}, false
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	repr := string(digits)
	if neg && repr != "0" {
		repr = "-" + repr
	}
	id, err := strconv.ParseInt(repr, 10, 64)
	if err != nil || id > math.MaxInt || id < math.MinInt {
		id = math.MaxInt
		if neg {
			id = math.MinInt
		}
		return vllmBias{id: int(id), huge: true, repr: repr}, true
	}
	return vllmBias{id: int(id), repr: repr}, true
}

// pySpace is Python's str.isspace: Unicode's white space and the four separators
// U+001C..U+001F, which Python counts too.
func pySpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// digitValue is a decimal digit's value in any script, as Python's int() reads it:
// Unicode lays each script's digits out as runs of ten from zero, so a digit's offset
// from the start of its block of digits, modulo ten, is its value.
func digitValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	zero := r
	for unicode.Is(unicode.Nd, zero-1) {
		zero--
	}
	return byte((r - zero) % 10), true
}

// VLLMBadWordsError is a bad_words refusal made once the words are tokenized
// (SamplingParams.update_from_tokenizer), in vLLM's words: msg, then the words as vLLM
// holds them (repeats dropped) as the value.
func VLLMBadWordsError(msg string, words []string) *VLLMError {
	return VLLMValidation(msg, "bad_words", PyStrList(uniqueStrings(words)))
}

// PyStrList writes strings as Python prints a list of them: ['a', "it's"].
func PyStrList(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = pyRepr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyRepr is Python's repr of a str: single quotes unless the text holds a single quote
// and no double one; backslash, the quote, \n, \r and \t escaped, and every other
// character Python does not print written as \x, \u or \U.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
