package backend_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

func tok(text string, lp float64, alts ...backend.Alt) backend.Token {
	return backend.Token{Text: text, Logprob: backend.Logprob(lp), ID: backend.NoTokenID, Top: alts}
}

func alt(text string, lp float64) backend.Alt {
	return backend.Alt{Text: text, Logprob: backend.Logprob(lp)}
}

func near(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-9 }

func TestStatsOf(t *testing.T) {
	half := math.Log(0.5)
	toks := []backend.Token{
		tok("a", half, alt("a", half), alt("b", half)),                     // a tie: 1 bit, top choice
		tok("c", math.Log(0.25), alt("d", half), alt("c", math.Log(0.25))), // beaten by d
		{Text: "?", Logprob: backend.Unknown(), ID: backend.NoTokenID},     // vLLM's -9999: left out
		tok("e", math.Log(0.9)),                                            // no alternatives
	}
	st := backend.StatsOf(toks)
	wantMean := (half + math.Log(0.25) + math.Log(0.9)) / 3
	if st.Tokens != 4 || st.Scored != 3 || !near(st.MeanLogprob, wantMean) || !near(st.Perplexity, math.Exp(-wantMean)) {
		t.Errorf("%+v", st)
	}
	// Entropy of {1/2, 1/4} renormalised to {2/3, 1/3}.
	h2 := -(2.0/3*math.Log2(2.0/3) + 1.0/3*math.Log2(1.0/3))
	if !near(st.MeanEntropyBits, (1+h2)/2) || !strings.Contains(st.EntropyEstimate, "top-2") {
		t.Errorf("entropy %v %q", *st.MeanEntropyBits, st.EntropyEstimate)
	}
	if st.NotTopChoice == nil || *st.NotTopChoice != 1 || st.Ranked != 2 {
		t.Errorf("not top %v ranked %d", st.NotTopChoice, st.Ranked)
	}
	// Without logprobs there is nothing to say, and JSON says null, never NaN.
	empty := backend.StatsOf(nil)
	b, err := json.Marshal(empty)
	if err != nil || string(b) != `{"tokens":0,"scored":0,"mean_logprob":null,"perplexity":null,"mean_entropy_bits":null,"not_top_choice":null,"ranked":0}` {
		t.Errorf("%s %v", b, err)
	}
	if backend.ResponseStats(backend.SampleResponse{}) != nil {
		t.Error("stats without tokens")
	}
}

func run(texts [][]backend.Token, reasons ...backend.StopReason) backend.SampleResponse {
	r := backend.SampleResponse{Tokens: texts, StopReason: reasons}
	for _, ts := range texts {
		var s strings.Builder
		for _, t := range ts {
			s.WriteString(t.Text)
		}
		r.Trajectories = append(r.Trajectories, backend.Trajectory{Messages: []backend.Message{{Role: "user", Content: "p"}, {Role: "assistant", Content: s.String()}}})
	}
	return r
}

