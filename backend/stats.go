package backend

import (
	"fmt"
	"math"
)

// SampleStats summarises one sample from its tokens, for comparing samples, variants and
// endpoints. Every figure comes from the logprobs the server returned, which are the
// model's raw logprobs (before temperature, penalties and truncation): perplexity is the
// model's, not the sampler's. A figure that cannot be told is null in JSON.
type SampleStats struct {
	// Tokens is the sample's length in tokens.
	Tokens int `json:"tokens"`
	// Scored is how many tokens have a known logprob; MeanLogprob and Perplexity are over
	// them (vLLM's -9999 "unknown" is left out, never averaged in).
	Scored      int      `json:"scored"`
	MeanLogprob *float64 `json:"mean_logprob"`
	// Perplexity is exp(-MeanLogprob).
	Perplexity *float64 `json:"perplexity"`
	// MeanEntropyBits is the mean, over positions with alternatives, of the entropy of
	// the returned top-K alternatives renormalised to sum to one: an estimate, since the
	// tail beyond K is not returned. EntropyEstimate says so beside it.
	MeanEntropyBits *float64 `json:"mean_entropy_bits"`
	EntropyEstimate string   `json:"entropy_estimate,omitempty"`
	// NotTopChoice counts the tokens some returned alternative was more likely than
	// (rank above 1): where sampling, not the model's first choice, decided. Ranked is
	// how many tokens could be ranked (a known logprob and alternatives).
	NotTopChoice *int `json:"not_top_choice"`
	Ranked       int  `json:"ranked"`
	// Parts splits the counts and means by part for a reasoning model's sample (its
	// thinking, the end-of-thinking boundary, its answer); the figures above cover every
	// token. Omitted when the sample has no thinking.
	Parts *PartsStats `json:"parts,omitempty"`
}

// StatsOf computes a sample's statistics from its tokens.
func StatsOf(tokens []Token) SampleStats {
	st := SampleStats{Tokens: len(tokens)}
	var sumLP, sumH float64
	entropyN, topK, notTop := 0, 0, 0
	for i := range tokens {
		t := &tokens[i]
		if t.Logprob.Known() {
			st.Scored++
			sumLP += float64(t.Logprob)
		}
		if h, ok := EntropyBits(t.Top); ok {
			sumH += h
			entropyN++
			topK = max(topK, len(t.Top))
		}
		if rank, ok := RankOf(t); ok {
			st.Ranked++
			if rank > 1 {
				notTop++
			}
		}
	}
	if st.Scored > 0 {
		mean := sumLP / float64(st.Scored)
		ppl := math.Exp(-mean)
		st.MeanLogprob = &mean
		if !math.IsInf(ppl, 0) {
			st.Perplexity = &ppl
		}
	}
	if entropyN > 0 {
		h := sumH / float64(entropyN)
		st.MeanEntropyBits = &h
		st.EntropyEstimate = fmt.Sprintf("an estimate: the top-%d returned alternatives, renormalised", topK)
	}
	if st.Ranked > 0 {
		st.NotTopChoice = &notTop
	}
	st.Parts = PartsOf(tokens)
	return st
}

// ResponseStats is StatsOf for every sample of r, or nil when r has no tokens (logprobs
// were not asked for, so the text cannot be split into tokens).
func ResponseStats(r SampleResponse) []SampleStats {
	if r.Tokens == nil {
		return nil
	}
	out := make([]SampleStats, len(r.Tokens))
	for i, t := range r.Tokens {
		out[i] = StatsOf(t)
	}
	return out
}

// EntropyBits is the entropy, in bits, of the alternatives renormalised to sum to one:
// the uncertainty among the returned top-K only. ok is false with no known alternative.
func EntropyBits(top []Alt) (bits float64, ok bool) {
	maxLP := math.Inf(-1)
	for _, a := range top {
		if a.Logprob.Known() && float64(a.Logprob) > maxLP {
			maxLP = float64(a.Logprob)
		}
	}
	if math.IsInf(maxLP, -1) {
		return 0, false
	}
	var z, s float64
	for _, a := range top {
		if !a.Logprob.Known() {
			continue
		}
		x := float64(a.Logprob) - maxLP
		e := math.Exp(x)
		z += e
		s += e * x
	}
	// H = log z - (Σ e·x)/z, in nats; the shift by maxLP keeps exp from underflowing.
	return max((math.Log(z)-s/z)/math.Ln2, 0), true
}

// RankOf is the sampled token's rank among its alternatives: 1 + how many are strictly
// more likely. ok is false when it cannot be told (an unknown logprob, no alternatives).
// When the token is outside the returned top-K the rank is a lower bound, which still
// tells "not the model's first choice".
func RankOf(t *Token) (rank int, ok bool) {
	if !t.Logprob.Known() || len(t.Top) == 0 {
		return 0, false
	}
	rank = 1
	for _, a := range t.Top {
		if a.Logprob.Known() && a.Logprob > t.Logprob {
			rank++
		}
	}
	return rank, true
}
