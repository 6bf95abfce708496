// Package local is twinkle's built-in model: a small Llama-style transformer
// trained on Go's own source, run in pure Go (no cgo) and served in vLLM's
// OpenAI-compatible wire format, so twinkle works with no server, GPU or
// download and the sampling knobs behave as they do on a real vLLM server.
//
// The weights are read-only and shared by every caller in the process; all
// per-request state (KV caches, RNGs, penalties) lives in the request.
//
// It must never import bubbletea, lipgloss or anything under ui/.
package local
