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
		{"{\n  \"top_k\": \"many\"\n}", "p.json:2: field top_k: expected int"},
		{"{\n\n  \"stop\": 3.5\n}", "p.json:3: field stop:"},
		{"{\"temperature\": 7}", "p.json: temperature: must be in [0, 2]"},
		{"{\"temperature\": 0.5,}", "p.json:1: invalid JSON"},
		{"", "p.json: empty file"},
		{"{} {}", "unexpected data"},
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
