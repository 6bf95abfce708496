package heatmap

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
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

// issueAlts is a top-20 whose cumulative raw mass runs .267/.346/.407/.454/.487/.519 and
// holds .763 in all.
func issueAlts() []backend.Alt {
	return alts(.267, .079, .061, .047, .033, .032, .03, .028, .026, .024, .022, .02, .018, .016, .014, .012, .01, .009, .008, .007)
}

// w is p^(1/t), a token's weight after temperature t.
func w(p, t float64) float64 { return math.Pow(p, 1/t) }

func TestTruncate(t *testing.T) {
	const u = Uncertain
	type want struct {
		cut     []CutBy   // per candidate, most likely first
		lo, hi  []float64 // final probability bounds per candidate (hi nil: equal to lo)
		kept    int
		beyond  bool
		sampled int
	}
	issueFinal := func(n int, z float64) []float64 {
		out := make([]float64, 20)
		for i, a := range issueAlts()[:n] {
			out[i] = math.Exp(float64(a.Logprob)) / z
		}
		return out
	}
	cuts := func(kept int, rest CutBy, n int) []CutBy {
		out := make([]CutBy, n)
		for i := kept; i < n; i++ {
			out[i] = rest
		}
		return out
	}
	// Hand-computed at temperature 0.7: p^(1/0.7) for .5 .2 .1 .05 is .37150 .10035 .03726
	// .01384; the 0.15 not shown, no token of it above .05, weighs at most 3 x .01384 =
	// .04153. The mass above .1 is .47185 / [.52295, .56448] = [.8359, .9023]: cut at
	// top_p .8, undecided at .85. Above .05 it is at least .50911 / .56448 = .9019: cut.
	t07 := []float64{w(.5, .7) / (w(.5, .7) + w(.2, .7)), w(.2, .7) / (w(.5, .7) + w(.2, .7)), 0, 0}

	cases := []struct {
		name    string
		alts    []backend.Alt
		sampled *backend.Token
		s       Sampling
		want    want
	}{
		{
			name: "temperature 1 without truncation: the raw probabilities, exactly",
			alts: alts(.4, .2, .2), s: Sampling{Temperature: 1, TopK: -1, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept, Kept}, lo: []float64{.4, .2, .2}, kept: 3, beyond: true, sampled: -1},
		},
		{
			name: "unsorted input is sorted",
			alts: alts(.1, .6, .3), s: Sampling{Temperature: 1, TopK: 0, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept, Kept}, lo: []float64{.6, .3, .1}, kept: 3, sampled: -1},
		},
		{
			name: "greedy keeps the argmax only, whatever top-k/top-p say",
			alts: alts(.5, .3, .2), s: Sampling{Temperature: 0, TopK: 2, TopP: .1},
			want: want{cut: []CutBy{Kept, Greedy, Greedy}, lo: []float64{1, 0, 0}, kept: 1, sampled: -1},
		},
		{
			name: "greedy: a token not shown may tie the only one shown",
			alts: alts(.3), sampled: &backend.Token{Text: "a", Logprob: lp(.3)}, s: Sampling{Temperature: 0, TopK: -1, TopP: 1},
			want: want{cut: []CutBy{u}, lo: []float64{0}, hi: []float64{1}, beyond: true, sampled: 0},
		},
		{
			name: "top-k 2",
			alts: alts(.5, .3, .2), s: Sampling{Temperature: 1, TopK: 2, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept, TopK}, lo: []float64{.625, .375, 0}, kept: 2, sampled: -1},
		},
		{
			name: "top-k keeps ties with the k-th",
			alts: alts(.5, .25, .25), s: Sampling{Temperature: 1, TopK: 2, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept, Kept}, lo: []float64{.5, .25, .25}, kept: 3, sampled: -1},
		},
		{
			name: "top-p .45: the top token alone reaches it",
			alts: alts(.5, .3, .2), s: Sampling{Temperature: 1, TopK: -1, TopP: .45},
			want: want{cut: []CutBy{Kept, TopP, TopP}, lo: []float64{1, 0, 0}, kept: 1, sampled: -1},
		},
		{
			name: "top-p exactly at the mass above a token is too close to call",
			alts: alts(.5, .3, .2), s: Sampling{Temperature: 1, TopK: -1, TopP: .5},
			want: want{cut: []CutBy{Kept, u, TopP}, lo: []float64{.5 / .8, 0, 0}, hi: []float64{1, .3 / .8, 0}, kept: 1, sampled: -1},
		},
		{
			name: "top-p .6 needs two",
			alts: alts(.5, .3, .2), s: Sampling{Temperature: 1, TopK: -1, TopP: .6},
			want: want{cut: []CutBy{Kept, Kept, TopP}, lo: []float64{.625, .375, 0}, kept: 2, sampled: -1},
		},
		{
			name: "top-p after top-k, on the renormalised rest",
			alts: alts(.4, .3, .2, .1), s: Sampling{Temperature: 1, TopK: 2, TopP: .5},
			// after top-k: .4/.7=.571 above .3, so .3 is cut
			want: want{cut: []CutBy{Kept, TopP, TopK, TopK}, lo: []float64{1, 0, 0, 0}, kept: 1, sampled: -1},
		},
		{
			name: "a tiny top-p always keeps the top token",
			alts: alts(.34, .33, .33), s: Sampling{Temperature: 1, TopK: -1, TopP: 0.01},
			want: want{cut: []CutBy{Kept, TopP, TopP}, lo: []float64{1, 0, 0}, kept: 1, sampled: -1},
		},
		{
			name: "temperature 2 flattens: p^(1/2) renormalised",
			alts: alts(.64, .36), s: Sampling{Temperature: 2, TopK: -1, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept}, lo: []float64{.8 / 1.4, .6 / 1.4}, kept: 2, sampled: -1},
		},
		{
			name: "temperature 0.5 sharpens, then top-p cuts more",
			alts: alts(.6, .3, .1), s: Sampling{Temperature: .5, TopK: -1, TopP: .8},
			// p^2: .36 .09 .01; above .3: .36/.46 = .783 < .8; above .1: .978
			want: want{cut: []CutBy{Kept, Kept, TopP}, lo: []float64{.36 / .45, .09 / .45, 0}, kept: 2, sampled: -1},
		},
		{
			name: "unknown logprobs are left out",
			alts: append(alts(.5, .5), backend.Alt{Text: "?", Logprob: backend.Unknown()}),
			s:    Sampling{Temperature: 1, TopK: -1, TopP: 1},
			want: want{cut: []CutBy{Kept, Kept}, lo: []float64{.5, .5}, kept: 2, sampled: -1},
		},
		{
			name: "nothing known", s: Sampling{Temperature: 1, TopK: -1, TopP: 1},
			want: want{sampled: -1},
		},
		{
			// The issue's case: vLLM keeps the six whose mass above is below .5; the
			// top-20 renormalised to 1 would have kept three.
			name: "temperature 1, top_p .5, top-20: six kept, exactly",
			alts: issueAlts(), sampled: &backend.Token{Text: "e", Logprob: lp(.033)},
			s:    Sampling{Temperature: 1, TopK: -1, TopP: .5},
			want: want{cut: cuts(6, TopP, 20), lo: issueFinal(6, .519), kept: 6, sampled: 4},
		},
		{
			// The shown 20 hold .763 < .9: every one of them is kept and the cut lies
			// among the tokens not shown, except that the least likely may be tied with
			// tokens not shown that sort above it.
			name: "temperature 1, top_p .9: the cut lies beyond the shown alternatives",
			alts: issueAlts(), sampled: &backend.Token{Text: "a", Logprob: lp(.267)},
			s: Sampling{Temperature: 1, TopK: -1, TopP: .9},
			want: want{
				cut:  append(cuts(19, TopP, 19), u),
				lo:   issueFinal(19, 1),
				hi:   append(issueFinal(19, .9)[:19], .007/.9),
				kept: 19, beyond: true, sampled: 0,
			},
		},
		{
			name: "temperature 0.7, top_p .8, hand-computed: exact",
			alts: alts(.5, .2, .1, .05), s: Sampling{Temperature: .7, TopK: -1, TopP: .8},
			want: want{cut: []CutBy{Kept, Kept, TopP, TopP}, lo: t07, kept: 2, sampled: -1},
		},
		{
			name: "temperature 0.7, top_p .85, hand-computed: .1 undecided",
			// The tokens not shown are cut: the three above all of them hold at least .9019.
			alts: alts(.5, .2, .1, .05), s: Sampling{Temperature: .7, TopK: -1, TopP: .85},
			want: want{
				cut:  []CutBy{Kept, Kept, u, TopP},
				lo:   []float64{w(.5, .7) / (w(.5, .7) + w(.2, .7) + w(.1, .7)), w(.2, .7) / (w(.5, .7) + w(.2, .7) + w(.1, .7)), 0, 0},
				hi:   []float64{t07[0], t07[1], w(.1, .7) / (w(.5, .7) + w(.2, .7) + w(.1, .7)), 0},
				kept: 2, sampled: -1,
			},
		},
		{
			name: "temperature 0.7 with top_k 2 inside the shown: exact softmax over the two",
			alts: issueAlts(), s: Sampling{Temperature: .7, TopK: 2, TopP: 1},
			want: want{
				cut:  cuts(2, TopK, 20),
				lo:   append([]float64{w(.267, .7) / (w(.267, .7) + w(.079, .7)), w(.079, .7) / (w(.267, .7) + w(.079, .7))}, make([]float64, 18)...),
				kept: 2, sampled: -1,
			},
		},
		{
			// Above temperature 1 the mass not shown can spread over any number of tokens
			// and outweigh the shown ones: nothing can be proved cut without the
			// vocabulary's size. .3 is kept: the smallest the rest can weigh (.1 in one
			// token: .447 against .5's 1 and .3's .775) leaves it .375 above.
			name: "temperature 2, top_p .5, vocabulary unknown",
			alts: alts(.5, .3, .1), s: Sampling{Temperature: 2, TopK: -1, TopP: .5},
			want: want{
				cut:  []CutBy{Kept, Kept, u},
				lo:   []float64{0, 0, 0},
				hi:   []float64{1 / (1 + w(.6, 2)), w(.6, 2) / (1 + w(.6, 2)), w(.2, 2) / (1 + w(.6, 2) + w(.2, 2))},
				kept: 2, beyond: true, sampled: -1,
			},
		},
		{
			// With 10 tokens in all the .1 not shown weighs at most 7 x sqrt(.1/7): the mass
			// above .1 is at least 1.7746/3.4048 = .521, so it is cut.
			name: "temperature 2, top_p .5, vocabulary of 10",
			alts: alts(.5, .3, .1), s: Sampling{Temperature: 2, TopK: -1, TopP: .5, Vocab: 10},
			want: want{
				cut:  []CutBy{Kept, Kept, TopP},
				lo:   []float64{1 / (1 + w(.6, 2)), w(.6, 2) / (1 + w(.6, 2)), 0},
				kept: 2, sampled: -1,
			},
		},
		{
			// The sampled token is the least likely listed: it may come from outside the
			// top-K, with tokens not shown between, so only .3 bounds them.
			name: "a least likely sampled token does not bound the tokens not shown",
			alts: alts(.6, .3, .001), sampled: &backend.Token{Text: "c", Logprob: lp(.001)},
			s: Sampling{Temperature: 1, TopK: 3, TopP: 1},
			// At most .099 more survives top-k (the bound does not use that only one
			// token can).
			want: want{cut: []CutBy{Kept, Kept, u}, lo: []float64{.6, .3, 0}, hi: []float64{.6 / .9, .3 / .9, .001 / .901}, kept: 2, beyond: true, sampled: 2},
		},
		{
			// Found by the whole-vocabulary test: what is not shown (1 - .643, rounded
			// below .357) may be one token, tied with a, and either may sort last.
			name: "a token not shown may tie the top one",
			alts: alts(.3572193109114044, .2855613781771912), sampled: &backend.Token{Text: "b", Logprob: lp(.2855613781771912)},
			s:    Sampling{Temperature: 1, TopK: 2, TopP: .05},
			want: want{cut: []CutBy{u, TopKOrP}, lo: []float64{0, 0}, hi: []float64{1, 0}, beyond: true, sampled: 1},
		},
		{
			name: "cut for certain whether by top_k or top_p",
			alts: alts(.6, .3, .001), sampled: &backend.Token{Text: "c", Logprob: lp(.001)},
			// If it survives top-k, at least .9 of the mass is above it.
			s:    Sampling{Temperature: 1, TopK: 3, TopP: .85},
			want: want{cut: []CutBy{Kept, Kept, TopKOrP}, lo: []float64{1 / 1.5, .5 / 1.5, 0}, kept: 2, sampled: 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := Truncate(c.alts, c.sampled, c.s)
			if len(tr.Candidates) != len(c.want.cut) {
				t.Fatalf("%d candidates, want %d", len(tr.Candidates), len(c.want.cut))
			}
			if tr.Kept != c.want.kept {
				t.Errorf("kept %d, want %d", tr.Kept, c.want.kept)
			}
			if tr.Beyond != c.want.beyond {
				t.Errorf("beyond %v, want %v", tr.Beyond, c.want.beyond)
			}
			if tr.Sampled != c.want.sampled {
				t.Errorf("sampled at %d, want %d", tr.Sampled, c.want.sampled)
			}
			exact := true
			for i, cd := range tr.Candidates {
				lo, hi := c.want.lo[i], c.want.lo[i]
				if c.want.hi != nil {
					hi = c.want.hi[i]
				}
				exact = exact && c.want.cut[i] != Uncertain && lo == hi
				if cd.Cut != c.want.cut[i] {
					t.Errorf("candidate %d (%s): %v, want %v", i, cd.Text, cd.Cut, c.want.cut[i])
				}
				if math.Abs(cd.FinalLo-lo) > 1e-9 || math.Abs(cd.FinalHi-hi) > 1e-9 {
					t.Errorf("candidate %d (%s): final [%.6f, %.6f], want [%.6f, %.6f]", i, cd.Text, cd.FinalLo, cd.FinalHi, lo, hi)
				}
				if i > 0 && cd.Logprob > tr.Candidates[i-1].Logprob {
					t.Errorf("not sorted at %d", i)
				}
			}
			if tr.Exact() != exact {
				t.Errorf("exact %v, want %v", tr.Exact(), exact)
			}
		})
	}
}

