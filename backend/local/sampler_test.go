package local

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

var negInf = float32(math.Inf(-1))

func kept(l []float32) []int {
	var ids []int
	for i, v := range l {
		if v != negInf {
			ids = append(ids, i)
		}
	}
	return ids
}

func TestRepetitionPenaltyVLLMRule(t *testing.T) {
	l := []float32{2, -2, 2, -2, 0}
	seen := []bool{true, true, false, false, true}
	applyPenalties(l, seen, make([]int32, 5), Sampling{RepetitionPenalty: 2})
	want := []float32{1, -4, 2, -2, 0}
	for i := range want {
		if l[i] != want[i] {
			t.Fatalf("repetition penalty: got %v, want %v (positive divided, negative multiplied, unseen untouched)", l, want)
		}
	}
}

func TestPresenceFrequencyPenalty(t *testing.T) {
	l := []float32{1, 1, 1}
	seen := []bool{true, true, false} // token 0 only in the prompt, token 1 twice in the output
	counts := []int32{0, 2, 0}
	applyPenalties(l, seen, counts, Sampling{RepetitionPenalty: 1, PresencePenalty: 0.5, FrequencyPenalty: 0.25})
	if l[0] != 1 || l[1] != 0 || l[2] != 1 {
		t.Fatalf("got %v, want [1 0 1]", l)
	}
}

func TestTopKKeepsTies(t *testing.T) {
	l := []float32{1, 3, 2, 2, 0}
	applyTopKTopP(l, 2, 1, new(topScratch))
	if got := kept(l); !equalInts(got, []int{1, 2, 3}) {
		t.Fatalf("top_k=2 kept %v, want [1 2 3] (ties at the k-th value stay, as in vLLM)", got)
	}
	l = []float32{1, 3, 2}
	applyTopKTopP(l, 5, 1, new(topScratch))
	if got := kept(l); len(got) != 3 {
		t.Fatalf("top_k larger than vocab kept %v", got)
	}
}

// TestKthLargest checks both ways of finding the k-th largest value (the
// bounded insertion up to k=64, a sort above), ties and -inf included.
func TestKthLargest(t *testing.T) {
	l := make([]float32, 300)
	for i := range l {
		l[i] = float32((i*37)%101) * 0.5 // every value repeats
	}
	l[7], l[8] = negInf, negInf
	sorted := slices.Clone(l)
	slices.Sort(sorted)
	var sc topScratch
	for _, k := range []int{1, 2, 3, 50, 64, 65, 200, 299, 300} {
		if got, want := sc.kthLargest(l, k), sorted[len(sorted)-k]; got != want {
			t.Errorf("k=%d: got %v, want %v", k, got, want)
		}
	}
}

func TestTopP(t *testing.T) {
	ln := func(p float64) float32 { return float32(math.Log(p)) }
	base := []float32{ln(0.25), ln(0.5), ln(0.1), ln(0.15)}
	cases := []struct {
		p    float64
		want []int
	}{
		// vLLM masks tokens whose ascending cumulative sum (.1 .25 .5 1) is <= 1-p.
		{0.45, []int{1}},          // mask <= .55: .1 .25 .5
		{0.6, []int{0, 1}},        // mask <= .4: .1 .25
		{0.8, []int{0, 1, 3}},     // mask <= .2: .1
		{0.95, []int{0, 1, 2, 3}}, // mask <= .05: none
		{0.01, []int{1}},          // the largest always stays
	}
	for _, c := range cases {
		l := append([]float32(nil), base...)
		applyTopKTopP(l, 0, c.p, new(topScratch))
		if got := kept(l); !equalInts(got, c.want) {
			t.Errorf("top_p=%v kept %v, want %v", c.p, got, c.want)
		}
	}
	// top-k applies before top-p: after k=2, probabilities are 2/3, 1/3.
	l := append([]float32(nil), base...)
	applyTopKTopP(l, 2, 0.6, new(topScratch))
	if got := kept(l); !equalInts(got, []int{1}) {
		t.Errorf("top_k=2 then top_p=0.6 kept %v, want [1]", got)
	}
	// Tokens tied at the cut are kept together (vLLM's order among ties is
	// unspecified).
	l = []float32{ln(0.5), ln(0.25), ln(0.125), ln(0.125)}
	applyTopKTopP(l, 0, 0.8, new(topScratch))
	if got := kept(l); len(got) != 4 {
		t.Errorf("top_p=0.8 with a tie at the cut kept %v", got)
	}
	// Many tiny tokens below the sorting cut-off still count.
	big := make([]float32, 4096)
	for i := range big {
		big[i] = float32(-i) * 0.001
	}
	applyTopKTopP(big, 0, 0.5, new(topScratch))
	n := len(kept(big))
	var z, before float64
	for i := range big {
		z += math.Exp(float64(-i) * 0.001)
	}
	want := 0
	for i := 0; before < 0.5*z; i++ {
		before += math.Exp(float64(-i) * 0.001)
		want++
	}
	if n < want-1 || n > want+1 {
		t.Errorf("top_p=0.5 on a flat 4096-way distribution kept %d, want about %d", n, want)
	}
}

