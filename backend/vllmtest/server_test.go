package vllmtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func post(t *testing.T, srv *Server, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The stream is vLLM's, as shared/vllm-protocol.md shows it for n=2, logprobs, top 2.
func TestChatStreamShape(t *testing.T) {
	srv := New()
	defer srv.Close()
	tok := func(text string, lp float64, alts ...Alt) Tok { return Tok{Text: text, Logprob: lp, Alts: alts} }
	srv.Push(Script{Samples: []Sample{
		{Tokens: []Tok{tok(" Hi", -0.31, Alt{" Hello", -1.8})}, Finish: "stop"},
		{Tokens: []Tok{tok(" Yo", -2.5, Alt{" Hi", -0.2}), tok("!", -0.1)}, Finish: "stop", StopReason: wire.StopToken(128009)},
	}})
	resp, body := post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"n":2,"logprobs":true,"top_logprobs":2,"stream":true,"stream_options":{"include_usage":true}}`)
	if resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	const head = `{"id":"chatcmpl-twinkletest","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[`
	want := []string{
		head + `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}`,
		head + `{"index":1,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}`,
		head + `{"index":0,"delta":{"content":" Hi"},"logprobs":{"content":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105],"top_logprobs":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105]},{"token":" Hello","logprob":-1.8,"bytes":[32,72,101,108,108,111]}]}]},"finish_reason":null,"token_ids":null}]}`,
		// the sampled token first, though " Hi" ranks higher: unsorted, as vLLM sends it
		head + `{"index":1,"delta":{"content":" Yo"},"logprobs":{"content":[{"token":" Yo","logprob":-2.5,"bytes":[32,89,111],"top_logprobs":[{"token":" Yo","logprob":-2.5,"bytes":[32,89,111]},{"token":" Hi","logprob":-0.2,"bytes":[32,72,105]}]}]},"finish_reason":null,"token_ids":null}]}`,
		head + `{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null,"token_ids":null}]}`,
		head + `{"index":1,"delta":{"content":"!"},"logprobs":{"content":[{"token":"!","logprob":-0.1,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.1,"bytes":[33]}]}]},"finish_reason":null,"token_ids":null}]}`,
		head + `{"index":1,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":128009,"token_ids":null}]}`,
		head + `],"usage":{"prompt_tokens":5,"total_tokens":8,"completion_tokens":3}}`,
		`[DONE]`,
	}
	var got []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data line", ev)
		}
		got = append(got, d)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
	rec := srv.Requests()[0]
	if rec.Path != "/v1/chat/completions" || *rec.Request.N != 2 || rec.Fields()["top_logprobs"] != 2.0 {
		t.Errorf("recorded %+v", rec)
	}
}

func TestCompletionStreamShape(t *testing.T) {
	srv := New()
	defer srv.Close()
	srv.Push(Script{Samples: []Sample{{Tokens: []Tok{{Text: "Hello", Logprob: -1}, {Text: " world", Logprob: -0.52, Alts: []Alt{{" there", -1.4}, {" all", -2.0}}}}, Finish: "length"}}})
	_, body := post(t, srv, "/completions", `{"model":"m","prompt":"x","logprobs":2,"stream":true}`)
	want := `data: {"id":"cmpl-twinkletest","object":"text_completion","created":1767225600,"model":"m","choices":[{"index":0,"text":" world","logprobs":{"text_offset":[5],"token_logprobs":[-0.52],"tokens":[" world"],"top_logprobs":[{" world":-0.52," there":-1.4," all":-2}]},"finish_reason":null,"stop_reason":null}]}`
	if !strings.Contains(body, want+"\n\n") || !strings.HasSuffix(body, `"finish_reason":"length","stop_reason":null}]}`+"\n\ndata: [DONE]\n\n") {
		t.Errorf("completion stream:\n%s", body)
	}
	if strings.Contains(body, `"usage"`) {
		t.Error("usage chunk without stream_options.include_usage")
	}
}