func TestCheckDeterminism(t *testing.T) {
	a := []backend.Token{tok(" the", -0.1, alt(" the", -0.1)), tok(" cat", -0.70, alt(" cat", -0.70), alt(" dog", -0.72)), tok(" sat", -0.2, alt(" sat", -0.2))}
	same := run([][]backend.Token{a}, backend.StopLength)
	d := backend.CheckDeterminism([]backend.SampleResponse{same, same, same})
	if d.Identical == nil || !*d.Identical || d.FirstDifference != nil || d.Runs != 3 || !near(d.MaxLogprobDiff, 0) {
		t.Fatalf("identical runs: %+v", d)
	}

	// Run 2 flips " cat" for " dog" at position 1: a near-tie in run 0's own alternatives.
	flip := []backend.Token{a[0], tok(" dog", -0.7201, alt(" dog", -0.7201), alt(" cat", -0.7)), tok(" ran", -1)}
	d = backend.CheckDeterminism([]backend.SampleResponse{same, same, run([][]backend.Token{flip}, backend.StopLength)})
	f := d.FirstDifference
	if d.Identical == nil || *d.Identical || d.DifferingRuns != 1 || f == nil {
		t.Fatalf("%+v", d)
	}
	if f.Run != 2 || f.Sample != 0 || f.Position != 1 || f.Unit != "token" || f.Tokens != [2]string{" cat", " dog"} || f.From != "run 0" {
		t.Errorf("%+v", f)
	}
	if !near(f.Logprobs[0], -0.70) || !near(f.Logprobs[1], -0.72) || !near(f.Gap, 0.02) || f.GapAtLeast {
		t.Errorf("logprobs %v %v gap %v", *f.Logprobs[0], *f.Logprobs[1], *f.Gap)
	}

	// The re-run's token is outside run 0's top-K and run 0's token outside the re-run's:
	// the gap is bounded below by run 0's least likely alternative.
	far := []backend.Token{a[0], tok(" zebra", -6, alt(" zebra", -6)), tok(" sat", -0.2)}
	f = backend.CheckDeterminism([]backend.SampleResponse{same, run([][]backend.Token{far}, backend.StopLength)}).FirstDifference
	if f == nil || f.Logprobs[1] != nil || !near(f.Gap, 0.02) || !f.GapAtLeast || f.Run != 1 {
		t.Errorf("outside top-K: %+v", f)
	}

	// The same tokens with a different ending differ at the end.
	f = backend.CheckDeterminism([]backend.SampleResponse{same, run([][]backend.Token{a}, backend.StopStop)}).FirstDifference
	if f == nil || f.Position != 3 || f.Tokens != [2]string{"", ""} || f.StopReasons != [2]backend.StopReason{"length", "stop"} {
		t.Errorf("stop reason: %+v", f)
	}

	// Without logprobs the texts are compared, by character.
	text := func(s string) backend.SampleResponse {
		return backend.SampleResponse{StopReason: []backend.StopReason{"length"}, Trajectories: []backend.Trajectory{{Messages: []backend.Message{{Role: "assistant", Content: s}}}}}
	}
	d = backend.CheckDeterminism([]backend.SampleResponse{text("héllo"), text("hélp")})
	if f := d.FirstDifference; f == nil || f.Unit != "byte" || f.Position != 4 || f.Tokens != [2]string{"l", "p"} || f.Gap != nil || d.MaxLogprobDiff != nil {
		t.Errorf("text: %+v", d)
	}

	// A run that failed cannot be compared: identical is null and the note says why.
	failed := run([][]backend.Token{a}, backend.StopError)
	failed.Errors = []*backend.Error{{Kind: backend.KindHTTP, Status: 500, Message: "boom"}}
	d = backend.CheckDeterminism([]backend.SampleResponse{same, failed})
	b, _ := json.Marshal(d)
	if d.Identical != nil || !strings.Contains(d.Note, "run 1, sample 0 did not finish (error: server returned HTTP 500: boom)") || !strings.Contains(string(b), `"identical":null`) {
		t.Errorf("%s", b)
	}
}

// stepClock advances by step on every reading.
type stepClock struct {
	t    time.Time
	step time.Duration
}

