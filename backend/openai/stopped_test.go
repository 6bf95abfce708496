package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/params"
)

// rawChat serves one chat stream made of chunks, each {"content", "tokens", "ids",
// "finish", "stop_reason"} as a server other than vLLM may write them: stop_reason only
// where a test puts it (as raw JSON).
type rawChunk struct {
	content    string
	tokens     []string
	ids        []int
	finish     string
	stopReason string // raw JSON; "" leaves the field out
}

func rawChatServer(t *testing.T, chunks []rawChunk) *Client {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range chunks {
			choice := map[string]any{"index": 0, "delta": map[string]any{"content": c.content}, "finish_reason": nil}
			if c.finish != "" {
				choice["finish_reason"] = c.finish
			}
			if c.tokens != nil {
				var content []map[string]any
				for _, tok := range c.tokens {
					content = append(content, map[string]any{"token": tok, "logprob": -0.5, "top_logprobs": []any{}})
				}
				choice["logprobs"] = map[string]any{"content": content}
			}
			if c.ids != nil {
				choice["token_ids"] = c.ids
			}
			if c.stopReason != "" {
				choice["stop_reason"] = json.RawMessage(c.stopReason)
			}
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []any{choice}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(hs.Close)
	c, err := New(Config{BaseURL: hs.URL, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cfg.HTTPClient.(*http.Client).CloseIdleConnections() })
	return c
}

// vLLM says what stopped a sample in stop_reason; llm-d-inference-sim and other servers
// send none, and then EOS must not be claimed: only a requested stop the sample visibly
// ends with.
func TestStoppedByNeedsEvidence(t *testing.T) {
	cases := []struct {
		name   string
		stop   params.Stop
		chunks []rawChunk
		logp   bool
		want   string // stopped_by as JSON
	}{
		{"no stop_reason, no stop asked", params.Stop{}, []rawChunk{{content: "Once upon"}, {finish: "stop"}}, false, "null"},
		{"vLLM's null stop_reason is EOS", params.Stop{}, []rawChunk{{content: "Once upon"}, {finish: "stop", stopReason: "null"}}, false, `"eos"`},
		{"vLLM names the stop string", params.Stop{Strings: []string{"###"}}, []rawChunk{{content: "Once"}, {finish: "stop", stopReason: `"###"`}}, false, `"###"`},
		{"no stop_reason, text without the stop", params.Stop{Strings: []string{"###"}}, []rawChunk{{content: "Once upon"}, {finish: "stop"}}, false, "null"},
		{"no stop_reason, text kept ending with the stop", params.Stop{Strings: []string{"###", "\n\n"}}, []rawChunk{{content: "Once upon#"}, {content: "##"}, {finish: "stop"}}, false, `"###"`},
		{"no stop_reason, stop stripped from the text but in the tokens", params.Stop{Strings: []string{"###"}},
			[]rawChunk{{content: "Once", tokens: []string{"Once"}}, {tokens: []string{" #", "##"}}, {finish: "stop"}}, true, `"###"`},
		{"no stop_reason, two stop strings could have matched", params.Stop{Strings: []string{"##", "###"}}, []rawChunk{{content: "Once###"}, {finish: "stop"}}, false, "null"},
		{"no stop_reason, the last token is a stop id", params.Stop{TokenIDs: []int{42}},
			[]rawChunk{{content: "Once", tokens: []string{"Once", "<|x|>"}, ids: []int{7, 42}}, {finish: "stop"}}, true, "42"},
		{"no stop_reason, length", params.Stop{Strings: []string{"###"}}, []rawChunk{{content: "###"}, {finish: "length"}}, false, "null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawChatServer(t, tc.chunks)
			p := sampling(1, i64(1), ip(8))
			p.Stop = tc.stop
			var k *int
			if tc.logp {
				k = ip(0)
			}
			evs, r, _ := collect(t, context.Background(), c, chatReq(p, 1, k))
			f := finishes(t, evs, 1)[0]
			b, _ := json.Marshal(f.StoppedBy)
			if string(b) != tc.want {
				t.Errorf("stopped_by = %s, want %s", b, tc.want)
			}
			out, _ := json.Marshal(r)
			if !strings.Contains(string(out), `"stopped_by":[`+tc.want+`]`) {
				t.Errorf("response JSON: %s", out)
			}
		})
	}
}
