package local

// madd is a + x·y rounded once: the compiler fuses it into FMADDS on arm64
// (TestMaddRounding checks), as VFMADD231PS does in matmul_amd64.s.
func madd(a, x, y float32) float32 { return a + x*y }

// maddFused: madd rounds once.
const maddFused = true
