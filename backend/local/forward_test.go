package local

import (
	"math"
	"testing"
)

func maxDiff(got []float32, want []float64) float64 {
	d := 0.0
	for i := range got {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// promptSteps is prompt as one sequence's steps from position 0 in cache,
// and the index of every step (to ask for the logits of all of them).
func promptSteps(prompt []int, cache *kvCache) (steps []step, all []int) {
	steps = make([]step, len(prompt))
	all = make([]int, len(prompt))
	for i, id := range prompt {
		steps[i] = step{token: id, pos: i, cache: cache}
		all[i] = i
	}
	return steps, all
}

// TestForwardMatchesReference checks prefill (all positions) and batched
// decoding of several samples sharing the prompt's cache against the slow
// float64 reference.
func TestForwardMatchesReference(t *testing.T) {
	tm := newTestModel(t)
	c := tm.Config
	V := c.VocabSize
	prompt := []int{5, 80, 120, 33, 7, 250, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 270}
	P := len(prompt)
	ref := tm.referenceLogits(prompt)

	pc := newKVCache(c, nil, 0, P)
	ws := tm.newWorkspace(P, P)
	steps, all := promptSteps(prompt, pc)
	got := tm.forward(ws, steps, all)
	for p := 0; p < P; p++ {
		if d := maxDiff(got[p*V:(p+1)*V], ref[p]); d > 1e-3 {
			t.Fatalf("prefill position %d: max |diff| %g", p, d)
		}
	}

	// Three samples continue the prompt differently, decoded together.
	conts := [][]int{{1, 2, 3, 4}, {200, 100, 50, 25}, {7, 7, 7, 7}}
	caches := make([]*kvCache, len(conts))
	for i := range caches {
		caches[i] = newKVCache(c, pc, P, 8)
	}
	for k := 0; k < 4; k++ {
		var st []step
		var w []int
		for i, cont := range conts {
			// Sample 1 skips step 2 to show samples may sit at different positions.
			if i == 1 && k == 2 {
				continue
			}
			pos := P + k
			if i == 1 && k > 2 {
				pos--
			}
			st = append(st, step{token: cont[k], pos: pos, cache: caches[i]})
			w = append(w, len(w))
		}
		out := tm.forward(ws, st, w)
		for j, s := range st {
			i := 0
			for ; caches[i] != s.cache; i++ {
			}
			seq := append([]int(nil), prompt...)
			for kk := 0; kk <= k; kk++ {
				if i == 1 && kk == 2 {
					continue
				}
				seq = append(seq, conts[i][kk])
			}
			r := tm.referenceLogits(seq)
			if d := maxDiff(out[j*V:(j+1)*V], r[len(seq)-1]); d > 1e-3 {
				t.Fatalf("decode step %d sample %d: max |diff| %g", k, i, d)
			}
		}
	}
}

func TestF16(t *testing.T) {
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-08,
		0x03ff: 6.097555160522461e-05, 0x3555: 0.333251953125,
	}
	for h, want := range cases {
		if got := f16ToF32(h); got != want {
			t.Errorf("f16ToF32(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(f16ToF32(0x7c00)), 1) || !math.IsNaN(float64(f16ToF32(0x7e00))) {
		t.Error("f16 inf/nan")
	}
	if got := f16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Error("f16 -0")
	}
}

// TestPrefillPathsAgree runs a prompt through the matmul prefill and, one
// position at a time, through the decoding path.
func TestPrefillPathsAgree(t *testing.T) {
	tm := newTestModel(t)
	c := tm.Config
	V := c.VocabSize
	prompt := make([]int, 40)
	for i := range prompt {
		prompt[i] = (i*37 + 11) % V
	}
	if isPrefill([]step{{pos: 0}}) {
		t.Fatal("isPrefill accepted one step")
	}
	pc := newKVCache(c, nil, 0, len(prompt))
	ws := tm.newWorkspace(len(prompt), len(prompt))
	steps, all := promptSteps(prompt, pc)
	if !isPrefill(steps) {
		t.Fatal("a 40-token prompt does not take the prefill path")
	}
	pre := append([]float32(nil), tm.forward(ws, steps, all)...)
	pc2 := newKVCache(c, nil, 0, len(prompt))
	ref := tm.referenceLogits(prompt)
	for i, id := range prompt {
		got := tm.forward(ws, []step{{token: id, pos: i, cache: pc2}}, []int{0})
		if d := maxDiff(pre[i*V:(i+1)*V], ref[i]); d > 1e-3 {
			t.Fatalf("prefill position %d: %g from the reference", i, d)
		}
		for j := range got {
			if math.Abs(float64(got[j]-pre[i*V+j])) > 1e-4 {
				t.Fatalf("position %d id %d: decode %v, prefill %v", i, j, got[j], pre[i*V+j])
			}
		}
	}
}