func (c *stepClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

func TestCollectorSplitsVariantsAndTimesSamples(t *testing.T) {
	hot := params.Default()
	hot.Temperature = 0
	req := backend.Request{API: params.Completion, Prompt: "p", Variants: []params.SamplingParams{params.Default(), hot}, Options: params.Options{N: 2, Logprobs: ip(1)}}
	clock := &stepClock{t: time.Unix(0, 0), step: 10 * time.Millisecond}
	c := backend.NewCollector(req, clock.now) // reading 1: the run starts at 10ms
	toks := func(s int, n int) backend.Event {
		ev := backend.Event{Kind: backend.EventTokens, Sample: s, Text: strings.Repeat("x", n)}
		for range n {
			ev.Tokens = append(ev.Tokens, tok("x", -1, alt("x", -1)))
		}
		return ev
	}
	for _, ev := range []backend.Event{
		{Kind: backend.EventStart, Start: &backend.StartInfo{Variant: 0, First: 0, Count: 2, Requested: 2, Params: params.Default()}},
		{Kind: backend.EventStart, Start: &backend.StartInfo{Variant: 1, First: 2, Count: 1, Requested: 2, Params: hot, Note: "greedy: sent as 1 sample"}},
		toks(2, 1), // 20ms: variant 1's first token
		toks(0, 2), // 30ms
		toks(2, 3), // 40ms
		{Kind: backend.EventFinish, Sample: 2, Reason: backend.StopLength}, // 50ms
		toks(1, 1), // 60ms
		{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopStop},   // 70ms
		{Kind: backend.EventFinish, Sample: 1, Reason: backend.StopLength}, // 80ms
		{Kind: backend.EventUsage, Sample: 2, Count: 1, Usage: backend.Usage{PromptTokens: 1, CompletionTokens: 4}},
		{Kind: backend.EventDone},
	} {
		c.Apply(ev)
	}
	rs := c.Results()
	if len(rs) != 2 || c.Err() != nil {
		t.Fatalf("%d results, %v", len(rs), c.Err())
	}
	r0, r1 := rs[0].Response, rs[1].Response
	if len(r0.StopReason) != 2 || r0.StopReason[0] != "stop" || r0.Trajectories[0].Messages[1].Content != "xx" || r0.Params.Temperature != 1 || len(r0.Notes) != 0 || r0.Variants != nil {
		t.Errorf("variant 0: %+v", r0)
	}
	if len(r1.StopReason) != 1 || r1.Trajectories[0].Messages[1].Content != "xxxx" || r1.Params.Temperature != 0 || len(r1.Notes) != 1 || r1.Usage.CompletionTokens != 4 {
		t.Errorf("variant 1: %+v", r1)
	}
	tm := rs[1].Timings[0]
	if !near(tm.TTFTMillis, 10) || *tm.Tokens != 4 || !near(tm.TokensPerSecond, 3/0.020) || !near(tm.TotalMillis, 40) {
		t.Errorf("variant 1 timing: ttft %v tokens %v tps %v total %v", *tm.TTFTMillis, *tm.Tokens, *tm.TokensPerSecond, *tm.TotalMillis)
	}
	if tm := rs[0].Timings[1]; !near(tm.TTFTMillis, 50) || *tm.Tokens != 1 || tm.TokensPerSecond != nil {
		t.Errorf("a one-token sample has no rate: %+v", tm)
	}
}

// A sweep over the test server: one request per variant, each body carrying exactly its
// own value and the shared seed, and one Result per variant.
func TestCollectSweepAgainstTestServer(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	seed := int64(11)
	var vs []params.SamplingParams
	for _, temp := range []float64{0, 0.5, 1} {
		p := params.Default()
		p.Temperature, p.Seed = temp, &seed
		vs = append(vs, p)
	}
	req := backend.Request{API: params.Completion, Prompt: "Once", Variants: vs, Options: params.Options{N: 2, Logprobs: ip(2)}}
	rs, err := backend.Collect(context.Background(), newClient(t, srv), req, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || len(rs[0].Response.StopReason) != 1 || len(rs[1].Response.StopReason) != 2 {
		t.Fatalf("results %+v", rs)
	}
	temps := map[float64]bool{}
	for _, rec := range srv.Requests() {
		if rec.Path == "/v1/models" {
			continue
		}
		f := rec.Fields()
		temps[f["temperature"].(float64)] = true
		if f["seed"] != 11.0 {
			t.Errorf("seed %v in %s", f["seed"], rec.Body)
		}
	}
	if len(temps) != 3 || !temps[0] || !temps[0.5] || !temps[1] {
		t.Errorf("temperatures sent %v", temps)
	}
	for v, r := range rs {
		if r.Response.Seeds[0] == nil || *r.Response.Seeds[0] != 11 || backend.Failures(r.Response) != nil {
			t.Errorf("variant %d: seeds %v, %v", v, r.Response.Seeds, backend.Failures(r.Response))
		}
		if r.Timings[0].TTFTMillis == nil {
			t.Errorf("variant %d has no time to first token", v)
		}
	}
}