// vllmSample is vLLM's sampler on a whole vocabulary, in float64: temperature, top-k
// (logits below the k-th largest masked), top-p (ascending sort, cumulative sum, masked
// where <= 1-top_p, the last always kept); greedy below 1e-5. Ties sort by tieKey, as a
// GPU sort may order them any way. It returns each token's fate and final probability.
func vllmSample(ps []float64, s Sampling, tieKey []int) (fate []CutBy, final []float64) {
	n := len(ps)
	fate, final = make([]CutBy, n), make([]float64, n)
	order := make([]int, n) // ascending
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if ps[a] != ps[b] {
			return ps[a] < ps[b]
		}
		return tieKey[a] < tieKey[b]
	})
	if s.Temperature < 1e-5 {
		for i := range fate {
			fate[i] = Greedy
		}
		fate[order[n-1]], final[order[n-1]] = Kept, 1
		return fate, final
	}
	logit := make([]float64, n)
	for i, p := range ps {
		logit[i] = math.Log(p) / s.Temperature
	}
	if s.TopK > 0 && s.TopK < n {
		kth := logit[order[n-s.TopK]]
		for i := range logit {
			if logit[i] < kth {
				fate[i] = TopK
			}
		}
	}
	var z float64
	for i := range ps {
		if fate[i] == Kept {
			z += math.Exp(logit[i])
		}
	}
	if s.TopP < 1 {
		var cum float64
		var last int
		for _, i := range order {
			if fate[i] != Kept {
				continue
			}
			last = i
			cum += math.Exp(logit[i]) / z
			if cum <= 1-s.TopP {
				fate[i] = TopP
			}
		}
		fate[last] = Kept
	}
	z = 0
	for i := range ps {
		if fate[i] == Kept {
			z += math.Exp(logit[i])
		}
	}
	for i := range ps {
		if fate[i] == Kept {
			final[i] = math.Exp(logit[i]) / z
		}
	}
	return fate, final
}

