//go:build (amd64 || arm64) && !purego

package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eachPath runs f on the assembly kernels, when this CPU has them, and on
// the portable ones, switching useAsm in between. Tests in this package do
// not run in parallel, so the switch affects nothing else.
func eachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if useAsm {
		t.Run("asm", f)
	}
	withPortable(t, func() { t.Run("portable", f) })
}

// withPortable runs f with the assembly switched off, as on an amd64 CPU
// without AVX2/FMA/F16C or an architecture without kernels of its own.
func withPortable(t *testing.T, f func()) {
	t.Helper()
	saved := useAsm
	useAsm = false
	defer func() { useAsm = saved }()
	f()
}

// needAsm skips a test that compares the assembly with the portable path
// when there is no assembly to compare: it would compare the portable
// kernels with themselves and prove nothing.
func needAsm(t *testing.T) {
	t.Helper()
	if !useAsm {
		t.Skip("this CPU lacks AVX2/FMA/F16C: there are no assembly kernels to compare the portable ones with")
	}
}

// TestPortableMatchesAssembly runs the same products through both kernel
// sets. They sum in the same order. On arm64 both round each multiply-add
// once, so they must agree bit for bit; on amd64 the portable side rounds
// each product before adding it (madd_other.go), which moves a result by
// at most (k/8+4)·2⁻²³ of Σ|xᵢwᵢ|: one rounding of relative size 2⁻²⁴ per
// add along the longest chain, on either side.
func TestPortableMatchesAssembly(t *testing.T) {
	needAsm(t)
	rng := rand.New(rand.NewPCG(7, 8))
	differ := 0
	for _, sh := range kernelShapes {
		rows, out, in := sh[0], sh[1], sh[2]
		x := make([]float32, rows*in)
		h := make([]uint16, out*in)
		f := make([]float32, out*in)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range h {
			h[i] = f32ToF16(float32(rng.NormFloat64()))
			f[i] = f16ToF32(h[i])
		}
		for _, wm := range []mat{{out: out, in: in, f: f}, {out: out, in: in, h: h}} {
			asm := make([]float32, rows*out)
			matmulT(rows, x, wm, asm, false)
			port := make([]float32, rows*out)
			withPortable(t, func() { matmulT(rows, x, wm, port, false) })
			for r := 0; r < rows; r++ {
				for o := 0; o < out; o++ {
					var abs float64
					for i := 0; i < in; i++ {
						abs += math.Abs(float64(x[r*in+i]) * float64(f[o*in+i]))
					}
					a, p := asm[r*out+o], port[r*out+o]
					if a != p {
						differ++
					}
					bound := float64(in/8+4) * math.Ldexp(abs, -23)
					if maddFused && a != p || math.Abs(float64(a-p)) > bound {
						t.Fatalf("%v: y[%d,%d] is %v on the assembly path and %v on the portable one (bound %g, fused %v)", sh, r, o, a, p, bound, maddFused)
					}
				}
			}
		}
	}
	t.Logf("%d outputs differ in the last bits between the paths", differ)
}
