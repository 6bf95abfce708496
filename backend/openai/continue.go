package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// requestFields is bodyFields for a whole Request: a continued prefix (the prompt as
// token ids, or the partial assistant message to continue) and token ids, as req asks.
func requestFields(req backend.Request, model string, p params.SamplingParams, o params.Options, stream bool) (params.Fields, error) {
	body, err := bodyFields(req.API, model, req.SentMessages(), req.SentPrompt(), p, o, stream)
	if err != nil {
		return nil, err
	}
	if ids := req.SentPromptIDs(); ids != nil {
		body = body.Set("prompt", ids)
	}
	if req.ContinuesMessage() {
		// add_generation_prompt is true when omitted, and vLLM refuses it with
		// continue_final_message: both are sent.
		body = body.Set("add_generation_prompt", false).Set("continue_final_message", true)
	}
	if req.TokenIDs {
		body = body.Set("return_token_ids", true)
	}
	return body, nil
}

var _ backend.Tokenizer = (*Client)(nil)

// Tokenize is vLLM's /tokenize, which is served at the server's root, beside /v1:
// text to token ids with the model's own tokenizer. With special, the tokenizer adds
// its special tokens as /v1/completions does by default, so a completion prompt's ids
// come out as the server ran them. A server without /tokenize (most other
// OpenAI-compatible servers) answers 404, returned as the error.
func (c *Client) Tokenize(ctx context.Context, model, text string, special bool) ([]backend.TokenID, error) {
	model, err := c.resolveModel(ctx, model, nil)
	if err != nil {
		return nil, err
	}
	body, err := wire.Marshal(wire.TokenizeRequest{Model: model, Prompt: text, AddSpecialTokens: &special})
	if err != nil {
		return nil, &backend.Error{Kind: backend.KindConfig, Message: err.Error(), Err: err}
	}
	resp, err := c.do(ctx, http.MethodPost, c.rootURL()+"/tokenize", body, c.cfg.FirstTokenTimeout, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out wire.TokenizeResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil || out.Tokens == nil {
		msg := "the /tokenize answer has no token list"
		if err != nil {
			msg = "the /tokenize answer is not valid JSON: " + err.Error()
		}
		return nil, &backend.Error{Kind: backend.KindProtocol, Message: msg, Err: err}
	}
	ids := make([]backend.TokenID, len(out.Tokens))
	for i, id := range out.Tokens {
		ids[i] = backend.TokenID(id)
	}
	return ids, nil
}

// rootURL is the server's root: the base URL without its "/v1".
func (c *Client) rootURL() string {
	return strings.TrimSuffix(c.base, "/v1")
}