// randomVocab is a vocabulary whose top is random and whose tail, beyond the top k, is
// random, packed into tokens as likely as the k-th (ties included) or spread thin.
func randomVocab(r *rand.Rand, k int) []float64 {
	ps := make([]float64, k)
	for i := range ps {
		ps[i] = math.Exp(r.NormFloat64() * 2)
		if r.IntN(4) == 0 {
			ps[i] = math.Round(ps[i]*4) / 4 // ties
		}
		if ps[i] == 0 {
			ps[i] = .25
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(ps)))
	var head float64
	for _, p := range ps {
		head += p
	}
	edge := ps[k-1]
	// The tail's mass against the head's, in at most a few hundred tokens as likely as
	// the edge, to keep the vocabulary small enough to run thousands of times.
	tail := min(head*r.Float64()*3, edge*float64(50+r.IntN(400)))
	switch r.IntN(3) {
	case 0: // random, below the edge
		for tail > 0 {
			p := min(edge*r.Float64(), tail)
			if p <= 0 {
				break
			}
			ps = append(ps, p)
			tail -= p
		}
	case 1: // packed: as many as possible exactly as likely as the edge
		for tail >= edge {
			ps = append(ps, edge)
			tail -= edge
		}
		if tail > 0 {
			ps = append(ps, tail)
		}
	case 2: // spread thin
		m := 50 + r.IntN(400)
		for range m {
			ps = append(ps, tail/float64(m))
		}
	}
	var z float64
	for _, p := range ps {
		z += p
	}
	for i := range ps {
		ps[i] /= z
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(ps)))
	return ps
}

