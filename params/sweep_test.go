package params

import (
	"encoding/json"
	"strings"
	"testing"
)

func sweepValues(t *testing.T, text string) []float64 {
	t.Helper()
	a, err := ParseSweep(text)
	if err != nil {
		t.Fatalf("ParseSweep(%q): %v", text, err)
	}
	var out []float64
	for _, v := range a.Values {
		out = append(out, v.V)
	}
	return out
}

func TestParseSweepListsAndRanges(t *testing.T) {
	for text, want := range map[string]string{
		"temperature=0,0.5,1.0":          "[0,0.5,1]",
		"temperature=0..1.5:0.5":         "[0,0.5,1,1.5]",
		"top-p=0.3..1:0.1":               "[0.3,0.4,0.5,0.6,0.7,0.8,0.9,1]",
		"top_k=1..40:13":                 "[1,14,27,40]",
		"top_k=-1, 5, 50":                "[-1,5,50]",
		"top_k=off,10":                   "[-1,10]",
		"seed=0..4:2":                    "[0,2,4]",
		"max_tokens=8..20:5":             "[8,13,18]", // END is an upper bound, not always a value
		" repetition_penalty = 1 , 1.2 ": "[1,1.2]",
	} {
		b, _ := json.Marshal(sweepValues(t, text))
		if string(b) != want {
			t.Errorf("%s: got %s, want %s", text, b, want)
		}
	}
	a, _ := ParseSweep("max_tokens=server default,64")
	if a.Values[0].Set || !a.Values[1].Set {
		t.Errorf("a nullable row's floor word reads as unset: %+v", a.Values)
	}
}

func TestParseSweepRefusals(t *testing.T) {
	for text, want := range map[string]string{
		"temperature":          "expected NAME=V1,V2,...",
		"=1,2":                 "expected NAME=",
		"warmth=1,2":           "warmth is not a parameter (sweepable: temperature, top_p, top_k, repetition_penalty, max_tokens, seed",
		"n=1,2":                "n cannot be swept: it is a request setting",
		"logprobs=1,2":         "logprobs cannot be swept",
		"stop=a,b":             "stop cannot be swept: it is a list",
		"temperature=0.5":      "1 values: a sweep takes 2 to 8",
		"temperature=0..2:0.1": "21 values: a sweep takes 2 to 8",
		"temperature=0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8": "9 values",
		"temperature=0.5,hot":                           `"hot" is not a number`,
		"temperature=0.5,,1":                            "an empty value",
		"temperature=0.5,0.50":                          "0.5 is given twice",
		"top_k=1.5,2":                                   `"1.5" is not an integer`,
		"seed=-5,3":                                     "-5: must be in [0, 2147483647]",
		"temperature=0..1":                              "a range needs a step",
		"temperature=1..0:0.5":                          "the end (0) must be above the start (1)",
		"temperature=0..1:0":                            "step must be positive",
		"temperature=0..1:x":                            `step "x" is not a number`,
		"top_k=1..9:2.5":                                "the step must be one",
		"max_tokens=server default..9:1":                "a range runs between numbers",
		"temperature=NaN,1":                             "must be a finite number",
	} {
		_, err := ParseSweep(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSweep(%q) = %v, want %q", text, err, want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), `"`) {
			t.Errorf("ParseSweep(%q): the error does not quote the sweep: %v", text, err)
		}
	}
}

func TestSweepVariantsGridAndChecks(t *testing.T) {
	tp, _ := ParseSweep("top_p=0.5,0.9")
	temp, _ := ParseSweep("temperature=0.7,1.0,1.3")
	base := Default()
	seed := int64(5)
	base.Seed = &seed
	vs, err := SweepVariants(base, Options{N: 2}, []SweepAxis{tp, temp})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 6 {
		t.Fatalf("%d variants", len(vs))
	}
	var got []string
	for _, v := range vs {
		b, _ := json.Marshal(v.Values)
		got = append(got, string(b))
		if v.Params.TopP != v.Values[0].Value || v.Params.Temperature != v.Values[1].Value || *v.Params.Seed != 5 || v.Options.N != 2 {
			t.Errorf("variant %s has params %+v", b, v.Params)
		}
	}
	if strings.Join(got, " ") != `{"top_p":0.5,"temperature":0.7} {"top_p":0.5,"temperature":1} {"top_p":0.5,"temperature":1.3} {"top_p":0.9,"temperature":0.7} {"top_p":0.9,"temperature":1} {"top_p":0.9,"temperature":1.3}` {
		t.Errorf("grid order %v", got)
	}
	// Each variant's params are its own: changing one leaves the others.
	*vs[0].Params.Seed = 99
	if *vs[1].Params.Seed != 5 || *base.Seed != 5 {
		t.Error("variants share a seed pointer")
	}
	mt, _ := ParseSweep("max_tokens=server default,32")
	vs, _ = SweepVariants(Default(), Options{}, []SweepAxis{mt})
	if b, _ := json.Marshal(vs[0].Values); string(b) != `{"max_tokens":null}` || vs[0].Params.MaxTokens != nil || *vs[1].Params.MaxTokens != 32 {
		t.Errorf("nullable: %s %+v", b, vs[1].Params)
	}

	five, _ := ParseSweep("temperature=0..2:0.5")
	if _, err := SweepVariants(Default(), Options{}, []SweepAxis{five, tp}); err == nil || !strings.Contains(err.Error(), "temperature has 5 values: a grid of two parameters takes up to 4 x 4") {
		t.Errorf("grid limit: %v", err)
	}
	if _, err := SweepVariants(Default(), Options{}, []SweepAxis{tp, tp}); err == nil || !strings.Contains(err.Error(), "top_p is swept twice") {
		t.Errorf("same parameter twice: %v", err)
	}
	hot, _ := ParseSweep("temperature=1,2.5,3")
	_, err = SweepVariants(Default(), Options{}, []SweepAxis{hot})
	if err == nil || err.Error() != "temperature=2.5: temperature: must be in [0, 2], got 2.5\ntemperature=3: temperature: must be in [0, 2], got 3" {
		t.Errorf("vLLM's rules per variant: %v", err)
	}
}
