package local

import "testing"

// TestPortablePaths runs the forward pass with the assembly switched off,
// as on a CPU without AVX2/FMA/F16C (or another architecture), against
// the reference.
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
