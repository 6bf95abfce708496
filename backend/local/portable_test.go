package local

import (
	"context"
	"testing"
)

// TestPortablePaths runs the forward pass on the portable kernels, as on an
// amd64 CPU without AVX2/FMA/F16C (or with -tags purego), against the
// reference.
func TestPortablePaths(t *testing.T) {
	withPortable(t, func() {
		tm := newTestModel(t)
		if tm.emb.h != nil || tm.layers[0].wqkv.h != nil {
			t.Fatal("the portable path kept float16 weights; it should decode them once at load")
		}
		c := tm.Config
		V := c.VocabSize
		prompt := make([]int, 24)
		for i := range prompt {
			prompt[i] = (i*53 + 7) % V
		}
		pc := newKVCache(c, nil, 0, len(prompt))
		ws := tm.newWorkspace(len(prompt), len(prompt))
		steps, all := promptSteps(prompt, pc)
		got := tm.forward(ws, steps, all)
		ref := tm.referenceLogits(prompt)
		for p := range prompt {
			if d := maxDiff(got[p*V:(p+1)*V], ref[p]); d > 1e-3 {
				t.Fatalf("portable forward, position %d: %g from the reference", p, d)
			}
		}
		x := []float32{-100, -3, -1, 0, 0.5, 2, 10, 90, -0.25}
		want := make([]float32, len(x))
		for i, v := range x {
			want[i] = expf(v)
		}
		expSlice(x)
		for i := range x {
			if x[i] != want[i] {
				t.Fatalf("portable expSlice[%d] = %v, want %v", i, x[i], want[i])
			}
		}
	})
}

// seededTexts are what seed 20 gives for seededRequest, recorded on the
// AVX2 path. Every path must give them: every kernel sums in the AVX2
// order, and on arm64 (NEON or Go) rounds as it does too; where the Go
// kernels round each product first (amd64 without AVX2/FMA/F16C, or -tags
// purego) logits move by a few float32 ulps, too little to change these
// draws.
var seededTexts = []string{
	"\tif !r.Header.CanGet(\"Connection\") ||\n\t\t!r.Header.CanGet(\"Connection\") {\n\t\tpanic(\"Connection: server did not set Close to true while having other connection",
	"\tif w != nil {\n\t\ts.HTTP2.HTTP2 = append(s.HTTP2.HTTP2, w)\n\t}\n\n\t// HTTP2 is a transport-viewer whose answ",
	"\tif !w.ProtoMajor || w.ProtoMinor || r.ProtoMinor || req.Method == \"HEAD\" && vers != http.HeaderServerShutdown {\n\t\t// Don",
	"\tif _, ok := r.ProtoToAuth(); !ok {\n\t\tpanic(\"unexpected protocol \" + r.ProtoToAuth() + \" for custom request\")\n\t}\n\twrite := func(w http.",
}

func seededRequest(m *Model) Request {
	seed := int64(20)
	return Request{Prompt: m.Tok.Encode("func (s *Server) handle(w http.ResponseWriter, r *http.Request) {\n"), N: 4,
		Sampling:  Sampling{Temperature: 0.9, TopP: 0.95, TopK: 50, RepetitionPenalty: 1.1, Seed: &seed},
		MaxTokens: 48, IgnoreEOS: true, Logprobs: -1, PromptLogprobs: -1}
}

// TestSameTextEveryPath loads the built-in model as each kernel path loads
// it (float32 weights for the portable kernels) and checks PyTorch's greedy
// outputs and the seeded samples. CI runs it for arm64 under emulation too.
func TestSameTextEveryPath(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		m, err := LoadFrom(embeddedModel, embeddedTokenizer)
		if err != nil {
			t.Skipf("no built-in weights: %v", err)
		}
		if (m.emb.h != nil) != (useAsm && asmHalf) {
			t.Fatalf("float16 weights kept: %v, with kernels that read them: %v", m.emb.h != nil, useAsm && asmHalf)
		}
		_, tv := realModel(t)
		for _, g := range tv.Greedy {
			r := Request{Prompt: g.PromptIDs, N: 1, Sampling: Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1},
				MaxTokens: len(g.OutputIDs), IgnoreEOS: true, Logprobs: -1, PromptLogprobs: -1}
			res, err := m.Generate(context.Background(), r, func(Delta) {})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Samples[0].TokenIDs; !equalInts(got, g.OutputIDs) {
				t.Errorf("greedy from %q:\n got %v\nwant %v (PyTorch)", g.Prompt, got, g.OutputIDs)
			}
		}
		res, err := m.Generate(context.Background(), seededRequest(m), func(Delta) {})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Samples) != len(seededTexts) {
			t.Fatalf("%d samples, want %d", len(res.Samples), len(seededTexts))
		}
		for i, s := range res.Samples {
			if s.Text != seededTexts[i] {
				t.Errorf("seeded sample %d:\n got %q\nwant %q", i, s.Text, seededTexts[i])
			}
		}
	})
}