// Soundness against vLLM's own algorithm on whole vocabularies: every fate Truncate
// decides holds for the vocabulary the top-K came from, under either order of ties, and
// every final probability lies within its bounds. In particular the sampled token is never
// shown as cut unless it is.
func TestTruncateAgreesWithVLLMOnWholeVocabularies(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	var decided, total, sampledCut int
	for trial := range 5000 {
		k := 1 + r.IntN(20)
		ps := randomVocab(r, k)
		v := len(ps)
		k = min(k, v)
		// The listed tokens: the top k, or (as vLLM does for a token drawn from outside
		// the top k) the top k-1 and the sampled one.
		sampled := r.IntN(min(v, k+5))
		listed := make([]int, 0, k)
		for i := range k {
			listed = append(listed, i)
		}
		if sampled >= k {
			listed[k-1] = sampled
		}
		as := make([]backend.Alt, len(listed))
		ids := map[string]int{}
		for i, id := range listed {
			as[i] = backend.Alt{Text: "t" + strconv.Itoa(id), Logprob: backend.Logprob(math.Log(ps[id]))}
			ids[as[i].Text] = id
		}
		sampledTok := &backend.Token{Text: "t" + strconv.Itoa(sampled), Logprob: backend.Logprob(math.Log(ps[sampled]))}
		s := Sampling{
			Temperature: []float64{0, .3, .7, 1, 1, 1.3, 2}[r.IntN(7)],
			TopK:        []int{-1, 0, 1, 2, 3, 5, 10, 30}[r.IntN(8)],
			TopP:        []float64{1, .99, .9, .8, .5, .3, .05}[r.IntN(7)],
		}
		if r.IntN(2) == 0 {
			s.Vocab = v
		}
		tr := Truncate(as, sampledTok, s)
		if tr.Candidates[tr.Sampled].Text != sampledTok.Text {
			t.Fatalf("trial %d: sampled token not found", trial)
		}

		asc, desc := make([]int, v), make([]int, v)
		for i := range asc {
			asc[i], desc[i] = i, v-i
		}
		for _, tie := range [][]int{asc, desc} {
			fate, final := vllmSample(ps, s, tie)
			for _, c := range tr.Candidates {
				id := ids[c.Text]
				got := fate[id]
				ok := true
				switch c.Cut {
				case Kept:
					ok = got == Kept
				case Greedy, TopK, TopP:
					ok = got == c.Cut
				case TopKOrP:
					ok = got == TopK || got == TopP
				}
				if !ok {
					t.Fatalf("trial %d %+v: %s (p=%.5g) shown %v, vLLM says %v\nvocabulary %v", trial, s, c.Text, c.Raw, c.Cut, got, ps)
				}
				if c.Cut == Kept || c.Cut == Uncertain {
					lo := c.FinalLo
					if c.Cut == Uncertain {
						lo = 0
					}
					if final[id] < lo-1e-9 || final[id] > c.FinalHi+1e-9 {
						t.Fatalf("trial %d %+v: %s final %.6f outside [%.6f, %.6f]", trial, s, c.Text, final[id], c.FinalLo, c.FinalHi)
					}
				}
			}
			if !tr.Beyond {
				listedSet := map[int]bool{}
				for _, id := range listed {
					listedSet[id] = true
				}
				for id, f := range fate {
					if f == Kept && !listedSet[id] {
						t.Fatalf("trial %d %+v: token %d not shown survives, but Beyond is false", trial, s, id)
					}
				}
			}
		}
		for _, c := range tr.Candidates {
			total++
			if c.Cut != Uncertain {
				decided++
			}
		}
		if tr.Candidates[tr.Sampled].Cut.IsCut() {
			sampledCut++
		}
	}
	// The bounds must decide most fates, or the test proves nothing.
	if decided < total*3/4 || sampledCut == 0 {
		t.Errorf("decided %d of %d fates, sampled token cut %d times", decided, total, sampledCut)
	}
	t.Logf("decided %d of %d fates; the sampled token proved cut in %d trials", decided, total, sampledCut)
}

