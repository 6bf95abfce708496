package local

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/params"
)

// A +100 bias on EOS makes it the greedy choice whenever it is allowed:
// min_tokens masks it (with ignore_eos too, as vLLM's all_stop_token_ids hold
// EOS either way), then it ends the sample, or with ignore_eos does not.
func TestGenerateLogitBiasMinTokensIgnoreEOS(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	eos := m.Config.EOSID
	r := baseRequest(m, "func main() {", 1)
	r.Sampling.Temperature = 0
	r.Sampling.LogitBias = map[int]float64{eos: 100}
	r.MaxTokens = 8

	s := generate(t, m, r).res.Samples[0]
	if len(s.TokenIDs) != 1 || s.TokenIDs[0] != eos || s.Finish != FinishStop {
		t.Fatalf("biased EOS: tokens %v finish %q, want EOS at once", s.TokenIDs, s.Finish)
	}
	r.MinTokens = 3
	s = generate(t, m, r).res.Samples[0]
	if len(s.TokenIDs) != 4 || s.TokenIDs[3] != eos || s.Finish != FinishStop || indexOf(s.TokenIDs[:3], eos) >= 0 {
		t.Fatalf("min_tokens 3: tokens %v finish %q, want three others then EOS", s.TokenIDs, s.Finish)
	}
	r.IgnoreEOS = true
	s = generate(t, m, r).res.Samples[0]
	if len(s.TokenIDs) != 8 || s.Finish != FinishLength || indexOf(s.TokenIDs[:3], eos) >= 0 || s.TokenIDs[3] != eos {
		t.Fatalf("min_tokens 3 with ignore_eos: tokens %v finish %q, want three others, then EOS on to max_tokens", s.TokenIDs, s.Finish)
	}
}

func indexOf(ids []int, id int) int {
	for i, v := range ids {
		if v == id {
			return i
		}
	}
	return -1
}

// A bad word that is one token never appears, even where greedy took it.
func TestGenerateBadWords(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	r := baseRequest(m, "func main() {", 1)
	r.Sampling.Temperature = 0
	r.MaxTokens = 16
	plain := generate(t, m, r).res.Samples[0]
	var word string
	var banned int
	for _, id := range plain.TokenIDs {
		text := m.Tok.TokenText(id)
		ids, err := badWordIDs(m.Tok, []string{text})
		if err != nil || m.Tok.IsSpecial(id) || strings.TrimSpace(text) == "" {
			continue
		}
		for _, w := range ids {
			if len(w) == 1 && w[0] == id {
				word, banned = text, id
			}
		}
		if word != "" {
			break
		}
	}
	if word == "" {
		t.Skipf("no greedy token of %v is a one-token word", plain.TokenIDs)
	}
	r.Sampling.BadWords = []string{word}
	s := generate(t, m, r).res.Samples[0]
	if indexOf(s.TokenIDs, banned) >= 0 {
		t.Fatalf("bad word %q (token %d) generated: %v", word, banned, s.TokenIDs)
	}
}

func TestCheckAdvanced(t *testing.T) {
	m := newTestModel(t).Model
	r := baseRequest(m, "abc", 1)
	r.Sampling.LogitBias = map[int]float64{m.Config.VocabSize: 1, -1: 2, 3: 1}
	var re *RequestError
	_, err := m.Generate(context.Background(), r, func(Delta) {})
	if !errors.As(err, &re) || re.Param != "logit_bias" || !strings.Contains(err.Error(), "token_id(s) [-1, 277] in logit_bias contain out-of-vocab token ids. Vocabulary size: 277") {
		t.Fatalf("out-of-vocab bias: %v", err)
	}
	r = baseRequest(m, "abc", 1)
	r.Sampling.BadWords = []string{"x", ""}
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) || re.Param != "bad_words" || !strings.Contains(err.Error(), "cannot contain an empty string") {
		t.Fatalf("empty bad word: %v", err)
	}
	r.Sampling.BadWords = []string{"  "}
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) || re.Param != "bad_words" {
		t.Fatalf("bad word of spaces: %v", err)
	}
	r = baseRequest(m, "abc", 1)
	r.LogprobsMode = "processed"
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) || !strings.Contains(err.Error(), "processed_logprobs") {
		t.Fatalf("unknown logprobs mode: %v", err)
	}
}

