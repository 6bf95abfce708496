// Package backend is how twinkle talks to models: a Request (prompt or conversation plus
// SamplingParams) goes to a Sampler, which streams Events for N samples at once; an
// Assembler folds those Events into twinkle's SampleResponse, and a Bridge coalesces them
// into at most one update per frame for the terminal UI.
//
// The types in types.go are the contract the UI, the CLI (`twinkle sample`) and the
// built-in model build on. Implementations live in subpackages: backend/openai (vLLM and
// other OpenAI-compatible servers), backend/local (the built-in model, served in-process
// or over HTTP by `twinkle serve-model`), backend/wire (vLLM's JSON and SSE format,
// shared by clients and servers) and backend/vllmtest (a scriptable vLLM-compatible test
// server with fault injection).
//
// backend must never import bubbletea, lipgloss or anything under ui/ or themes/: data
// flows one way, and `twinkle sample` uses it without a terminal. It holds no
// package-level mutable state, so several programs can share one process, as the tests
// do.
package backend