func TestValidationAndErrorShapes(t *testing.T) {
	srv := New()
	defer srv.Close()
	for body, want := range map[string]string{
		`{"model":"m","prompt":"x","top_p":0,"stream":true}`:                                         `"param":"top_p"`,
		`{"model":"m","prompt":"x","temperature":0,"n":3}`:                                           `n must be 1 when using greedy sampling, got 3.`,
		`{"model":"m","prompt":"x","stream":true,"prompt_logprobs":1}`:                               "`prompt_logprobs` are not available when `stream=True`.",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":false,"top_logprobs":2}`: "when using `top_logprobs`, `logprobs` must be set to true.",
	} {
		resp, got := post(t, srv, "/completions", body)
		if strings.Contains(body, "messages") {
			resp, got = post(t, srv, "/chat/completions", body)
		}
		if resp.StatusCode != 400 || !strings.Contains(got, want) || !strings.HasPrefix(got, `{"error":{"message":`) {
			t.Errorf("%s: %d %s", body, resp.StatusCode, got)
		}
	}
	p := "top_p"
	f := NoFault()
	f.Status, f.ErrorShape, f.Message, f.Param, f.Type = 400, ShapeFlat, "bad", &p, "BadRequestError"
	srv.Push(Script{Fault: &f})
	_, got := post(t, srv, "/completions", `{"model":"m","prompt":"x"}`)
	if got != `{"object":"error","message":"bad","type":"BadRequestError","param":"top_p","code":400}` {
		t.Errorf("flat error %s", got)
	}
}

func TestNonStreamWithPromptLogprobs(t *testing.T) {
	srv := New()
	defer srv.Close()
	_, got := post(t, srv, "/completions", `{"model":"m","prompt":"Once upon","max_tokens":1,"prompt_logprobs":1,"return_token_ids":true}`)
	var r wire.CompletionResponse
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatal(err)
	}
	c := r.Choices[0]
	if len(c.PromptLogprobs) != 2 || c.PromptLogprobs[0] != nil || c.PromptLogprobs[1][0].TokenID != 2001 || len(c.PromptLogprobs[1]) != 2 || len(c.PromptTokenIDs) != 2 || *c.FinishReason != "length" {
		t.Errorf("%s", got)
	}
	if !bytes.Contains([]byte(got), []byte(`"prompt_logprobs":[null,{"2001":{"logprob":-2.5,"rank":3,"decoded_token":" upon"}`)) {
		t.Errorf("prompt_logprobs JSON: %s", got)
	}
}

func TestModelsList(t *testing.T) {
	srv := New()
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != `{"object":"list","data":[{"id":"twinkle-test/tiny-chat","object":"model","created":1767225600,"owned_by":"vllm","root":"twinkle-test/tiny-chat","max_model_len":4096}]}` {
		t.Errorf("%s", b)
	}
}

// vLLM's other sampling fields: accepted and recorded as sent, refused in vLLM's words
// (vllmcheck, as the built-in model's server).
func TestAdvancedFieldsAcceptedAndRefused(t *testing.T) {
	srv := New()
	defer srv.Close()
	const ok = `{"model":"m","prompt":"x","max_tokens":4,"min_p":0.1,"presence_penalty":0.5,"frequency_penalty":-0.5,"min_tokens":2,"ignore_eos":true,"include_stop_str_in_output":true,"logit_bias":{"13":-100,"7":5},"bad_words":["foo"]}`
	if resp, got := post(t, srv, "/completions", ok); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	r := srv.Requests()[0].Request
	if *r.MinP != 0.1 || *r.PresencePenalty != 0.5 || *r.FrequencyPenalty != -0.5 || *r.MinTokens != 2 || !r.IgnoreEOS || !r.IncludeStopStrInOutput ||
		r.LogitBias["13"] != -100 || r.LogitBias["7"] != 5 || len(r.BadWords) != 1 || r.BadWords[0] != "foo" {
		t.Errorf("recorded %+v", r)
	}
	for body, want := range map[string]string{
		`{"model":"m","prompt":"x","logit_bias":{"x":1}}`:          `logit_bias contains key(s) that cannot be converted to integer token IDs: ['x'] (parameter=logit_bias, value=['x'])","type":"BadRequestError","param":"logit_bias"`,
		`{"model":"m","prompt":"x","bad_words":[""]}`:              `bad_words cannot contain an empty string. Got bad_words=['']","type":"BadRequestError","param":null`,
		`{"model":"m","prompt":"x","min_tokens":5,"max_tokens":4}`: `min_tokens must be less than or equal to max_tokens=4, got 5.`,
		`{"model":"m","prompt":"x","min_p":-0.1}`:                  `min_p must be in [0, 1], got -0.1.`,
		`{"model":"m","prompt":"x","ignore_eos":null}`:             `ignore_eos: Input should be a valid boolean, got JSON null`,
	} {
		resp, got := post(t, srv, "/completions", body)
		if resp.StatusCode != 400 || !strings.Contains(got, want) {
			t.Errorf("%s: %d %s\nwant %s", body, resp.StatusCode, got, want)
		}
	}
}
