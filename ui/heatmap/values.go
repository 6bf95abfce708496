// Package heatmap turns a token's logprobs into a look: the heatmap modes (probability,
// surprisal, rank, entropy), the per-token bucket and the one function a sample column calls
// to style a token, the legend, and what temperature, top-k and top-p would do to the
// returned alternatives over the whole vocabulary (exact where the alternatives decide it,
// bounded where they do not).
//
// Values are the logprobs as the server returns them: the model's raw ones by default
// (before temperature, truncation and penalties), processed ones under vLLM's
// --logprobs-mode processed_logprobs (DistributionNote says which), and a painter can
// colour by the processed values the built-in model gives beside the raw ones
// (NewPainterBy). Styles come from themes; the package keeps no state of its own beyond a
// Painter, which belongs to one program. It must never import bubbletea or ui/.
package heatmap

import (
	"math"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
)

// Mode is what the heatmap colours by.
type Mode uint8

// Heatmap modes, in the order the mode key cycles them.
const (
	Off         Mode = iota
	Probability      // exp(logprob), linear
	Surprisal        // -log2 p, in bits
	Rank             // the sampled token's rank among the alternatives
	Entropy          // entropy of the top-K alternatives, in bits
)

var modeNames = [...]string{"off", "probability", "surprisal", "rank", "entropy"}

// Modes lists every mode in cycling order.
func Modes() []Mode { return []Mode{Off, Probability, Surprisal, Rank, Entropy} }

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// Next is the mode after m, wrapping round.
func (m Mode) Next() Mode { return (m + 1) % Mode(len(modeNames)) }

// ParseMode reads a mode name as String writes it.
func ParseMode(s string) (Mode, bool) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), true
		}
	}
	return Off, false
}

// Prob is exp(lp); NaN when unknown.
func Prob(lp backend.Logprob) float64 {
	if !lp.Known() {
		return math.NaN()
	}
	return math.Exp(float64(lp))
}

// SurprisalBits is -log2 p; NaN when unknown.
func SurprisalBits(lp backend.Logprob) float64 {
	if !lp.Known() {
		return math.NaN()
	}
	return -float64(lp) / math.Ln2
}

// RankOf is the sampled token's rank among its alternatives: 1 + how many alternatives are
// strictly more likely. atLeast is set when the token is the least likely in the list, so
// the true rank may be lower down (vLLM puts a sampled token from outside the top-k into the
// list in place of the k-th); the rank is then a lower bound. ok is false when the rank
// cannot be told (unknown logprob, or no alternatives).
func RankOf(tok *backend.Token) (rank int, atLeast, ok bool) {
	if tok == nil || !tok.Logprob.Known() || len(tok.Top) == 0 {
		return 0, false, false
	}
	lp := tok.Logprob
	rank = 1
	below := 0
	for _, a := range tok.Top {
		if !a.Logprob.Known() {
			continue
		}
		switch {
		case a.Logprob > lp:
			rank++
		case a.Logprob < lp:
			below++
		}
	}
	return rank, below == 0 && len(tok.Top) > 1 && rank > 1, true
}

// EntropyBits is the entropy, in bits, of the alternatives renormalised to sum to one: the
// uncertainty among the shown top-K only (the tail beyond K is not returned). ok is false
// with no known alternatives. It is backend.EntropyBits, the one the statistics use.
func EntropyBits(top []backend.Alt) (bits float64, ok bool) { return backend.EntropyBits(top) }

// Buckets are numbered 0 (expected) .. themes.HeatBuckets-1 (surprising).

var (
	// surprisalEdges are the bucket limits in bits: below 0.25 bits (p > 0.84) is expected,
	// 6 bits and more (p < 1/64) is the hottest.
	surprisalEdges = [...]float64{0.25, 0.5, 1, 2, 3, 4, 6}
	// entropyEdges are the bucket limits in bits; 20 alternatives reach 4.32 bits at most.
	entropyEdges = [...]float64{0.1, 0.25, 0.5, 1, 1.5, 2, 3}
)

func bucketByEdges(v float64, edges []float64) int {
	for i, e := range edges {
		if v < e {
			return i
		}
	}
	return len(edges)
}

// rankBucket: top-1 is expected; from rank 2 on it warms quickly, since "not the argmax" is
// the point of the mode.
func rankBucket(rank int, atLeast bool) int {
	switch {
	case rank <= 1:
		return 0
	case rank == 2 && !atLeast:
		return 3
	case rank == 3 && !atLeast:
		return 4
	case rank <= 5 && !atLeast:
		return 5
	case rank <= 10 && !atLeast:
		return 6
	}
	return 7
}

// Value is the number the mode shows for tok (probability, bits, rank, bits); ok is false
// when it is unknown. Off has no value.
func (m Mode) Value(tok *backend.Token) (v float64, ok bool) {
	if tok == nil {
		return 0, false
	}
	switch m {
	case Probability:
		if !tok.Logprob.Known() {
			return 0, false
		}
		return Prob(tok.Logprob), true
	case Surprisal:
		if !tok.Logprob.Known() {
			return 0, false
		}
		return SurprisalBits(tok.Logprob), true
	case Rank:
		r, _, ok := RankOf(tok)
		return float64(r), ok
	case Entropy:
		return EntropyBits(tok.Top)
	}
	return 0, false
}

// Bucket is tok's step on the scale under mode m, 0 (expected) to HeatBuckets-1
// (surprising); ok is false when the value is unknown, which has its own look.
func (m Mode) Bucket(tok *backend.Token) (bucket int, ok bool) {
	switch m {
	case Probability:
		if tok == nil || !tok.Logprob.Known() {
			return 0, false
		}
		p := Prob(tok.Logprob)
		return min(numBuckets-1, max(0, int((1-p)*numBuckets))), true
	case Surprisal:
		if tok == nil || !tok.Logprob.Known() {
			return 0, false
		}
		return bucketByEdges(SurprisalBits(tok.Logprob), surprisalEdges[:]), true
	case Rank:
		r, atLeast, ok := RankOf(tok)
		if !ok {
			return 0, false
		}
		return rankBucket(r, atLeast), true
	case Entropy:
		if tok == nil {
			return 0, false
		}
		h, ok := EntropyBits(tok.Top)
		if !ok {
			return 0, false
		}
		return bucketByEdges(h, entropyEdges[:]), true
	}
	return 0, false
}

const numBuckets = themes.HeatBuckets
