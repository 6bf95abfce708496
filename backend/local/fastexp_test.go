package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88; x += 0.00731 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Fatalf("expf worst relative error %g", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) || expf(0) != 1 {
		t.Fatal("expf edge cases")
	}
	if v := expf(float32(math.Inf(-1))); v != 0 {
		t.Fatalf("expf(-inf) = %v", v)
	}
}

// TestExpSliceMatchesExpf: the eight-wide version is bit-identical.
func TestExpSliceMatchesExpf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 10007)
	for i := range x {
		switch i % 5 {
		case 0:
			x[i] = float32(rng.Float64()*200 - 100)
		case 1:
			x[i] = float32(rng.Float64()*2 - 1)
		case 2:
			x[i] = -float32(rng.Float64() * 30)
		case 3:
			x[i] = float32(math.Inf(-1))
		default:
			x[i] = float32(i%7) * 0.5
		}
	}
	x[8], x[9], x[10] = float32(math.Copysign(0, -1)), 88.0, -87.3
	got := append([]float32(nil), x...)
	expSlice(got)
	for i, v := range x {
		if want := expf(v); math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("exp(%v): slice %v, expf %v", v, got[i], want)
		}
	}
}

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 1024)
	for i := 0; i < b.N; i++ {
		for j := range x {
			x[j] = expf(float32(-(j % 50)))
		}
	}
}

func BenchmarkExpSlice(b *testing.B) {
	x := make([]float32, 1024)
	for i := 0; i < b.N; i++ {
		for j := range x {
			x[j] = float32(-(j % 50))
		}
		expSlice(x)
	}
}
