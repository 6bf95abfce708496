package local

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/twinkle-sh/twinkle/params"
)

// Sampling is what decides the next token, with vLLM's meaning for every
// field.
type Sampling struct {
	// Temperature below 1e-5 is greedy; [1e-5, 0.01) is raised to 0.01 as
	// vLLM does.
	Temperature float64
	// TopK of -1 or 0 is off.
	TopK int
	// TopP in (0, 1]; 1 is off.
	TopP float64
	// MinP in [0, 1]; 0 is off.
	MinP float64
	// RepetitionPenalty applies to tokens seen in the prompt or the output:
	// positive logits are divided by it, others multiplied. 1 is off.
	RepetitionPenalty float64
	// PresencePenalty and FrequencyPenalty apply to output tokens only.
	PresencePenalty  float64
	FrequencyPenalty float64
	// Seed, when set, makes sample i use Seed+i.
	Seed *int64
}

// Greedy reports whether sampling picks the most likely token (vLLM's
// rule, as params.SamplingParams.IsGreedy).
func (s Sampling) Greedy() bool { return s.Temperature < params.GreedyBelow }

// sampler holds one sample's sampling state.
type sampler struct {
	cfg     Sampling
	rng     *rand.Rand
	inCtx   []bool  // token seen in the prompt or the output
	counts  []int32 // token count in the output
	work    []float32
	top     topScratch
	ex      []float32
	penalty bool
}

func newSampler(cfg Sampling, vocab int, prompt []int, seed uint64) *sampler {
	s := &sampler{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		inCtx:  make([]bool, vocab),
		counts: make([]int32, vocab),
		work:   make([]float32, vocab),
	}
	for _, t := range prompt {
		if t >= 0 && t < vocab {
			s.inCtx[t] = true
		}
	}
	s.penalty = cfg.RepetitionPenalty != 1 || cfg.PresencePenalty != 0 || cfg.FrequencyPenalty != 0
	return s
}

// observe records a generated token for the penalties.
func (s *sampler) observe(tok int) {
	s.inCtx[tok] = true
	s.counts[tok]++
}

// pick chooses the next token from raw logits. banned ids (stop ids before
// min_tokens) get -inf first. Order as vLLM: penalties, temperature, min-p,
// top-k, top-p, then a draw.
func (s *sampler) pick(logits []float32, banned []int) int {
	l := s.work
	copy(l, logits)
	for _, b := range banned {
		l[b] = float32(math.Inf(-1))
	}
	if s.penalty {
		applyPenalties(l, s.inCtx, s.counts, s.cfg)
	}
	if s.cfg.Greedy() {
		return argmax(l)
	}
	t := float32(max(s.cfg.Temperature, 0.01))
	if t != 1 {
		for i := range l {
			l[i] /= t
		}
	}
	if s.cfg.MinP > 0 {
		applyMinP(l, s.cfg.MinP)
	}
	applyTopKTopP(l, s.cfg.TopK, s.cfg.TopP, &s.top)
	return s.draw(l)
}

func applyPenalties(l []float32, inCtx []bool, counts []int32, cfg Sampling) {
	rp := float32(cfg.RepetitionPenalty)
	for i, seen := range inCtx {
		if !seen {
			continue
		}
		if rp != 1 {
			if l[i] > 0 {
				l[i] /= rp
			} else {
				l[i] *= rp
			}
		}
		if c := counts[i]; c > 0 {
			l[i] -= float32(cfg.FrequencyPenalty)*float32(c) + float32(cfg.PresencePenalty)
		}
	}
}

