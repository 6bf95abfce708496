package backend_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// TestResponsePlacesSplitTokens: `twinkle sample`'s JSON keeps each token's text as the
// server sent it ("\ufffd" for part of a character) and says where it sits in the content.
func TestResponsePlacesSplitTokens(t *testing.T) {
	k := 1
	req := backend.Request{API: params.Completion, Prompt: "say 好", Params: params.Default(), Options: params.Options{N: 1, Logprobs: &k, PromptLogprobs: &k}}
	a := backend.NewAssembler(req)
	tok := func(s string) backend.Token { return backend.Token{Text: s, Logprob: -0.5, ID: backend.NoTokenID} }
	for _, ev := range []backend.Event{
		{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1, Params: params.Default()}},
		// 好 as [e5 a5][bd]: the text holds it back until its last byte.
		{Kind: backend.EventTokens, Tokens: []backend.Token{tok(" park"), tok("\ufffd")}, Text: " park"},
		{Kind: backend.EventTokens, Tokens: []backend.Token{tok("\ufffd")}, Text: "好"},
		// The stop string "##" matched; the server leaves it out of the content.
		{Kind: backend.EventTokens, Tokens: []backend.Token{tok("##")}},
		{Kind: backend.EventFinish, Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: "##"}},
		{Kind: backend.EventPromptLogprobs, Count: 1, PromptTokens: []backend.Token{{Logprob: backend.Unknown(), ID: backend.NoTokenID}, tok(" \ufffd"), tok("\ufffd")}},
		{Kind: backend.EventDone},
	} {
		a.Apply(ev)
	}
	b, err := json.Marshal(a.Response())
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Tokens       [][]json.RawMessage `json:"tokens"`
		PromptTokens [][]json.RawMessage `json:"prompt_tokens"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"text":" park","logprob":-0.5,"start":0,"end":5}`,
		`{"text":"` + "\ufffd" + `","logprob":-0.5,"start":5,"end":7,"split":{"text":"好","start":5,"end":8,"part":1,"parts":2}}`,
		`{"text":"` + "\ufffd" + `","logprob":-0.5,"start":7,"end":8,"split":{"text":"好","start":5,"end":8,"part":2,"parts":2}}`,
		`{"text":"##","logprob":-0.5,"start":8,"end":10,"after_content":true}`,
	}
	for i, w := range want {
		if string(r.Tokens[0][i]) != w {
			t.Errorf("token %d:\n got %s\nwant %s", i, r.Tokens[0][i], w)
		}
	}
	wantPrompt := []string{
		`{"text":"","logprob":null,"start":0,"end":3}`,
		`{"text":" ` + "\ufffd" + `","logprob":-0.5,"start":3,"end":6,"split":{"text":"好","start":4,"end":7,"part":1,"parts":2}}`,
		`{"text":"` + "\ufffd" + `","logprob":-0.5,"start":6,"end":7,"split":{"text":"好","start":4,"end":7,"part":2,"parts":2}}`,
	}
	for i, w := range wantPrompt {
		if string(r.PromptTokens[0][i]) != w {
			t.Errorf("prompt token %d:\n got %s\nwant %s", i, r.PromptTokens[0][i], w)
		}
	}
	// The content is the real text, and a script can rebuild it from the offsets.
	resp := a.Response()
	content := resp.Trajectories[0].Messages[1].Content
	var joined strings.Builder
	for _, tk := range resp.Tokens[0] {
		if tk.Place != nil && tk.Place.Kind == backend.InText {
			joined.WriteString(content[tk.Place.Start:tk.Place.End])
		}
	}
	if content != " park好" || joined.String() != content {
		t.Errorf("content %q, joined %q", content, joined.String())
	}
	// The JSON reads back.
	var back backend.Token
	if err := json.Unmarshal(r.Tokens[0][1], &back); err != nil || back.Place == nil || back.Place.Split.Text != "好" || back.Place.Start != 5 {
		t.Errorf("read back %+v %v", back.Place, err)
	}
	if err := json.Unmarshal(r.Tokens[0][3], &back); err != nil || back.Place.Kind != backend.InTail {
		t.Errorf("read back %+v %v", back.Place, err)
	}
	if err := json.Unmarshal([]byte(`{"text":"x","logprob":-1,"start":null,"end":null}`), &back); err != nil || back.Place == nil || back.Place.In() {
		t.Errorf("not placed: %+v %v", back.Place, err)
	}
	if err := json.Unmarshal([]byte(`{"text":"x","logprob":-1}`), &back); err != nil || back.Place != nil {
		t.Errorf("no place: %+v %v", back.Place, err)
	}
}
