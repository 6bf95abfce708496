package backend

import (
	"net/http"
	"strings"
)

// NoChatTemplate reports whether err is a server refusing a chat request because the
// model has no chat template. vLLM answers such a request with HTTP 400 and "As of
// transformers v4.44, default chat template is no longer allowed, so you must provide a
// chat template if the tokenizer does not define one." (ChatTemplateResolutionError in
// vllm/renderers/hf.py). The model still takes completion requests, so a caller whose
// mode was not chosen by the user switches to completion mode and says so. The test is
// on the server's answer alone, never on the model's name.
func NoChatTemplate(err error) bool {
	e, ok := AsError(err)
	if !ok || e.Kind != KindHTTP || e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "chat template") &&
		(strings.Contains(m, "no longer allowed") || strings.Contains(m, "must provide a chat template") || strings.Contains(m, "does not define one"))
}

// ExplainNoChatTemplate is e said plainly when it is NoChatTemplate's refusal: who
// (e.g. "the built-in model") has no chat template, so it takes no chat requests,
// then how to go on. The server's words move to Detail. Any other error is returned
// as it is.
func ExplainNoChatTemplate(e *Error, who, how string) *Error {
	if e == nil || !NoChatTemplate(e) {
		return e
	}
	c := *e
	c.Message = who + " has no chat template, so it takes no chat requests: " + how
	if c.Detail == "" {
		c.Detail = e.Message
	}
	return &c
}