// vLLM's four logprobs modes against the forward pass: raw values from the
// logits as they are; processed ones from the logits the token was drawn
// from, here top_k 2 at temperature 0.5, so two finite values per step.
func TestGenerateLogprobsModes(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	r := baseRequest(m, "func main() {", 1)
	r.Sampling = Sampling{Temperature: 0.5, TopK: 2, TopP: 1, RepetitionPenalty: 1, Seed: seed(4)}
	r.MaxTokens = 6
	r.Logprobs = params.MaxLogprobs
	run := func(mode LogprobsMode) Sample {
		r.LogprobsMode = mode
		return generate(t, m, r).res.Samples[0]
	}
	raw, rawLogits, proc, procLogits := run(RawLogprobs), run(RawLogits), run(ProcessedLogprobs), run(ProcessedLogits)
	if !equalInts(raw.TokenIDs, proc.TokenIDs) || !equalInts(raw.TokenIDs, rawLogits.TokenIDs) || !equalInts(raw.TokenIDs, procLogits.TokenIDs) {
		t.Fatal("the logprobs mode changed what was sampled")
	}
	seq := append([]int(nil), r.Prompt...)
	for i, id := range raw.TokenIDs {
		logits := tm.referenceLogits(seq)[len(seq)-1]
		seq = append(seq, id)
		best := topIDs(logits, 2)
		kept := func(id int) bool { return id == best[0] || id == best[1] }
		for _, a := range rawLogits.Logprobs[i].Top {
			if d := math.Abs(float64(a.Logprob) - logits[a.ID]); d > 1e-3 {
				t.Fatalf("step %d token %d: raw_logits %v, forward pass %v", i, a.ID, a.Logprob, logits[a.ID])
			}
		}
		for _, a := range procLogits.Logprobs[i].Top {
			switch {
			case !kept(a.ID) && !math.IsInf(float64(a.Logprob), -1):
				t.Fatalf("step %d token %d cut by top_k: processed_logits %v, want -inf", i, a.ID, a.Logprob)
			case kept(a.ID) && math.Abs(float64(a.Logprob)-logits[a.ID]/0.5) > 2e-3:
				t.Fatalf("step %d token %d: processed_logits %v, want logit/0.5 = %v", i, a.ID, a.Logprob, logits[a.ID]/0.5)
			}
		}
		var sum float64
		n := 0
		for _, a := range proc.Logprobs[i].Top {
			if kept(a.ID) {
				sum += math.Exp(float64(a.Logprob))
				n++
			} else if !math.IsInf(float64(a.Logprob), -1) {
				t.Fatalf("step %d token %d cut by top_k: processed_logprobs %v, want -inf", i, a.ID, a.Logprob)
			}
		}
		if n != 2 || math.Abs(sum-1) > 1e-5 {
			t.Fatalf("step %d: processed logprobs of the %d kept tokens sum to %v, want 2 summing to 1", i, n, sum)
		}
		if proc.Logprobs[i].Rank > 2 || !kept(id) {
			t.Fatalf("step %d: drew %d, rank %d among the processed values", i, id, proc.Logprobs[i].Rank)
		}
		if raw.Logprobs[i].Logprob >= 0 || raw.Logprobs[i].Logprob == proc.Logprobs[i].Logprob {
			t.Fatalf("step %d: raw logprob %v, processed %v", i, raw.Logprobs[i].Logprob, proc.Logprobs[i].Logprob)
		}
	}
}

