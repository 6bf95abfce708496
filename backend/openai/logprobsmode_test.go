package openai

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// builtIn is a client of the built-in model reached in-process, as the playground
// reaches it, its server running with mode.
func builtIn(t *testing.T, serverMode local.LogprobsMode, claimed backend.LogprobsMode, processed bool) *Client {
	t.Helper()
	m, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BaseURL: "http://twinkle.local/v1", Model: local.DefaultModelName, LogprobsMode: claimed,
		HTTPClient: localserver.NewClient(m, localserver.Options{LogprobsMode: serverMode, Processed: processed})})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func completionReq(p params.SamplingParams, n, k int, a params.Advanced) backend.Request {
	return backend.Request{API: params.Completion, Prompt: "func main() {", Params: p, Options: params.Options{N: n, Logprobs: &k, Advanced: a}}
}

func notes(evs []backend.Event) []string {
	var out []string
	for i, ev := range evs {
		if ev.Kind == backend.EventNote {
			if evs[len(evs)-1].Kind != backend.EventDone || i == len(evs)-1 {
				return []string{"a note after done"}
			}
			out = append(out, ev.Text)
		}
	}
	return out
}

// In-process, the built-in model gives raw and processed logprobs of one draw: each
// token carries its processed values beside the raw ones, for the same alternatives; the
// tokens top-k cut are minus infinity, and the kept ones add up to 1.
func TestBuiltInModelGivesRawAndProcessed(t *testing.T) {
	c := builtIn(t, "", "", true)
	p := sampling(0.7, i64(3), ip(12))
	p.TopK = 3
	evs, r, _ := collect(t, context.Background(), c, completionReq(p, 2, 6, params.Advanced{IgnoreEOS: true}))
	if r.LogprobsMode != backend.RawLogprobs || len(notes(evs)) != 0 {
		t.Fatalf("mode %q notes %q", r.LogprobsMode, notes(evs))
	}
	for s, toks := range r.Tokens {
		if len(toks) != 12 {
			t.Fatalf("sample %d: %d tokens", s, len(toks))
		}
		for i, tk := range toks {
			pr := tk.Processed
			if pr == nil || len(pr.Top) != len(tk.Top) || !pr.Logprob.Known() || math.IsInf(float64(pr.Logprob), -1) {
				t.Fatalf("sample %d token %d: processed %+v for %d alternatives", s, i, pr, len(tk.Top))
			}
			var sum float64
			kept, cut := 0, 0
			for j, v := range pr.Top {
				switch {
				case math.IsInf(float64(v), -1):
					cut++
				case v.Known():
					kept++
					sum += v.Prob()
					if j > 0 && math.IsInf(float64(pr.Top[j-1]), -1) {
						t.Fatalf("sample %d token %d: a kept alternative after a cut one: %v", s, i, pr.Top)
					}
				default:
					t.Fatalf("sample %d token %d: alternative %d unknown", s, i, j)
				}
			}
			if kept == 0 || kept > 3 || cut != len(tk.Top)-kept || math.Abs(sum-1) > 1e-5 {
				t.Fatalf("sample %d token %d: %d kept summing to %v, %d cut (raw %v, processed %v)", s, i, kept, sum, cut, tk.Top, pr.Top)
			}
			// Sharpened and renormalised, the most likely token gains.
			if best := tk.Top[0].Logprob; pr.Top[0] < best {
				t.Fatalf("sample %d token %d: the top token's processed %v below its raw %v at temperature 0.7 with top_k 3", s, i, pr.Top[0], best)
			}
		}
	}
}

