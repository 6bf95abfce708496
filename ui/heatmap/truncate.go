package heatmap

import (
	"math"
	"sort"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// CutBy says why truncation drops an alternative.
type CutBy uint8

// Reasons an alternative is cut.
const (
	Kept   CutBy = iota
	Greedy       // temperature 0: only the most likely token survives
	TopK         // outside the top_k most likely
	TopP         // outside the smallest set reaching top_p
)

func (c CutBy) String() string {
	switch c {
	case Greedy:
		return "greedy"
	case TopK:
		return "top_k"
	case TopP:
		return "top_p"
	}
	return ""
}

// Candidate is one alternative under the current parameters, in the approximation that the
// returned top-K alternatives are the whole vocabulary.
type Candidate struct {
	Text    string
	Logprob backend.Logprob // raw, as the server returned it
	Raw     float64         // exp(Logprob): the model's raw probability
	Temp    float64         // after temperature, renormalised over the alternatives
	Final   float64         // after top-k and top-p, renormalised; 0 when cut
	Cut     CutBy
}

// Truncation is the client-side view of what temperature, top-k and top-p (vLLM's order:
// temperature scales the logits, then top-k, then top-p on the renormalised rest) do to the
// alternatives at one position. It is an approximation: only the top-K alternatives are
// known, so they stand in for the whole distribution, and penalties are not applied.
type Truncation struct {
	Candidates []Candidate // most likely first
	// Kept is how many survive.
	Kept int
}

// Truncate computes the truncation view of alts (any order) for temperature, topK (-1 or 0:
// off) and topP (1: off). Unknown logprobs are left out.
func Truncate(alts []backend.Alt, temperature float64, topK int, topP float64) Truncation {
	cs := make([]Candidate, 0, len(alts))
	for _, a := range alts {
		if !a.Logprob.Known() {
			continue
		}
		cs = append(cs, Candidate{Text: a.Text, Logprob: a.Logprob, Raw: math.Exp(float64(a.Logprob))})
	}
	// Most likely first; equal logprobs keep the server's order.
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Logprob > cs[j].Logprob })
	if len(cs) == 0 {
		return Truncation{}
	}

	if temperature < params.GreedyBelow {
		// vLLM's greedy path takes the argmax and ignores top-k and top-p.
		for i := range cs {
			cs[i].Cut = Greedy
		}
		cs[0].Cut = Kept
		softmax(cs, 1, func(c *Candidate, p float64) { c.Temp = p })
		cs[0].Final = 1
		return Truncation{Candidates: cs, Kept: 1}
	}

	softmax(cs, temperature, func(c *Candidate, p float64) { c.Temp = p })

	// top-k: vLLM masks every logit below the k-th largest, so tokens tied with the k-th
	// all survive.
	if topK > 0 && topK < len(cs) {
		edge := cs[topK-1].Logprob
		for i := topK; i < len(cs); i++ {
			if cs[i].Logprob < edge {
				cs[i].Cut = TopK
			}
		}
	}

	// top-p on what top-k left, renormalised: vLLM sorts ascending, accumulates, and masks
	// every token whose cumulative probability is <= 1 - top_p, always keeping the largest.
	if topP < 1 {
		var z float64
		for _, c := range cs {
			if c.Cut == Kept {
				z += c.Temp
			}
		}
		var cum float64
		for i := len(cs) - 1; i >= 0; i-- {
			if cs[i].Cut != Kept {
				continue
			}
			cum += cs[i].Temp / z
			if cum <= 1-topP && i > 0 {
				cs[i].Cut = TopP
			}
		}
	}

	kept := 0
	var z float64
	for _, c := range cs {
		if c.Cut == Kept {
			kept++
			z += c.Temp
		}
	}
	for i := range cs {
		if cs[i].Cut == Kept {
			cs[i].Final = cs[i].Temp / z
		}
	}
	return Truncation{Candidates: cs, Kept: kept}
}

// softmax sets softmax(logprob / t) over cs through set. Raw logprobs are the logits shifted
// by a constant, so dividing them by t is dividing the logits.
func softmax(cs []Candidate, t float64, set func(*Candidate, float64)) {
	m := math.Inf(-1)
	for _, c := range cs {
		m = max(m, float64(c.Logprob)/t)
	}
	var z float64
	ps := make([]float64, len(cs))
	for i, c := range cs {
		ps[i] = math.Exp(float64(c.Logprob)/t - m)
		z += ps[i]
	}
	for i := range cs {
		set(&cs[i], ps[i]/z)
	}
}
