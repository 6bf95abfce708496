package local

import "math"

const (
	expLog2e = 1.44269504088896341
	expLn2hi = 0.693359375
	expLn2lo = -2.12194440e-4
	expLow   = -87.3 // below: 0
	expHigh  = 88.0  // above: +Inf (exp(88) is 1.65e38; float32 ends at 3.4e38)
)

// expConsts feeds the AVX2 version the very float32 constants expf uses,
// so both give bit-identical results. Never written.
var expConsts = func() (c [50]float32) {
	copy(c[:], []float32{expLog2e, 0.5, expLn2hi, expLn2lo, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1})
	for i := 0; i < 8; i++ {
		c[10+i] = expLow
		c[18+i] = expHigh
		c[26+i] = float32(math.Inf(1))
		c[34+i] = math.Float32frombits(0x80000000)
		c[42+i] = math.Float32frombits(127)
	}
	return c
}()

// expf is exp for float32, within 2 ulp of math.Exp on [-87.3, 88]: x =
// n·ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n put
// in the exponent. Every step is one rounded float32 operation, in the same
// order as expAVX, which computes eight at a time.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expLow:
		return 0
	case x > expHigh:
		return float32(math.Inf(1))
	}
	h := float32(0.5)
	if math.Signbit(float64(x)) {
		h = -0.5
	}
	// The float32 conversions round every product before its add, as
	// expAVX does: without them arm64 fuses them and differs from amd64.
	k := int32(float32(x*expLog2e) + h) // round half away from zero
	n := float32(k)
	r := x - float32(n*expLn2hi) - float32(n*expLn2lo)
	p := float32(float32(1.0/720)*r) + 1.0/120
	p = float32(p*r) + 1.0/24
	p = float32(p*r) + 1.0/6
	p = float32(p*r) + 0.5
	p = float32(p*r) + 1
	p = float32(p*r) + 1
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// expSlice replaces every x[i] (never NaN) by exp(x[i]).
func expSlice(x []float32) {
	n8 := 0
	if useAsm && asmExp {
		n8 = len(x) &^ 7
		if n8 > 0 {
			expAVX(&x[0], n8, &expConsts[0])
		}
	}
	for i := n8; i < len(x); i++ {
		x[i] = expf(x[i])
	}
}

// expShifted replaces every x[i] by exp(x[i]-mx) and returns their sum in
// float32: a softmax's numerators and denominator, mx being the largest.
func expShifted(x []float32, mx float32) float32 {
	for i := range x {
		x[i] -= mx
	}
	expSlice(x)
	var sum float32
	for _, e := range x {
		sum += e
	}
	return sum
}
