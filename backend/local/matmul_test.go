package local

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// kernelShapes are [rows, out, in]: every tile shape with and without
// remainders, k%8 tails, in < 8, and the model's own sizes.
var kernelShapes = [][3]int{{1, 1, 1}, {1, 5, 8}, {3, 7, 13}, {4, 2, 16}, {5, 9, 30}, {9, 33, 64}, {4, 130, 288}, {17, 300, 100}, {6, 11, 7}}

// TestMatmulKernels checks every tile shape and remainder against a float64
// product, and that a row's result does not depend on its batch, on each
// kernel path this machine has.
func TestMatmulKernels(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, sh := range kernelShapes {
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
	})
}

// orderedDot is the kernels' summation order written out plainly: lane
// i%8 sums its products in order, the lanes reduce as
// ((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7)), y is added when acc is set, then
// the k%8 tail, summed on its own.
func orderedDot(x, w []float32, y float32, acc bool) float32 {
	k8 := len(x) &^ 7
	var l [8]float32
	for i := 0; i < k8; i++ {
		l[i%8] += x[i] * w[i]
	}
	s := ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
	if acc {
		s += y
	}
	if k8 == len(x) {
		return s
	}
	var t float32
	for i := k8; i < len(x); i++ {
		t += x[i] * w[i]
	}
	return s + t
}

// TestKernelOrder pins the summation order bit for bit, on every path. The
// inputs make every product exact in float32 (a 7-bit integer times a
// float16) while the sums, spread over 2^±12, round at almost every add,
// so fused and unfused multiply-adds agree and only the order can make a
// difference: a kernel that sums in any other order fails.
func TestKernelOrder(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, sh := range kernelShapes {
			rows, out, in := sh[0], sh[1], sh[2]
			x := make([]float32, rows*in)
			w := make([]float32, out*in)
			h := make([]uint16, out*in)
			for i := range x {
				x[i] = float32(rng.IntN(127) - 63)
			}
			for i := range w {
				h[i] = f32ToF16(float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(24)-12)))
				w[i] = f16ToF32(h[i])
			}
			y0 := make([]float32, rows*out)
			for i := range y0 {
				y0[i] = float32(rng.NormFloat64() * 1000)
			}
			inexact := 0
			for _, wm := range []mat{{out: out, in: in, f: w}, {out: out, in: in, h: h}} {
				for _, acc := range []bool{false, true} {
					y := append([]float32(nil), y0...)
					matmulT(rows, x, wm, y, acc)
					for r := 0; r < rows; r++ {
						for o := 0; o < out; o++ {
							xr, wr := x[r*in:(r+1)*in], w[o*in:(o+1)*in]
							want := orderedDot(xr, wr, y0[r*out+o], acc)
							if got := y[r*out+o]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%v acc=%v: y[%d,%d] = %v, want %v in the kernels' order", sh, acc, r, o, got, want)
							}
							var exact float64
							for i := range xr {
								exact += float64(xr[i]) * float64(wr[i])
							}
							if float64(want) != exact {
								inexact++
							}
						}
					}
				}
			}
			if in >= 64 && inexact == 0 {
				t.Fatalf("%v: every sum was exact, so the order was not tested", sh)
			}
		}
	})
}

// TestDotOrder checks attention's dot product against the same order.
func TestDotOrder(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{1, 7, 8, 13, 64, 100} {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i] = float32(rng.IntN(127) - 63)
				b[i] = f16ToF32(f32ToF16(float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(24)-12))))
			}
			if got, want := dot(a, b), orderedDot(a, b, 0, false); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d: dot = %v, want %v", n, got, want)
			}
		}
	})
}

// TestMaddRounding checks how the kernels round a multiply-add: once
// (fused) in the assembly and on arm64, where the portable kernels then
// equal the assembly bit for bit; product first on other machines'
// portable path. Each row here has two products in lane 0 and zeros
// elsewhere, so an output is exactly madd(x₀w₀, x₈, w₈).
func TestMaddRounding(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		fused := useAsm || maddFused
		rng := rand.New(rand.NewPCG(9, 10))
		const rows, out, in = 6, 7, 16
		x := make([]float32, rows*in)
		w := make([]float32, out*in)
		for r := 0; r < rows; r++ {
			x[r*in], x[r*in+8] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		for o := 0; o < out; o++ {
			w[o*in], w[o*in+8] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		y := make([]float32, rows*out)
		matmulT(rows, x, mat{out: out, in: in, f: w}, y, false)
		differ := 0
		for r := 0; r < rows; r++ {
			for o := 0; o < out; o++ {
				a := x[r*in] * w[o*in]
				x8, w8 := x[r*in+8], w[o*in+8]
				once, _ := new(big.Float).SetPrec(200).Add(
					new(big.Float).SetPrec(200).Mul(big.NewFloat(float64(x8)), big.NewFloat(float64(w8))),
					big.NewFloat(float64(a))).Float32()
				twice := a + float32(x8*w8)
				want := twice
				if fused {
					want = once
				}
				if once != twice {
					differ++
				}
				if got := y[r*out+o]; got != want {
					t.Fatalf("y[%d,%d] = %v; rounded once %v, product first %v; this path should round %s", r, o, got, once, twice, map[bool]string{true: "once", false: "the product first"}[fused])
				}
			}
		}
		if differ == 0 {
			t.Fatal("no output tells the two roundings apart")
		}
	})
}
