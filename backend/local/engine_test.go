package local

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

type run struct {
	res    *Result
	deltas []Delta
}

func generate(t *testing.T, m *Model, r Request) run {
	t.Helper()
	var out run
	res, err := m.Generate(context.Background(), r, func(d Delta) { out.deltas = append(out.deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	out.res = res
	// Streamed text always adds up to the final text, and every sample ends
	// with exactly one finishing delta.
	for i, s := range res.Samples {
		var text strings.Builder
		finishes := 0
		n := 0
		for _, d := range out.deltas {
			if d.Index != i {
				continue
			}
			n++
			text.WriteString(d.Text)
			if d.Finish != "" {
				finishes++
				if d.Finish != s.Finish {
					t.Errorf("sample %d: delta finish %q, result %q", i, d.Finish, s.Finish)
				}
			}
		}
		if text.String() != s.Text {
			t.Errorf("sample %d: streamed text %q != final text %q", i, text.String(), s.Text)
		}
		if finishes != 1 || n != len(s.TokenIDs) {
			t.Errorf("sample %d: %d finishing deltas, %d deltas for %d tokens", i, finishes, n, len(s.TokenIDs))
		}
	}
	return out
}

func baseRequest(m *Model, prompt string, n int) Request {
	return Request{Prompt: m.Tok.Encode(prompt), N: n, Sampling: Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1},
		MaxTokens: 12, Logprobs: -1, PromptLogprobs: -1}
}

func seed(v int64) *int64 { return &v }

func TestGenerateGreedyAndSeeds(t *testing.T) {
	tm := newTestModel(t)
	r := baseRequest(tm.Model, "func main() {", 1)
	r.Sampling.Temperature = 0
	a, b := generate(t, tm.Model, r), generate(t, tm.Model, r)
	if !equalInts(a.res.Samples[0].TokenIDs, b.res.Samples[0].TokenIDs) || len(a.res.Samples[0].TokenIDs) == 0 {
		t.Fatal("greedy differs between runs")
	}
	// Greedy follows the reference argmax at every step.
	seq := append([]int(nil), r.Prompt...)
	for _, id := range a.res.Samples[0].TokenIDs {
		ref := tm.referenceLogits(seq)
		if want := topIDs(ref[len(seq)-1], 1)[0]; want != id && id != tm.Config.EOSID {
			t.Fatalf("greedy picked %d where the reference argmax is %d", id, want)
		}
		seq = append(seq, id)
	}

	r = baseRequest(tm.Model, "func main() {", 4)
	r.Sampling.Seed = seed(100)
	x, y := generate(t, tm.Model, r), generate(t, tm.Model, r)
	distinct := map[string]bool{}
	for i := range x.res.Samples {
		if !equalInts(x.res.Samples[i].TokenIDs, y.res.Samples[i].TokenIDs) {
			t.Fatalf("sample %d differs between runs with the same seed", i)
		}
		distinct[x.res.Samples[i].Text] = true
	}
	if len(distinct) < 2 {
		t.Fatal("4 samples at temperature 1 are all identical")
	}
	// Sample i of seed S is sample 0 of seed S+i.
	r1 := baseRequest(tm.Model, "func main() {", 1)
	r1.Sampling.Seed = seed(102)
	z := generate(t, tm.Model, r1)
	if !equalInts(z.res.Samples[0].TokenIDs, x.res.Samples[2].TokenIDs) {
		t.Fatal("sample 2 of seed 100 differs from sample 0 of seed 102")
	}
}

func TestGenerateLogprobsMatchReference(t *testing.T) {
	tm := newTestModel(t)
	r := baseRequest(tm.Model, "x := 1\n", 2)
	r.Sampling.Seed = seed(5)
	r.Logprobs = 3
	r.PromptLogprobs = 2
	out := generate(t, tm.Model, r)
	V := tm.Config.VocabSize
	logsm := func(l []float64) []float64 {
		mx := l[topIDs(l, 1)[0]]
		var z float64
		for _, v := range l {
			z += math.Exp(v - mx)
		}
		o := make([]float64, V)
		for i, v := range l {
			o[i] = v - mx - math.Log(z)
		}
		return o
	}
	pl := out.res.PromptLogprobs
	if len(pl) != len(r.Prompt) || pl[0] != nil {
		t.Fatalf("prompt logprobs: %d entries, first %v", len(pl), pl[0])
	}
	ref := tm.referenceLogits(r.Prompt)
	for i := 1; i < len(r.Prompt); i++ {
		want := logsm(ref[i-1])
		if pl[i].ID != r.Prompt[i] || math.Abs(float64(pl[i].Logprob)-want[r.Prompt[i]]) > 1e-3 || len(pl[i].Top) != 2 {
			t.Fatalf("prompt position %d: %+v, want logprob %v", i, pl[i], want[r.Prompt[i]])
		}
	}
	for si, s := range out.res.Samples {
		seq := append([]int(nil), r.Prompt...)
		for k, tl := range s.Logprobs {
			want := logsm(tm.referenceLogits(seq)[len(seq)-1])
			if tl.ID != s.TokenIDs[k] || math.Abs(float64(tl.Logprob)-want[tl.ID]) > 1e-3 {
				t.Fatalf("sample %d token %d: logprob %v, reference %v", si, k, tl.Logprob, want[tl.ID])
			}
			top := topIDs(want, 3)
			for j, alt := range tl.Top {
				if math.Abs(float64(alt.Logprob)-want[top[j]]) > 1e-3 {
					t.Fatalf("sample %d token %d: top %d is %v, reference %v", si, k, j, alt, want[top[j]])
				}
			}
			if tl.Rank < 1 || (tl.Rank == 1) != (tl.Logprob >= tl.Top[0].Logprob) {
				t.Fatalf("rank %d for logprob %v with best %v", tl.Rank, tl.Logprob, tl.Top[0].Logprob)
			}
			seq = append(seq, tl.ID)
		}
	}
}

func TestGenerateStops(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	// Random weights often emit pieces of UTF-8 characters; take the first
	// prompt whose greedy text is plain ASCII so stop strings are easy to pick.
	var r Request
	var plain Sample
	for _, p := range []string{"if err != nil {", "abc", "the ", "{"} {
		r = baseRequest(m, p, 1)
		r.Sampling.Temperature = 0
		r.MaxTokens = 20
		plain = generate(t, m, r).res.Samples[0]
		if isPrintableASCII(plain.Text) {
			break
		}
	}
	if plain.Finish != FinishLength || len(plain.TokenIDs) != 20 || plain.StopReason != nil {
		t.Fatalf("max_tokens: finish %q after %d tokens, stop_reason %v", plain.Finish, len(plain.TokenIDs), plain.StopReason)
	}
	text := plain.Text
	if len(text) < 8 {
		t.Fatalf("greedy text too short to test stops: %q", text)
	}
	// A stop string taken from the middle of the greedy text.
	stop := text[len(text)/2 : len(text)/2+3]
	cut := strings.Index(text, stop)
	r.Stop = []string{"never-matches", stop}
	s := generate(t, m, r).res.Samples[0]
	if s.Finish != FinishStop || s.StopReason != stop || s.Text != text[:cut] {
		t.Fatalf("stop %q: finish %q reason %v text %q, want text %q", stop, s.Finish, s.StopReason, s.Text, text[:cut])
	}
	r.IncludeStopStr = true
	s = generate(t, m, r).res.Samples[0]
	if s.Text != text[:cut+len(stop)] {
		t.Fatalf("include_stop_str_in_output: text %q, want %q", s.Text, text[:cut+len(stop)])
	}
	r.IncludeStopStr = false
	r.Stop = nil

	// A stop token id: the third greedy token.
	stopID := plain.TokenIDs[2]
	first := 0
	for first < len(plain.TokenIDs) && plain.TokenIDs[first] != stopID {
		first++
	}
	r.StopTokenIDs = []int{stopID}
	s = generate(t, m, r).res.Samples[0]
	want, _ := m.Tok.Decode(plain.TokenIDs[:first], true)
	if s.Finish != FinishStop || s.StopReason != stopID || len(s.TokenIDs) != first+1 || s.Text != wire.Lossy(want) {
		t.Fatalf("stop id %d: finish %q reason %v, %d tokens, text %q; want %d tokens, text %q", stopID, s.Finish, s.StopReason, len(s.TokenIDs), s.Text, first+1, want)
	}
	// min_tokens bans the stop id until reached.
	r.StopTokenIDs = []int{plain.TokenIDs[0]}
	r.MinTokens = 3
	s = generate(t, m, r).res.Samples[0]
	if len(s.TokenIDs) < 3 || s.TokenIDs[0] == plain.TokenIDs[0] || s.TokenIDs[1] == plain.TokenIDs[0] {
		t.Fatalf("min_tokens 3 with the first greedy token as stop id: tokens %v", s.TokenIDs)
	}
}

func TestGenerateContextLimitAndErrors(t *testing.T) {
	tm := newTestModel(t)
	m := tm.Model
	max := m.Config.MaxSeqLen
	r := baseRequest(m, "", 2)
	r.Prompt = make([]int, max-3)
	for i := range r.Prompt {
		r.Prompt[i] = 10 + i%50
	}
	r.MaxTokens = 0
	for _, s := range generate(t, m, r).res.Samples {
		if s.Finish != FinishLength || len(s.TokenIDs) != 3 {
			t.Fatalf("at the context limit: finish %q after %d tokens, want length after 3", s.Finish, len(s.TokenIDs))
		}
	}
	r.Prompt = make([]int, max)
	var re *RequestError
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) || !strings.Contains(err.Error(), "maximum context length") {
		t.Fatalf("prompt of %d tokens: %v", max, err)
	}
	r.Prompt = nil
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) {
		t.Fatalf("empty prompt: %v", err)
	}
	r.Prompt = []int{1, m.Config.VocabSize}
	if _, err := m.Generate(context.Background(), r, func(Delta) {}); !errors.As(err, &re) {
		t.Fatalf("out-of-vocab prompt id: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r = baseRequest(m, "abc", 1)
	n := 0
	_, err := m.Generate(ctx, r, func(Delta) {
		n++
		cancel()
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("cancel after the first token: err %v after %d tokens", err, n)
	}
}

func TestRepetitionPenaltyChangesGreedy(t *testing.T) {
	tm := newTestModel(t)
	r := baseRequest(tm.Model, "aaaa aaaa aaaa", 1)
	r.Sampling.Temperature = 0
	r.MaxTokens = 16
	a := generate(t, tm.Model, r).res.Samples[0]
	r.Sampling.RepetitionPenalty = 5
	b := generate(t, tm.Model, r).res.Samples[0]
	if equalInts(a.TokenIDs, b.TokenIDs) {
		t.Fatal("repetition_penalty 5 did not change a greedy sample")
	}
	seen := map[int]bool{}
	for _, id := range r.Prompt {
		seen[id] = true
	}
	repeats := func(ids []int) int {
		s := map[int]bool{}
		for k, v := range seen {
			s[k] = v
		}
		n := 0
		for _, id := range ids {
			if s[id] {
				n++
			}
			s[id] = true
		}
		return n
	}
	if repeats(b.TokenIDs) > repeats(a.TokenIDs) {
		t.Fatalf("penalised sample repeats more (%d) than unpenalised (%d)", repeats(b.TokenIDs), repeats(a.TokenIDs))
	}
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return len(s) >= 8
}

// TestGenerateConcurrent: requests share the model and nothing else; the
// same seeded request run four times at once gives the same samples.
func TestGenerateConcurrent(t *testing.T) {
	tm := newTestModel(t)
	r := baseRequest(tm.Model, "func main() {", 3)
	r.Sampling.Seed = seed(77)
	r.Logprobs = 2
	want := generate(t, tm.Model, r).res
	errc := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			res, err := tm.Generate(context.Background(), r, func(Delta) {})
			if err == nil {
				for j := range res.Samples {
					if !equalInts(res.Samples[j].TokenIDs, want.Samples[j].TokenIDs) {
						err = errors.New("concurrent run differs")
					}
				}
			}
			errc <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
