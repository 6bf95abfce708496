package params

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPyFloatIsPythonRepr(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 1: "1.0", -1: "-1.0", 2.5: "2.5", 0.1: "0.1", 0.7: "0.7",
		1e-05: "1e-05", 0.0001: "0.0001", 1.5e-07: "1.5e-07", 1e15: "1000000000000000.0", 1e16: "1e+16",
		9999999999999998: "9999999999999998.0", 1.2345678901234568e+20: "1.2345678901234568e+20",
		math.Inf(1): "inf", math.Inf(-1): "-inf", math.NaN(): "nan",
	} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestCheckVLLMWordsAsVLLM(t *testing.T) {
	t.Parallel()
	ip := func(v int) *int { return &v }
	cases := []struct {
		name  string
		set   func(s *VLLMSampling)
		lim   VLLMLimits
		param string
		msg   string
	}{
		{"n<1", func(s *VLLMSampling) { s.N = 0 }, VLLMLimits{}, "", "n must be at least 1, got 0."},
		{"n over vLLM's cap", func(s *VLLMSampling) { s.N = 20000 }, VLLMLimits{}, "", "n must be at most 16384, got 20000. To increase this limit, set the VLLM_MAX_N_SEQUENCES environment variable."},
		{"n over the server's cap", func(s *VLLMSampling) { s.N = 17 }, VLLMLimits{MaxN: 16}, "", "n must be at most 16 on this server, got 17."},
		{"presence", func(s *VLLMSampling) { s.PresencePenalty = 2.5 }, VLLMLimits{}, "", "presence_penalty must be in [-2, 2], got 2.5."},
		{"frequency", func(s *VLLMSampling) { s.FrequencyPenalty = -3 }, VLLMLimits{}, "", "frequency_penalty must be in [-2, 2], got -3.0."},
		{"repetition inf", func(s *VLLMSampling) { s.RepetitionPenalty = math.Inf(1) }, VLLMLimits{}, "", "repetition_penalty must be a finite number, got inf."},
		{"repetition 0", func(s *VLLMSampling) { s.RepetitionPenalty = 0 }, VLLMLimits{}, "", "repetition_penalty must be greater than zero, got 0.0."},
		{"temperature nan", func(s *VLLMSampling) { s.Temperature = math.NaN() }, VLLMLimits{}, "temperature", "temperature must be a finite number, got nan. (parameter=temperature, value=nan)"},
		{"temperature <0", func(s *VLLMSampling) { s.Temperature = -0.5 }, VLLMLimits{}, "temperature", "temperature must be non-negative, got -0.5. (parameter=temperature, value=-0.5)"},
		{"temperature >2", func(s *VLLMSampling) { s.Temperature = 3 }, VLLMLimits{}, "temperature", "temperature must be in [0, 2], got 3.0. (parameter=temperature, value=3.0)"},
		{"top_p", func(s *VLLMSampling) { s.TopP = 0 }, VLLMLimits{}, "top_p", "top_p must be in (0, 1], got 0.0. (parameter=top_p, value=0.0)"},
		{"top_k", func(s *VLLMSampling) { s.TopK = -2 }, VLLMLimits{}, "", "top_k must be 0 (disable), or at least 1, got -2."},
		{"min_p", func(s *VLLMSampling) { s.MinP = 1.5 }, VLLMLimits{}, "", "min_p must be in [0, 1], got 1.5."},
		{"max_tokens", func(s *VLLMSampling) { s.MaxTokens = ip(0) }, VLLMLimits{}, "max_tokens", "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)"},
		{"min_tokens <0", func(s *VLLMSampling) { s.MinTokens = -1 }, VLLMLimits{}, "", "min_tokens must be greater than or equal to 0, got -1."},
		{"min_tokens > max", func(s *VLLMSampling) { s.MaxTokens, s.MinTokens = ip(3), 4 }, VLLMLimits{}, "", "min_tokens must be less than or equal to max_tokens=3, got 4."},
		{"logprobs < -1", func(s *VLLMSampling) { s.Logprobs = ip(-2) }, VLLMLimits{}, "logprobs", "logprobs must be non-negative or -1, got -2. (parameter=logprobs, value=-2)"},
		{"prompt_logprobs < -1", func(s *VLLMSampling) { s.PromptLogprobs = ip(-3) }, VLLMLimits{}, "prompt_logprobs", "prompt_logprobs must be non-negative or -1, got -3. (parameter=prompt_logprobs, value=-3)"},
		{"empty stop", func(s *VLLMSampling) { s.Stop = []string{"a", ""} }, VLLMLimits{}, "", "stop cannot contain an empty string."},
		{"greedy n", func(s *VLLMSampling) { s.Temperature, s.N = 0, 3 }, VLLMLimits{}, "", "n must be 1 when using greedy sampling, got 3."},
		{"logprobs cap", func(s *VLLMSampling) { s.Logprobs = ip(21) }, VLLMLimits{}, "logprobs", "Requested sample logprobs of 21, which is greater than max allowed: 20 (parameter=logprobs, value=21)"},
		{"logprobs -1 is the vocabulary", func(s *VLLMSampling) { s.Logprobs = ip(-1) }, VLLMLimits{VocabSize: 4096}, "logprobs", "Requested sample logprobs of 4096, which is greater than max allowed: 20 (parameter=logprobs, value=4096)"},
		{"prompt logprobs cap", func(s *VLLMSampling) { s.PromptLogprobs = ip(6) }, VLLMLimits{MaxLogprobs: 5}, "prompt_logprobs", "Requested prompt logprobs of 6, which is greater than max allowed: 5 (parameter=prompt_logprobs, value=6)"},
		{"stop ids", func(s *VLLMSampling) { s.StopTokenIDs = []int{3, 4096, -1} }, VLLMLimits{VocabSize: 4096}, "stop_token_ids", "token_id(s) [4096, -1] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: 4096 (parameter=stop_token_ids, value=[4096, -1])"},
		// vLLM's order: the penalties before temperature, top_p before top_k.
		{"order", func(s *VLLMSampling) { s.TopK, s.TopP, s.PresencePenalty = -5, 0, 9 }, VLLMLimits{}, "", "presence_penalty must be in [-2, 2], got 9.0."},
	}
	for _, tc := range cases {
		s := DefaultVLLMSampling()
		tc.set(&s)
		e := s.CheckVLLM(tc.lim)
		if e == nil || e.Param != tc.param || e.Message != tc.msg {
			t.Errorf("%s: %+v, want param %q message %q", tc.name, e, tc.param, tc.msg)
		}
	}
	s := DefaultVLLMSampling()
	s.Temperature, s.TopK, s.Stop, s.StopTokenIDs = 0, -1, []string{"\n"}, []int{7}
	if e := s.CheckVLLM(VLLMLimits{VocabSize: 8}); e != nil {
		t.Errorf("valid greedy request refused: %v", e)
	}
}

