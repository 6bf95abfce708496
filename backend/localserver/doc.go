// Package localserver serves the built-in model (backend/local) in vLLM's
// OpenAI-compatible wire format: an http.Handler (NewServer), a listener for
// `twinkle serve-model` (ServeModel, ListenAndServe), and an in-process
// transport (NewClient, Transport) through which the backend's OpenAI client
// reaches the model with no port:
//
//	m, err := local.Load()
//	c, err := openai.New(openai.Config{BaseURL: "http://twinkle.local/v1",
//		Model: local.DefaultModelName, HTTPClient: localserver.NewClient(m, localserver.Options{})})
//
// Requests are decided the way a vLLM server decides them, in vLLM's words,
// by backend/vllmcheck. The model defines no chat template, so
// /v1/chat/completions answers every request as vLLM does for such a model:
// 400, vllmcheck.NoChatTemplate.
//
// It must never import bubbletea, lipgloss or anything under ui/.
package localserver
