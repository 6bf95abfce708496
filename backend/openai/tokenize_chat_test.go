package openai

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// TokenizeMessages sends vLLM's chat /tokenize body: the messages' roles and
// contents (thinking left out), the generation prompt asked for explicitly.
func TestTokenizeMessages(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs := []backend.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Tell me a story"},
		{Role: "assistant", Content: "Once upon", Reasoning: "Okay so"}}
	n, mx, err := c.TokenizeMessages(ctx, "", msgs)
	// The test models' template: each message's words, then the generation prompt.
	if err != nil || n != 2+4+2+1 || mx != 4096 {
		t.Fatalf("count %d max %d err %v", n, mx, err)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	var body struct {
		Model               string           `json:"model"`
		Messages            []map[string]any `json:"messages"`
		AddGenerationPrompt *bool            `json:"add_generation_prompt"`
	}
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	if last.Path != "/tokenize" || body.Model != "twinkle-test/tiny-chat" || body.AddGenerationPrompt == nil || !*body.AddGenerationPrompt || len(body.Messages) != 3 {
		t.Fatalf("tokenize %s %s", last.Path, last.Body)
	}
	if m := body.Messages[2]; len(m) != 2 || m["role"] != "assistant" || m["content"] != "Once upon" {
		t.Fatalf("assistant message %v: only role and content go out", m)
	}
}
