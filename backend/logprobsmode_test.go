package backend_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// tok is a generated token: its text and value, and the alternatives as text, value.
func lpTok(text string, lp float64, alts ...any) backend.Token {
	t := backend.Token{Text: text, Logprob: backend.Logprob(lp), ID: backend.NoTokenID}
	if math.IsNaN(lp) {
		t.Logprob = backend.Unknown()
	}
	for i := 0; i < len(alts); i += 2 {
		v := backend.Logprob(alts[i+1].(float64))
		if math.IsNaN(float64(v)) {
			v = backend.Unknown()
		}
		t.Top = append(t.Top, backend.Alt{Text: alts[i].(string), Logprob: v})
	}
	return t
}

var unknown = math.NaN()

func sampled(p params.SamplingParams, a params.Advanced, samples ...[]backend.Token) backend.LogprobsCheck {
	return backend.LogprobsCheck{Params: p, Advanced: a, Samples: samples}
}

func withTemp(t float64, k int) params.SamplingParams {
	p := params.Default()
	p.Temperature, p.TopK = t, k
	return p
}

// CheckLogprobs speaks only on evidence against the mode claimed, once per kind.
func TestCheckLogprobs(t *testing.T) {
	t.Parallel()
	ln := math.Log
	// Real-looking raw logprobs: below 0, a little of the mass each.
	rawish := []backend.Token{
		lpTok(" a", ln(0.5), " a", ln(0.5), " b", ln(0.3), " c", ln(0.1)),
		lpTok(" b", ln(0.3), " a", ln(0.6), " b", ln(0.3)),
		lpTok(" c", ln(0.05), " a", ln(0.7), " b", ln(0.2), " c", ln(0.05)),
		lpTok(" d", ln(0.9), " d", ln(0.9), " e", ln(0.04)),
		lpTok(" e", ln(0.2), " f", ln(0.5), " e", ln(0.2), " g", ln(0.2)),
	}
	// Processed at top_k 2: two kept summing to 1, the rest cut (-9999 reads as unknown).
	processed := []backend.Token{
		lpTok(" a", ln(0.6), " a", ln(0.6), " b", ln(0.4), " c", unknown),
		lpTok(" b", ln(0.25), " a", ln(0.75), " b", ln(0.25), " c", unknown, " d", unknown),
	}
	cases := []struct {
		name string
		mode backend.LogprobsMode
		reqs []backend.LogprobsCheck
		want string // "" for no note
	}{
		{"raw as raw", backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{}, rawish)}, ""},
		{"processed as processed", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{}, processed)}, ""},
		{"empty mode is raw", "", []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, rawish)}, ""},
		{"no logprobs at all", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{}, []backend.Token{lpTok("x", unknown)})}, ""},
		{"logits claimed raw", backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, []backend.Token{lpTok(" a", 12.5, " a", 12.5, " b", 9.0)})},
			"they look like logits, as --logprobs-mode raw_logits or processed_logits gives, not raw_logprobs"},
		{"a logprob above 0", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, []backend.Token{lpTok(" a", 0.5)})}, "look like logits"},
		{"mass past 1", backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, []backend.Token{lpTok(" a", -0.1, " a", -0.1, " b", -0.2)})}, "adding up past probability 1"},
		{"processed claimed raw", backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{}, processed)},
			"some alternatives came as -9999 (minus infinity), which raw logprobs never are: these look like processed logprobs (--logprobs-mode processed_logprobs), not raw_logprobs"},
		{"logprobs claimed logits", backend.RawLogits, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, rawish)},
			"the values are all at most 0 and never add up past probability 1, at each of 5 tokens: they look like logprobs, not raw_logits"},
		{"logits as logits", backend.ProcessedLogits, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, append(rawish, lpTok(" z", 3.0)))}, ""},
		{"raw claimed processed: top_k", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{}, rawish)},
			"with top_k 2, a token has 3 alternatives with a probability above 0: processed logprobs keep at most 2, so these look like raw logprobs, not processed_logprobs"},
		{"a tie at the k-th value is kept", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 2), params.Advanced{},
			[]backend.Token{lpTok(" a", ln(0.5), " a", ln(0.5), " b", ln(0.25), " c", ln(0.25), " d", unknown)})}, ""},
		{"raw claimed processed: min_p", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.5, 0), params.Advanced{MinP: 0.3}, rawish[:1])},
			"with min_p 0.3, a token has an alternative below min_p times the most likely one"},
		{"raw claimed processed: the kept mass", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0.8, 0), params.Advanced{},
			[]backend.Token{lpTok(" a", ln(0.5), " a", ln(0.5), " b", ln(0.2), " c", unknown)})},
			"the tokens the sampler kept add up to probability 0.70, not 1"},
		{"greedy processed values are not cut", backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(0, 2), params.Advanced{MinP: 0.5}, rawish)}, ""},
		{"one note per kind over requests", backend.ProcessedLogprobs, []backend.LogprobsCheck{
			sampled(withTemp(0.5, 2), params.Advanced{}, rawish), sampled(withTemp(0.7, 1), params.Advanced{}, rawish)}, "with top_k 2,"},
	}
	for _, tc := range cases {
		notes := backend.CheckLogprobs(tc.mode, tc.reqs)
		switch {
		case tc.want == "" && len(notes) > 0:
			t.Errorf("%s: notes %q", tc.name, notes)
		case tc.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.want)):
			t.Errorf("%s: notes %q\nwant one with %q", tc.name, notes, tc.want)
		}
	}
}

