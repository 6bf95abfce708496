package localserver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/params"
)

func run(t *testing.T, c backend.Sampler, req backend.Request) backend.SampleResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := c.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	a := backend.NewAssembler(req)
	for ev := range ch {
		a.Apply(ev)
	}
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
	return a.Response()
}

// TestContinueFromIDs: the built-in model takes a prompt of token ids as vLLM does and
// reports the ids it ran, so a greedy sample continued from its own first half, sent as
// ids, comes out as its second half, token for token; a branch runs from exactly the
// prompt's, the kept tokens' and the chosen token's ids.
func TestContinueFromIDs(t *testing.T) {
	m := builtin(t)
	c, err := openai.New(openai.Config{BaseURL: "http://local/v1", HTTPClient: NewClient(m, Options{})})
	if err != nil {
		t.Fatal(err)
	}
	p := params.Default()
	p.Temperature, p.MaxTokens = 0, ptr(16)
	lp := 5
	req := backend.Request{API: params.Completion, Prompt: "func (s *Server) Close() error {", Params: p,
		Options: params.Options{Logprobs: &lp}, TokenIDs: true}
	whole := run(t, c, req)
	toks, prompt := whole.Tokens[0], whole.PromptTokenIDs[0]
	if len(toks) != 16 || len(prompt) == 0 {
		t.Fatalf("%d tokens, prompt ids %v: want 16 and the prompt's ids", len(toks), prompt)
	}
	var gen []backend.TokenID
	for _, tok := range toks {
		if tok.ID == backend.NoTokenID {
			t.Fatal("a generated token has no id although return_token_ids was sent")
		}
		gen = append(gen, tok.ID)
	}
	ctx := context.Background()
	want, err := c.Tokenize(ctx, "", req.Prompt, true)
	if err != nil || !slices.Equal(want, prompt) {
		t.Fatalf("/tokenize %v (%v), the completion ran %v: they must agree", want, err, prompt)
	}

	half := append(slices.Clone(prompt), gen[:8]...)
	cont, err := backend.ContinueRequest(req, backend.Continuation{Text: whole.Trajectories[0].Messages[1].Content, IDs: half, Generated: 8})
	if err != nil {
		t.Fatal(err)
	}
	rest := run(t, c, cont)
	if got := rest.PromptTokenIDs[0]; !slices.Equal(got, half) {
		t.Fatalf("the server ran %v, not the ids sent", got)
	}
	if len(rest.Tokens[0]) != 8 {
		t.Fatalf("%d tokens: max_tokens less the 8 kept is 8", len(rest.Tokens[0]))
	}
	for k, tok := range rest.Tokens[0] {
		if tok.ID != gen[8+k] {
			t.Fatalf("greedy continuation, token %d: %d (%q), the whole sample had %d (%q)", k, tok.ID, tok.Text, gen[8+k], toks[8+k].Text)
		}
	}

	// A branch on the second-best token at position 3.
	var alt backend.Alt
	for _, a := range toks[3].Top {
		if a.Text != toks[3].Text {
			alt = a
			break
		}
	}
	altID, err := c.Tokenize(ctx, "", alt.Text, false)
	if err != nil || len(altID) != 1 {
		t.Fatalf("/tokenize %q: %v %v", alt.Text, altID, err)
	}
	branch := append(append(slices.Clone(prompt), gen[:3]...), altID[0])
	br, err := backend.ContinueRequest(req, backend.Continuation{IDs: branch, Generated: 4})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, c, br)
	if !slices.Equal(got.PromptTokenIDs[0], branch) || len(got.Tokens[0]) == 0 {
		t.Fatalf("branch ran %v, sent %v", got.PromptTokenIDs[0], branch)
	}

	// Chat has no template here: a chat continuation gets vLLM's 400.
	chat := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: p}
	cc, _ := backend.ContinueRequest(chat, backend.Continuation{Text: "func", Generated: 1})
	r := run(t, c, cc)
	if r.Errors == nil || r.Errors[0] == nil || r.Errors[0].Status != 400 || r.Errors[0].Message != vllmcheck.NoChatTemplate {
		t.Fatalf("chat continuation: %+v", r.Errors)
	}
}
