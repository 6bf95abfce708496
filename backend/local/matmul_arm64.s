//go:build !purego

#include "textflag.h"

// NEON versions of matmul_amd64.s's float32 kernels, in the same order: a
// dot product is 8 lanes (two 4-lane vectors, lo = lanes 0-3 and hi = lanes
// 4-7), each a chain of fused multiply-adds (FMLA, as VFMADD231PS) over
// positions j, j+8, j+16, ..., then reduced as
// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)). The results are the AVX2 kernels'
// bit for bit.

// Go's assembler has no vector FADD or FADDP, so they are encoded here.
// FADD4S: Vd.4S = Vn.4S + Vm.4S. FADDP4S: Vd.4S = pairwise sums of Vn, Vm.
// FADDP2S: Sd = Vn.S[0] + Vn.S[1].
#define FADD4S(m, n, d) WORD $(0x4E20D400 | (m<<16) | (n<<5) | d)
#define FADDP4S(m, n, d) WORD $(0x6E20D400 | (m<<16) | (n<<5) | d)
#define FADDP2S(n, d) WORD $(0x7E30D800 | (n<<5) | d)

// REDUCE leaves the reduced sum of lanes lo (Vlo) and hi (Vhi) in Flo:
// [l0+l4, l1+l5, l2+l6, l3+l7], then [t0+t1, t2+t3, ...], then their sum,
// as VEXTRACTF128+VADDPS, VHADDPS, VHADDPS do.
#define REDUCE(lo, hi) \
	FADD4S(hi, lo, lo) \
	FADDP4S(lo, lo, lo) \
	FADDP2S(lo, lo)

// func dotTile4x2(x *float32, ldx int, w *float32, ldw int, k int, y *float32, ldy int, acc int)
// y[r*ldy+c] (+)= sum_{i<k} x[r*ldx+i] * w[c*ldw+i] for r < 4, c < 2; k % 8 == 0.
TEXT ·dotTile4x2(SB), NOSPLIT, $0-64
	MOVD x+0(FP), R0
	MOVD ldx+8(FP), R10
	LSL $2, R10
	ADD R0, R10, R1
	ADD R1, R10, R2
	ADD R2, R10, R3
	MOVD w+16(FP), R4
	MOVD ldw+24(FP), R11
	LSL $2, R11
	ADD R4, R11, R5
	MOVD k+32(FP), R6
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	VEOR V24.B16, V24.B16, V24.B16
	VEOR V25.B16, V25.B16, V25.B16
	VEOR V26.B16, V26.B16, V26.B16
	VEOR V27.B16, V27.B16, V27.B16
	VEOR V28.B16, V28.B16, V28.B16
	VEOR V29.B16, V29.B16, V29.B16
	VEOR V30.B16, V30.B16, V30.B16
	VEOR V31.B16, V31.B16, V31.B16
	CBZ R6, done4x2
loop4x2:
	VLD1.P 32(R4), [V0.S4, V1.S4]
	VLD1.P 32(R5), [V2.S4, V3.S4]
	VLD1.P 32(R0), [V4.S4, V5.S4]
	VLD1.P 32(R1), [V6.S4, V7.S4]
	VFMLA V0.S4, V4.S4, V16.S4
	VFMLA V1.S4, V5.S4, V17.S4
	VFMLA V2.S4, V4.S4, V18.S4
	VFMLA V3.S4, V5.S4, V19.S4
	VFMLA V0.S4, V6.S4, V20.S4
	VFMLA V1.S4, V7.S4, V21.S4
	VFMLA V2.S4, V6.S4, V22.S4
	VFMLA V3.S4, V7.S4, V23.S4
	VLD1.P 32(R2), [V4.S4, V5.S4]
	VLD1.P 32(R3), [V6.S4, V7.S4]
	VFMLA V0.S4, V4.S4, V24.S4
	VFMLA V1.S4, V5.S4, V25.S4
	VFMLA V2.S4, V4.S4, V26.S4
	VFMLA V3.S4, V5.S4, V27.S4
	VFMLA V0.S4, V6.S4, V28.S4
	VFMLA V1.S4, V7.S4, V29.S4
	VFMLA V2.S4, V6.S4, V30.S4
	VFMLA V3.S4, V7.S4, V31.S4
	SUBS $8, R6, R6
	BNE loop4x2
