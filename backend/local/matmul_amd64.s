//go:build !purego

#include "textflag.h"

// REDUCE sums the 8 lanes of Y register n into the low float of X n.
// Every kernel reduces the same way, so a dot product's value does not
// depend on which kernel (batch shape) computed it.
#define REDUCE(Yn, Xn) \
	VEXTRACTF128 $1, Yn, X15 \
	VADDPS X15, Xn, Xn \
	VHADDPS Xn, Xn, Xn \
	VHADDPS Xn, Xn, Xn

// STORE writes the low float of Xn to mem, adding what is there when R10
// (acc) is not zero.
#define STORE(Xn, mem) \
	TESTQ R10, R10 \
	JZ 2(PC) \
	VADDSS mem, Xn, Xn \
	VMOVSS Xn, mem

// func dotTile4x2(x *float32, ldx int, w *float32, ldw int, k int, y *float32, ldy int, acc int)
// y[r*ldy+c] (+)= sum_{i<k} x[r*ldx+i] * w[c*ldw+i] for r < 4, c < 2; k % 8 == 0.
TEXT ·dotTile4x2(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), R9
	SHLQ $2, R9
	MOVQ k+32(FP), CX
	SHLQ $2, CX
	MOVQ y+40(FP), DX
	MOVQ acc+56(FP), R10
	LEAQ (SI)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (DI)(R9*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
loop4x2:
	CMPQ AX, CX
	JGE done4x2
	VMOVUPS (DI)(AX*1), Y8
	VMOVUPS (R14)(AX*1), Y9
	VMOVUPS (SI)(AX*1), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VMOVUPS (R11)(AX*1), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VMOVUPS (R12)(AX*1), Y12
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VMOVUPS (R13)(AX*1), Y13
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ $32, AX
	JMP loop4x2
done4x2:
	REDUCE(Y0, X0)
	REDUCE(Y1, X1)
	REDUCE(Y2, X2)
	REDUCE(Y3, X3)
	REDUCE(Y4, X4)
	REDUCE(Y5, X5)
	REDUCE(Y6, X6)
	REDUCE(Y7, X7)
	MOVQ ldy+48(FP), R8
	SHLQ $2, R8
	STORE(X0, 0(DX))
	STORE(X1, 4(DX))
	ADDQ R8, DX
	STORE(X2, 0(DX))
	STORE(X3, 4(DX))
	ADDQ R8, DX
	STORE(X4, 0(DX))
	STORE(X5, 4(DX))
	ADDQ R8, DX
	STORE(X6, 0(DX))
	STORE(X7, 4(DX))
	VZEROUPPER
	RET

// func dotTile1x4(x *float32, w *float32, ldw int, k int, y *float32, acc int)
// y[c] (+)= sum_{i<k} x[i] * w[c*ldw+i] for c < 4; k % 8 == 0.
TEXT ·dotTile1x4(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ ldw+16(FP), R9
	SHLQ $2, R9
	MOVQ k+24(FP), CX
	SHLQ $2, CX
	MOVQ y+32(FP), DX
	MOVQ acc+40(FP), R10
	LEAQ (DI)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
loop1x4:
	CMPQ AX, CX
	JGE done1x4
	VMOVUPS (SI)(AX*1), Y8
	VMOVUPS (DI)(AX*1), Y9
	VFMADD231PS Y9, Y8, Y0
	VMOVUPS (R11)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y1
	VMOVUPS (R12)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y2
	VMOVUPS (R13)(AX*1), Y12
	VFMADD231PS Y12, Y8, Y3
	ADDQ $32, AX
	JMP loop1x4
done1x4:
	REDUCE(Y0, X0)
	REDUCE(Y1, X1)
	REDUCE(Y2, X2)
	REDUCE(Y3, X3)
	STORE(X0, 0(DX))
	STORE(X1, 4(DX))
	STORE(X2, 8(DX))
	STORE(X3, 12(DX))
	VZEROUPPER
	RET

// func dotTile1x1(x *float32, w *float32, k int) float32
TEXT ·dotTile1x1(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ k+16(FP), CX
	SHLQ $2, CX
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
loop1x1:
	CMPQ AX, CX
	JGE done1x1
	VMOVUPS (SI)(AX*1), Y8
	VMOVUPS (DI)(AX*1), Y9
	VFMADD231PS Y9, Y8, Y0
	ADDQ $32, AX
	JMP loop1x1
done1x1:
	REDUCE(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// The same kernels with float16 weights, widened in registers (F16C): half
// the memory traffic, and exactly the same float32 values and order.

// func dotTile4x2h(x *float32, ldx int, w *uint16, ldw int, k int, y *float32, ldy int, acc int)
TEXT ·dotTile4x2h(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), R9
	SHLQ $1, R9
	MOVQ k+32(FP), CX
	SHLQ $2, CX
	MOVQ y+40(FP), DX
	MOVQ acc+56(FP), R10
	LEAQ (SI)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (DI)(R9*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	XORQ BX, BX
loop4x2h:
	CMPQ AX, CX
	JGE done4x2h
	VCVTPH2PS (DI)(BX*1), Y8
	VCVTPH2PS (R14)(BX*1), Y9
	VMOVUPS (SI)(AX*1), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VMOVUPS (R11)(AX*1), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VMOVUPS (R12)(AX*1), Y12
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VMOVUPS (R13)(AX*1), Y13
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ $32, AX
	ADDQ $16, BX
	JMP loop4x2h
done4x2h:
	REDUCE(Y0, X0)
	REDUCE(Y1, X1)
	REDUCE(Y2, X2)
	REDUCE(Y3, X3)
	REDUCE(Y4, X4)
	REDUCE(Y5, X5)
	REDUCE(Y6, X6)
	REDUCE(Y7, X7)
	MOVQ ldy+48(FP), R8
	SHLQ $2, R8
	STORE(X0, 0(DX))
	STORE(X1, 4(DX))
	ADDQ R8, DX
	STORE(X2, 0(DX))
	STORE(X3, 4(DX))
	ADDQ R8, DX
	STORE(X4, 0(DX))
	STORE(X5, 4(DX))
	ADDQ R8, DX
	STORE(X6, 0(DX))
	STORE(X7, 4(DX))
	VZEROUPPER
	RET

// func dotTile1x4h(x *float32, w *uint16, ldw int, k int, y *float32, acc int)
TEXT ·dotTile1x4h(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ ldw+16(FP), R9
	SHLQ $1, R9
	MOVQ k+24(FP), CX
	SHLQ $2, CX
	MOVQ y+32(FP), DX
	MOVQ acc+40(FP), R10
	LEAQ (DI)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	XORQ BX, BX
loop1x4h:
	CMPQ AX, CX
	JGE done1x4h
	VMOVUPS (SI)(AX*1), Y8
	VCVTPH2PS (DI)(BX*1), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS (R11)(BX*1), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS (R12)(BX*1), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS (R13)(BX*1), Y12
	VFMADD231PS Y12, Y8, Y3
	ADDQ $32, AX
	ADDQ $16, BX
	JMP loop1x4h
done1x4h:
	REDUCE(Y0, X0)
	REDUCE(Y1, X1)
	REDUCE(Y2, X2)
	REDUCE(Y3, X3)
	STORE(X0, 0(DX))
	STORE(X1, 4(DX))
	STORE(X2, 8(DX))
	STORE(X3, 12(DX))
	VZEROUPPER
	RET

// func dotTile1x1h(x *float32, w *uint16, k int) float32
TEXT ·dotTile1x1h(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ k+16(FP), CX
	SHLQ $2, CX
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
	XORQ BX, BX
loop1x1h:
	CMPQ AX, CX
	JGE done1x1h
	VMOVUPS (SI)(AX*1), Y8
	VCVTPH2PS (DI)(BX*1), Y9
	VFMADD231PS Y9, Y8, Y0
	ADDQ $32, AX
	ADDQ $16, BX
	JMP loop1x1h
done1x1h:
	REDUCE(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func cpuid1ECX() uint32
TEXT ·cpuid1ECX(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

// func expAVX(x *float32, n int, c *float32)
// x[i] = exp(x[i]) for i < n (n % 8 == 0), eight at a time, with exactly
// expf's float32 operations (no FMA) so results match it bit for bit.
// c: log2e, .5, ln2hi, ln2lo, 1/720, 1/120, 1/24, 1/6, .5, 1, then eight
// copies each of low, high, +Inf, the sign mask and int32 127.
TEXT ·expAVX(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ c+16(FP), DI
	SHLQ $2, CX
	XORQ AX, AX
	VBROADCASTSS 0(DI), Y15   // log2e
	VBROADCASTSS 8(DI), Y14   // ln2hi
	VBROADCASTSS 12(DI), Y13  // ln2lo
	VBROADCASTSS 16(DI), Y12  // 1/720
	VBROADCASTSS 20(DI), Y11  // 1/120
	VBROADCASTSS 24(DI), Y10  // 1/24
	VBROADCASTSS 28(DI), Y9   // 1/6
	VBROADCASTSS 32(DI), Y8   // .5
	VBROADCASTSS 36(DI), Y7   // 1
	VMOVUPS 136(DI), Y6       // sign mask
	VMOVUPS 168(DI), Y5       // int32 127
loopexp:
	CMPQ AX, CX
	JGE doneexp
	VMOVUPS (SI)(AX*1), Y0    // x
	VANDPS Y6, Y0, Y1
	VORPS Y8, Y1, Y1          // ±0.5 with x's sign
	VMULPS Y15, Y0, Y2
	VADDPS Y1, Y2, Y2         // x*log2e ± .5
	VCVTTPS2DQ Y2, Y3         // k
	VCVTDQ2PS Y3, Y4          // n
	VMULPS Y14, Y4, Y1
	VSUBPS Y1, Y0, Y2         // x - n*ln2hi
	VMULPS Y13, Y4, Y1
	VSUBPS Y1, Y2, Y2         // r
	VMULPS Y12, Y2, Y1
	VADDPS Y11, Y1, Y1        // p = r/720 + 1/120
	VMULPS Y2, Y1, Y1
	VADDPS Y10, Y1, Y1
	VMULPS Y2, Y1, Y1
	VADDPS Y9, Y1, Y1
	VMULPS Y2, Y1, Y1
	VADDPS Y8, Y1, Y1
	VMULPS Y2, Y1, Y1
	VADDPS Y7, Y1, Y1
	VMULPS Y2, Y1, Y1
	VADDPS Y7, Y1, Y1
	VPADDD Y5, Y3, Y3
	VPSLLD $23, Y3, Y3        // 2^n
	VMULPS Y3, Y1, Y1
	VCMPPS $1, 40(DI), Y0, Y3 // x < low: 0
	VANDNPS Y1, Y3, Y1
	VCMPPS $14, 72(DI), Y0, Y3 // x > high: +Inf
	VBLENDVPS Y3, 104(DI), Y1, Y1
	VMOVUPS Y1, (SI)(AX*1)
	ADDQ $32, AX
	JMP loopexp
doneexp:
	VZEROUPPER
	RET
