package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// tokenizeChatRequest is vLLM's /tokenize body for a conversation (TokenizeChatRequest):
// the server applies the model's chat template, with the generation prompt (its default),
// so the count is what a chat request with these messages would send.
type tokenizeChatRequest struct {
	Model    string         `json:"model,omitempty"`
	Messages []wire.Message `json:"messages"`
	// AddGenerationPrompt is sent although it is vLLM's default, so the count matches a
	// chat request's whatever a server's default.
	AddGenerationPrompt bool `json:"add_generation_prompt"`
}

// TokenizeMessages counts the tokens of a conversation as the server's chat template
// renders it (vLLM's /tokenize with messages), and returns the server's context length
// (max_model_len) beside it. Reasoning is not sent: vLLM's templates drop earlier
// thinking, and chat requests leave it out too. A server without /tokenize answers 404;
// a model without a chat template, 400: both come back as the error.
func (c *Client) TokenizeMessages(ctx context.Context, model string, msgs []backend.Message) (count, maxModelLen int, err error) {
	model, err = c.resolveModel(ctx, model, nil)
	if err != nil {
		return 0, 0, err
	}
	req := tokenizeChatRequest{Model: model, Messages: make([]wire.Message, len(msgs)), AddGenerationPrompt: true}
	for i, m := range msgs {
		req.Messages[i] = wire.Message{Role: m.Role, Content: m.Content}
	}
	body, err := wire.Marshal(req)
	if err != nil {
		return 0, 0, &backend.Error{Kind: backend.KindConfig, Message: err.Error(), Err: err}
	}
	resp, err := c.do(ctx, http.MethodPost, c.rootURL()+"/tokenize", body, c.cfg.FirstTokenTimeout, nil)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out wire.TokenizeResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil || out.Tokens == nil {
		msg := "the /tokenize answer has no token list"
		if err != nil {
			msg = "the /tokenize answer is not valid JSON: " + err.Error()
		}
		return 0, 0, &backend.Error{Kind: backend.KindProtocol, Message: msg, Err: err}
	}
	return len(out.Tokens), out.MaxModelLen, nil
}
