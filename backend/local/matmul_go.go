package local

// The portable kernels: plain Go for every machine without assembly kernels
// (amd64 without AVX2/FMA/F16C, architectures other than amd64 and arm64,
// or any build with -tags purego).
//
// They keep the assembly's summation order exactly. The assembly holds a
// dot product in 8 lanes, lane j summing the products of positions
// j, j+8, j+16, ... in order, and then reduces the lanes as
// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)). Lanes are independent, so the Go
// kernels take them one at a time: a lane is a strided walk over the same
// rows, and a tile needs one scalar accumulator per output.
//
// What cannot be kept everywhere is the fused multiply-add: the assembly
// rounds x·w+l once (FMA). Every multiply-add here goes through madd,
// which is fused on arm64 (madd_arm64.go), so there the results are the
// AVX2 and NEON kernels' bit for bit, and rounds the product first elsewhere
// (madd_other.go): about one float32 rounding step per multiply-add apart
// from the assembly, which TestPortableMatchesAssembly bounds. Either way a
// machine's results never depend on the batch or the tile.

// reduce8 is the assembly's lane reduction (REDUCE in matmul_amd64.s).
func reduce8(l *[8]float32) float32 {
	return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

// store is the assembly's STORE: y = (acc ? y : 0) + s.
func store(y *float32, s float32, acc bool) {
	if acc {
		s += *y
	}
	*y = s
}

// goTile7x1 is goTile4x1 for 7 rows at a time, the widest tile that keeps
// everything in amd64's registers: more rows per weight load, about 15 %
// faster on prefill's many rows.
func goTile7x1(x []float32, ldx int, w []float32, k int, y []float32, ldy int, acc bool) {
	x0, x1, x2, x3 := x[:k], x[ldx:][:k], x[2*ldx:][:k], x[3*ldx:][:k]
	x4, x5, x6 := x[4*ldx:][:k], x[5*ldx:][:k], x[6*ldx:][:k]
	w0 := w[:k]
	var l [7][8]float32
	for j := 0; j < 8; j++ {
		var a0, a1, a2, a3, a4, a5, a6 float32
		for i := j; i < k; i += 8 {
			u := w0[i]
			a0 = madd(a0, x0[i], u)
			a1 = madd(a1, x1[i], u)
			a2 = madd(a2, x2[i], u)
			a3 = madd(a3, x3[i], u)
			a4 = madd(a4, x4[i], u)
			a5 = madd(a5, x5[i], u)
			a6 = madd(a6, x6[i], u)
		}
		l[0][j], l[1][j], l[2][j], l[3][j] = a0, a1, a2, a3
		l[4][j], l[5][j], l[6][j] = a4, a5, a6
	}
	for r := 0; r < 7; r++ {
		store(&y[r*ldy], reduce8(&l[r]), acc)
	}
}

// goTile4x1: y[r*ldy] (+)= Σ_{i<k} x[r*ldx+i]·w[i] for r < 4; k % 8 == 0.
// Four accumulators and one weight in registers: wider tiles run out of
// amd64's 15 usable float registers (the compiler spills, and runs at half
// the speed), and this shape already keeps the adders busy.
func goTile4x1(x []float32, ldx int, w []float32, k int, y []float32, ldy int, acc bool) {
	x0, x1, x2, x3 := x[:k], x[ldx:][:k], x[2*ldx:][:k], x[3*ldx:][:k]
	w0 := w[:k]
	var l [4][8]float32
	for j := 0; j < 8; j++ {
		var a0, a1, a2, a3 float32
		for i := j; i < k; i += 8 {
			u := w0[i]
			a0 = madd(a0, x0[i], u)
			a1 = madd(a1, x1[i], u)
			a2 = madd(a2, x2[i], u)
			a3 = madd(a3, x3[i], u)
		}
		l[0][j], l[1][j], l[2][j], l[3][j] = a0, a1, a2, a3
	}
	for r := 0; r < 4; r++ {
		store(&y[r*ldy], reduce8(&l[r]), acc)
	}
}

// goTile1x4 is dotTile1x4: y[c] (+)= Σ_{i<k} x[i]·w[c*ldw+i] for c < 4;
// k % 8 == 0.
func goTile1x4(x []float32, w []float32, ldw int, k int, y []float32, acc bool) {
	x0 := x[:k]
	w0, w1, w2, w3 := w[:k], w[ldw:][:k], w[2*ldw:][:k], w[3*ldw:][:k]
	var l [4][8]float32
	for j := 0; j < 8; j++ {
		var a0, a1, a2, a3 float32
		for i := j; i < k; i += 8 {
			p := x0[i]
			a0 = madd(a0, p, w0[i])
			a1 = madd(a1, p, w1[i])
			a2 = madd(a2, p, w2[i])
			a3 = madd(a3, p, w3[i])
		}
		l[0][j], l[1][j], l[2][j], l[3][j] = a0, a1, a2, a3
	}
	for c := 0; c < 4; c++ {
		store(&y[c], reduce8(&l[c]), acc)
	}
}

// goDot8 is dotTile1x1: Σ_{i<k} x[i]·w[i]; k % 8 == 0.
func goDot8(x, w []float32, k int) float32 {
	x0, w0 := x[:k], w[:k]
	var l [8]float32
	for j := 0; j < 8; j++ {
		var a float32
		for i := j; i < k; i += 8 {
			a = madd(a, x0[i], w0[i])
		}
		l[j] = a
	}
	return reduce8(&l)
}

// matmulRangeGo is matmulRange on the portable kernels (tiles never change
// a result, only the speed).
// Float16 weights, which the portable path only meets in tests (it decodes
// them at load), are widened a block at a time.
func matmulRangeGo(rows int, x []float32, w mat, y []float32, o0, o1 int, acc bool) {
	out, in := w.out, w.in
	k8 := in &^ 7
	block := max(4, (16*1024/4/max(in, 1))&^3)
	var wide []float32
	if w.h != nil {
		wide = make([]float32, min(block, o1-o0)*in)
	}
	for b0 := o0; b0 < o1; b0 += block {
		b1 := min(b0+block, o1)
		// wb holds rows [b0, b1) of the weights; wb[(o-b0)*in:] is row o.
		var wb []float32
		if w.h != nil {
			wb = wide[:(b1-b0)*in]
			for i, v := range w.h[b0*in : b1*in] {
				wb[i] = f16ToF32(v)
			}
		} else {
			wb = w.f[b0*in : b1*in]
		}
		r := 0
		for ; r+7 <= rows; r += 7 {
			for o := b0; o < b1; o++ {
				goTile7x1(x[r*in:], in, wb[(o-b0)*in:], k8, y[r*out+o:], out, acc)
				if k8 < in {
					for rr := 0; rr < 7; rr++ {
						w.addTail(&y[(r+rr)*out+o], x[(r+rr)*in:(r+rr+1)*in], o, k8)
					}
				}
			}
		}
		for ; r+4 <= rows; r += 4 {
			for o := b0; o < b1; o++ {
				goTile4x1(x[r*in:], in, wb[(o-b0)*in:], k8, y[r*out+o:], out, acc)
				if k8 < in {
					for rr := 0; rr < 4; rr++ {
						w.addTail(&y[(r+rr)*out+o], x[(r+rr)*in:(r+rr+1)*in], o, k8)
					}
				}
			}
		}
		for ; r < rows; r++ {
			xr := x[r*in : (r+1)*in]
			o := b0
			for ; o+4 <= b1; o += 4 {
				goTile1x4(xr, wb[(o-b0)*in:], in, k8, y[r*out+o:], acc)
				if k8 < in {
					for c := 0; c < 4; c++ {
						w.addTail(&y[r*out+o+c], xr, o+c, k8)
					}
				}
			}
			for ; o < b1; o++ {
				store(&y[r*out+o], goDot8(xr, wb[(o-b0)*in:], k8), acc)
				w.addTail(&y[r*out+o], xr, o, k8)
			}
		}
	}
}
