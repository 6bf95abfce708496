//go:build !arm64

package local

// madd is a + x·y with the product rounded first. The conversion keeps the
// compiler from fusing it: on amd64 with GOAMD64=v3 it fuses some such
// expressions and not others (not where it folds a load into the
// multiply), and one dot product must round the same whichever kernel
// computes it.
func madd(a, x, y float32) float32 { return a + float32(x*y) }

// maddFused: madd rounds twice.
const maddFused = false
