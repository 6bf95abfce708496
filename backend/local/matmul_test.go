package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatmulKernels checks every tile shape and remainder against a float64
// product, and that a row's result does not depend on its batch.
func TestMatmulKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][3]int{{1, 1, 1}, {1, 5, 8}, {3, 7, 13}, {4, 2, 16}, {5, 9, 30}, {9, 33, 64}, {4, 130, 288}, {17, 300, 100}} {
		rows, out, in := sh[0], sh[1], sh[2]
		x := make([]float32, rows*in)
		w := make([]float32, out*in)
		h := make([]uint16, out*in)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range w {
			h[i] = f32ToF16(float32(rng.NormFloat64()))
			w[i] = f16ToF32(h[i])
		}
		for _, wm := range []mat{{out: out, in: in, f: w}, {out: out, in: in, h: h}} {
			y := make([]float32, rows*out)
			matmulT(rows, x, wm, y, false)
			for r := 0; r < rows; r++ {
				single := make([]float32, out)
				matmulT(1, x[r*in:(r+1)*in], wm, single, false)
				for o := 0; o < out; o++ {
					var want float64
					for i := 0; i < in; i++ {
						want += float64(x[r*in+i]) * float64(w[o*in+i])
					}
					if math.Abs(float64(y[r*out+o])-want) > 1e-4*math.Sqrt(float64(in))+1e-5 {
						t.Fatalf("%v: y[%d,%d] = %v, want %v", sh, r, o, y[r*out+o], want)
					}
					if single[o] != y[r*out+o] {
						t.Fatalf("%v: row %d output %d is %v alone but %v in a batch of %d", sh, r, o, single[o], y[r*out+o], rows)
					}
					var d float32
					wm.dotGo(&d, x[r*in:(r+1)*in], o, false)
					if math.Abs(float64(d-single[o])) > 1e-5*math.Sqrt(float64(in))*math.Abs(float64(d))+1e-6 {
						t.Fatalf("%v: portable dot %v vs kernel %v", sh, d, single[o])
					}
				}
			}
			acc := append([]float32(nil), y...)
			matmulT(rows, x, wm, acc, true)
			for i := range acc {
				if math.Abs(float64(acc[i]-2*y[i])) > 1e-5*math.Abs(float64(y[i]))+1e-6 {
					t.Fatalf("%v: acc mode gave %v, want %v", sh, acc[i], 2*y[i])
				}
			}
		}
	}
}
