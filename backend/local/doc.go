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
// The matmuls, exp and attention run on hand-written AVX2/FMA/F16C kernels
// (matmul_amd64.s) with portable Go fallbacks; see bench_test.go for the
// figures and the gonum comparison.
//
// It must never import bubbletea, lipgloss or anything under ui/.
package local
