package backend_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// TestSampleSplitCharacters: against a server whose tokens split 好, é and 🙂 over byte
// tokens, `twinkle sample` keeps each token's text as sent ("\ufffd" pieces) and says
// where every token sits in the content, so the tokens join back to the content exactly.
func TestSampleSplitCharacters(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	c := newClient(t, srv)
	for _, api := range []params.API{params.Chat, params.Completion} {
		p := params.Default()
		seed, mt := int64(3), 60
		p.Seed, p.MaxTokens, p.Stop = &seed, &mt, params.Stop{Strings: []string{"###"}}
		req := backend.Request{API: api, Model: vllmtest.SplitModel, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Prompt: "hi",
			Params: p, Options: params.Options{N: 2, Logprobs: ip(3)}}
		var out bytes.Buffer
		resp, err := backend.RunSample(context.Background(), c, req, false, &out)
		if err != nil {
			t.Fatal(err)
		}
		partial := 0
		for i, toks := range resp.Tokens {
			content := resp.Trajectories[i].Messages[len(resp.Trajectories[i].Messages)-1].Content
			if strings.Contains(content, "\ufffd") {
				t.Fatalf("%s sample %d: content %q has U+FFFD", api, i, content)
			}
			var joined strings.Builder
			at := 0
			for k, tk := range toks {
				if strings.Contains(tk.Text, "\ufffd") {
					partial++
				}
				pl := tk.Place
				if pl == nil {
					t.Fatalf("%s sample %d token %d: no place", api, i, k)
				}
				if pl.Kind != backend.InText {
					continue // the stop string's tokens, cut from the content
				}
				if pl.Start != at {
					t.Fatalf("%s sample %d token %d starts at %d, want %d", api, i, k, pl.Start, at)
				}
				joined.WriteString(content[pl.Start:min(pl.End, len(content))])
				at = pl.End
			}
			if joined.String() != content {
				t.Fatalf("%s sample %d: tokens join to %q, content %q", api, i, joined.String(), content)
			}
		}
		if partial == 0 {
			t.Fatalf("%s: no partial tokens", api)
		}
		if !bytes.Contains(out.Bytes(), []byte(`"split":{"text":"`)) || !bytes.Contains(out.Bytes(), []byte(`"after_content":true`)) {
			t.Errorf("%s: the JSON names no split character or no cut stop string:\n%s", api, out.String())
		}
	}
}