// The rules come from Validate: for the fields SamplingParams holds, CheckVLLM refuses a
// value exactly when Validate does.
func TestCheckVLLMAgreesWithValidate(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vals ...float64) float64 { return vals[rng.IntN(len(vals))] }
	for i := 0; i < 5000; i++ {
		p := Default()
		p.Temperature = pick(-1, 0, 1e-6, 0.7, 2, 2.01, math.Inf(1))
		p.TopP = pick(-0.1, 0, 0.5, 1, 1.01)
		p.TopK = rng.IntN(5) - 3
		p.RepetitionPenalty = pick(-1, 0, 0.5, 1, 3)
		if rng.IntN(2) == 0 {
			mt := rng.IntN(4) - 1
			p.MaxTokens = &mt
		}
		if rng.IntN(3) == 0 {
			p.Stop.Strings = []string{"x", ""}[:1+rng.IntN(2)]
		}
		s := DefaultVLLMSampling()
		s.Temperature, s.TopP, s.TopK, s.RepetitionPenalty, s.MaxTokens, s.Stop = p.Temperature, p.TopP, p.TopK, p.RepetitionPenalty, p.MaxTokens, p.Stop.Strings
		if (p.Validate() != nil) != (s.CheckVLLM(VLLMLimits{}) != nil) {
			t.Fatalf("%+v: Validate %v, CheckVLLM %v", p, p.Validate(), s.CheckVLLM(VLLMLimits{}))
		}
	}
}

