package local

import (
	"math"
	"math/rand/v2"
	"slices"
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
// rule: temperature below 1e-5).
func (s Sampling) Greedy() bool { return s.Temperature < 1e-5 }

// sampler holds one sample's sampling state.
type sampler struct {
	cfg     Sampling
	rng     *rand.Rand
	inCtx   []bool  // token seen in the prompt or the output
	counts  []int32 // token count in the output
	work    []float32
	order   []cand
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
	s.order = applyTopKTopP(l, s.cfg.TopK, s.cfg.TopP, s.order)
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

// applyTopKTopP is vLLM's apply_top_k_top_p: top-k keeps every logit >=
// the k-th largest (ties kept); top-p then keeps, in descending order, each
// token whose predecessors hold less than p of the probability (vLLM masks
// ascending cumulative sums <= 1-p, which is the same set), always keeping
// the largest. Tokens tied at the cut are all kept. Neither sorts the whole
// vocabulary in the common case.
func applyTopKTopP(l []float32, k int, p float64, scratch []cand) []cand {
	negInf := float32(math.Inf(-1))
	if k > 0 && k < len(l) {
		kth := kthLargest(l, k, scratch)
		for i, v := range l {
			if v < kth {
				l[i] = negInf
			}
		}
	}
	if p >= 1 {
		return scratch
	}
	mx := l[argmax(l)]
	var z float64
	for _, v := range l {
		z += math.Exp(float64(v - mx))
	}
	// Tokens below eps hold at most (1-p)/2 together, so the descending walk
	// reaches p before them: only the rest need sorting.
	eps := (1 - p) / (2 * float64(len(l)))
	scratch = scratch[:0]
	for i, v := range l {
		if pr := math.Exp(float64(v-mx)) / z; pr >= eps && v != negInf {
			scratch = append(scratch, cand{v: v, id: int32(i)})
		}
	}
	slices.SortFunc(scratch, func(a, b cand) int {
		switch {
		case a.v > b.v:
			return -1
		case a.v < b.v:
			return 1
		}
		return 0
	})
	cut := scratch[len(scratch)-1].v
	var before float64
	for _, c := range scratch {
		if before >= p {
			break
		}
		cut = c.v
		before += math.Exp(float64(c.v-mx)) / z
	}
	for i, v := range l {
		if v < cut {
			l[i] = negInf
		}
	}
	return scratch
}

// cand is a logit and its token id.
type cand struct {
	v  float32
	id int32
}

// kthLargest returns the k-th largest value of l (1-based), with a bounded
// insertion buffer for small k and a sort of a copy otherwise.
func kthLargest(l []float32, k int, scratch []cand) float32 {
	if k > 64 {
		vals := make([]float32, len(l))
		copy(vals, l)
		slices.Sort(vals)
		return vals[len(vals)-k]
	}
	top := make([]float32, 0, k)
	for _, v := range l {
		if len(top) == k && v <= top[k-1] {
			continue
		}
		j := len(top)
		if j < k {
			top = append(top, v)
		} else {
			j = k - 1
		}
		for j > 0 && top[j-1] < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = v
	}
	return top[k-1]
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
