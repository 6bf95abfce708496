package backend

import (
	"slices"
	"testing"

	"github.com/twinkle-sh/twinkle/params"
)

// Prompt ids come once per sample, on a tokens event that may carry nothing else; the
// bridge's merging keeps them and the response holds them per sample.
func TestPromptIDsReachTheResponse(t *testing.T) {
	t.Parallel()
	ids := []TokenID{5, 6, 7}
	evs := Coalesce([]Event{
		{Kind: EventTokens, Sample: 1, PromptIDs: ids},
		{Kind: EventTokens, Sample: 1, Text: "a", Tokens: []Token{{Text: "a", ID: 9, Logprob: -1}}},
		{Kind: EventTokens, Sample: 0, Text: "b", Tokens: []Token{{Text: "b", ID: 8, Logprob: -1}}},
		{Kind: EventTokens, Sample: 0, PromptIDs: ids},
	})
	if len(evs) != 2 || !slices.Equal(evs[0].PromptIDs, ids) || !slices.Equal(evs[1].PromptIDs, ids) || evs[0].Text != "a" {
		t.Fatalf("coalesced %+v", evs)
	}
	lp := 1
	for _, want := range []bool{true, false} {
		req := Request{API: params.Completion, Prompt: "x", Params: params.Default(), Options: params.Options{N: 2, Logprobs: &lp}, TokenIDs: want}
		a := NewAssembler(req)
		for _, ev := range evs {
			a.Apply(ev)
		}
		r := a.Response()
		if got := r.PromptTokenIDs != nil; got != want {
			t.Fatalf("TokenIDs %v: prompt ids %v", want, r.PromptTokenIDs)
		}
		if want && (!slices.Equal(r.PromptTokenIDs[0], ids) || !slices.Equal(r.PromptTokenIDs[1], ids)) {
			t.Fatalf("prompt ids %v", r.PromptTokenIDs)
		}
	}
}

func TestContinueRequestKeepsTheRest(t *testing.T) {
	t.Parallel()
	p := params.Default()
	mt, plp, lp := 10, 3, 2
	p.MaxTokens = &mt
	base := Request{API: params.Completion, Model: "m", Prompt: "x", Params: p, Options: params.Options{N: 3, Logprobs: &lp, PromptLogprobs: &plp}}
	r, err := ContinueRequest(base, Continuation{Text: "ab", Generated: 4})
	if err != nil {
		t.Fatal(err)
	}
	if *r.Params.MaxTokens != 6 || *base.Params.MaxTokens != 10 || r.Options.N != 3 || *r.Options.Logprobs != 2 || r.Options.PromptLogprobs != nil || r.Model != "m" || !r.TokenIDs {
		t.Fatalf("continued %+v (base %+v)", r, base)
	}
	if r.SentPrompt() != "xab" || r.SentPromptIDs() != nil || r.ContinuesMessage() {
		t.Fatalf("sent %q %v %v", r.SentPrompt(), r.SentPromptIDs(), r.ContinuesMessage())
	}
}
