package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"testing"
)

// vLLM's checks on each advanced field (SamplingParams._verify_args, from_optional):
// one problem per case, naming the field.
func TestValidateAdvanced(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*SamplingParams, *Advanced)
		field string // "" means valid
		msg   string
	}{
		{"defaults", func(*SamplingParams, *Advanced) {}, "", ""},
		{"min_p 0", func(_ *SamplingParams, a *Advanced) { a.MinP = 0 }, "", ""},
		{"min_p 1", func(_ *SamplingParams, a *Advanced) { a.MinP = 1 }, "", ""},
		{"min_p above 1", func(_ *SamplingParams, a *Advanced) { a.MinP = 1.01 }, "min_p", "[0, 1]"},
		{"min_p negative", func(_ *SamplingParams, a *Advanced) { a.MinP = -0.1 }, "min_p", "[0, 1]"},
		{"min_p NaN", func(_ *SamplingParams, a *Advanced) { a.MinP = math.NaN() }, "min_p", "finite"},
		{"min_p greedy is accepted", func(p *SamplingParams, a *Advanced) { p.Temperature = 0; a.MinP = 0.5 }, "", ""},
		{"presence -2", func(_ *SamplingParams, a *Advanced) { a.PresencePenalty = -2 }, "", ""},
		{"presence 2", func(_ *SamplingParams, a *Advanced) { a.PresencePenalty = 2 }, "", ""},
		{"presence 2.5", func(_ *SamplingParams, a *Advanced) { a.PresencePenalty = 2.5 }, "presence_penalty", "[-2, 2]"},
		{"presence Inf", func(_ *SamplingParams, a *Advanced) { a.PresencePenalty = math.Inf(1) }, "presence_penalty", "finite"},
		{"frequency -2.1", func(_ *SamplingParams, a *Advanced) { a.FrequencyPenalty = -2.1 }, "frequency_penalty", "[-2, 2]"},
		{"frequency NaN", func(_ *SamplingParams, a *Advanced) { a.FrequencyPenalty = math.NaN() }, "frequency_penalty", "finite"},
		{"min_tokens 0", func(_ *SamplingParams, a *Advanced) { a.MinTokens = 0 }, "", ""},
		{"min_tokens -1", func(_ *SamplingParams, a *Advanced) { a.MinTokens = -1 }, "min_tokens", "at least 0"},
		{"min_tokens = max_tokens", func(p *SamplingParams, a *Advanced) { p.MaxTokens = ptr(8); a.MinTokens = 8 }, "", ""},
		{"min_tokens > max_tokens", func(p *SamplingParams, a *Advanced) { p.MaxTokens = ptr(8); a.MinTokens = 9 }, "min_tokens", "at most max_tokens (8)"},
		{"min_tokens without max_tokens", func(_ *SamplingParams, a *Advanced) { a.MinTokens = 5000 }, "", ""},
		{"logit_bias id 0", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{ID: 0, Bias: 1}} }, "", ""},
		{"logit_bias 1000 (clamped, not refused)", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{ID: 3, Bias: 1000}} }, "", ""},
		{"logit_bias negative id", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{ID: -1, Bias: 1}} }, "logit_bias", ">= 0"},
		{"logit_bias NaN", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{ID: 1, Bias: math.NaN()}} }, "logit_bias", "finite"},
		{"logit_bias twice", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{ID: 1, Bias: 1}, {ID: 1, Bias: 2}} }, "logit_bias", "twice"},
		{"logit_bias text is valid until sent", func(_ *SamplingParams, a *Advanced) { a.LogitBias = []LogitBias{{Text: " the", Bias: 1}} }, "", ""},
		{"bad word empty", func(_ *SamplingParams, a *Advanced) { a.BadWords = []string{"ok", ""} }, "bad_words", "bad word 2 is empty"},
		{"bad word whitespace", func(_ *SamplingParams, a *Advanced) { a.BadWords = []string{" \t"} }, "bad_words", "whitespace"},
		{"bad word with leading space", func(_ *SamplingParams, a *Advanced) { a.BadWords = []string{" ok"} }, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Default()
			o := Options{N: 1}
			c.edit(&p, &o.Advanced)
			err := o.Validate(p)
			if c.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 || es[0].Field != c.field || !strings.Contains(es[0].Msg, c.msg) {
				t.Fatalf("want one error on %s containing %q, got %v", c.field, c.msg, err)
			}
		})
	}
}

