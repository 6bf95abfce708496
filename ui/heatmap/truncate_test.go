package heatmap

import (
	"math"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

func alts(ps ...float64) []backend.Alt {
	out := make([]backend.Alt, len(ps))
	for i, p := range ps {
		out[i] = backend.Alt{Text: string(rune('a' + i)), Logprob: lp(p)}
	}
	return out
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		name     string
		alts     []backend.Alt
		temp     float64
		topK     int
		topP     float64
		cut      []CutBy   // per candidate, most likely first
		final    []float64 // per candidate
		wantKept int
	}{
		{
			name: "no truncation at temperature 1 renormalises the top-K",
			alts: alts(.4, .2, .2), temp: 1, topK: -1, topP: 1,
			cut:   []CutBy{Kept, Kept, Kept},
			final: []float64{.5, .25, .25}, wantKept: 3,
		},
		{
			name: "unsorted input is sorted",
			alts: alts(.1, .6, .3), temp: 1, topK: 0, topP: 1,
			cut:   []CutBy{Kept, Kept, Kept},
			final: []float64{.6, .3, .1}, wantKept: 3,
		},
		{
			name: "greedy keeps the argmax only, whatever top-k/top-p say",
			alts: alts(.5, .3, .2), temp: 0, topK: 2, topP: .1,
			cut:   []CutBy{Kept, Greedy, Greedy},
			final: []float64{1, 0, 0}, wantKept: 1,
		},
		{
			name: "top-k 2",
			alts: alts(.5, .3, .2), temp: 1, topK: 2, topP: 1,
			cut:   []CutBy{Kept, Kept, TopK},
			final: []float64{.625, .375, 0}, wantKept: 2,
		},
		{
			name: "top-k keeps ties with the k-th",
			alts: alts(.5, .25, .25), temp: 1, topK: 2, topP: 1,
			cut:   []CutBy{Kept, Kept, Kept},
			final: []float64{.5, .25, .25}, wantKept: 3,
		},
		{
			name: "top-p .5: the top token alone reaches it",
			alts: alts(.5, .3, .2), temp: 1, topK: -1, topP: .5,
			// ascending cumsum: .2, .5, 1.0; masked where <= .5 -> c and b
			cut:   []CutBy{Kept, TopP, TopP},
			final: []float64{1, 0, 0}, wantKept: 1,
		},
		{
			name: "top-p .6 needs two",
			alts: alts(.5, .3, .2), temp: 1, topK: -1, topP: .6,
			cut:   []CutBy{Kept, Kept, TopP},
			final: []float64{.625, .375, 0}, wantKept: 2,
		},
		{
			name: "top-p after top-k, on the renormalised rest",
			alts: alts(.4, .3, .2, .1), temp: 1, topK: 2, topP: .5,
			// after top-k: .4/.7=.571, .3/.7=.429; ascending cumsum .429 <= .5 -> cut
			cut:   []CutBy{Kept, TopP, TopK, TopK},
			final: []float64{1, 0, 0, 0}, wantKept: 1,
		},
		{
			name: "a tiny top-p always keeps the top token",
			alts: alts(.34, .33, .33), temp: 1, topK: -1, topP: 0.01,
			cut:   []CutBy{Kept, TopP, TopP},
			final: []float64{1, 0, 0}, wantKept: 1,
		},
		{
			name: "temperature 2 flattens: p^(1/2) renormalised",
			alts: alts(.64, .36), temp: 2, topK: -1, topP: 1,
			cut:   []CutBy{Kept, Kept},
			final: []float64{.8 / 1.4, .6 / 1.4}, wantKept: 2,
		},
		{
			name: "temperature 0.5 sharpens, then top-p cuts more",
			alts: alts(.6, .3, .1), temp: .5, topK: -1, topP: .8,
			// p^2: .36 .09 .01 -> .782 .196 .022; ascending cumsum .022, .218 -> both <= .2? .218 > .2 kept
			cut:   []CutBy{Kept, Kept, TopP},
			final: []float64{.36 / .45, .09 / .45, 0}, wantKept: 2,
		},
		{
			name: "unknown logprobs are left out",
			alts: append(alts(.5, .5), backend.Alt{Text: "?", Logprob: backend.Unknown()}),
			temp: 1, topK: -1, topP: 1,
			cut:   []CutBy{Kept, Kept},
			final: []float64{.5, .5}, wantKept: 2,
		},
		{
			name: "nothing known", alts: nil, temp: 1, topK: -1, topP: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := Truncate(c.alts, c.temp, c.topK, c.topP)
			if len(tr.Candidates) != len(c.cut) {
				t.Fatalf("%d candidates, want %d", len(tr.Candidates), len(c.cut))
			}
			if tr.Kept != c.wantKept {
				t.Errorf("kept %d, want %d", tr.Kept, c.wantKept)
			}
			var sum float64
			for i, cd := range tr.Candidates {
				if cd.Cut != c.cut[i] {
					t.Errorf("candidate %d (%s): cut %v, want %v", i, cd.Text, cd.Cut, c.cut[i])
				}
				if math.Abs(cd.Final-c.final[i]) > 1e-9 {
					t.Errorf("candidate %d (%s): final %.6f, want %.6f", i, cd.Text, cd.Final, c.final[i])
				}
				if i > 0 && cd.Logprob > tr.Candidates[i-1].Logprob {
					t.Errorf("not sorted at %d", i)
				}
				sum += cd.Final
			}
			if len(tr.Candidates) > 0 && math.Abs(sum-1) > 1e-9 {
				t.Errorf("final probabilities sum to %v", sum)
			}
		})
	}
}
