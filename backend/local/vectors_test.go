package local

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// testVectors is backend/local/weights/testvectors.json, written by the
// training script from PyTorch (float32 on the float16-rounded weights).
type testVectors struct {
	Logits []struct {
		IDs       []int `json:"ids"`
		Positions []int `json:"positions"`
		Top       [][]struct {
			ID    int     `json:"id"`
			Logit float64 `json:"logit"`
		} `json:"top"`
		LogSumExp []float64 `json:"logsumexp"`
	} `json:"logits"`
	Tokenizer []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"tokenizer"`
	Greedy []struct {
		Prompt    string `json:"prompt"`
		PromptIDs []int  `json:"prompt_ids"`
		OutputIDs []int  `json:"output_ids"`
		Text      string `json:"text"`
	} `json:"greedy"`
}

func realModel(t *testing.T) (*Model, *testVectors) {
	t.Helper()
	m, err := Load()
	if err != nil {
		t.Skipf("no built-in weights: %v", err)
	}
	raw, err := os.ReadFile("weights/testvectors.json")
	if err != nil {
		t.Fatalf("weights are embedded but testvectors.json is missing: %v", err)
	}
	var tv testVectors
	if err := json.Unmarshal(raw, &tv); err != nil {
		t.Fatal(err)
	}
	return m, &tv
}

func TestVectorsTokenizer(t *testing.T) {
	m, tv := realModel(t)
	if len(tv.Tokenizer) == 0 {
		t.Fatal("no tokenizer cases")
	}
	for _, c := range tv.Tokenizer {
		got := m.Tok.Encode(c.Text)
		if !equalInts(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
		}
		b, err := m.Tok.Decode(got, false)
		if err != nil || string(b) != c.Text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.Text, b, err)
		}
	}
}

func logSumExp(l []float32) float64 {
	mx := float64(l[argmax(l)])
	var z float64
	for _, v := range l {
		z += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(z)
}

// TestVectorsLogits runs every sequence twice: one prefill of it all, and a
// prefill of the first half followed by token-by-token decoding (the KV
// cache path), each checked against PyTorch's top-10 logits and logsumexp.
func TestVectorsLogits(t *testing.T) {
	m, tv := realModel(t)
	V := m.Config.VocabSize
	worst := 0.0
	for ci, c := range tv.Logits {
		T := len(c.IDs)
		all := make([]int, T)
		for i := range all {
			all[i] = i
		}
		check := func(mode string, logitsAt func(pos int) []float32) {
			for pi, pos := range c.Positions {
				l := logitsAt(pos)
				if l == nil {
					continue
				}
				for _, e := range c.Top[pi] {
					d := math.Abs(float64(l[e.ID]) - e.Logit)
					worst = math.Max(worst, d)
					if d > 1e-3 {
						t.Errorf("case %d (%s) position %d id %d: logit %v, PyTorch %v", ci, mode, pos, e.ID, l[e.ID], e.Logit)
					}
				}
				if pi < len(c.LogSumExp) {
					if d := math.Abs(logSumExp(l) - c.LogSumExp[pi]); d > 1e-3 {
						t.Errorf("case %d (%s) position %d: logsumexp %v, PyTorch %v", ci, mode, pos, logSumExp(l), c.LogSumExp[pi])
					}
				}
				if got := argmax(l); got != c.Top[pi][0].ID && math.Abs(float64(l[got])-c.Top[pi][0].Logit) > 1e-3 {
					t.Errorf("case %d (%s) position %d: argmax %d, PyTorch %d", ci, mode, pos, got, c.Top[pi][0].ID)
				}
			}
		}
		// Whole-sequence prefill.
		pc := newKVCache(m.Config, nil, 0, T)
		ws := m.newWorkspace(T, T)
		steps := make([]step, T)
		for i, id := range c.IDs {
			steps[i] = step{token: id, pos: i, cache: pc}
		}
		logits := append([]float32(nil), m.forward(ws, steps, all)...)
		check("prefill", func(pos int) []float32 { return logits[pos*V : (pos+1)*V] })

		// Half prefill, then decoding one token at a time.
		half := max(1, T/2)
		pc2 := newKVCache(m.Config, nil, 0, half)
		for i := range steps[:half] {
			steps[i].cache = pc2
		}
		m.forward(ws, steps[:half], nil)
		own := newKVCache(m.Config, pc2, half, T-half)
		dec := map[int][]float32{}
		for pos := half; pos < T; pos++ {
			l := m.forward(ws, []step{{token: c.IDs[pos], pos: pos, cache: own}}, []int{0})
			dec[pos] = append([]float32(nil), l...)
		}
		check("decode", func(pos int) []float32 { return dec[pos] })
	}
	t.Logf("worst |logit - PyTorch| over %d sequences: %.2g", len(tv.Logits), worst)
}

func TestVectorsGreedy(t *testing.T) {
	m, tv := realModel(t)
	for _, g := range tv.Greedy {
		prompt := m.Tok.Encode(g.Prompt)
		if !equalInts(prompt, g.PromptIDs) {
			t.Errorf("prompt %q encodes to %v, PyTorch side %v", g.Prompt, prompt, g.PromptIDs)
		}
		r := Request{Prompt: g.PromptIDs, N: 1, Sampling: Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1},
			MaxTokens: len(g.OutputIDs), IgnoreEOS: true, Logprobs: -1, PromptLogprobs: -1}
		res, err := m.Generate(context.Background(), r, func(Delta) {})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Samples[0].TokenIDs
		if !equalInts(got, g.OutputIDs) {
			t.Errorf("greedy from %q:\n got %v\nwant %v", g.Prompt, got, g.OutputIDs)
		}
		t.Logf("greedy %q -> %q", g.Prompt, res.Samples[0].Text)
	}
}
