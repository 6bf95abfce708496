package params

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*SamplingParams)
		field string // "" means valid
		msg   string
	}{
		{"defaults", func(*SamplingParams) {}, "", ""},
		{"greedy", func(p *SamplingParams) { p.Temperature = 0 }, "", ""},
		{"temperature 2", func(p *SamplingParams) { p.Temperature = 2 }, "", ""},
		{"temperature above 2", func(p *SamplingParams) { p.Temperature = 2.01 }, "temperature", "[0, 2]"},
		{"temperature negative", func(p *SamplingParams) { p.Temperature = -0.1 }, "temperature", "[0, 2]"},
		{"temperature NaN", func(p *SamplingParams) { p.Temperature = math.NaN() }, "temperature", "finite"},
		{"temperature +Inf", func(p *SamplingParams) { p.Temperature = math.Inf(1) }, "temperature", "finite"},
		{"top_p 1", func(p *SamplingParams) { p.TopP = 1 }, "", ""},
		{"top_p tiny", func(p *SamplingParams) { p.TopP = 1e-9 }, "", ""},
		{"top_p 0", func(p *SamplingParams) { p.TopP = 0 }, "top_p", "(0, 1]"},
		{"top_p 1.5", func(p *SamplingParams) { p.TopP = 1.5 }, "top_p", "(0, 1]"},
		{"top_p NaN", func(p *SamplingParams) { p.TopP = math.NaN() }, "top_p", "finite"},
		{"top_p -Inf", func(p *SamplingParams) { p.TopP = math.Inf(-1) }, "top_p", "finite"},
		{"top_k -1 off", func(p *SamplingParams) { p.TopK = -1 }, "", ""},
		{"top_k 0 off", func(p *SamplingParams) { p.TopK = 0 }, "", ""},
		{"top_k 1", func(p *SamplingParams) { p.TopK = 1 }, "", ""},
		{"top_k -2", func(p *SamplingParams) { p.TopK = -2 }, "top_k", "-1 or 0"},
		{"rep 5 (no upper bound)", func(p *SamplingParams) { p.RepetitionPenalty = 5 }, "", ""},
		{"rep 0", func(p *SamplingParams) { p.RepetitionPenalty = 0 }, "repetition_penalty", "greater than 0"},
		{"rep -1", func(p *SamplingParams) { p.RepetitionPenalty = -1 }, "repetition_penalty", "greater than 0"},
		{"rep Inf", func(p *SamplingParams) { p.RepetitionPenalty = math.Inf(1) }, "repetition_penalty", "finite"},
		{"rep NaN", func(p *SamplingParams) { p.RepetitionPenalty = math.NaN() }, "repetition_penalty", "finite"},
		{"max_tokens 1", func(p *SamplingParams) { p.MaxTokens = ptr(1) }, "", ""},
		{"max_tokens 0", func(p *SamplingParams) { p.MaxTokens = ptr(0) }, "max_tokens", "at least 1"},
		{"max_tokens -5", func(p *SamplingParams) { p.MaxTokens = ptr(-5) }, "max_tokens", "at least 1"},
		{"seed negative is fine", func(p *SamplingParams) { p.Seed = ptr(int64(-1)) }, "", ""},
		{"empty stop string", func(p *SamplingParams) { p.Stop = Stop{Strings: []string{"a", ""}} }, "stop", "empty"},
		{"negative stop id", func(p *SamplingParams) { p.Stop = Stop{TokenIDs: []int{-3}} }, "stop", ">= 0"},
		{"stop id 0", func(p *SamplingParams) { p.Stop = Stop{TokenIDs: []int{0}} }, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Default()
			c.edit(&p)
			err := p.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want Errors naming %s, got %v", c.field, err)
			}
			if len(es) != 1 || es[0].Field != c.field || !strings.Contains(es[0].Msg, c.msg) {
				t.Fatalf("want one error on %s containing %q, got %v", c.field, c.msg, es)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("message %q does not name %s", err, c.field)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := SamplingParams{Temperature: math.NaN(), TopP: 0, TopK: -7, RepetitionPenalty: 0, MaxTokens: ptr(0), Stop: Stop{Strings: []string{""}}}
	var es Errors
	if !errors.As(p.Validate(), &es) {
		t.Fatal("want Errors")
	}
	for _, f := range []string{"temperature", "top_p", "top_k", "repetition_penalty", "max_tokens", "stop"} {
		if !es.Has(f) {
			t.Errorf("missing problem for %s in %v", f, es)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	greedy := Default()
	greedy.Temperature = 0
	if err := (Options{N: 3}).Validate(greedy); err != nil {
		t.Fatalf("greedy n=3 is a conflict for the sampler to resolve, not an invalid option: %v", err)
	}
	if !(Options{N: 3}).GreedyConflict(greedy) || (Options{N: 1}).GreedyConflict(greedy) || (Options{N: 3}).GreedyConflict(Default()) {
		t.Fatal("GreedyConflict wrong")
	}
	if err := (Options{N: 1}).Validate(greedy); err != nil {
		t.Fatalf("greedy n=1: %v", err)
	}
	if err := (Options{N: 4, Logprobs: ptr(21)}).Validate(Default()); err == nil || !strings.Contains(err.Error(), "logprobs") {
		t.Fatalf("logprobs 21: got %v", err)
	}
	if err := (Options{N: 17}).Validate(Default()); err == nil {
		t.Fatal("n=17 accepted")
	}
}

func TestIsGreedyUsesVLLMThreshold(t *testing.T) {
	p := Default()
	for _, c := range []struct {
		temp float64
		want bool
	}{{0, true}, {9e-6, true}, {1e-5, false}, {0.01, false}} {
		p.Temperature = c.temp
		if p.IsGreedy() != c.want {
			t.Errorf("temperature %v: IsGreedy=%v", c.temp, !c.want)
		}
	}
}

func TestJSONDefaultsAndNames(t *testing.T) {
	var p SamplingParams
	if err := json.Unmarshal([]byte(`{"top_k": 40}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Temperature != 1 || p.TopP != 1 || p.RepetitionPenalty != 1 || p.TopK != 40 || p.MaxTokens != nil || p.Seed != nil {
		t.Fatalf("missing fields must get dataclass defaults: %+v", p)
	}
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"max_tokens":null,"seed":null,"stop":null,"temperature":1,"top_k":-1,"top_p":1,"repetition_penalty":1}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestParseNamesFileLineAndField(t *testing.T) {
	cases := []struct{ in, want string }{
		{"{\n  \"temperature\": 0.5,\n  \"top_q\": 1\n}", `p.json:3: unknown field "top_q"`},
		{"{\n  \"top_k\": \"many\"\n}", "p.json:2: field top_k: expected an integer, got a string"},
		{"{\n  \"top_k\": 4.5\n}", "p.json:2: field top_k: expected an integer, got the number 4.5"},
		{"{\n  \"max_tokens\": true\n}", "p.json:2: field max_tokens: expected an integer or null, got a boolean"},
		{"{\"temperature\": \"hot\"}", "p.json:1: field temperature: expected a number, got a string"},
		{"{\"top_p\": null}", "p.json:1: field top_p: expected a number, got null"},
		{"{\"seed\": 99999999999999999999}", "p.json:1: field seed: 99999999999999999999 is out of range"},
		{"{\n\n  \"stop\": 3.5\n}", "p.json:3: field stop:"},
		{"{\n\"temperature\": 7}", "p.json:2: field temperature: must be in [0, 2], got 7"},
		{"{\"temperature\": 0.5,}", "p.json:1: invalid JSON"},
		{"", "p.json: empty file: expected a JSON object"},
		{"  \n", "p.json: empty file: expected a JSON object"},
		{"[1, 2]", "p.json:1: expected a JSON object of SamplingParams fields, got a list"},
		{"3", "p.json:1: expected a JSON object of SamplingParams fields, got the number 3"},
		{"{} {}", "p.json:1: unexpected data after the JSON object"},
		{"{\"temperature\": 0.5", "p.json:1: invalid JSON"},
	}
	for _, c := range cases {
		_, err := Parse("p.json", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): got %v, want %q", c.in, err, c.want)
		}
	}
	p, err := Parse("p.json", []byte(`{"temperature": 0, "stop": "###", "seed": 3}`))
	if err != nil || p.Temperature != 0 || *p.Seed != 3 || !p.Stop.Equal(StopString("###")) {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = Parse("p.json", []byte(`{"max_tokens": null, "seed": null, "stop": null, "top_k": 40, "top_p": 0.9, "repetition_penalty": 1.1}`))
	if err != nil || p.MaxTokens != nil || p.Seed != nil || p.TopK != 40 || p.TopP != 0.9 || p.RepetitionPenalty != 1.1 || p.Temperature != 1 {
		t.Fatalf("got %+v, %v", p, err)
	}
}

// Go's decoder matches field names case-insensitively and keeps the last of two equal
// keys; a SamplingParams file is read as Python would read it: names exact, keys once.
func TestParseIsExactAboutKeys(t *testing.T) {
	_, err := Parse("p.json", []byte("{\n  \"Temperature\": 0.5\n}"))
	if err == nil || !strings.Contains(err.Error(), `p.json:2: unknown field "Temperature" (did you mean "temperature"?`) {
		t.Errorf("case-folded name: %v", err)
	}
	_, err = Parse("p.json", []byte("{\n  \"top_p\": 0.5,\n  \"top_p\": 0.9\n}"))
	if err == nil || !strings.Contains(err.Error(), "p.json:3: field top_p: set twice (first on line 2)") {
		t.Errorf("duplicate key: %v", err)
	}
}

// One problem never hides another, and no message speaks Go.
func TestParseReportsEveryProblemInJSONWords(t *testing.T) {
	in := "{\n  \"top_k\": \"many\",\n  \"top_p\": 7,\n  \"colour\": 1,\n  \"seed\": [1],\n  \"stop\": {},\n  \"temperature\": -1\n}"
	_, err := Parse("p.json", []byte(in))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %T %v", err, err)
	}
	want := []string{
		"p.json:2: field top_k: expected an integer, got a string",
		"p.json:3: field top_p: must be in (0, 1], got 7",
		`p.json:4: unknown field "colour"`,
		"p.json:5: field seed: expected an integer or null, got a list",
		"p.json:6: field stop: expected a string, a list of strings or a list of token ids, got an object",
		"p.json:7: field temperature: must be in [0, 2], got -1",
	}
	if len(pe.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(pe.Problems), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(pe.Problems[i], w) {
			t.Errorf("problem %d = %q, want %q", i, pe.Problems[i], w)
		}
	}
	for _, bad := range []string{"[1]", "{\"top_k\": 1.5}", "{\"temperature\": \"x\"}", "{\"seed\": {}}", in} {
		_, err := Parse("p", []byte(bad))
		for _, goWord := range []string{"plainParams", "float64", "int64", "Go ", "json:", "unmarshal"} {
			if err != nil && strings.Contains(err.Error(), goWord) {
				t.Errorf("Parse(%q) speaks Go (%q): %v", bad, goWord, err)
			}
		}
	}
}

// Decoding SamplingParams inside a larger document (a session, a preset) keeps the
// decoder's own error, which TypeErrorWords says in JSON's words.
func TestTypeErrorWords(t *testing.T) {
	var v struct {
		Params SamplingParams `json:"params"`
		N      *int           `json:"n"`
	}
	for in, want := range map[string]string{
		`{"params": {"top_k": "x"}}`:        "field params.top_k: expected an integer, got a string",
		`{"params": {"temperature": true}}`: "field params.temperature: expected a number, got a boolean",
		`{"params": {"seed": 1.5}}`:         "field params.seed: expected an integer, got the number 1.5",
		`{"params": [1]}`:                   "expected an object, got a list",
		`{"n": "four"}`:                     "field n: expected an integer, got a string",
	} {
		err := json.Unmarshal([]byte(in), &v)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("%s: %v is not a type error", in, err)
			continue
		}
		if got := TypeErrorWords(te); got != want && !strings.HasSuffix(got, ": "+want) {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	p := Default()
	p.MaxTokens = ptr(5)
	p.Stop = Stop{Strings: []string{"a"}}
	q := p.Clone()
	*q.MaxTokens = 9
	q.Stop.Strings[0] = "b"
	if *p.MaxTokens != 5 || p.Stop.Strings[0] != "a" {
		t.Fatal("Clone shares memory")
	}
}

func TestPlaygroundDefaultsAreValidAndIndependent(t *testing.T) {
	p, o := PlaygroundDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(p); err != nil || o.N != 4 || *o.Logprobs != 5 || *p.MaxTokens != 256 {
		t.Fatalf("%+v %+v %v", p, o, err)
	}
	*p.MaxTokens, *o.Logprobs = 1, 1
	if q, r := PlaygroundDefaults(); *q.MaxTokens != 256 || *r.Logprobs != 5 {
		t.Fatal("PlaygroundDefaults shares memory between calls")
	}
}
