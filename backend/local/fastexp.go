package local

import "math"

// expf is exp for float32 inputs, within 2 ulp of math.Exp over the range
// attention and SiLU use, several times faster: x = n·ln2 + r with
// |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n put in the exponent.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.3:
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	h := float32(0.5)
	if x < 0 {
		h = -0.5
	}
	k := int32(x*log2e + h) // round to nearest
	n := float32(k)
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.0/720)*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	// 2^n via the exponent bits; n in [-126, 128) here, split for n = 128.
	if k > 127 {
		return p * 2 * math.Float32frombits(uint32(k-1+127)<<23)
	}
	if k < -126 {
		return p * math.Float32frombits(uint32(k+126+127)<<23) * math.Float32frombits(1<<23)
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}