// Prompt tokens are never sampled: their scores are the raw logits in the two logits
// modes and the raw logprobs otherwise, as vLLM's model runner gives them.
func TestPromptScoresFollowTheMode(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	r := baseRequest(m, "x := 1\n", 1)
	r.Sampling = Sampling{Temperature: 0.5, TopK: 1, TopP: 1, RepetitionPenalty: 1.5, Seed: seed(1)}
	r.MaxTokens, r.PromptLogprobs = 1, 2
	ref := tm.referenceLogits(r.Prompt)
	for _, mode := range []LogprobsMode{RawLogprobs, RawLogits, ProcessedLogprobs, ProcessedLogits} {
		r.LogprobsMode = mode
		pl := generate(t, m, r).res.PromptLogprobs
		for i := 1; i < len(r.Prompt); i++ {
			want := ref[i-1][r.Prompt[i]]
			if !mode.logits() {
				var z float64
				for _, v := range ref[i-1] {
					z += math.Exp(v)
				}
				want -= math.Log(z)
			}
			if math.Abs(float64(pl[i].Logprob)-want) > 1e-3 {
				t.Fatalf("%s, prompt position %d: %v, want %v", mode, i, pl[i].Logprob, want)
			}
		}
	}
}

// AlsoProcessed gives, beside the mode's values, what processed_logprobs gives for the
// same draw: the token's and each alternative's, -inf where cut.
func TestGenerateAlsoProcessed(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	r := baseRequest(m, "func main() {", 2)
	r.Sampling = Sampling{Temperature: 0.7, TopK: 3, TopP: 0.9, RepetitionPenalty: 1.2, PresencePenalty: 0.5, Seed: seed(8)}
	r.MaxTokens, r.Logprobs = 8, 6
	r.LogprobsMode = ProcessedLogprobs
	want := generate(t, m, r).res.Samples
	for _, mode := range []LogprobsMode{RawLogprobs, RawLogits, ProcessedLogprobs} {
		r.LogprobsMode, r.AlsoProcessed = mode, true
		got := generate(t, m, r).res.Samples
		for s := range got {
			for i, tl := range got[s].Logprobs {
				w := want[s].Logprobs[i]
				pr := tl.Processed
				if pr == nil || pr.Logprob != w.Logprob || len(pr.Top) != len(tl.Top) {
					t.Fatalf("%s sample %d token %d: processed %+v, want %v", mode, s, i, pr, w.Logprob)
				}
				wv := map[int]float32{}
				for _, a := range w.Top {
					wv[a.ID] = a.Logprob
				}
				for j, a := range tl.Top {
					v, listed := wv[a.ID]
					if listed && pr.Top[j] != v || !listed && !math.IsInf(float64(pr.Top[j]), -1) {
						t.Fatalf("%s sample %d token %d, alternative %d: processed %v, want %v (listed %v)", mode, s, i, a.ID, pr.Top[j], v, listed)
					}
				}
			}
		}
	}
	r.AlsoProcessed = false
	if tl := generate(t, m, r).res.Samples[0].Logprobs[0]; tl.Processed != nil {
		t.Fatal("processed values not asked for")
	}
}

// vLLM caps the sequences bad words become (VLLM_MAX_NUM_BAD_WORDS, 128).
func TestBadWordsCap(t *testing.T) {
	tm := newTestModel(t)
	var words []string
	for i := 0; i < 200; i++ {
		words = append(words, "w"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	ids, err := tm.Model.BadWordIDs(words)
	var re *RequestError
	if !errors.As(err, &re) || re.Param != "bad_words" || re.Msg != "Too many bad words after tokenization: 129. The max number is 128." {
		t.Fatalf("200 words: %d sequences, %v", len(ids), err)
	}
	if ids, err := tm.Model.BadWordIDs(words[:20]); err != nil || len(ids) < 20 {
		t.Fatalf("20 words: %d sequences, %v", len(ids), err)
	}
}
