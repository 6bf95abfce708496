package heatmap

import (
	"math"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

func probAlts(ps ...float64) []backend.Alt {
	out := make([]backend.Alt, len(ps))
	for i, p := range ps {
		out[i] = backend.Alt{Text: string(rune('a' + i)), Logprob: backend.Logprob(math.Log(p))}
	}
	return out
}

// min_p after temperature and before top-k/top-p, as vLLM's sampler (and the built-in
// model's, backend/local) applies it, checked against hand-computed cases.
func TestTruncateMinP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		ps    []float64
		s     Sampling
		cut   []CutBy
		final []float64 // exact, for the kept ones
	}{
		{
			// Threshold .25 x .5 = .125: .1 and .05 are cut; the rest renormalise over .85.
			name: "T=1", ps: []float64{.5, .2, .15, .1, .05}, s: Sampling{Temperature: 1, TopK: -1, TopP: 1, MinP: .25},
			cut:   []CutBy{Kept, Kept, Kept, MinP, MinP},
			final: []float64{.5 / .85, .2 / .85, .15 / .85, 0, 0},
		},
		{
			// At T=0.5 the weights are (p/.5)^2 = 1, .16, .09, .04, .01: min_p .1 keeps two.
			name: "T=0.5", ps: []float64{.5, .2, .15, .1, .05}, s: Sampling{Temperature: .5, TopK: -1, TopP: 1, MinP: .1},
			cut:   []CutBy{Kept, Kept, MinP, MinP, MinP},
			final: []float64{1 / 1.16, .16 / 1.16, 0, 0, 0},
		},
		{
			// min_p first, then top-k 2 of what is left, then top-p .8 of that: .5, .2
			// and .15 pass min_p .2 (.1), .09 and .06 do not; top-k keeps .5 and .2;
			// top-p .8 of .7: .5/.7 = .714 < .8 so .2 stays too.
			name: "with top-k and top-p", ps: []float64{.5, .2, .15, .09, .06}, s: Sampling{Temperature: 1, TopK: 2, TopP: .8, MinP: .2},
			cut:   []CutBy{Kept, Kept, TopK, MinP, MinP},
			final: []float64{.5 / .7, .2 / .7, 0, 0, 0},
		},
		{
			// .1 of the mass is not shown, each such token at most .1 likely: below
			// min_p .3 x .5 = .15, so all of it is cut and the result stays exact.
			name: "tokens not shown cut too", ps: []float64{.5, .2, .1, .1}, s: Sampling{Temperature: 1, TopK: -1, TopP: 1, MinP: .3},
			cut:   []CutBy{Kept, Kept, MinP, MinP},
			final: []float64{.5 / .7, .2 / .7, 0, 0},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := Truncate(probAlts(c.ps...), nil, c.s)
			if !tr.Exact() {
				t.Fatalf("not exact: %+v", tr.Candidates)
			}
			for i, cd := range tr.Candidates {
				if cd.Cut != c.cut[i] {
					t.Errorf("%s: %v, want %v", cd.Text, cd.Cut, c.cut[i])
				}
				if math.Abs(cd.FinalLo-c.final[i]) > 1e-9 {
					t.Errorf("%s: %v, want %v", cd.Text, cd.FinalLo, c.final[i])
				}
			}
		})
	}
}

// Where a token not shown might hold min_p's threshold, nothing is claimed exactly.
func TestTruncateMinPBounds(t *testing.T) {
	t.Parallel()
	// .3 not shown, each up to .1 likely; min_p .15 x .5 = .075: tokens not shown may
	// survive, so the kept shares are bounds.
	tr := Truncate(probAlts(.5, .1, .1), nil, Sampling{Temperature: 1, TopK: -1, TopP: 1, MinP: .15})
	if tr.Exact() || !tr.Beyond {
		t.Fatalf("claimed exact: %+v", tr)
	}
	if c := tr.Candidates[0]; c.Cut != Kept || c.FinalLo > .5/.7+1e-9 || c.FinalHi < .5/.7-1e-9 || c.FinalHi > 1 {
		t.Fatalf("top: %+v", c)
	}
	// A token right at the threshold is too close to call.
	tr = Truncate(probAlts(.5, .05, .45), nil, Sampling{Temperature: 1, TopK: -1, TopP: 1, MinP: .1})
	if c := tr.Candidates[2]; c.Cut != Uncertain {
		t.Fatalf("at the threshold: %v", c.Cut)
	}
}