// The mode claimed is held to the values: the built-in model served with the mode it is
// said to have raises nothing; served raw but claimed processed, it is caught.
func TestClaimedModeAgainstTheBuiltInModel(t *testing.T) {
	p := sampling(0.5, i64(9), ip(48))
	p.TopK = 5
	adv := params.Advanced{MinP: 0.05, IgnoreEOS: true}
	for _, mode := range []local.LogprobsMode{local.RawLogprobs, local.ProcessedLogprobs} {
		c := builtIn(t, mode, backend.LogprobsMode(mode), false)
		evs, r, _ := collect(t, context.Background(), c, completionReq(p, 4, 10, adv))
		if n := notes(evs); len(n) != 0 || r.LogprobsMode != backend.LogprobsMode(mode) {
			t.Errorf("%s served as claimed: mode %q notes %q", mode, r.LogprobsMode, n)
		}
	}
	c := builtIn(t, local.RawLogprobs, backend.ProcessedLogprobs, false)
	evs, r, _ := collect(t, context.Background(), c, completionReq(p, 4, 10, adv))
	if n := notes(evs); len(n) == 0 || len(r.Notes) != len(n) || !strings.Contains(n[0], "look like raw logprobs, not processed_logprobs") {
		t.Errorf("raw claimed processed: %q (response %q)", n, r.Notes)
	}
	// Temperature alone leaves no structural trace: the draws give it away.
	p = sampling(0.5, i64(2), ip(64))
	evs, _, _ = collect(t, context.Background(), c, completionReq(p, 8, 1, params.Advanced{IgnoreEOS: true}))
	if n := notes(evs); len(n) != 1 || !strings.Contains(n[0], "the samples picked the most likely token") {
		t.Errorf("raw claimed processed at temperature 0.5: %q", n)
	}
}

// A server's mode is a client setting; a request may name another; the note comes once,
// before done, and the response keeps it.
func TestClaimedModeFromConfigAndRequest(t *testing.T) {
	srv, c, _ := newTest(t, func(cfg *Config) { cfg.LogprobsMode = backend.ProcessedLogprobs })
	raw := vllmtest.Tok{Text: " a", Logprob: -0.7, Alts: []vllmtest.Alt{{Text: " b", Logprob: -1.2}, {Text: " c", Logprob: -2.3}, {Text: " d", Logprob: -3}}}
	script := vllmtest.Script{Samples: []vllmtest.Sample{{Tokens: []vllmtest.Tok{raw, raw}, Finish: "length"}, {Tokens: []vllmtest.Tok{raw}, Finish: "length"}}}
	srv.Push(script, script)
	p := sampling(0.5, i64(1), ip(2))
	p.TopK = 2
	req := chatReq(p, 2, ip(3))
	evs, r, _ := collect(t, context.Background(), c, req)
	if n := notes(evs); len(n) != 1 || r.LogprobsMode != backend.ProcessedLogprobs || len(r.Notes) != 1 || r.Notes[0] != n[0] ||
		n[0] != "with top_k 2, a token has 3 alternatives with a probability above 0: processed logprobs keep at most 2, so these look like raw logprobs, not processed_logprobs" {
		t.Fatalf("claimed processed: mode %q notes %q response %q", r.LogprobsMode, n, r.Notes)
	}
	req.LogprobsMode = backend.RawLogprobs
	evs, r, _ = collect(t, context.Background(), c, req)
	if n := notes(evs); len(n) != 0 || r.LogprobsMode != backend.RawLogprobs {
		t.Fatalf("the request's mode: %q %q", r.LogprobsMode, n)
	}
	for _, ev := range evs {
		if ev.Kind == backend.EventStart && ev.Start.LogprobsMode != backend.RawLogprobs {
			t.Fatalf("start names %q", ev.Start.LogprobsMode)
		}
	}
}

// Every logprob exactly 0.0 (speculative decoding on some servers) is said once.
func TestAllZeroLogprobsWarn(t *testing.T) {
	srv, c, _ := newTest(t)
	zero := vllmtest.Tok{Text: " a", Logprob: 0}
	srv.Push(vllmtest.Script{Samples: []vllmtest.Sample{{Tokens: []vllmtest.Tok{zero, zero, zero}, Finish: "length"}}})
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(0.8, nil, ip(3)), 1, ip(0)))
	if n := notes(evs); len(n) != 1 || !strings.Contains(n[0], "every logprob of 1 of the 1 samples is exactly 0.0") || len(r.Notes) != 1 {
		t.Fatalf("notes %q", n)
	}
}
