package local

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

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
	// LogitBias adds to a token's logit, before the penalties; each bias is
	// clamped to [-100, 100] as vLLM clamps it. Ids must be in the vocabulary
	// (Model.Check).
	LogitBias map[int]float64
	// BadWords are never generated: Generate tokenizes them as vLLM does
	// (badWordIDs) and blocks a word's last token after its earlier ones.
	BadWords []string
	// Seed, when set, makes sample i use Seed+i.
	Seed *int64
}

// Greedy reports whether sampling picks the most likely token (vLLM's
// rule, as params.SamplingParams.IsGreedy).
func (s Sampling) Greedy() bool { return s.Temperature < params.GreedyBelow }

// sampler holds one sample's sampling state.
type sampler struct {
	cfg      Sampling
	rng      *rand.Rand
	inCtx    []bool  // token seen in the prompt or the output
	counts   []int32 // token count in the output
	out      []int   // the output so far, for bad words
	bias     []tokenBias
	badWords [][]int
	// work holds, after pick, vLLM's processed logits: what --logprobs-mode
	// processed_logits returns, and processed_logprobs after a log-softmax.
	work    []float32
	top     topScratch
	ex      []float32
	penalty bool
}

type tokenBias struct {
	id   int
	bias float32
}

// newSampler starts a sample. badWords are the bad words' token ids
// (badWordIDs).
func newSampler(cfg Sampling, vocab int, prompt []int, badWords [][]int, seed uint64) *sampler {
	s := &sampler{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		inCtx:    make([]bool, vocab),
		counts:   make([]int32, vocab),
		work:     make([]float32, vocab),
		badWords: badWords,
	}
	for _, t := range prompt {
		if t >= 0 && t < vocab {
			s.inCtx[t] = true
		}
	}
	for id, b := range cfg.LogitBias {
		if id >= 0 && id < vocab {
			s.bias = append(s.bias, tokenBias{id, float32(params.ClampBias(b))})
		}
	}
	s.penalty = cfg.RepetitionPenalty != 1 || cfg.PresencePenalty != 0 || cfg.FrequencyPenalty != 0
	return s
}

// observe records a generated token for the penalties and bad words.
func (s *sampler) observe(tok int) {
	s.inCtx[tok] = true
	s.counts[tok]++
	if len(s.badWords) > 0 {
		s.out = append(s.out, tok)
	}
}

// pick chooses the next token from raw logits, in the order of vLLM's
// Sampler: bad words; min_tokens' banned ids (the stop ids and EOS) and the
// logit bias; the repetition, frequency and presence penalties; greedy takes
// the argmax there. Otherwise temperature, min-p, top-k, top-p, then a draw.
// Afterwards s.work holds the processed logits, -inf where a token was cut.
func (s *sampler) pick(logits []float32, banned []int) int {
	l := s.work
	copy(l, logits)
	negInf := float32(math.Inf(-1))
	if len(s.badWords) > 0 {
		applyBadWords(l, s.badWords, s.out)
	}
	for _, b := range banned {
		l[b] = negInf
	}
	for _, b := range s.bias {
		l[b.id] += b.bias
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

// applyPenalties is vLLM's apply_penalties: the repetition penalty on tokens
// of the prompt or the output (positive logits divided, the rest
// multiplied), then the frequency penalty times each output token's count,
// then the presence penalty once per output token, each subtracted in turn
// as vLLM does in float32.
func applyPenalties(l []float32, inCtx []bool, counts []int32, cfg Sampling) {
	rp := float32(cfg.RepetitionPenalty)
	fp, pp := float32(cfg.FrequencyPenalty), float32(cfg.PresencePenalty)
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
			// float32() keeps the product rounded on its own: arm64 would
			// otherwise fuse it into the subtraction and differ from amd64.
			l[i] -= float32(fp * float32(c))
			l[i] -= pp
		}
	}
}

// applyBadWords is vLLM's apply_bad_words: a word's last token is blocked
// when the output ends with the word's other tokens, so a one-token word is
// always blocked. Only the output counts, not the prompt.
func applyBadWords(l []float32, words [][]int, out []int) {
	for _, w := range words {
		if len(w) == 0 || len(w) > len(out)+1 {
			continue
		}
		prefix := w[:len(w)-1]
		if slices.Equal(out[len(out)-len(prefix):], prefix) {
			l[w[len(w)-1]] = float32(math.Inf(-1))
		}
	}
}

// maxBadWords is vLLM's VLLM_MAX_NUM_BAD_WORDS default: the most token sequences bad
// words may become.
const maxBadWords = 128

// badWordIDs tokenizes bad words as vLLM's update_from_tokenizer does: each
// word, once, with its leading whitespace stripped, then again after one
// space, the spaced form kept only when it starts with another token and is
// as long. A word that leaves no tokens, or more than maxBadWords sequences,
// is vLLM's 400 (the server adds the words as the value).
func badWordIDs(tok *Tokenizer, words []string) ([][]int, error) {
	var out [][]int
	seen := map[string]bool{}
	add := func(ids []int) error {
		out = append(out, ids)
		if len(out) > maxBadWords {
			return &RequestError{Param: "bad_words", Msg: fmt.Sprintf("Too many bad words after tokenization: %d. The max number is %d.", len(out), maxBadWords)}
		}
		return nil
	}
	for _, w := range words {
		if seen[w] {
			continue
		}
		seen[w] = true
		w = strings.TrimLeftFunc(w, unicode.IsSpace)
		plain := tok.Encode(w)
		if len(plain) == 0 {
			return nil, &RequestError{Param: "bad_words", Msg: "bad_words entries must tokenize to at least one token."}
		}
		if err := add(plain); err != nil {
			return nil, err
		}
		if spaced := tok.Encode(" " + w); len(spaced) == len(plain) && spaced[0] != plain[0] {
			if err := add(spaced); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// BadWordIDs is how Generate tokenizes bad words, for a server that refuses
// bad ones before it starts (the errors are *RequestError, Param "bad_words").
func (m *Model) BadWordIDs(words []string) ([][]int, error) { return badWordIDs(m.Tok, words) }

func argmax(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

// applyMinP is vLLM's min-p: a token whose probability is below minP times
// the top token's is dropped (strictly below: ties with the threshold stay).
// p_i / p_max = exp(l_i - l_max), so the test is l_i - l_max < ln(minP), in
// float64 so the cut does not move with float32 rounding.
func applyMinP(l []float32, minP float64) {
	mx := float64(l[argmax(l)])
	cut := math.Log(minP)
	for i, v := range l {
		if float64(v)-mx < cut {
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
