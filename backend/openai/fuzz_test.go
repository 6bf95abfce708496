package openai

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

// FuzzChunkDecoder feeds the chunk decoder what a hostile or broken server could send.
// It must never panic; invalid JSON is an error; and what it accepts is well formed:
// alternatives sorted, logprobs real or Unknown, and the same chunk decoded twice gives
// the same choices (nothing leaks from one chunk into the next).
func FuzzChunkDecoder(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":1,"delta":{"content":" Hi"},"logprobs":{"content":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105],"top_logprobs":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105]},{"token":" Hello","logprob":-1.8,"bytes":[32,72,101,108,108,111]}]}]},"finish_reason":null,"token_ids":[9]}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":128009,"token_ids":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":13,"total_tokens":16,"completion_tokens":3}}`,
		`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":1,"text":" world","logprobs":{"text_offset":[5],"token_logprobs":[-0.52],"tokens":[" world"],"top_logprobs":[{" world":-0.52," there":-1.4," all":-2.0}]},"finish_reason":null,"stop_reason":null}]}`,
		`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"","logprobs":{"token_logprobs":[null,-9999.0],"tokens":["a","b"],"top_logprobs":[null,{}]},"finish_reason":"stop","stop_reason":"###"}]}`,
		`{"choices":[{"index":-1,"logprobs":{"content":[{"token":"\ufffd","logprob":"x"}]}}]}`,
		`{"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}`,
		`{"choices":[{"logprobs":{"tokens":["a"],"top_logprobs":[{"a":1e400}]}}]}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, chat := range []bool{true, false} {
			d := newDecoder(chat, true)
			err := d.decode(data)
			if !json.Valid(data) && err == nil {
				t.Fatalf("chat=%v: invalid JSON %q decoded without an error", chat, data)
			}
			if err != nil {
				continue
			}
			first := choicesJSON(t, d.choices)
			for _, c := range d.choices {
				for _, tok := range c.tokens {
					checkLogprob(t, tok.Logprob)
					for k, a := range tok.Top {
						checkLogprob(t, a.Logprob)
						if k > 0 && altLess(a, tok.Top[k-1]) {
							t.Fatalf("alternatives out of order: %+v", tok.Top)
						}
					}
				}
			}
			if err := d.decode(data); err != nil {
				t.Fatalf("the same chunk failed the second time: %v", err)
			}
			if again := choicesJSON(t, d.choices); again != first {
				t.Fatalf("the same chunk decoded differently:\n%s\n%s", first, again)
			}
		}
	})
}

func checkLogprob(t *testing.T, l backend.Logprob) {
	t.Helper()
	if l.Known() && (math.IsInf(float64(l), 0) || l <= -9999) {
		t.Fatalf("logprob %v passes for a real one", float64(l))
	}
}

func choicesJSON(t *testing.T, cs []decodedChoice) string {
	t.Helper()
	type view struct {
		Index  int
		Text   string
		Tokens []backend.Token
		Finish string
		Stop   any
	}
	vs := make([]view, len(cs))
	for i, c := range cs {
		vs[i] = view{c.index, c.text, c.tokens, c.finish, c.stop}
	}
	b, err := json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
