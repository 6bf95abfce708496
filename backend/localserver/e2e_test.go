package localserver

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/params"
)

// TestOpenAIClientEndToEnd drives the built-in server with the real
// backend client over the in-process transport: what the playground and
// `twinkle sample` do with no endpoint. Completions run; chat gets vLLM's
// 400 for a model with no chat template, on every sample.
func TestOpenAIClientEndToEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := builtin(t)
	c, err := openai.New(openai.Config{BaseURL: "http://local/v1", HTTPClient: NewClient(m, Options{})})
	if err != nil {
		t.Fatal(err)
	}
	models, err := c.Models(context.Background())
	if err != nil || len(models) != 1 || models[0].ID != local.DefaultModelName || models[0].MaxModelLen != m.Config.MaxSeqLen {
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
		if !a.Done() {
			t.Fatalf("%s: not done", api)
		}
		r := a.Response()
		if api == params.Chat {
			for i := 0; i < 3; i++ {
				if r.Errors == nil || r.Errors[i] == nil || r.Errors[i].Status != 400 || r.Errors[i].Message != vllmcheck.NoChatTemplate {
					t.Fatalf("chat sample %d: %+v (err %v)", i, r, a.Err())
				}
			}
			continue
		}
		if a.Err() != nil {
			t.Fatalf("%s: err %v", api, a.Err())
		}
		if len(r.Trajectories) != 3 || len(r.Tokens) != 3 || len(r.StopReason) != 3 {
			t.Fatalf("%s: response %+v", api, r)
		}
		for i := 0; i < 3; i++ {
			// Six tokens unless the model ended the sample itself first.
			full := r.StopReason[i] == backend.StopLength && len(r.Tokens[i]) == 6
			early := r.StopReason[i] != backend.StopLength && len(r.Tokens[i]) < 6
			if !(full || early) || len(r.Logprobs[i]) != len(r.Tokens[i]) {
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
