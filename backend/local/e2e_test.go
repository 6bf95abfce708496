package local

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/params"
)

// TestOpenAIClientEndToEnd drives the built-in server with the real
// backend client over the in-process transport: what the playground and
// `twinkle sample` do with no endpoint.
func TestOpenAIClientEndToEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	tm := newTestModel(t)
	c, err := openai.New(openai.Config{BaseURL: "http://local/v1", HTTPClient: NewClient(tm.Model, ServerOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	models, err := c.Models(context.Background())
	if err != nil || len(models) != 1 || models[0].ID != DefaultModelName || models[0].MaxModelLen != tm.Config.MaxSeqLen {
		t.Fatalf("models: %v %v", models, err)
	}
	for _, api := range []params.API{params.Completion, params.Chat} {
		p := params.Default()
		seed := int64(11)
		p.Seed = &seed
		mt := 6
		p.MaxTokens = &mt
		lp, plp := 3, 2
		req := backend.Request{API: api, Prompt: "func main() {", Messages: []backend.Message{{Role: "user", Content: "hi"}},
			Params: p, Options: params.Options{N: 3, Logprobs: &lp, PromptLogprobs: &plp}}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ch, err := c.Start(ctx, req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		a := backend.NewAssembler(req)
		for ev := range ch {
			a.Apply(ev)
		}
		cancel()
		if !a.Done() || a.Err() != nil {
			t.Fatalf("%s: done %v err %v", api, a.Done(), a.Err())
		}
		r := a.Response()
		if len(r.Trajectories) != 3 || len(r.Tokens) != 3 || len(r.StopReason) != 3 {
			t.Fatalf("%s: response %+v", api, r)
		}
		for i := 0; i < 3; i++ {
			if r.StopReason[i] != backend.StopLength || len(r.Tokens[i]) != 6 || len(r.Logprobs[i]) != 6 {
				t.Fatalf("%s sample %d: %s after %d tokens", api, i, r.StopReason[i], len(r.Tokens[i]))
			}
			if r.Errors != nil && r.Errors[i] != nil {
				t.Fatalf("%s sample %d: %v", api, i, r.Errors[i])
			}
		}
		if r.PromptLogprobs == nil || len(r.PromptLogprobs[0]) == 0 {
			t.Fatalf("%s: no prompt logprobs", api)
		}
	}
}
