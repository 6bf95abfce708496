package backend

import (
	"fmt"
	"math"
)

// RunningStats is StatsOf kept up to date as a sample's tokens stream in: each token
// is counted once, so a view that shows the statistics every frame pays for the new
// tokens only. Its figures are StatsOf's, less the per-part split (Parts).
type RunningStats struct {
	tokens, scored, entropyN, topK, ranked, notTop int
	sumLP, sumH                                    float64
}

// Add counts more tokens of the sample, in order.
func (r *RunningStats) Add(tokens []Token) {
	for i := range tokens {
		t := &tokens[i]
		r.tokens++
		if t.Logprob.Known() {
			r.scored++
			r.sumLP += float64(t.Logprob)
		}
		if h, ok := EntropyBits(t.Top); ok {
			r.sumH += h
			r.entropyN++
			r.topK = max(r.topK, len(t.Top))
		}
		if rank, ok := RankOf(t); ok {
			r.ranked++
			if rank > 1 {
				r.notTop++
			}
		}
	}
}

// Count is how many tokens have been added.
func (r *RunningStats) Count() int { return r.tokens }

// TopK is the most alternatives any token added had: the K of the entropy estimate.
func (r *RunningStats) TopK() int { return r.topK }

// Stats is the statistics of the tokens added so far.
func (r *RunningStats) Stats() SampleStats {
	st := SampleStats{Tokens: r.tokens, Scored: r.scored, Ranked: r.ranked}
	if r.scored > 0 {
		mean := r.sumLP / float64(r.scored)
		ppl := math.Exp(-mean)
		st.MeanLogprob = &mean
		if !math.IsInf(ppl, 0) {
			st.Perplexity = &ppl
		}
	}
	if r.entropyN > 0 {
		h := r.sumH / float64(r.entropyN)
		st.MeanEntropyBits = &h
		st.EntropyEstimate = fmt.Sprintf("an estimate: the top-%d returned alternatives, renormalised", r.topK)
	}
	if r.ranked > 0 {
		n := r.notTop
		st.NotTopChoice = &n
	}
	return st
}
