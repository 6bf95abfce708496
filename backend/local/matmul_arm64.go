//go:build !purego

package local

// useAsm gates the NEON kernels in matmul_arm64.s (every arm64 Go target
// has NEON); only tests change it. They read float32 weights: the model
// decodes float16 at load, as for the portable kernels, and neither the
// float16 kernels nor the vector exp exist here.
var useAsm = true

const (
	asmHalf = false
	asmExp  = false
)

//go:noescape
func dotTile4x2(x *float32, ldx int, w *float32, ldw int, k int, y *float32, ldy int, acc int)

//go:noescape
func dotTile1x4(x *float32, w *float32, ldw int, k int, y *float32, acc int)

//go:noescape
func dotTile1x1(x *float32, w *float32, k int) float32

func dotTile4x2h(x *float32, ldx int, w *uint16, ldw int, k int, y *float32, ldy int, acc int) {
	panic("unreachable")
}
func dotTile1x4h(x *float32, w *uint16, ldw int, k int, y *float32, acc int) { panic("unreachable") }
func dotTile1x1h(x *float32, w *uint16, k int) float32                       { panic("unreachable") }

func expAVX(x *float32, n int, c *float32) { panic("unreachable") }
