package heatmap

import (
	"math"
	"sort"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// CutBy is an alternative's fate under the current parameters.
type CutBy uint8

// Fates. Every one but Kept and Uncertain is a proof that the token is cut.
const (
	Kept      CutBy = iota
	Greedy          // temperature 0: only the most likely token survives
	TopK            // outside the top_k most likely
	TopP            // outside the smallest set reaching top_p
	TopKOrP         // cut for certain, by top_k or else by top_p: which depends on tokens not shown
	Uncertain       // kept or cut depending on tokens not shown, or too close to the cut to call
	MinP            // less likely than min_p times the most likely token, after temperature
)

func (c CutBy) String() string {
	switch c {
	case Kept:
		return "kept"
	case Greedy:
		return "greedy"
	case TopK:
		return "top_k"
	case TopP:
		return "top_p"
	case TopKOrP:
		return "top_k/top_p"
	case Uncertain:
		return "uncertain"
	case MinP:
		return "min_p"
	}
	return ""
}

// IsCut reports whether the token is cut for certain.
func (c CutBy) IsCut() bool { return c != Kept && c != Uncertain }

// Sampling is what Truncate needs of the sampling parameters.
type Sampling struct {
	Temperature float64
	TopK        int     // -1 or 0: off
	TopP        float64 // 1: off
	MinP        float64 // 0: off
	// Vocab is the vocabulary's size when known, 0 when not. It bounds how thinly the mass
	// not shown can spread, which matters above temperature 1: without it the tokens not
	// shown could outweigh the shown ones without limit, so nothing is proved cut there.
	Vocab int
}

// Candidate is one known alternative under the current parameters.
type Candidate struct {
	Text    string
	Logprob backend.Logprob // raw, as the server returned it
	Raw     float64         // exp(Logprob): the model's raw probability
	Cut     CutBy
	// FinalLo and FinalHi bound the probability after temperature, top-k and top-p,
	// renormalised over everything that survives in the whole vocabulary. They are equal
	// when it is known exactly, 0 when the token is cut; for an Uncertain token FinalLo is
	// 0 and FinalHi is the most it could get if it survives.
	FinalLo, FinalHi float64
}

// Exact reports whether the candidate's fate and final probability are known exactly.
func (c Candidate) Exact() bool {
	return c.Cut != Uncertain && c.FinalHi-c.FinalLo <= 1e-9*max(c.FinalHi, 1e-300)
}

// Truncation is what vLLM's sampler (temperature scales the logits, then min-p, then top-k,
// then top-p on the renormalised rest; greedy below params.GreedyBelow) does to the known
// alternatives at one position, worked out on the full vocabulary although only the top-K
// is known.
//
// The raw logprobs are exact full-vocabulary values, so at temperature 1 the mass above a
// token is exact as long as no token outside the list can rank above it. The tokens not
// shown hold 1 - sum(raw) together and none is more likely than the least likely token of
// the list's top-ranked part (see prefix below); temperature spreads or sharpens that mass
// by an amount that depends on how it is split, so the softmax denominator is bounded, not
// known, and a fate is decided only where every split agrees. Penalties are not applied.
type Truncation struct {
	Candidates []Candidate // most likely first
	// Sampled is the index of the sampled token among Candidates, -1 when it is not there.
	Sampled int
	// Kept and Uncertain count the candidates kept for certain and those undecided.
	Kept, Uncertain int
	// Shown is the raw probability the candidates hold together.
	Shown float64
	// Beyond is set when tokens not shown may survive: the cut, if any, lies beyond the
	// shown alternatives (or cannot be placed among them).
	Beyond bool
}

// Exact reports whether every fate and final probability is known exactly.
func (t Truncation) Exact() bool {
	for _, c := range t.Candidates {
		if !c.Exact() {
			return false
		}
	}
	return true
}

// cutTolerance is how close to top_p the mass above a token may come before its fate is
// left undecided: vLLM sums float32 probabilities over the whole vocabulary, and the
// logprobs it reports are float32 too, so a boundary closer than this is not provable.
const cutTolerance = 1e-4

// Truncate computes the truncation of alts (any order; unknown logprobs are left out)
// under s. sampled, when not nil, is the token that was drawn: when it is the least likely
// of the list it may have come from outside the top-K (vLLM then lists it in place of the
// K-th), so the bound on the tokens not shown comes from the rest of the list.
func Truncate(alts []backend.Alt, sampled *backend.Token, s Sampling) Truncation {
	cs := make([]Candidate, 0, len(alts))
	for _, a := range alts {
		if !a.Logprob.Known() {
			continue
		}
		cs = append(cs, Candidate{Text: a.Text, Logprob: a.Logprob, Raw: math.Exp(float64(a.Logprob))})
	}
	// Most likely first; equal logprobs keep the server's order.
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Logprob > cs[j].Logprob })
	tr := Truncation{Candidates: cs, Sampled: sampledIndex(cs, sampled)}
	if len(cs) == 0 {
		return tr
	}
	for _, c := range cs {
		tr.Shown += c.Raw
	}
	u := newUnseen(cs, tr.Sampled, tr.Shown, s.Vocab)

	if s.Temperature < params.GreedyBelow {
		greedy(cs, &u)
	} else {
		sample(cs, &u, s)
	}

	for _, c := range cs {
		switch {
		case c.Cut == Kept:
			tr.Kept++
		case c.Cut == Uncertain:
			tr.Uncertain++
		}
	}
	tr.Beyond = u.mayLive
	return tr
}