func argmax(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

// applyMinP drops tokens whose probability is below minP times the top
// token's probability.
func applyMinP(l []float32, minP float64) {
	mx := l[argmax(l)]
	// p_i / p_max = exp(l_i - l_max)
	cut := float32(math.Log(minP)) + mx
	for i, v := range l {
		if v < cut {
			l[i] = float32(math.Inf(-1))
		}
	}
}

// topScratch is applyTopKTopP's memory, kept by a sampler so that no token
// allocates.
type topScratch struct {
	ids  []int     // top-k ids (small k)
	vals []float32 // sorted logits: all of them for a large k, then top-p's candidates
	ex   []float64 // top-p: exp(l[i] - max), computed once for the sum and the cut-off
}

// applyTopKTopP is vLLM's apply_top_k_top_p: top-k keeps every logit >=
// the k-th largest (ties kept); top-p then keeps, in descending order, each
// token whose predecessors hold less than p of the probability (vLLM masks
// ascending cumulative sums <= 1-p, which is the same set), always keeping
// the largest. Tokens tied at the cut are all kept. Neither sorts the whole
// vocabulary in the common case.
func applyTopKTopP(l []float32, k int, p float64, sc *topScratch) {
	negInf := float32(math.Inf(-1))
	if k > 0 && k < len(l) {
		kth := sc.kthLargest(l, k)
		for i, v := range l {
			if v < kth {
				l[i] = negInf
			}
		}
	}
	if p >= 1 {
		return
	}
	mx := l[argmax(l)]
	ex := slices.Grow(sc.ex[:0], len(l))[:len(l)]
	sc.ex = ex
	var z float64
	for i, v := range l {
		ex[i] = math.Exp(float64(v - mx))
		z += ex[i]
	}
	// Tokens below eps hold at most (1-p)/2 together, so the descending walk
	// reaches p before them: only the rest need sorting.
	eps := (1 - p) / (2 * float64(len(l)))
	vals := sc.vals[:0]
	for i, v := range l {
		if pr := ex[i] / z; pr >= eps && v != negInf {
			vals = append(vals, v)
		}
	}
	sc.vals = vals
	slices.Sort(vals) // ascending: the walk goes from the end
	cut := vals[0]
	var before float64
	for i := len(vals) - 1; i >= 0 && before < p; i-- {
		cut = vals[i]
		before += math.Exp(float64(vals[i]-mx)) / z
	}
	for i, v := range l {
		if v < cut {
			l[i] = negInf
		}
	}
}

// kthLargest returns the k-th largest value of l (1-based): the last of the
// k best ids for small k, a sort of a copy otherwise (the bounded insertion
// costs len(l)·k).
func (sc *topScratch) kthLargest(l []float32, k int) float32 {
	if k > 64 {
		sc.vals = append(sc.vals[:0], l...)
		slices.Sort(sc.vals)
		return sc.vals[len(sc.vals)-k]
	}
	sc.ids = topLogprobs(l, k, sc.ids)
	return l[sc.ids[k-1]]
}

// draw samples from softmax(l).
func (s *sampler) draw(l []float32) int {
	mx := l[argmax(l)]
	if cap(s.ex) < len(l) {
		s.ex = make([]float32, len(l))
	}
	pr := s.ex[:len(l)]
	for i, v := range l {
		pr[i] = v - mx
	}
	expSlice(pr)
	var z float64
	for _, e := range pr {
		z += float64(e)
	}
	u := s.rng.Float64() * z
	last := 0
	for i, e := range pr {
		if e == 0 {
			continue
		}
		last = i
		if u < float64(e) {
			return i
		}
		u -= float64(e)
	}
	return last
}

// logSoftmax writes log-probabilities of logits into dst: a float32 exp
// and a float64 sum, which matches PyTorch's float32 log_softmax to ~1e-6.
func logSoftmax(dst, logits []float32) {
	mx := logits[argmax(logits)]
	for i, v := range logits {
		dst[i] = v - mx
	}
	expSlice(dst)
	var z float64
	for _, e := range dst {
		z += float64(e)
	}
	lz := float32(math.Log(z))
	for i, v := range logits {
		dst[i] = (v - mx) - lz
	}
}

// topLogprobs returns the k best ids of lp, best first (lower id first on
// ties), reusing buf.
func topLogprobs(lp []float32, k int, buf []int) []int {
	buf = buf[:0]
	if k <= 0 {
		return buf
	}
	for i, v := range lp {
		if len(buf) == k && v <= lp[buf[k-1]] {
			continue
		}
		j := len(buf)
		if j < k {
			buf = append(buf, i)
		} else {
			j = k - 1
		}
		for j > 0 && lp[buf[j-1]] < v {
			buf[j] = buf[j-1]
			j--
		}
		buf[j] = i
	}
	return buf
}

// rankOf is vLLM's rank: 1 + how many tokens are strictly more likely.
func rankOf(lp []float32, id int) int {
	r := 1
	for _, v := range lp {
		if v > lp[id] {
			r++
		}
	}
	return r
}