// Drawn at temperature 0.5 from values that describe temperature 1, the samples pick the
// most likely token far more often than those values predict: raw logprobs claimed as
// processed. Drawn from the values themselves, they do not.
func TestCheckLogprobsCalibration(t *testing.T) {
	t.Parallel()
	ln := math.Log
	// The most likely token has probability 0.5 (raw); at temperature 0.5 over these
	// three tokens it has 0.25/(0.25+0.09+0.04) ≈ 0.66: about 330 picks in 500 where the
	// values predict 250 ± 11.
	pos := func(top bool) backend.Token {
		if top {
			return lpTok(" a", ln(0.5), " a", ln(0.5), " b", ln(0.3), " c", ln(0.2))
		}
		return lpTok(" b", ln(0.3), " a", ln(0.5), " b", ln(0.3), " c", ln(0.2))
	}
	draw := func(picks, n int) []backend.Token {
		var s []backend.Token
		for i := 0; i < n; i++ {
			s = append(s, pos(i < picks))
		}
		return s
	}
	p := withTemp(0.5, 0)
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(p, params.Advanced{}, draw(330, 500))}); len(notes) != 1 ||
		!strings.Contains(notes[0], "the samples picked the most likely token 330 times in 500 where these values predict 250 ± 11: at temperature 0.5 that is what raw logprobs show") {
		t.Errorf("raw at temperature 0.5: %q", notes)
	}
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(p, params.Advanced{}, draw(270, 500))}); len(notes) != 0 {
		t.Errorf("within chance: %q", notes)
	}
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(p, params.Advanced{}, draw(20, 25))}); len(notes) != 0 {
		t.Errorf("too few tokens to judge: %q", notes)
	}
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, draw(330, 500))}); len(notes) != 0 {
		t.Errorf("at temperature 1 raw and processed agree: %q", notes)
	}
	if notes := backend.CheckLogprobs(backend.RawLogprobs, []backend.LogprobsCheck{sampled(p, params.Advanced{}, draw(330, 500))}); len(notes) != 0 {
		t.Errorf("raw claimed: the draw is meant to differ: %q", notes)
	}
}

func TestCheckLogprobsAllZero(t *testing.T) {
	t.Parallel()
	zeros := []backend.Token{lpTok(" a", 0), lpTok(" b", 0), lpTok(" c", 0)}
	real := []backend.Token{lpTok(" a", -0.2), lpTok(" b", 0)}
	notes := backend.CheckLogprobs(backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, zeros, real)})
	if len(notes) != 1 || notes[0] != "every logprob of 1 of the 2 samples is exactly 0.0: some servers return that with speculative decoding, so these numbers are probably not the model's" {
		t.Errorf("all zero: %q", notes)
	}
	// Processed values may keep one token (top_k 1), which then has probability 1...
	cut := []backend.Token{lpTok(" a", 0, " a", 0.0, " b", unknown), lpTok(" b", 0, " b", 0.0, " c", unknown)}
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 1), params.Advanced{}, cut)}); len(notes) != 0 {
		t.Errorf("processed, one token kept: %q", notes)
	}
	// ...but not beside another token holding real probability.
	other := []backend.Token{lpTok(" a", 0, " a", 0.0, " b", -0.7)}
	if notes := backend.CheckLogprobs(backend.ProcessedLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, other)}); len(notes) != 2 || !strings.Contains(notes[1], "exactly 0.0") {
		t.Errorf("0.0 beside another token: %q", notes)
	}
	if notes := backend.CheckLogprobs(backend.RawLogprobs, []backend.LogprobsCheck{sampled(withTemp(1, 0), params.Advanced{}, []backend.Token{lpTok(" a", 0)})}); len(notes) != 0 {
		t.Errorf("one certain token is no evidence: %q", notes)
	}
}

