package local

import (
	"runtime"
	"sync"
)

// mat is a weight matrix [out, in], row-major, held as float16 bits (as
// shipped: half the memory traffic of float32, and decoding is bound by
// it) or as float32 (weights shipped in another dtype).
type mat struct {
	out, in int
	h       []uint16
	f       []float32
}

// rowTo writes row i as float32 into dst.
func (w mat) rowTo(dst []float32, i int) {
	if w.h != nil {
		for j, v := range w.h[i*w.in : (i+1)*w.in] {
			dst[j] = f16ToF32(v)
		}
		return
	}
	copy(dst, w.f[i*w.in:(i+1)*w.in])
}

// matmulT computes y[rows, out] = x[rows, in] · wᵀ, adding to y when acc is
// set, with outputs split across the cores.
//
// Every output is one dot product summed in the same order whichever tile
// computes it (8 lanes in k order, one fixed lane reduction, then the k%8
// tail), so a token's logits do not depend on how many other samples share
// its batch: sample i of seed S equals sample 0 of seed S+i exactly, and
// prefill agrees bit for bit with decoding.
func matmulT(rows int, x []float32, w mat, y []float32, acc bool) {
	out, in := w.out, w.in
	if rows == 0 || out == 0 {
		return
	}
	_ = x[rows*in-1]
	_ = y[rows*out-1]
	workers := 1
	if rows*out*in >= 1<<15 {
		workers = min(runtime.GOMAXPROCS(0), out/8)
	}
	if workers <= 1 {
		matmulRange(rows, x, w, y, 0, out, acc)
		return
	}
	var wg sync.WaitGroup
	per := (out/workers + 3) &^ 3
	for o0 := per; o0 < out; o0 += per {
		wg.Add(1)
		go func(o0, o1 int) {
			defer wg.Done()
			matmulRange(rows, x, w, y, o0, o1, acc)
		}(o0, min(o0+per, out))
	}
	matmulRange(rows, x, w, y, 0, min(per, out), acc)
	wg.Wait()
}

// addTail adds the k%8 leftover products of row o, after the vector part,
// to *y (nothing when in is a multiple of 8, as in every shipped shape).
func (w mat) addTail(y *float32, x []float32, o, k8 int) {
	if k8 == w.in {
		return
	}
	var s float32
	base := o * w.in
	for i := k8; i < w.in; i++ {
		// Rounded before the add on every machine (arm64 would fuse it).
		if w.h != nil {
			s += float32(x[i] * f16ToF32(w.h[base+i]))
		} else {
			s += float32(x[i] * w.f[base+i])
		}
	}
	*y += s
}

func (w mat) dot1(y *float32, x []float32, o int, acc bool) {
	k8 := w.in &^ 7
	var s float32
	if w.h != nil {
		s = dotTile1x1h(&x[0], &w.h[o*w.in], k8)
	} else {
		s = dotTile1x1(&x[0], &w.f[o*w.in], k8)
	}
	if acc {
		s += *y
	}
	*y = s
	w.addTail(y, x, o, k8)
}

// matmulRange computes outputs [o0, o1) for every row. Outputs are taken in
// blocks small enough that their weights stay in L1 while every row passes.
// Each output is stored as y = (acc ? y : 0) + vector part, then + tail.
func matmulRange(rows int, x []float32, w mat, y []float32, o0, o1 int, acc bool) {
	out, in := w.out, w.in
	k8 := in &^ 7
	if !useAsm || k8 == 0 || w.h != nil && !asmHalf {
		matmulRangeGo(rows, x, w, y, o0, o1, acc)
		return
	}
	a := 0
	if acc {
		a = 1
	}
	block := max(4, (16*1024/4/max(in, 1))&^3)
	for b0 := o0; b0 < o1; b0 += block {
		b1 := min(b0+block, o1)
		r := 0
		for ; r+4 <= rows; r += 4 {
			o := b0
			for ; o+2 <= b1; o += 2 {
				if w.h != nil {
					dotTile4x2h(&x[r*in], in, &w.h[o*in], in, k8, &y[r*out+o], out, a)
				} else {
					dotTile4x2(&x[r*in], in, &w.f[o*in], in, k8, &y[r*out+o], out, a)
				}
				if k8 < in {
					for rr := 0; rr < 4; rr++ {
						for c := 0; c < 2; c++ {
							w.addTail(&y[(r+rr)*out+o+c], x[(r+rr)*in:(r+rr+1)*in], o+c, k8)
						}
					}
				}
			}
			for ; o < b1; o++ {
				for rr := 0; rr < 4; rr++ {
					w.dot1(&y[(r+rr)*out+o], x[(r+rr)*in:(r+rr+1)*in], o, acc)
				}
			}
		}
		for ; r < rows; r++ {
			xr := x[r*in : (r+1)*in]
			o := b0
			for ; o+4 <= b1; o += 4 {
				if w.h != nil {
					dotTile1x4h(&xr[0], &w.h[o*in], in, k8, &y[r*out+o], a)
				} else {
					dotTile1x4(&xr[0], &w.f[o*in], in, k8, &y[r*out+o], a)
				}
				if k8 < in {
					for c := 0; c < 4; c++ {
						w.addTail(&y[r*out+o+c], xr, o+c, k8)
					}
				}
			}
			for ; o < b1; o++ {
				w.dot1(&y[r*out+o], xr, o, acc)
			}
		}
	}
}
