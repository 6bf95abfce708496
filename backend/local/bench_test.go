package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchModel is the real model when its weights are embedded, else random
// weights of the trainer's default shape (dim 288, 6 layers, 6 heads, 2 kv
// heads, ffn 768, vocab 4096, context 1024), so the figures hold either way.
func benchModel(b *testing.B) *Model {
	b.Helper()
	if m, err := Load(); err == nil {
		return m
	}
	c := Config{VocabSize: 4096, Dim: 288, NLayers: 6, NHeads: 6, NKVHeads: 2, FFNDim: 768, MaxSeqLen: 1024,
		RopeTheta: 10000, NormEps: 1e-5, EOSID: 0}
	m, err := LoadFrom(encodeSafetensors(b, metaOf(c), testTensors(c, 1)), testTokenizerJSON(b))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchPrompt(m *Model, n int) []int {
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]int, n)
	for i := range p {
		p[i] = 1 + rng.IntN(m.Config.VocabSize-1)
	}
	return p
}

// benchGenerate runs r b.N times and returns the time it took.
func benchGenerate(b *testing.B, m *Model, r Request) time.Duration {
	b.Helper()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Generate(context.Background(), r, func(Delta) {}); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// benchDecode runs r, which ignores EOS so that every sample makes
// MaxTokens tokens, and reports tokens per second per sample.
func benchDecode(b *testing.B, m *Model, r Request) {
	b.Helper()
	el := benchGenerate(b, m, r)
	b.ReportMetric(float64(r.MaxTokens*b.N)/el.Seconds(), "tok/s/sample")
}

// BenchmarkDecode4 decodes 4 samples together (64 tokens each after a
// 16-token prompt) and reports tokens per second per sample.
func BenchmarkDecode4(b *testing.B) {
	m := benchModel(b)
	benchDecode(b, m, Request{Prompt: benchPrompt(m, 16), N: 4, Sampling: Sampling{Temperature: 1, TopP: 0.95, TopK: 50, RepetitionPenalty: 1.1},
		MaxTokens: 64, IgnoreEOS: true, Logprobs: 5, PromptLogprobs: -1})
}

// BenchmarkDecode1 is the same with one sample.
func BenchmarkDecode1(b *testing.B) {
	m := benchModel(b)
	benchDecode(b, m, Request{Prompt: benchPrompt(m, 16), N: 1, Sampling: Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1},
		MaxTokens: 64, IgnoreEOS: true, Logprobs: -1, PromptLogprobs: -1})
}

// BenchmarkTimeToFirstToken: a 256-token prompt, 4 samples, one token each.
func BenchmarkTimeToFirstToken(b *testing.B) {
	m := benchModel(b)
	el := benchGenerate(b, m, Request{Prompt: benchPrompt(m, 256), N: 4, Sampling: Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1},
		MaxTokens: 1, Logprobs: 5, PromptLogprobs: -1})
	b.ReportMetric(float64(el.Milliseconds())/float64(b.N), "ms/first-token")
}

// BenchmarkSgemm measures the matmul kernels on the model's own shapes, for
// the arithmetic limit (FLOPs per token over these FLOP/s): "f16" is what
// the model runs on the assembly path (float16 weights, AVX2/FMA/F16C),
// "f32" the same kernels on float32 weights, which is what the portable
// path runs (-tags purego, or another CPU), "gonum" gonum's Sgemm on
// float32 for comparison (its own amd64 assembly, whatever the tags).
func BenchmarkSgemm(b *testing.B) {
	m := benchModel(b)
	c := m.Config
	hd := c.HeadDim()
	shapes := []struct {
		name    string
		out, in int
	}{
		{"qkv", (c.NHeads + 2*c.NKVHeads) * hd, c.Dim},
		{"wo", c.Dim, c.NHeads * hd},
		{"w13", 2 * c.FFNDim, c.Dim},
		{"w2", c.Dim, c.FFNDim},
		{"head", c.VocabSize, c.Dim},
	}
	for _, rows := range []int{4, 256} {
		for _, s := range shapes {
			x := make([]float32, rows*s.in)
			w := mat{out: s.out, in: s.in, f: make([]float32, s.out*s.in), h: make([]uint16, s.out*s.in)}
			y := make([]float32, rows*s.out)
			for i := range x {
				x[i] = float32(i%7) * 0.1
			}
			for i := range w.f {
				w.h[i] = f32ToF16(float32(i%5) * 0.1)
				w.f[i] = f16ToF32(w.h[i])
			}
			for _, kind := range []string{"f16", "f32", "gonum"} {
				b.Run(fmt.Sprintf("rows=%d/%s=%dx%d/%s", rows, s.name, s.out, s.in, kind), func(b *testing.B) {
					wk := w
					switch kind {
					case "f16":
						wk.f = nil
					case "f32":
						wk.h = nil
					}
					b.ResetTimer()
					start := time.Now()
					for i := 0; i < b.N; i++ {
						if kind == "gonum" {
							gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, rows, s.out, s.in, 1, x, s.in, w.f, s.in, 0, y, s.out)
						} else {
							matmulT(rows, x, wk, y, false)
						}
					}
					flops := 2 * float64(rows*s.out*s.in) * float64(b.N)
					b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkForwardStep is one batched decode step of 4 rows at context 64,
// the unit the arithmetic limit is about.
func BenchmarkForwardStep(b *testing.B) {
	m := benchModel(b)
	c := m.Config
	prompt := benchPrompt(m, 64)
	pc := newKVCache(c, nil, 0, len(prompt))
	ws := m.newWorkspace(len(prompt), 4)
	steps, _ := promptSteps(prompt, pc)
	m.forward(ws, steps, []int{len(prompt) - 1})
	caches := make([]*kvCache, 4)
	for i := range caches {
		caches[i] = newKVCache(c, pc, len(prompt), 1)
	}
	st := make([]step, 4)
	for i := range st {
		st[i] = step{token: 5 + i, pos: len(prompt), cache: caches[i]}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		m.forward(ws, st, []int{0, 1, 2, 3})
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(4*c.FLOPsPerToken(len(prompt))/sec/1e9, "GFLOP/s")
	b.ReportMetric(1/sec, "steps/s")
}

// BenchmarkMemory loads the model and runs 4 samples from a 256-token
// prompt with logprobs, then reports the process's peak resident memory
// (VmHWM, the whole test binary included) and the Go heap in use.
func BenchmarkMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		m := benchModel(b)
		r := Request{Prompt: benchPrompt(m, 256), N: 4, Sampling: Sampling{Temperature: 1, TopP: 0.9, RepetitionPenalty: 1},
			MaxTokens: 64, IgnoreEOS: true, Logprobs: 20, PromptLogprobs: 5}
		if _, err := m.Generate(context.Background(), r, func(Delta) {}); err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		if st, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, line := range strings.Split(string(st), "\n") {
				var kb float64
				if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
					b.ReportMetric(kb/1024, "peak-RSS-MB")
				}
			}
		}
	}
}
