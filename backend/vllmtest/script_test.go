package vllmtest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Generate follows vLLM's seed rule: sample i of seed S is sample 0 of seed S+i, so any
// one sample can be re-run alone.
func TestGenerateSeedsAndEndings(t *testing.T) {
	seed, next := int64(40), int64(41)
	four := Generate(4, &seed, nil, []string{"END"}, []int{128009})
	alone := Generate(1, &next, nil, []string{"END"}, []int{128009})
	if !reflect.DeepEqual(four[1].Tokens[0], alone[0].Tokens[0]) {
		t.Fatalf("sample 1 of seed 40 starts %+v, sample 0 of seed 41 %+v", four[1].Tokens[0], alone[0].Tokens[0])
	}
	want := []struct {
		finish string
		reason wire.StopReason
		n      int
		hidden int
	}{
		{"length", wire.StopNull(), 16, 0},
		{"stop", wire.StopString("END"), 9, 1}, // odd index with stop strings
		{"stop", wire.StopToken(128009), 9, 0}, // i%3 == 2 with stop ids
		{"stop", wire.StopString("END"), 9, 1}, // odd again
	}
	for i, w := range want {
		s := four[i]
		if s.Finish != w.finish || s.StopReason != w.reason || len(s.Tokens) != w.n || s.Hidden != w.hidden {
			t.Errorf("sample %d: finish %q reason %+v %d tokens hidden %d", i, s.Finish, s.StopReason, len(s.Tokens), s.Hidden)
		}
		for _, tok := range s.Tokens {
			if len(tok.Alts) != 6 || tok.Logprob >= 0 {
				t.Fatalf("sample %d token %+v", i, tok)
			}
		}
	}
	if last := four[1].Tokens[8]; last.Text != "END" {
		t.Errorf("a stop-string sample ends with the stop string as a hidden token, got %q", last.Text)
	}
	plain := Generate(2, nil, ptr(3), nil, nil)
	if plain[1].Finish != "stop" || plain[1].StopReason != wire.StopNull() || len(plain[1].Tokens) != 2 {
		t.Errorf("EOS sample: %+v", plain[1])
	}
}

func ptr[T any](v T) *T { return &v }

// TokensPerChunk puts several logprob entries in one chunk; TextLag holds the content
// back and flushes it with the final chunk; Hidden tokens appear in the logprobs only.
func TestChunkingAndTextLag(t *testing.T) {
	srv := New()
	defer srv.Close()
	toks := []Tok{{Text: "A", Logprob: -1}, {Text: "B", Logprob: -1}, {Text: "C", Logprob: -1}, {Text: "###", Logprob: -1}}
	srv.Push(Script{TokensPerChunk: 2, TextLag: 1, Samples: []Sample{{Tokens: toks, Finish: "stop", StopReason: wire.StopString("###"), Hidden: 1}}})
	_, body := post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"stream":true}`)
	var contents []string
	var entries []int
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		d := strings.TrimPrefix(ev, "data: ")
		if d == "[DONE]" {
			continue
		}
		var ch wire.ChatChunk
		if err := json.Unmarshal([]byte(d), &ch); err != nil {
			t.Fatal(err)
		}
		c := ch.Choices[0]
		if c.Delta.Role != "" {
			continue
		}
		contents = append(contents, c.Delta.Content.V)
		n := 0
		if c.Logprobs != nil {
			n = len(c.Logprobs.Content)
		}
		entries = append(entries, n)
	}
	if !reflect.DeepEqual(contents, []string{"A", "BC", ""}) || !reflect.DeepEqual(entries, []int{2, 2, 0}) {
		t.Fatalf("contents %q, logprob entries per chunk %v\n%s", contents, entries, body)
	}
}

func TestNonStreamChat(t *testing.T) {
	srv := New()
	defer srv.Close()
	srv.Push(Script{Samples: []Sample{{Tokens: []Tok{{Text: " Hi", Logprob: -0.5, Alts: []Alt{{" Hello", -1}, {" Hi", -9}}}, {Text: "!", Logprob: -0.1}}, Finish: "stop", StopReason: wire.StopNull()}}})
	_, body := post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Once upon"}],"logprobs":true,"top_logprobs":2,"prompt_logprobs":1,"return_token_ids":true}`)
	var r wire.ChatResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	c := r.Choices[0]
	if r.Object != "chat.completion" || c.Message.Content.V != " Hi!" || c.Message.Role != "assistant" || *c.FinishReason != "stop" || r.Usage.CompletionTokens != 2 || r.Usage.PromptTokens != 2 {
		t.Fatalf("%s", body)
	}
	top := c.Logprobs.Content[0].TopLogprobs
	// the sampled token first, then the best other one; an alternative equal to the
	// sampled text is not repeated.
	if len(top) != 2 || top[0].Token != " Hi" || top[1].Token != " Hello" || len(c.Logprobs.Content[1].TopLogprobs) != 1 {
		t.Fatalf("top_logprobs %+v", c.Logprobs.Content)
	}
	if len(r.PromptLogprobs) != 2 || r.PromptLogprobs[0] != nil || len(r.PromptTokenIDs) != 2 {
		t.Fatalf("prompt logprobs and ids: %s", body)
	}
}
