//go:build !(amd64 || arm64) || purego

package local

// Only the portable kernels (matmul_go.go): another architecture, or
// -tags purego.

const (
	useAsm  = false
	asmHalf = false
	asmExp  = false
)

func dotTile4x2(x *float32, ldx int, w *float32, ldw int, k int, y *float32, ldy int, acc int) {
	panic("unreachable")
}
func dotTile1x4(x *float32, w *float32, ldw int, k int, y *float32, acc int) { panic("unreachable") }
func dotTile1x1(x *float32, w *float32, k int) float32                       { panic("unreachable") }

func dotTile4x2h(x *float32, ldx int, w *uint16, ldw int, k int, y *float32, ldy int, acc int) {
	panic("unreachable")
}
func dotTile1x4h(x *float32, w *uint16, ldw int, k int, y *float32, acc int) { panic("unreachable") }
func dotTile1x1h(x *float32, w *uint16, k int) float32                       { panic("unreachable") }

func expAVX(x *float32, n int, c *float32) { panic("unreachable") }