func TestValidateAdvancedReportsEveryProblem(t *testing.T) {
	p := Default()
	p.MaxTokens = ptr(4)
	o := Options{N: 1, Advanced: Advanced{MinP: 2, PresencePenalty: 3, FrequencyPenalty: -3, MinTokens: 5,
		LogitBias: []LogitBias{{ID: -2, Bias: 1}}, BadWords: []string{""}}}
	var es Errors
	if !errors.As(o.Validate(p), &es) {
		t.Fatal("want Errors")
	}
	for _, f := range []string{"min_p", "presence_penalty", "frequency_penalty", "min_tokens", "logit_bias", "bad_words"} {
		if !es.Has(f) {
			t.Errorf("missing problem for %s in %v", f, es)
		}
	}
}

// vLLM forces top_p 1, top_k off and min_p 0 when sampling greedily.
func TestGreedyIgnores(t *testing.T) {
	p := Default()
	p.TopP, p.TopK = 0.9, 40
	o := Options{Advanced: Advanced{MinP: 0.1}}
	if got := o.GreedyIgnores(p); got != nil {
		t.Fatalf("sampling: %v", got)
	}
	p.Temperature = 0
	if got := o.GreedyIgnores(p); !sliceEq(got, []string{"top_p", "top_k", "min_p"}) {
		t.Fatalf("greedy: %v", got)
	}
}

func TestToVLLMAdvanced(t *testing.T) {
	// min_p is always sent (generation_config can set it); the rest only when set.
	m := decode(t, must(Default().ToVLLM(Chat, Options{N: 1})))
	if v, ok := m["min_p"]; !ok || v != 0.0 {
		t.Errorf("min_p = %v (present %v), want an explicit 0", v, ok)
	}
	for _, k := range []string{"presence_penalty", "frequency_penalty", "min_tokens", "ignore_eos", "include_stop_str_in_output", "logit_bias", "bad_words"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s sent at its default", k)
		}
	}
	o := Options{N: 1, Advanced: Advanced{MinP: 0.05, PresencePenalty: 0.5, FrequencyPenalty: -1, MinTokens: 3, IgnoreEOS: true,
		IncludeStopStrInOutput: true, LogitBias: []LogitBias{{ID: 13, Bias: -100}, {ID: 9, Bias: -250}, {ID: 2, Bias: 0.5}}, BadWords: []string{"x"}}}
	f := must(Default().ToVLLM(Completion, o))
	m = decode(t, f)
	want := map[string]any{"min_p": 0.05, "presence_penalty": 0.5, "frequency_penalty": -1.0, "min_tokens": 3.0, "ignore_eos": true, "include_stop_str_in_output": true}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	// logit_bias is keyed by the id as a string, in order, clamped to ±100 as vLLM does.
	lb, _ := f.Get("logit_bias")
	b, _ := json.Marshal(lb)
	if string(b) != `{"13":-100,"9":-100,"2":0.5}` {
		t.Errorf("logit_bias = %s", b)
	}
	if bw, _ := m["bad_words"].([]any); len(bw) != 1 || bw[0] != "x" {
		t.Errorf("bad_words = %v", m["bad_words"])
	}
	o.Advanced.LogitBias = append(o.Advanced.LogitBias, LogitBias{Text: " the", Bias: 1})
	_, err := Default().ToVLLM(Chat, o)
	var ue *UnresolvedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `" the"`) || !strings.Contains(err.Error(), "/tokenize") {
		t.Fatalf("unresolved text: %v", err)
	}
}

func must(f Fields, err error) Fields {
	if err != nil {
		panic(err)
	}
	return f
}