func TestMinP(t *testing.T) {
	ln := func(p float64) float32 { return float32(math.Log(p)) }
	l := []float32{ln(0.5), ln(0.3), ln(0.1), ln(0.1)}
	applyMinP(l, 0.5) // keep p >= 0.25
	if got := kept(l); !equalInts(got, []int{0, 1}) {
		t.Fatalf("min_p=0.5 kept %v", got)
	}
}

func TestGreedyAppliesPenaltiesOnly(t *testing.T) {
	s := newSampler(Sampling{Temperature: 0, TopK: 1, TopP: 0.1, RepetitionPenalty: 4}, 3, []int{0}, nil, 1)
	// Token 0 wins raw but is penalised (seen in the prompt): 3/4 < 1.
	if got := s.pick([]float32{3, 1, 0.5}, nil); got != 1 {
		t.Fatalf("greedy with repetition penalty picked %d, want 1", got)
	}
	if got := s.pick([]float32{0.5, 1, 3}, []int{2}); got != 1 {
		t.Fatalf("greedy with token 2 banned picked %d, want 1", got)
	}
}

func TestTemperatureChangesDistribution(t *testing.T) {
	logits := []float32{1, 0}
	count := func(temp float64) int {
		s := newSampler(Sampling{Temperature: temp, TopP: 1, RepetitionPenalty: 1}, 2, nil, nil, 42)
		n := 0
		for i := 0; i < 4000; i++ {
			if s.pick(logits, nil) == 0 {
				n++
			}
		}
		return n
	}
	// p(0) = sigmoid(1/T): T=1 -> 0.731, T=0.5 -> 0.881, T=2 -> 0.622.
	for _, c := range []struct {
		temp float64
		p    float64
	}{{1, 0.731}, {0.5, 0.881}, {2, 0.622}} {
		got := float64(count(c.temp)) / 4000
		if math.Abs(got-c.p) > 0.03 {
			t.Errorf("temperature %v: token 0 drawn %.3f of the time, want %.3f", c.temp, got, c.p)
		}
	}
	// Below 0.01 (but not greedy) the temperature is raised to 0.01, so a
	// 0.05 gap in logits is not a certainty.
	s := newSampler(Sampling{Temperature: 1e-4, TopP: 1, RepetitionPenalty: 1}, 2, nil, nil, 3)
	n := 0
	for i := 0; i < 2000; i++ {
		if s.pick([]float32{0.01, 0}, nil) == 1 {
			n++
		}
	}
	if n < 300 { // p(1) = sigmoid(-1) = 0.27
		t.Errorf("temperature 1e-4 acted as %d/2000 for the runner-up; want it raised to 0.01 (about 540)", n)
	}
}

func TestSeedReproduces(t *testing.T) {
	logits := []float32{0.1, 0.2, 0.3, 0.4, 0.5}
	draw := func(seed uint64) []int {
		s := newSampler(Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1}, 5, nil, nil, seed)
		var out []int
		for i := 0; i < 20; i++ {
			out = append(out, s.pick(logits, nil))
		}
		return out
	}
	if !equalInts(draw(7), draw(7)) {
		t.Fatal("same seed gave different draws")
	}
	if equalInts(draw(7), draw(8)) {
		t.Fatal("different seeds gave identical draws")
	}
}

func TestLogSoftmaxTopRank(t *testing.T) {
	l := []float32{1, 3, 2, 3}
	lp := make([]float32, 4)
	logSoftmax(lp, l)
	var z float64
	for _, v := range lp {
		z += math.Exp(float64(v))
	}
	if math.Abs(z-1) > 1e-6 {
		t.Fatalf("probabilities sum to %v", z)
	}
	if got := topLogprobs(lp, 3, nil); !equalInts(got, []int{1, 3, 2}) {
		t.Fatalf("top 3 = %v, want [1 3 2] (ties by lower id)", got)
	}
	if r := rankOf(lp, 2); r != 3 {
		t.Fatalf("rank of id 2 = %d, want 3", r)
	}
	if r := rankOf(lp, 3); r != 1 {
		t.Fatalf("rank of a tied best = %d, want 1", r)
	}
}