func TestSampledIndex(t *testing.T) {
	cs := []Candidate{{Text: " a", Logprob: -0.5}, {Text: " b", Logprob: -1}, {Text: " b", Logprob: -2}}
	cases := []struct {
		tok  *backend.Token
		want int
	}{
		{&backend.Token{Text: " b", Logprob: -2}, 2},
		{&backend.Token{Text: " b", Logprob: -2.0000000001}, 2},
		{&backend.Token{Text: " b", Logprob: -7}, 1}, // text only
		{&backend.Token{Text: " a", Logprob: backend.Unknown()}, 0},
		{&backend.Token{Text: " z", Logprob: -0.5}, -1},
		{nil, -1},
	}
	for _, c := range cases {
		if got := sampledIndex(cs, c.tok); got != c.want {
			t.Errorf("%+v: %d, want %d", c.tok, got, c.want)
		}
	}
}

// Any logprobs a server may send, any parameters: bounds stay ordered within [0, 1] and
// nothing is NaN.
func FuzzTruncate(f *testing.F) {
	f.Add(-0.5, -1.5, -3.0, 0.7, 2, 0.9, 0)
	f.Add(0.0, 0.0, -9999.0, 1.3, -1, 0.5, 10)
	f.Add(1.0, -1000.0, -2.0, 0.0, 1, 0.01, 3)
	f.Fuzz(func(t *testing.T, a, b, c, temp float64, topK int, topP float64, vocab int) {
		if math.IsNaN(temp) || temp < 0 || math.IsNaN(topP) || topP <= 0 || topP > 1 {
			return // params validation refuses these before they reach the view
		}
		as := []backend.Alt{
			{Text: "a", Logprob: backend.LogprobFromWire(a)},
			{Text: "b", Logprob: backend.LogprobFromWire(b)},
			{Text: "c", Logprob: backend.LogprobFromWire(c)},
		}
		sampled := &backend.Token{Text: "c", Logprob: backend.LogprobFromWire(c)}
		tr := Truncate(as, sampled, Sampling{Temperature: temp, TopK: topK, TopP: topP, Vocab: vocab % 1000})
		for _, cd := range tr.Candidates {
			if math.IsNaN(cd.FinalLo) || math.IsNaN(cd.FinalHi) || cd.FinalLo < 0 || cd.FinalHi > 1 || cd.FinalLo > cd.FinalHi+1e-12 {
				t.Fatalf("%s: final [%v, %v] (%v)", cd.Text, cd.FinalLo, cd.FinalHi, cd.Cut)
			}
			if cd.Cut.IsCut() && cd.FinalHi != 0 {
				t.Fatalf("%s cut with final %v", cd.Text, cd.FinalHi)
			}
		}
	})
}