func TestParseLogprobsMode(t *testing.T) {
	t.Parallel()
	for _, m := range backend.LogprobsModes {
		if got, err := backend.ParseLogprobsMode(string(m)); err != nil || got != m {
			t.Errorf("%s: %v %v", m, got, err)
		}
		if m.Describe() == "" {
			t.Errorf("%s: no description", m)
		}
	}
	if got, err := backend.ParseLogprobsMode(""); err != nil || got != backend.RawLogprobs {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := backend.ParseLogprobsMode("processed"); err == nil || !strings.Contains(err.Error(), "raw_logprobs (vLLM's default), raw_logits, processed_logprobs or processed_logits") {
		t.Errorf("unknown mode: %v", err)
	}
	if !backend.ProcessedLogits.Processed() || !backend.ProcessedLogits.Logits() || backend.RawLogprobs.Processed() || backend.ProcessedLogprobs.Logits() {
		t.Error("Processed/Logits")
	}
	req := backend.Request{API: params.Completion, Prompt: "p", Params: params.Default(), LogprobsMode: "raw"}
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "logprobs mode") {
		t.Errorf("a request with an unknown mode: %v", err)
	}
}

// A token's processed values travel with it; a cut token is minus infinity in memory
// and vLLM's -9999 in JSON, unknown stays null.
func TestProcessedJSON(t *testing.T) {
	t.Parallel()
	cut := backend.Logprob(math.Inf(-1))
	tk := backend.Token{Text: " a", Logprob: -1, ID: 4, Top: []backend.Alt{{Text: " a", Logprob: -1}, {Text: " b", Logprob: -2}, {Text: " c", Logprob: -3}},
		Processed: &backend.Processed{Logprob: -0.25, Top: []backend.Logprob{-0.25, cut, backend.Unknown()}}}
	b, err := json.Marshal(tk)
	const want = `{"text":" a","logprob":-1,"id":4,"top":[{"text":" a","logprob":-1},{"text":" b","logprob":-2},{"text":" c","logprob":-3}],"processed":{"logprob":-0.25,"top":[-0.25,-9999,null]}}`
	if err != nil || string(b) != want {
		t.Fatalf("%s %v\nwant %s", b, err, want)
	}
	var back backend.Token
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	p := back.Processed
	if p == nil || p.Logprob != -0.25 || len(p.Top) != 3 || !math.IsInf(float64(p.Top[1]), -1) || p.Top[2].Known() || back.Logprob != -1 {
		t.Fatalf("back: %+v %+v", back, p)
	}
	if b, _ := json.Marshal(backend.Token{Text: "x", Logprob: -1, ID: backend.NoTokenID}); strings.Contains(string(b), "processed") {
		t.Fatalf("no processed values, no field: %s", b)
	}
	if p, err := backend.ProcessedFromJSON([]byte("-9999.0")); err != nil || !math.IsInf(float64(p), -1) {
		t.Fatalf("-9999: %v %v", p, err)
	}
}

// A note arrives as an event, is kept once in the response, and the response names the
// distribution its logprobs come from.
func TestAssemblerNotesAndMode(t *testing.T) {
	t.Parallel()
	req := backend.Request{API: params.Completion, Prompt: "p", Params: params.Default(), Options: params.Options{N: 1, Logprobs: ip(1)}}
	a := backend.NewAssembler(req)
	note := backend.Event{Kind: backend.EventNote, Text: "these look raw"}
	for _, ev := range []backend.Event{
		{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1, Model: "m", Params: params.Default(), Seeds: []*int64{nil}, LogprobsMode: backend.ProcessedLogprobs}},
		{Kind: backend.EventFinish, Reason: backend.StopLength},
		note, note,
		{Kind: backend.EventDone},
	} {
		a.Apply(ev)
	}
	r := a.Response()
	if r.LogprobsMode != backend.ProcessedLogprobs || len(r.Notes) != 1 || r.Notes[0] != "these look raw" {
		t.Fatalf("response %+v", r)
	}
	b, _ := json.Marshal(note)
	if string(b) != `{"type":"note","text":"these look raw"}` {
		t.Fatalf("note line %s", b)
	}
	// Before any start, the request's own mode (vLLM's default when none) is named.
	if r := backend.NewAssembler(req).Response(); r.LogprobsMode != backend.RawLogprobs {
		t.Fatalf("no start: %q", r.LogprobsMode)
	}
}