func TestToTransformersAdvanced(t *testing.T) {
	p := Default()
	p.Temperature = 0.7
	o := Options{N: 1, Advanced: Advanced{MinP: 0.1, PresencePenalty: 1, MinTokens: 2, LogitBias: []LogitBias{{ID: 5, Bias: 300}}, BadWords: []string{"a"}}}
	call, err := p.ToTransformers(o)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, call.Kwargs)
	if m["min_p"] != 0.1 || m["min_new_tokens"] != 2.0 {
		t.Errorf("kwargs %v", m)
	}
	b, _ := json.Marshal(m["sequence_bias"])
	if string(b) != `[[[5],100]]` {
		t.Errorf("sequence_bias = %s, want the list form, clamped", b)
	}
	if _, ok := m["presence_penalty"]; ok {
		t.Error("generate has no presence_penalty kwarg")
	}
	if !sliceEq(call.BadWords, []string{"a"}) {
		t.Errorf("bad words %v", call.BadWords)
	}
	p.Temperature = 0
	m = decode(t, must(func() (Fields, error) { c, err := p.ToTransformers(o); return c.Kwargs, err }()))
	if _, ok := m["min_p"]; ok {
		t.Error("greedy generate ignores min_p: it must not be sent")
	}
}

func TestExportRefusesUnresolvedText(t *testing.T) {
	o := Options{N: 1, Advanced: Advanced{LogitBias: []LogitBias{{Text: "hello", Bias: 5}}}}
	for _, f := range Formats() {
		_, err := Export(f, Default(), Target{Options: o})
		var ue *UnresolvedError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestResolveText(t *testing.T) {
	vocab := map[string][]int{" the": {11}, "hello world": {4, 5}, "dup": {13}}
	tokenize := func(s string) ([]int, error) {
		if ids, ok := vocab[s]; ok {
			return ids, nil
		}
		return nil, fmt.Errorf("server said no")
	}
	a := Advanced{LogitBias: []LogitBias{{ID: 13, Bias: 1}, {Text: " the", Bias: -5}}}
	got, err := a.ResolveText(tokenize)
	if err != nil || len(got.Unresolved()) != 0 || got.LogitBias[1] != (LogitBias{ID: 11, Bias: -5}) {
		t.Fatalf("got %+v %v", got, err)
	}
	if a.LogitBias[1].Text != " the" {
		t.Fatal("ResolveText changed its receiver")
	}
	a.LogitBias = append(a.LogitBias, LogitBias{Text: "hello world", Bias: 1}, LogitBias{Text: "dup", Bias: 1}, LogitBias{Text: "??", Bias: 1})
	_, err = a.ResolveText(tokenize)
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want three problems, got %v", err)
	}
	for _, want := range []string{`"hello world" is 2 tokens`, `"dup" is token 13, which 13 already biases`, `"??": server said no`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestParseLogitBias(t *testing.T) {
	cases := []struct {
		in   string
		want LogitBias
		err  string
	}{
		{"13=-100", LogitBias{ID: 13, Bias: -100}, ""},
		{" 7 = 2.5", LogitBias{ID: 7, Bias: 2.5}, ""},
		{"-1=5", LogitBias{ID: -1, Bias: 5}, ""}, // Validate refuses it, naming the id
		{"hello=5", LogitBias{Text: "hello", Bias: 5}, ""},
		{`"13"=1`, LogitBias{Text: "13", Bias: 1}, ""},
		{`"a=b"=1`, LogitBias{Text: "a=b", Bias: 1}, ""},
		{`\x20the=-3`, LogitBias{Text: " the", Bias: -3}, ""},
		{"13", LogitBias{}, "TOKEN=BIAS"},
		{"13=abc", LogitBias{}, "not a finite number"},
		{"13=inf", LogitBias{}, "not a finite number"},
		{"=4", LogitBias{}, "empty"},
		{`\q=1`, LogitBias{}, "unknown escape"},
	}
	for _, c := range cases {
		got, err := ParseLogitBias(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v %v, want %+v", c.in, got, err, c.want)
			continue
		}
		if back, err := ParseLogitBias(FormatLogitBias(got)); err != nil || back != got {
			t.Errorf("%q: FormatLogitBias %q reads back as %+v %v", c.in, FormatLogitBias(got), back, err)
		}
	}
}

func TestFlagsAdvanced(t *testing.T) {
	_, o, err := resolve(t, true, "--min-p", "0.05", "--presence-penalty", "0.5", "--frequency-penalty", "-0.5", "--min-tokens", "3",
		"--ignore-eos", "--include-stop-str-in-output=false", "--logit-bias", "13=-100", "--logit-bias", `"the"=2`, "--bad-words", "foo", "--bad-words", `a\nb`)
	if err != nil {
		t.Fatal(err)
	}
	a := o.Advanced
	if a.MinP != 0.05 || a.PresencePenalty != 0.5 || a.FrequencyPenalty != -0.5 || a.MinTokens != 3 || !a.IgnoreEOS || a.IncludeStopStrInOutput {
		t.Fatalf("%+v", a)
	}
	if len(a.LogitBias) != 2 || a.LogitBias[0] != (LogitBias{ID: 13, Bias: -100}) || a.LogitBias[1] != (LogitBias{Text: "the", Bias: 2}) {
		t.Fatalf("logit_bias %+v", a.LogitBias)
	}
	if !sliceEq(a.BadWords, []string{"foo", "a\nb"}) {
		t.Fatalf("bad_words %q", a.BadWords)
	}
	// The export command registers the same flags: they work without -n too.
	if _, o, err := resolve(t, false, "--min-p", "0.5"); err != nil || o.Advanced.MinP != 0.5 {
		t.Fatalf("without options: %+v %v", o, err)
	}
}

func TestFlagsAdvancedReportEveryProblem(t *testing.T) {
	_, _, err := resolve(t, true, "--min-p", "1.5", "--presence-penalty", "x", "--frequency-penalty", "-3", "--max-tokens", "4", "--min-tokens", "5",
		"--ignore-eos=maybe", "--logit-bias", "13", "--logit-bias", "-4=1", "--bad-words", "", "--bad-words", `\q`)
	var fe *FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("want FlagError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"--min-p: must be in [0.00, 1.00], got 1.5",
		`--presence-penalty: "x" is not a valid value`,
		"--frequency-penalty: must be in [-2.00, 2.00], got -3",
		"--min-tokens: must be at most max_tokens (4), got 5",
		`--ignore-eos: "maybe" is not a valid value: "maybe" is not on or off`,
		`--logit-bias: "13": want TOKEN=BIAS`,
		"--logit-bias: token id must be >= 0, got -4",
		"--bad-words: bad word 1 is empty",
		`--bad-words: "\\q": unknown escape`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestAdvancedSpecRows(t *testing.T) {
	for _, k := range []string{"min_p", "presence_penalty", "frequency_penalty", "min_tokens", "ignore_eos", "include_stop_str_in_output", "logit_bias", "bad_words"} {
		s := spec(t, k)
		if !s.Advanced {
			t.Errorf("%s is not in the advanced group", k)
		}
	}
	for _, s := range MainSpecs() {
		if s.Advanced {
			t.Errorf("MainSpecs holds %s", s.Key)
		}
	}
	if len(MainSpecs()) != 9 {
		t.Errorf("MainSpecs has %d rows, want the seven, n and logprobs", len(MainSpecs()))
	}
	// The advanced group comes after every other row.
	seen := false
	for _, s := range Specs() {
		if seen && !s.Advanced {
			t.Errorf("%s follows the advanced group", s.Key)
		}
		seen = seen || s.Advanced
	}
	eos := spec(t, "ignore_eos")
	if v := eos.Step(V(0), 1, false); v != V(1) {
		t.Errorf("ignore_eos right: %v", v)
	}
	if v := eos.Step(V(1), -1, false); v != V(0) {
		t.Errorf("ignore_eos left: %v", v)
	}
	if _, w := eos.Describe(V(1)); w != "on" {
		t.Errorf("ignore_eos on reads %q", w)
	}
	if got := eos.RangeText(); got != "on or off" {
		t.Errorf("ignore_eos range %q", got)
	}
	mt := spec(t, "min_tokens")
	if got := mt.RangeText(); got != "1 to 8192, log scale; 0 = off" {
		t.Errorf("min_tokens range %q", got)
	}
	if v := mt.Step(V(1), -1, false); v != V(0) {
		t.Errorf("min_tokens left of 1: %v, want off (0)", v)
	}
	if got := spec(t, "min_p").RangeText(); got != "0.00 to 1.00; 0.00 = off" {
		t.Errorf("min_p range %q", got)
	}
	p, o := Default(), Options{}
	spec(t, "include_stop_str_in_output").Put(&p, &o, V(1))
	spec(t, "presence_penalty").Put(&p, &o, V(-1.5))
	if !o.Advanced.IncludeStopStrInOutput || o.Advanced.PresencePenalty != -1.5 || spec(t, "presence_penalty").Get(p, o) != V(-1.5) {
		t.Errorf("put/get: %+v", o.Advanced)
	}
}

func TestOptionsCloneIsDeep(t *testing.T) {
	o := Options{Logprobs: ptr(3), Advanced: Advanced{LogitBias: []LogitBias{{ID: 1, Bias: 1}}, BadWords: []string{"a"}}}
	c := o.Clone()
	*c.Logprobs = 9
	c.Advanced.LogitBias[0].Bias = 7
	c.Advanced.BadWords[0] = "b"
	if *o.Logprobs != 3 || o.Advanced.LogitBias[0].Bias != 1 || o.Advanced.BadWords[0] != "a" {
		t.Fatalf("clone shares memory: %+v", o)
	}
}

// The transformers export runs with the advanced fields: a stand-in tokenizer shows the
// bad words tokenized as vLLM does (with and without a leading space), and generate
// gets min_p, min_new_tokens and sequence_bias.
func TestExportTransformersAdvancedRuns(t *testing.T) {
	py := needTool(t, "python3")
	c := exportCases()["advanced"]
	out, err := Export("transformers", c.p, c.t)
	if err != nil {
		t.Fatal(err)
	}
	// Each word is one token per character; " x" is one token, so a word with a
	// leading space has the same length and another first token.
	stub := `import sys, types, json
sys.modules["transformers"] = types.SimpleNamespace(set_seed=lambda s: None)
class Tok:
    def encode(self, text, add_special_tokens=True):
        assert add_special_tokens is False
        ids, i = [], 0
        while i < len(text):
            if text[i] == " " and i + 1 < len(text):
                ids.append(1000 + ord(text[i + 1])); i += 2
            else:
                ids.append(ord(text[i])); i += 1
        return ids
class Config: eos_token_id = 0
class Model:
    generation_config = Config()
    def generate(self, **kw):
        print(json.dumps({k: v for k, v in kw.items() if k != "tokenizer"}))
model, inputs, tokenizer = Model(), {}, Tok()
`
	got, err := exec.Command(py, "-c", stub+out).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var kw struct {
		BadWords [][]int  `json:"bad_words_ids"`
		MinP     float64  `json:"min_p"`
		MinNew   int      `json:"min_new_tokens"`
		SeqBias  [][2]any `json:"sequence_bias"`
	}
	if err := json.Unmarshal(got, &kw); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	// "foo", " bar" (lstripped: "bar"), `it's "q"\n` (the repeat of "foo" dropped).
	enc := func(s string) []int { // the stand-in tokenizer, in Go
		ids := []int{}
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' && i+1 < len(s) {
				ids = append(ids, 1000+int(s[i+1]))
				i++
			} else {
				ids = append(ids, int(s[i]))
			}
		}
		return ids
	}
	var want [][]int
	for _, w := range []string{"foo", "bar", "it's \"q\"\n"} {
		want = append(want, enc(w), enc(" "+w))
	}
	if fmt.Sprint(kw.BadWords) != fmt.Sprint(want) {
		t.Errorf("bad_words_ids %v\nwant %v", kw.BadWords, want)
	}
	if kw.MinP != 0.05 || kw.MinNew != 4 || fmt.Sprint(kw.SeqBias) != "[[[13] -100] [[7] 100]]" {
		t.Errorf("generate got %s", got)
	}
}

// A --params file is twinkle's format: an advanced field in it is named as vLLM's.
func TestParseNamesAdvancedFields(t *testing.T) {
	_, err := Parse("p.json", []byte("{\n  \"min_p\": 0.1\n}"))
	if err == nil || !strings.Contains(err.Error(), `p.json:2: unknown field "min_p": it is one of vLLM's settings beyond twinkle's SamplingParams`) || !strings.Contains(err.Error(), "--min-p") {
		t.Fatalf("got %v", err)
	}
}