// unseen describes the tokens not shown.
type unseen struct {
	mass float64 // their raw probability together
	// cap bounds each one's raw probability: none outranks the list's top-ranked part.
	cap float64
	// slack widens cap when the cap is the mass itself, which is what float32 logprobs
	// leave of 1, not a reported value.
	slack float64
	// count bounds how many there are (+Inf when the vocabulary's size is unknown).
	count float64
	// mayLive is set when some of them may survive truncation.
	mayLive bool
}

// newUnseen bounds the tokens not shown. The list is the top of the vocabulary except
// perhaps its least likely entry, when that is the sampled token: vLLM puts a token drawn
// from outside the top-K in the list in place of the K-th, so only the entries above it
// bound the rest.
func newUnseen(cs []Candidate, sampled int, shown float64, vocab int) unseen {
	u := unseen{mass: 1 - shown, count: math.Inf(1)}
	if u.mass < 1e-9 {
		u.mass = 0 // what exp(log p) rounds away: the list is the whole vocabulary
	}
	prefix := len(cs)
	if sampled >= 0 && cs[sampled].Logprob <= cs[len(cs)-1].Logprob {
		prefix--
	}
	u.cap, u.slack = u.mass, capSlack
	if prefix > 0 && cs[prefix-1].Raw > 0 && cs[prefix-1].Raw < u.mass {
		u.cap, u.slack = cs[prefix-1].Raw, 0
	}
	if vocab > 0 {
		u.count = float64(max(0, vocab-len(cs)))
		if u.count*u.cap < u.mass {
			u.count = math.Inf(1) // that few cannot hold the mass: the size is wrong, not the logprobs
		}
	}
	u.mayLive = u.mass > 0
	return u
}

// capSlack is how close to the mass not shown a probability may come and still tie with
// it: the logprobs are float32, and the mass is what they leave of 1.
const capSlack = 1e-6

// below reports whether every one of them is less likely than raw probability q.
func (u unseen) below(q float64) bool { return u.mass == 0 || q > u.cap+u.slack }

// above is how many of them can be strictly more likely than raw probability q.
func (u unseen) above(q float64) float64 {
	if u.below(q) {
		return 0
	}
	return min(u.count, math.Ceil(u.mass/q)-1)
}

// weight bounds their total weight sum(p^a) after temperature 1/a, in units of top^a, top
// being the list's most likely raw probability. For a > 1 the sum is largest when the mass
// is packed into as few tokens as the cap allows and smallest when spread over all of
// them; for a < 1 the other way round.
func (u unseen) weight(a, top float64) (lo, hi float64) {
	if u.mass == 0 {
		return 0, 0
	}
	w := func(p float64) float64 {
		if p <= 0 {
			return 0
		}
		return math.Exp(a * (math.Log(p) - math.Log(top)))
	}
	if math.Abs(a-1) < 1e-12 {
		return u.mass / top, u.mass / top
	}
	n := math.Floor(u.mass / u.cap)
	r := u.mass - n*u.cap
	if r < 1e-9*u.mass || math.IsInf(n, 1) {
		// Rounding left over when the mass is a whole number of caps: below temperature 1
		// its weight is negligible, above it p^a would blow it up into a phantom token.
		r = 0
	}
	// n tokens at the cap weigh n * w(cap), worked out in logs: n may overflow, w underflow.
	logN := math.Log(n)
	if math.IsInf(n, 1) {
		logN = math.Log(u.mass) - math.Log(u.cap)
	}
	packed := w(r)
	if n > 0 {
		packed += math.Exp(logN + a*(math.Log(u.cap)-math.Log(top)))
	}
	spread := 0.0
	if a < 1 {
		spread = math.Inf(1)
	}
	if !math.IsInf(u.count, 1) {
		spread = u.count * w(u.mass/u.count)
	}
	if a > 1 {
		return spread, packed
	}
	return packed, spread
}

