// Package local is twinkle's built-in model: a small Llama-style transformer
// trained on Go's own source, run in pure Go (no cgo), so twinkle works with
// no server, GPU or download and the sampling knobs behave as they do on a
// real vLLM server. backend/localserver serves it in vLLM's
// OpenAI-compatible wire format, over HTTP or in-process.
//
// The weights are read-only and shared by every caller in the process; all
// per-request state (KV caches, RNGs, penalties) lives in the request.
// Load returns the embedded model (loaded once per process); Generate runs
// a tokenized request.
//
// The matmuls, exp and attention run on hand-written kernels: AVX2/FMA/F16C
// on amd64 CPUs that have them (matmul_amd64.s, float16 weights widened in
// registers), NEON on arm64 (matmul_arm64.s), and portable Go elsewhere or
// with -tags purego (matmul_go.go); the last two read float32 weights
// decoded once at load. All sum every dot product in the same order, so a
// seed gives the same text on every machine; see bench_test.go for the
// figures and the gonum comparison.
//
// It must never import bubbletea, lipgloss or anything under ui/.
package local
