package params

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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

// vllmValidation words an error as vLLM's VLLMValidationError prints itself: the message,
// then "(parameter=..., value=...)" for whichever of the two it was given.
func vllmValidation(msg, param, value string) *VLLMError {
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

// CheckVLLM applies vLLM's checks in vLLM's order and returns the first failure, or nil.
func (s VLLMSampling) CheckVLLM(lim VLLMLimits) *VLLMError {
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
	return s.checkVLLMModel(lim)
}

// checkDistribution is the first half of SamplingParams._verify_args: n, then the
// fields that shape the next-token distribution.
func (s VLLMSampling) checkDistribution(lim VLLMLimits, refused Errors) *VLLMError {
	switch {
	case s.N < 1:
		return vllmValidation(fmt.Sprintf("n must be at least 1, got %d.", s.N), "", "")
	case lim.MaxN <= 0 && s.N > vllmMaxN:
		return vllmValidation(fmt.Sprintf("n must be at most %d, got %d. To increase this limit, set the VLLM_MAX_N_SEQUENCES environment variable.", vllmMaxN, s.N), "", "")
	case lim.MaxN > 0 && s.N > lim.MaxN:
		return vllmValidation(fmt.Sprintf("n must be at most %d on this server, got %d.", lim.MaxN, s.N), "", "")
	case !(s.PresencePenalty >= -2 && s.PresencePenalty <= 2):
		return vllmValidation("presence_penalty must be in [-2, 2], got "+pyFloat(s.PresencePenalty)+".", "", "")
	case !(s.FrequencyPenalty >= -2 && s.FrequencyPenalty <= 2):
		return vllmValidation("frequency_penalty must be in [-2, 2], got "+pyFloat(s.FrequencyPenalty)+".", "", "")
	case refused.Has("repetition_penalty") && !finite(s.RepetitionPenalty):
		return vllmValidation("repetition_penalty must be a finite number, got "+pyFloat(s.RepetitionPenalty)+".", "", "")
	case refused.Has("repetition_penalty"):
		return vllmValidation("repetition_penalty must be greater than zero, got "+pyFloat(s.RepetitionPenalty)+".", "", "")
	case refused.Has("temperature"):
		t := pyFloat(s.Temperature)
		switch {
		case !finite(s.Temperature):
			return vllmValidation("temperature must be a finite number, got "+t+".", "temperature", t)
		case s.Temperature < 0:
			return vllmValidation("temperature must be non-negative, got "+t+".", "temperature", t)
		}
		return vllmValidation("temperature must be in [0, 2], got "+t+".", "temperature", t)
	case refused.Has("top_p"):
		p := pyFloat(s.TopP)
		return vllmValidation("top_p must be in (0, 1], got "+p+".", "top_p", p)
	case refused.Has("top_k"):
		return vllmValidation(fmt.Sprintf("top_k must be 0 (disable), or at least 1, got %d.", s.TopK), "", "")
	case !(s.MinP >= 0 && s.MinP <= 1):
		return vllmValidation("min_p must be in [0, 1], got "+pyFloat(s.MinP)+".", "", "")
	}
	return nil
}

// checkLengths is the rest of _verify_args (lengths, logprob counts, stop strings) and
// _verify_greedy_sampling.
func (s VLLMSampling) checkLengths(refused Errors) *VLLMError {
	switch {
	case refused.Has("max_tokens"):
		v := strconv.Itoa(*s.MaxTokens)
		return vllmValidation("max_tokens must be at least 1, got "+v+".", "max_tokens", v)
	case s.MinTokens < 0:
		return vllmValidation(fmt.Sprintf("min_tokens must be greater than or equal to 0, got %d.", s.MinTokens), "", "")
	case s.MaxTokens != nil && s.MinTokens > *s.MaxTokens:
		return vllmValidation(fmt.Sprintf("min_tokens must be less than or equal to max_tokens=%d, got %d.", *s.MaxTokens, s.MinTokens), "", "")
	case s.Logprobs != nil && *s.Logprobs < -1:
		v := strconv.Itoa(*s.Logprobs)
		return vllmValidation("logprobs must be non-negative or -1, got "+v+".", "logprobs", v)
	case s.PromptLogprobs != nil && *s.PromptLogprobs < -1:
		v := strconv.Itoa(*s.PromptLogprobs)
		return vllmValidation("prompt_logprobs must be non-negative or -1, got "+v+".", "prompt_logprobs", v)
	case refused.Has("stop"):
		return vllmValidation("stop cannot contain an empty string.", "", "")
	case s.Temperature < GreedyBelow && s.N > 1:
		return vllmValidation(fmt.Sprintf("n must be 1 when using greedy sampling, got %d.", s.N), "", "")
	}
	return nil
}

// checkVLLMModel is vLLM's SamplingParams.verify: the checks that need the model (the
// logprob cap, the vocabulary).
func (s VLLMSampling) checkVLLMModel(lim VLLMLimits) *VLLMError {
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
		return vllmValidation(fmt.Sprintf("Requested sample logprobs of %d, which is greater than max allowed: %d", k, maxLP), "logprobs", strconv.Itoa(k))
	}
	if k := count(s.PromptLogprobs); k > maxLP {
		return vllmValidation(fmt.Sprintf("Requested prompt logprobs of %d, which is greater than max allowed: %d", k, maxLP), "prompt_logprobs", strconv.Itoa(k))
	}
	if lim.VocabSize > 0 {
		var bad []int
		for _, id := range s.StopTokenIDs {
			if id < 0 || id >= lim.VocabSize {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			list := pyIntList(bad)
			return vllmValidation(fmt.Sprintf("token_id(s) %s in stop_token_ids contain out-of-vocab token ids. Vocabulary size: %d", list, lim.VocabSize), "stop_token_ids", list)
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