// greedy: vLLM takes the argmax, ignoring top-k and top-p; a tie is broken by vocabulary
// id, which is unknown.
func greedy(cs []Candidate, u *unseen) {
	for i := range cs {
		c := &cs[i]
		tied := !u.below(c.Raw)
		for j := range cs {
			if j != i && cs[j].Raw == c.Raw {
				tied = true
			}
		}
		switch {
		case c.Raw < cs[0].Raw:
			c.Cut = Greedy
		case tied:
			c.Cut, c.FinalHi = Uncertain, 1
		default:
			c.Cut, c.FinalLo, c.FinalHi = Kept, 1, 1
		}
	}
	u.mayLive = cs[0].Cut != Kept
}

// sample: temperature, then top-k (every logit below the k-th largest is masked, so ties
// with the k-th survive), then top-p (ascending sort, cumulative sum, every token whose
// cumulative probability is <= 1 - top_p masked, the most likely always kept). A token
// survives top-p exactly when the mass ranked above it is below top_p.
func sample(cs []Candidate, u *unseen, s Sampling) {
	a := 1 / s.Temperature
	top := cs[0].Raw
	w := make([]float64, len(cs))
	for i, c := range cs {
		w[i] = math.Exp(a * float64(c.Logprob-cs[0].Logprob))
	}

	// top-k. A token is kept when fewer than k tokens are strictly more likely.
	topK := s.TopK > 0
	surely := make([]bool, len(cs)) // survives top-k for certain
	maybe := make([]bool, len(cs))  // survives top-k for certain or perhaps
	for i, c := range cs {
		surely[i], maybe[i] = true, true
		if !topK {
			continue
		}
		above := 0
		for _, d := range cs {
			if d.Raw > c.Raw {
				above++
			}
		}
		switch {
		case above >= s.TopK:
			surely[i], maybe[i] = false, false
			cs[i].Cut = TopK
		case float64(above)+u.above(c.Raw) >= float64(s.TopK):
			surely[i] = false
		}
	}
	// min-p comes before top-k in vLLM's order, and cuts a suffix of the ranking, so it
	// changes no count above a token that survives it.
	minPUnsure := minP(cs, surely, maybe, u, a, s.MinP)
	// The tokens not shown that survive top-k: all when top-k is off, none when k shown
	// tokens outrank every one of them, else some (0 at least; as many as ties allow).
	zLo, zHi := u.weight(a, top)
	if topK {
		outrank := 0
		for _, c := range cs {
			if u.below(c.Raw) {
				outrank++
			}
		}
		if outrank >= s.TopK || u.mass == 0 {
			zLo, zHi, u.mayLive = 0, 0, false
		} else {
			zLo = 0
		}
	}
	if s.MinP > 0 && u.mass > 0 {
		// Each token not shown is at most cap likely: below min_p of the top one when even
		// cap is; otherwise any of them may be, so none is surely kept.
		if a*math.Log((u.cap+u.slack)/top) < math.Log(s.MinP)-minPTolerance {
			zLo, zHi, u.mayLive = 0, 0, false
		} else {
			zLo = 0
		}
	}
	var keptLo, keptHi float64 // weight surviving top-k among the shown
	for i := range cs {
		if surely[i] {
			keptLo += w[i]
		}
		if maybe[i] {
			keptHi += w[i]
		}
	}

	// top-p on each shown token that may survive top-k, from bounds on the weight above it
	// (aLo, aHi) and at or below it (rLo, rHi); equal ones may sort either way.
	topP := s.TopP < 1
	for i, c := range cs {
		if !maybe[i] {
			continue
		}
		fate := Kept
		if topP {
			aLo, aHi, rLo, rHi := 0.0, 0.0, w[i], w[i]
			for j, d := range cs {
				if j == i || !maybe[j] {
					continue
				}
				switch {
				case d.Raw > c.Raw:
					aHi += w[j]
					if surely[j] {
						aLo += w[j]
					}
				case d.Raw < c.Raw:
					rHi += w[j]
					if surely[j] {
						rLo += w[j]
					}
				default:
					aHi += w[j]
					rHi += w[j]
				}
			}
			var lo, hi float64 // bounds on the mass above, as a fraction
			if u.below(c.Raw) || zHi == 0 {
				// Every token not shown ranks below.
				lo = aLo / (aLo + rHi + zHi)
				hi = aHi / (aHi + rLo + zLo)
			} else {
				// Any of them may rank above or below.
				lo = aLo / (aLo + rHi + zHi)
				hi = (aHi + zHi) / (aHi + zHi + rLo)
				if math.IsInf(zHi, 1) {
					hi = 1
				}
			}
			strictTop := aHi == 0 && u.below(c.Raw)
			switch {
			case strictTop, hi < s.TopP-cutTolerance:
				fate = Kept
			case lo > s.TopP+cutTolerance:
				fate = TopP
			default:
				fate = Uncertain
			}
		}
		if minPUnsure[i] {
			fate = Uncertain
		}
		if !surely[i] {
			switch fate {
			case TopP:
				fate = TopKOrP
			default:
				fate = Uncertain
			}
		}
		cs[i].Cut = fate
	}

	// The tokens not shown are all cut once a shown token above every one of them is, or
	// once the shown tokens above every one of them hold more than top_p.
	var over, rest float64
	for i, c := range cs {
		if c.Cut.IsCut() && u.below(c.Raw) {
			u.mayLive = false
		}
		switch {
		case surely[i] && u.below(c.Raw):
			over += w[i]
		case maybe[i]:
			rest += w[i]
		}
	}
	if topP && over/(over+rest+zHi) > s.TopP+cutTolerance {
		u.mayLive = false
	}

	// The survivors' total weight: the kept shown tokens, what may survive among the
	// uncertain ones and the tokens not shown, and at least top_p of what top-k left
	// (the kept set's mass reaches top_p, or everything is kept).
	var kept, undecided float64
	for i, c := range cs {
		switch c.Cut {
		case Kept:
			kept += w[i]
		case Uncertain:
			undecided += w[i]
		}
	}
	floor := keptLo + zLo
	if topP {
		floor *= s.TopP
	}
	sLo, sHi := max(kept, floor), kept+undecided
	if u.mayLive {
		sHi = min(sHi+zHi, keptHi+zHi)
	}
	for i := range cs {
		switch cs[i].Cut {
		case Kept:
			cs[i].FinalLo, cs[i].FinalHi = share(w[i], sHi), share(w[i], sLo)
		case Uncertain:
			cs[i].FinalHi = share(w[i], max(kept+w[i], floor))
		}
	}
}

