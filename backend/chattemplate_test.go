package backend

import (
	"fmt"
	"testing"
)

func TestNoChatTemplate(t *testing.T) {
	// vLLM's text, as current servers send it and as some older ones did (with " None").
	const vllm = "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one."
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&Error{Kind: KindHTTP, Status: 400, Message: vllm, Type: "BadRequestError"}, true},
		{&Error{Kind: KindHTTP, Status: 400, Message: vllm + " None"}, true},
		{fmt.Errorf("sample 0: %w", &Error{Kind: KindHTTP, Status: 400, Message: vllm}), true},
		// Another 400, another status, an in-band error, no error: not a refusal of chat.
		{&Error{Kind: KindHTTP, Status: 400, Message: "top_k must be -1 (disable), or at least 1, got -2."}, false},
		{&Error{Kind: KindHTTP, Status: 500, Message: vllm}, false},
		{&Error{Kind: KindServer, Status: 400, Message: vllm}, false},
		{&Error{Kind: KindHTTP, Status: 400, Message: "the chat template failed to render: unknown role"}, false},
		{nil, false},
	} {
		if got := NoChatTemplate(c.err); got != c.want {
			t.Errorf("NoChatTemplate(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The refusal is said plainly with the server's words in Detail; any other error,
// and the original, are left as they were.
func TestExplainNoChatTemplate(t *testing.T) {
	raw := "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one."
	e := &Error{Kind: KindHTTP, Status: 400, Message: raw}
	got := ExplainNoChatTemplate(e, "the built-in model", "use --mode completion")
	if got.Message != "the built-in model has no chat template, so it takes no chat requests: use --mode completion" || got.Detail != raw || got.Status != 400 {
		t.Errorf("explained %+v", got)
	}
	if e.Message != raw || e.Detail != "" {
		t.Errorf("the original changed: %+v", e)
	}
	other := &Error{Kind: KindHTTP, Status: 400, Message: "top_k must be -1 (disable), or at least 1, got -2."}
	if ExplainNoChatTemplate(other, "x", "y") != other || ExplainNoChatTemplate(nil, "x", "y") != nil {
		t.Error("another error was rewritten")
	}
}