done4x2:
	REDUCE(16, 17)
	REDUCE(18, 19)
	REDUCE(20, 21)
	REDUCE(22, 23)
	REDUCE(24, 25)
	REDUCE(26, 27)
	REDUCE(28, 29)
	REDUCE(30, 31)
	MOVD y+40(FP), R7
	MOVD ldy+48(FP), R8
	LSL $2, R8
	MOVD acc+56(FP), R9
	CBZ R9, store4x2
	FMOVS 0(R7), F0
	FADDS F0, F16
	FMOVS 4(R7), F0
	FADDS F0, F18
	ADD R8, R7, R10
	FMOVS 0(R10), F0
	FADDS F0, F20
	FMOVS 4(R10), F0
	FADDS F0, F22
	ADD R8, R10, R10
	FMOVS 0(R10), F0
	FADDS F0, F24
	FMOVS 4(R10), F0
	FADDS F0, F26
	ADD R8, R10, R10
	FMOVS 0(R10), F0
	FADDS F0, F28
	FMOVS 4(R10), F0
	FADDS F0, F30
store4x2:
	FMOVS F16, 0(R7)
	FMOVS F18, 4(R7)
	ADD R8, R7, R7
	FMOVS F20, 0(R7)
	FMOVS F22, 4(R7)
	ADD R8, R7, R7
	FMOVS F24, 0(R7)
	FMOVS F26, 4(R7)
	ADD R8, R7, R7
	FMOVS F28, 0(R7)
	FMOVS F30, 4(R7)
	RET

// func dotTile1x4(x *float32, w *float32, ldw int, k int, y *float32, acc int)
// y[c] (+)= sum_{i<k} x[i] * w[c*ldw+i] for c < 4; k % 8 == 0.
TEXT ·dotTile1x4(SB), NOSPLIT, $0-48
	MOVD x+0(FP), R0
	MOVD w+8(FP), R4
	MOVD ldw+16(FP), R11
	LSL $2, R11
	ADD R4, R11, R5
	ADD R5, R11, R6
	ADD R6, R11, R7
	MOVD k+24(FP), R8
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	CBZ R8, done1x4
loop1x4:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1.P 32(R4), [V2.S4, V3.S4]
	VLD1.P 32(R5), [V4.S4, V5.S4]
	VLD1.P 32(R6), [V6.S4, V7.S4]
	VLD1.P 32(R7), [V8.S4, V9.S4]
	VFMLA V2.S4, V0.S4, V16.S4
	VFMLA V3.S4, V1.S4, V17.S4
	VFMLA V4.S4, V0.S4, V18.S4
	VFMLA V5.S4, V1.S4, V19.S4
	VFMLA V6.S4, V0.S4, V20.S4
	VFMLA V7.S4, V1.S4, V21.S4
	VFMLA V8.S4, V0.S4, V22.S4
	VFMLA V9.S4, V1.S4, V23.S4
	SUBS $8, R8, R8
	BNE loop1x4
done1x4:
	REDUCE(16, 17)
	REDUCE(18, 19)
	REDUCE(20, 21)
	REDUCE(22, 23)
	MOVD y+32(FP), R9
	MOVD acc+40(FP), R10
	CBZ R10, store1x4
	FMOVS 0(R9), F0
	FADDS F0, F16
	FMOVS 4(R9), F0
	FADDS F0, F18
	FMOVS 8(R9), F0
	FADDS F0, F20
	FMOVS 12(R9), F0
	FADDS F0, F22
store1x4:
	FMOVS F16, 0(R9)
	FMOVS F18, 4(R9)
	FMOVS F20, 8(R9)
	FMOVS F22, 12(R9)
	RET

// func dotTile1x1(x *float32, w *float32, k int) float32
TEXT ·dotTile1x1(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD w+8(FP), R4
	MOVD k+16(FP), R8
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	CBZ R8, done1x1
loop1x1:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1.P 32(R4), [V2.S4, V3.S4]
	VFMLA V2.S4, V0.S4, V16.S4
	VFMLA V3.S4, V1.S4, V17.S4
	SUBS $8, R8, R8
	BNE loop1x1
done1x1:
	REDUCE(16, 17)
	FMOVS F16, ret+24(FP)
	RET