func TestHeldForStop(t *testing.T) {
	cases := []struct {
		text  string
		stops []string
		want  int
	}{
		{"hello wor", []string{"world"}, 3},
		{"hello", []string{"world"}, 0},
		{"abab", []string{"abc"}, 2},
		{"x}", []string{"}\n", "END"}, 1},
		{"xEN", []string{"}\n", "END"}, 2},
	}
	for _, c := range cases {
		if got := heldForStop([]byte(c.text), c.stops); got != c.want {
			t.Errorf("heldForStop(%q, %q) = %d, want %d", c.text, c.stops, got, c.want)
		}
	}
}

// TestOrderOfOperations pins vLLM's order: penalties, then temperature,
// then top-k/top-p on the tempered distribution.
func TestOrderOfOperations(t *testing.T) {
	freq := func(cfg Sampling, logits []float32, prompt []int, observed []int) float64 {
		s := newSampler(cfg, len(logits), prompt, nil, 5)
		for _, o := range observed {
			s.observe(o)
		}
		n := 0
		const draws = 4000
		for i := 0; i < draws; i++ {
			if s.pick(logits, nil) == 0 {
				n++
			}
		}
		return float64(n) / draws
	}
	// Presence penalty before temperature: (1-0.5)/0.5 = 1 against 0, so
	// p(0) = sigmoid(1) = 0.731 (temperature first would give 0.818).
	got := freq(Sampling{Temperature: 0.5, TopP: 1, RepetitionPenalty: 1, PresencePenalty: 0.5}, []float32{1, 0}, nil, []int{0})
	if math.Abs(got-0.731) > 0.025 {
		t.Errorf("presence penalty then temperature: p(0) = %.3f, want 0.731", got)
	}
	// Temperature before top-p: at T=1 probabilities .6/.4 and top_p .56
	// drop token 1; at T=2 they are .55/.45 and both stay.
	ln := func(p float64) float32 { return float32(math.Log(p)) }
	l := []float32{ln(0.6), ln(0.4)}
	if got := freq(Sampling{Temperature: 1, TopP: 0.56, RepetitionPenalty: 1}, l, nil, nil); got != 1 {
		t.Errorf("T=1 top_p=.56: p(0) = %.3f, want 1", got)
	}
	if got := freq(Sampling{Temperature: 2, TopP: 0.56, RepetitionPenalty: 1}, l, nil, nil); math.Abs(got-0.55) > 0.03 {
		t.Errorf("T=2 top_p=.56: p(0) = %.3f, want 0.55 (top-p on the tempered distribution)", got)
	}
	// Repetition penalty counts prompt tokens too (presence only output).
	if got := freq(Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 2}, []float32{2, 1}, []int{0}, nil); math.Abs(got-0.5) > 0.03 {
		t.Errorf("repetition penalty on a prompt token: p(0) = %.3f, want 0.5 (2/2 = 1 against 1)", got)
	}
}

// pickProcessed runs one pick and returns the token and the processed
// logits it left in the sampler (what processed_logits reports).
func pickProcessed(cfg Sampling, logits []float32, prompt, observed []int, badWords [][]int, banned []int) (int, []float32) {
	s := newSampler(cfg, len(logits), prompt, badWords, 9)
	for _, o := range observed {
		s.observe(o)
	}
	tok := s.pick(logits, banned)
	return tok, append([]float32(nil), s.work...)
}

func equalF32(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return x == y })
}

