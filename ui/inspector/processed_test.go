package inspector

import (
	"math"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// processedToken is sampleToken with the processed values vLLM's sampler gives at
// temperature 0.7, top_k 3: the three most likely renormalised at 1/0.7, the rest -inf.
func processedToken() backend.Token {
	tok := sampleToken()
	raw := []float64{.55, .25, .1, .06, .04}
	w := make([]float64, 3)
	z := 0.0
	for i := range w {
		w[i] = math.Pow(raw[i], 1/0.7)
		z += w[i]
	}
	pr := &backend.Processed{Logprob: backend.Logprob(math.Log(w[0] / z))}
	for i := range tok.Top {
		if i < 3 {
			pr.Top = append(pr.Top, backend.Logprob(math.Log(w[i]/z)))
		} else {
			pr.Top = append(pr.Top, backend.Logprob(math.Inf(-1)))
		}
	}
	tok.Processed = pr
	return tok
}

func TestGoldenDistributions(t *testing.T) {
	st := styles("dark", true)
	proc := processedToken()
	raw := sampleToken()
	// A server said to run with processed_logprobs: what it returns is the processed
	// values, the cut ones as -9999 (unknown once read).
	claimed := sampleToken()
	claimed.Logprob = proc.Processed.Logprob
	for i := range claimed.Top {
		claimed.Top[i].Logprob = proc.Processed.Top[i]
		if math.IsInf(float64(proc.Processed.Top[i]), -1) {
			claimed.Top[i].Logprob = backend.Unknown()
		}
	}
	minP := params.Advanced{MinP: 0.2}
	cases := []struct {
		name string
		tok  *backend.Token
		mode backend.LogprobsMode
		adv  params.Advanced
		want []string
	}{
		{"raw-and-processed", &proc, backend.RawLogprobs, params.Advanced{}, []string{"raw logprob", "raw p (model)", "processed p (as drawn)", "cut (−inf)", "2 of 5 shown cut", "drawn p"}},
		{"claimed-processed", &claimed, backend.ProcessedLogprobs, params.Advanced{}, []string{"processed logprob", "processed p (as drawn, processed_logprobs)", "cut (−inf)"}},
		{"raw-logits", &raw, backend.RawLogits, params.Advanced{}, []string{"raw logit", "these are logits"}},
		{"raw-min-p", &raw, backend.RawLogprobs, minP, []string{"min_p=0.2", "cut min_p", "temperature, min_p, top_k and top_p"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
			p := params.Default()
			p.Temperature, p.TopK = 0.7, 3
			in.SetParams(p)
			in.SetAdvanced(c.adv)
			in.SetLogprobsMode(c.mode)
			in.SetToken(c.tok, 0, 3)
			out := in.Render(80, 18)
			plain := ansi.Strip(out)
			for _, w := range c.want {
				if !strings.Contains(plain, w) {
					t.Errorf("%q not shown:\n%s", w, plain)
				}
			}
			golden.RequireEqual(t, []byte(out))
		})
	}
}

// The processed values shown are the token's own, to the digit.
func TestProcessedColumnIsExact(t *testing.T) {
	proc := processedToken()
	rows := processedRows(&proc)
	for i, r := range rows {
		want := proc.Processed.Top[i].Prob()
		if r.cut != (i >= 3) || !r.cut && r.after != want || r.raw != proc.Top[i].Logprob.Prob() {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
}
