//go:build !purego

package local

import "golang.org/x/sys/cpu"

// useAsm gates the AVX2/FMA/F16C kernels in matmul_amd64.s. It is set once
// at start-up from the CPU's features; only tests change it. Building with
// -tags purego leaves the assembly out (matmul_other.go).
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpuid1ECX()&(1<<29) != 0 // F16C

// The kernels read float16 weights (widened in registers: half the memory
// traffic), and expAVX is the vector exp.
const (
	asmHalf = true
	asmExp  = true
)

func cpuid1ECX() uint32

//go:noescape
func dotTile4x2(x *float32, ldx int, w *float32, ldw int, k int, y *float32, ldy int, acc int)

//go:noescape
func dotTile1x4(x *float32, w *float32, ldw int, k int, y *float32, acc int)

//go:noescape
func dotTile1x1(x *float32, w *float32, k int) float32

//go:noescape
func dotTile4x2h(x *float32, ldx int, w *uint16, ldw int, k int, y *float32, ldy int, acc int)

//go:noescape
func dotTile1x4h(x *float32, w *uint16, ldw int, k int, y *float32, acc int)

//go:noescape
func dotTile1x1h(x *float32, w *uint16, k int) float32

//go:noescape
func expAVX(x *float32, n int, c *float32)