// Each case is one field on hand-made logits, with the processed logits
// worked out by hand in vLLM's order.
func TestSamplerFieldsInVLLMOrder(t *testing.T) {
	greedy := Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1}
	with := func(s Sampling, edit func(*Sampling)) Sampling { edit(&s); return s }
	cases := []struct {
		name     string
		cfg      Sampling
		logits   []float32
		prompt   []int
		observed []int
		badWords [][]int
		banned   []int
		tok      int
		want     []float32
	}{
		{name: "logit_bias added, clamped to ±100",
			cfg:    with(greedy, func(s *Sampling) { s.LogitBias = map[int]float64{0: 5, 2: -250} }),
			logits: []float32{1, 2, 3}, tok: 0, want: []float32{6, 2, -97}},
		{name: "logit_bias before the repetition penalty: (1+2)/2, not 1/2+2",
			cfg:    with(greedy, func(s *Sampling) { s.LogitBias = map[int]float64{0: 2}; s.RepetitionPenalty = 2 }),
			logits: []float32{1, 0}, prompt: []int{0}, tok: 0, want: []float32{1.5, 0}},
		{name: "frequency per occurrence, presence once, output only",
			cfg:    with(greedy, func(s *Sampling) { s.FrequencyPenalty = 0.5; s.PresencePenalty = 0.25 }),
			logits: []float32{1, 1, 1}, prompt: []int{0}, observed: []int{1, 1, 2}, tok: 0, want: []float32{1, -0.25, 0.25}},
		{name: "negative penalties encourage repeats",
			cfg:    with(greedy, func(s *Sampling) { s.FrequencyPenalty = -1; s.PresencePenalty = -0.5 }),
			logits: []float32{1, 1}, observed: []int{1}, tok: 1, want: []float32{1, 2.5}},
		{name: "min_tokens' ban holds against a +100 bias",
			cfg:    with(greedy, func(s *Sampling) { s.LogitBias = map[int]float64{0: 100} }),
			logits: []float32{5, 1}, banned: []int{0}, tok: 1, want: []float32{negInf, 1}},
		{name: "bad words: one-token word always, two-token word after its first token",
			cfg: greedy, logits: []float32{1, 2, 3, 4, 5}, observed: []int{3},
			badWords: [][]int{{4}, {3, 2}, {0, 1}}, tok: 3, want: []float32{1, 2, negInf, 4, negInf}},
		{name: "min_p after temperature: at T=0.5 the ratios are e^-2 and e^-4",
			cfg:    Sampling{Temperature: 0.5, TopP: 1, RepetitionPenalty: 1, MinP: 0.1},
			logits: []float32{2, 1, 0}, want: []float32{4, 2, negInf}},
		{name: "min_p at T=1 keeps ratios e^-1 and e^-2 over 0.1",
			cfg:    Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MinP: 0.1},
			logits: []float32{2, 1, 0}, want: []float32{2, 1, 0}},
		{name: "greedy ignores min_p, top_k and top_p and the temperature",
			cfg:    Sampling{Temperature: 0, TopK: 1, TopP: 0.1, MinP: 0.99, RepetitionPenalty: 1},
			logits: []float32{3, 2.9, 1}, tok: 0, want: []float32{3, 2.9, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, work := pickProcessed(c.cfg, c.logits, c.prompt, c.observed, c.badWords, c.banned)
			if !equalF32(work, c.want) {
				t.Fatalf("processed logits %v, want %v", work, c.want)
			}
			if c.cfg.Greedy() && tok != c.tok {
				t.Fatalf("picked %d, want %d", tok, c.tok)
			}
			if !c.cfg.Greedy() && work[tok] == negInf {
				t.Fatalf("drew %d, a token that was cut", tok)
			}
		})
	}
}

// vLLM applies min_p before top-k/top-p, so top-p sees the distribution that
// min_p renormalized.
func TestMinPBeforeTopP(t *testing.T) {
	ln := func(p float64) float32 { return float32(math.Log(p)) }
	l := []float32{ln(0.4), ln(0.3), ln(0.2), ln(0.1)}
	cfg := Sampling{Temperature: 1, TopP: 0.75, MinP: 0.3, RepetitionPenalty: 1}
	// min_p keeps p >= 0.12: .4 .3 .2 (renormalized .44 .33 .22); top_p .75
	// masks ascending sums <= .25, so .22 goes. Top-p first would keep 0-2.
	_, work := pickProcessed(cfg, l, nil, nil, nil, nil)
	if got := kept(work); !equalInts(got, []int{0, 1}) {
		t.Fatalf("kept %v, want [0 1]", got)
	}
}

func TestApplyBadWordsLooksAtTheOutputOnly(t *testing.T) {
	l := []float32{0, 0, 0}
	applyBadWords(l, [][]int{{2, 1}, {0, 2, 1}}, nil)
	if got := kept(l); len(got) != 3 {
		t.Fatalf("with no output yet a multi-token word blocked %v", l)
	}
	applyBadWords(l, [][]int{{0, 2, 1}}, []int{2})
	if got := kept(l); len(got) != 3 {
		t.Fatalf("a partial prefix match blocked a token: %v", l)
	}
	applyBadWords(l, [][]int{{0, 2, 1}}, []int{7, 0, 2})
	if got := kept(l); !equalInts(got, []int{0, 2}) {
		t.Fatalf("the whole prefix at the end of the output: kept %v, want [0 2]", got)
	}
}

// vLLM's update_from_tokenizer: each word lstripped and once, the spaced form
// only when it starts with another token and is as long.
func TestBadWordIDs(t *testing.T) {
	tok := newTestModel(t).Model.Tok
	enc := tok.Encode
	ids, err := badWordIDs(tok, []string{"in", " main", "in"})
	if err != nil {
		t.Fatal(err)
	}
	// "in" and " in" are one token each; "main" is three tokens, " main" one.
	want := [][]int{enc("in"), enc(" in"), enc("main")}
	if len(enc("in")) != 1 || len(enc(" in")) != 1 || len(enc("main")) != 3 || len(enc(" main")) != 1 {
		t.Fatalf("the test tokenizer changed: %v %v %v %v", enc("in"), enc(" in"), enc("main"), enc(" main"))
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	if _, err := badWordIDs(tok, []string{" \t"}); err == nil || !strings.Contains(err.Error(), "at least one token") {
		t.Fatalf("a word of whitespace: %v", err)
	}
}
