package localserver

import (
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// FuzzParse: the built-in model's server listens on the network, and parse is all it
// does with a request's bytes before generating. Whatever the bytes, parse does not
// panic, and either refuses with a well-formed vLLM error (a 4xx with a message, whose
// body a client reads back) or accepts a completions request that the engine can run
// and whose output fits the context.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"prompt":"func main() {","max_tokens":8,"temperature":0}`,
		`{"prompt":[1,2,3],"echo":true,"logprobs":2,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"prompt":["abc"],"n":4,"seed":-1,"top_k":-1,"top_p":0.5,"min_p":0.1,"stop":["\n","}"],"stop_token_ids":[0]}`,
		`{"prompt":"a","max_tokens":null,"prompt_logprobs":0,"min_tokens":2,"repetition_penalty":1.2}`,
		`{"prompt":"a","logprobs":20,"prompt_logprobs":20,"presence_penalty":-2,"frequency_penalty":2}`,
		`{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":-1}`,
		`{"prompt":"a","stream_options":{},"Temperature":9,"max_tokens":1e3}`,
		`{"prompt":"a","max_tokens":9223372036854775807,"min_tokens":-9223372036854775808}`,
		`[]`, `null`, `{"prompt":`, ``,
	} {
		f.Add([]byte(seed), strings.Contains(seed, "messages"))
	}
	m := builtin(f)
	s := NewServer(m, Options{}).(*server)
	f.Fuzz(func(t *testing.T, body []byte, chat bool) {
		p, e := s.parse(body, chat)
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Message == "" || e.Type == "" {
				t.Fatalf("refusal %+v", e)
			}
			b, err := wire.Marshal(e.Body())
			info, ok := wire.ParseError(b)
			if err != nil || !ok || info.StatusCode() != e.Status || info.Message != e.Message {
				t.Fatalf("error body %s does not read back (%v)", b, err)
			}
			return
		}
		if chat {
			t.Fatal("a chat request was accepted by a model with no chat template")
		}
		if err := m.Check(&p.req); err != nil {
			t.Fatalf("accepted a request the engine refuses: %v\n%s", err, body)
		}
		if ctx := m.Config.MaxSeqLen; p.req.MaxTokens > ctx-len(p.req.Prompt) {
			t.Fatalf("max_tokens %d after a %d-token prompt overruns the %d-token context", p.req.MaxTokens, len(p.req.Prompt), ctx)
		}
		if p.req.N > s.opts.MaxN || (p.req.Logprobs > 20) || p.req.PromptLogprobs > 20 {
			t.Fatalf("caps not applied: %+v", p.req)
		}
	})
}