// minPTolerance is how close (in log-probability) to min_p's threshold a token may lie
// before its fate is left undecided: the logprobs are float32.
const minPTolerance = 1e-4

// minP marks the candidates vLLM's min-p cuts (after temperature: a token whose weight
// relative to the most likely one, exp(a*(lp - lp_max)), is below minP), clearing their
// surely and maybe; it returns which are too close to call, or depend on whether a token
// not shown is the most likely one. a is 1/temperature.
func minP(cs []Candidate, surely, maybe []bool, u *unseen, a, minP float64) []bool {
	unsure := make([]bool, len(cs))
	if minP <= 0 || len(cs) == 0 {
		return unsure
	}
	top := cs[0].Raw
	// The most likely token of the vocabulary is cs[0] unless one not shown may outrank it.
	hiMax := top
	if !u.below(top) {
		hiMax = max(top, u.cap+u.slack)
	}
	lm := math.Log(minP)
	for i, c := range cs {
		lo, hi := a*math.Log(c.Raw/hiMax), a*math.Log(c.Raw/top)
		switch {
		case hi < lm-minPTolerance:
			cs[i].Cut, surely[i], maybe[i] = MinP, false, false
		case lo >= lm+minPTolerance:
		default:
			surely[i], unsure[i] = false, true
		}
	}
	return unsure
}

// share is weight w's share of a total z, at most 1 (0 for no weight: a probability that
// underflowed).
func share(w, z float64) float64 {
	if w == 0 {
		return 0
	}
	return min(1, w/z)
}

// sampledIndex finds the sampled token among the candidates: same text and (to rounding)
// the same logprob; failing that, the first with the same text (completions key their
// alternatives by text, so a JSON round trip may be all that differs). -1 when absent.
func sampledIndex(cs []Candidate, tok *backend.Token) int {
	if tok == nil {
		return -1
	}
	textOnly := -1
	for i, c := range cs {
		if c.Text != tok.Text {
			continue
		}
		if tok.Logprob.Known() && math.Abs(float64(c.Logprob-tok.Logprob)) <= 1e-6*max(1, math.Abs(float64(tok.Logprob))) {
			return i
		}
		if textOnly < 0 {
			textOnly = i
		}
	}
	return textOnly
}