// vLLM's logit_bias and bad_words checks, worded and ordered as vLLM's: keys through
// Python's int() in SamplingParams.from_optional (before _verify_args), the empty bad
// word at the end of _verify_args, out-of-vocab ids in verify between the logprob caps and
// stop_token_ids.
func TestCheckVLLMLogitBiasAndBadWords(t *testing.T) {
	t.Parallel()
	ip := func(v int) *int { return &v }
	bias := func(kv ...any) []VLLMLogitBias {
		var out []VLLMLogitBias
		for i := 0; i < len(kv); i += 2 {
			out = append(out, VLLMLogitBias{Key: kv[i].(string), Bias: float64(kv[i+1].(int))})
		}
		return out
	}
	cases := []struct {
		name  string
		set   func(s *VLLMSampling)
		param string
		msg   string
	}{
		{"keys that are no integers, in the request's order", func(s *VLLMSampling) { s.LogitBias = bias("x", 1, "5", 2, "1.5", 3, "it's", 4) }, "logit_bias",
			`logit_bias contains key(s) that cannot be converted to integer token IDs: ['x', '1.5', "it's"] (parameter=logit_bias, value=['x', '1.5', "it's"])`},
		{"a key error comes before _verify_args", func(s *VLLMSampling) { s.LogitBias, s.N = bias("", 1), 0 }, "logit_bias",
			`logit_bias contains key(s) that cannot be converted to integer token IDs: [''] (parameter=logit_bias, value=[''])`},
		{"out of vocabulary, as Python prints the ids", func(s *VLLMSampling) { s.LogitBias = bias("3", 1, "0100", 1, "-1", 1, "99999999999999999999999", 1) }, "logit_bias",
			"token_id(s) [100, -1, 99999999999999999999999] in logit_bias contain out-of-vocab token ids. Vocabulary size: 100 (parameter=logit_bias, value=[100, -1, 99999999999999999999999])"},
		{"the logprob cap before logit_bias", func(s *VLLMSampling) { s.LogitBias, s.Logprobs = bias("100", 1), ip(21) }, "logprobs",
			"Requested sample logprobs of 21, which is greater than max allowed: 20 (parameter=logprobs, value=21)"},
		{"logit_bias before stop_token_ids", func(s *VLLMSampling) { s.LogitBias, s.StopTokenIDs = bias("100", 1), []int{100} }, "logit_bias",
			"token_id(s) [100] in logit_bias contain out-of-vocab token ids. Vocabulary size: 100 (parameter=logit_bias, value=[100])"},
		{"empty bad word, repeats dropped", func(s *VLLMSampling) { s.BadWords = []string{"a", "", "a", "\n'"} }, "",
			`bad_words cannot contain an empty string. Got bad_words=['a', '', "\n'"]`},
		{"empty stop before empty bad word", func(s *VLLMSampling) { s.BadWords, s.Stop = []string{""}, []string{""} }, "", "stop cannot contain an empty string."},
		{"empty bad word before greedy n", func(s *VLLMSampling) { s.BadWords, s.Temperature, s.N = []string{""}, 0, 2 }, "", "bad_words cannot contain an empty string. Got bad_words=['']"},
	}
	for _, tc := range cases {
		s := DefaultVLLMSampling()
		tc.set(&s)
		e := s.CheckVLLM(VLLMLimits{VocabSize: 100})
		if e == nil || e.Param != tc.param || e.Message != tc.msg {
			t.Errorf("%s: %+v\nwant param %q message %q", tc.name, e, tc.param, tc.msg)
		}
	}
	// Accepted: what Python's int() takes, biases clamped to ±100; ids that convert alike
	// keep the first place and the last bias, as a dict does.
	s := DefaultVLLMSampling()
	s.LogitBias = bias(" 7 ", 500, "+8", -500, "0_9", 3, "07", 4, "٣", 5, "𝟗", 6)
	if e := s.CheckVLLM(VLLMLimits{VocabSize: 100}); e != nil {
		t.Fatalf("valid keys refused: %v", e)
	}
	got := s.LogitBiasIDs()
	want := map[int]float64{7: 4, 8: -100, 9: 6, 3: 5}
	if len(got) != len(want) {
		t.Fatalf("LogitBiasIDs %v, want %v", got, want)
	}
	for id, b := range want {
		if got[id] != b {
			t.Fatalf("LogitBiasIDs %v, want %v", got, want)
		}
	}
}

// pyInt accepts exactly what Python's int() of a str accepts.
func TestPyIntIsPythonInt(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0": "0", "-0": "0", "+0": "0", "007": "7", " \t12\n": "12", "\x1c5\u3000": "5", "1_000": "1000", "-1_2": "-12",
		"١٢": "12", "٣": "3", "𝟎𝟏": "1", "𝟗": "9", "９": "9", "18446744073709551616": "18446744073709551616",
	} {
		b, ok := pyInt(in)
		if !ok || b.repr != want {
			t.Errorf("pyInt(%q) = %+v %v, want %s", in, b, ok, want)
		}
	}
	for _, in := range []string{"", " ", "+", "-", "1.0", "1e3", "0x10", "_1", "1_", "1__0", "1 2", "--1", "½", "Ⅻ", "1_\u00a0"} {
		if b, ok := pyInt(in); ok {
			t.Errorf("pyInt(%q) = %+v, Python refuses it", in, b)
		}
	}
	if b, _ := pyInt("-9223372036854775809"); !b.huge || b.id != math.MinInt {
		t.Errorf("an id below int64 is huge and negative: %+v", b)
	}
}

func TestPyStrListIsPythonRepr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a": `'a'`, "it's": `"it's"`, `say "hi"`: `'say "hi"'`, `it's "x"`: `'it\'s "x"'`, `a\b`: `'a\\b'`,
		"\n\t\r\x00\x7f": `'\n\t\r\x00\x7f'`, "é漢": `'é漢'`, "\u00a0\u200b\u202e": `'\xa0\u200b\u202e'`, "\U0001F600": `'😀'`, "\U000E0001": `'\U000e0001'`,
	} {
		if got := PyStrList([]string{in}); got != "["+want+"]" {
			t.Errorf("PyStrList(%q) = %s, want [%s]", in, got, want)
		}
	}
	if got := PyStrList(nil); got != "[]" {
		t.Errorf("empty: %s", got)
	}
}
