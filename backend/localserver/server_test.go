package localserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// builtin is the shipped model: the server is tested on what it serves.
func builtin(t testing.TB) *local.Model {
	t.Helper()
	m, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testClient(t *testing.T) (*http.Client, *local.Model) {
	t.Helper()
	m := builtin(t)
	return NewClient(m, Options{}), m
}

func post(t *testing.T, c *http.Client, path, body string) (int, []byte) {
	t.Helper()
	resp, err := c.Post("http://local"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// events reads an SSE response into its data payloads.
func events(t *testing.T, body []byte) []string {
	t.Helper()
	rd := wire.NewSSEReader(bytes.NewReader(body))
	var out []string
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(ev.Data))
	}
}

func TestServerModels(t *testing.T) {
	c, m := testClient(t)
	resp, err := c.Get("http://local/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ml wire.ModelList
	if err := json.NewDecoder(resp.Body).Decode(&ml); err != nil || len(ml.Data) != 1 || ml.Data[0].ID != m.Name || ml.Data[0].MaxModelLen != m.Config.MaxSeqLen {
		t.Fatalf("models: %+v %v", ml, err)
	}
}

func TestServerCompletion(t *testing.T) {
	c, m := testClient(t)
	code, b := post(t, c, "/v1/completions", `{"prompt":"abc","n":2,"max_tokens":5,"logprobs":2,"seed":3,"temperature":1,"ignore_eos":true}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var r wire.CompletionResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Choices) != 2 || r.Usage.CompletionTokens != 10 || r.Usage.PromptTokens != len(m.Tok.Encode("abc")) || r.Object != "text_completion" {
		t.Fatalf("completion: %s", b)
	}
	for _, ch := range r.Choices {
		lp := ch.Logprobs
		if *ch.FinishReason != "length" || !ch.StopReason.Present || ch.StopReason.Kind != wire.StopReasonNull {
			t.Fatalf("choice %d finish %v stop_reason %+v", ch.Index, *ch.FinishReason, ch.StopReason)
		}
		if lp == nil || len(lp.Tokens) != 5 || len(lp.TopLogprobs) != 5 || lp.TextOffset[0] != 0 {
			t.Fatalf("choice %d logprobs %+v", ch.Index, lp)
		}
		for i, tm := range lp.TopLogprobs {
			// sampled token first, then up to k alternatives: 2 or 3 keys.
			if len(tm) < 2 || len(tm) > 3 || tm[0].Token != lp.Tokens[i] || tm[0].Logprob != *lp.TokenLogprobs[i] {
				t.Fatalf("top_logprobs[%d] = %+v for token %q", i, tm, lp.Tokens[i])
			}
		}
	}
	// Same seed, same text; the default max_tokens of completions is 16.
	_, b2 := post(t, c, "/v1/completions", `{"prompt":"abc","n":2,"max_tokens":5,"logprobs":2,"seed":3,"temperature":1,"ignore_eos":true}`)
	var r2 wire.CompletionResponse
	json.Unmarshal(b2, &r2)
	if r2.Choices[0].Text != r.Choices[0].Text || r2.Choices[1].Text != r.Choices[1].Text {
		t.Fatal("same seed gave different text")
	}
	_, b3 := post(t, c, "/v1/completions", `{"prompt":"abc","temperature":0,"ignore_eos":true}`)
	var r3 wire.CompletionResponse
	json.Unmarshal(b3, &r3)
	if r3.Usage == nil || r3.Usage.CompletionTokens != 16 || r3.Choices[0].Logprobs != nil {
		t.Fatalf("default max_tokens: %s", b3)
	}
	// max_tokens sent as null is not left out: the output may run to the end of the
	// context, as vLLM's completions do.
	_, b4 := post(t, c, "/v1/completions", `{"prompt":"abc","temperature":0,"ignore_eos":true,"max_tokens":null}`)
	var r4 wire.CompletionResponse
	json.Unmarshal(b4, &r4)
	if r4.Usage == nil || r4.Usage.TotalTokens != m.Config.MaxSeqLen || *r4.Choices[0].FinishReason != "length" {
		t.Fatalf("max_tokens null: %s", b4)
	}
}

func TestServerCompletionStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, _ := testClient(t)
	code, b := post(t, c, "/v1/completions", `{"prompt":"abc","n":2,"max_tokens":4,"logprobs":1,"stream":true,"stream_options":{"include_usage":true},"temperature":0.8,"ignore_eos":true}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	evs := events(t, b)
	if evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("last event %q", evs[len(evs)-1])
	}
	var usage *wire.Usage
	finished := map[int]bool{}
	tokens := map[int]int{}
	offsets := map[int]int{}
	for _, e := range evs[:len(evs)-1] {
		var ch wire.CompletionChunk
		if err := json.Unmarshal([]byte(e), &ch); err != nil {
			t.Fatal(err)
		}
		if ch.Usage != nil {
			if len(ch.Choices) != 0 {
				t.Fatal("usage chunk with choices")
			}
			usage = ch.Usage
			continue
		}
		if len(ch.Choices) != 1 {
			t.Fatalf("chunk with %d choices", len(ch.Choices))
		}
		cc := ch.Choices[0]
		if finished[cc.Index] {
			t.Fatalf("chunk for index %d after its finish", cc.Index)
		}
		if !cc.StopReason.Present {
			t.Fatal("completion chunk without stop_reason")
		}
		if cc.FinishReason != nil {
			finished[cc.Index] = true
		}
		tokens[cc.Index] += len(cc.Logprobs.Tokens)
		if cc.Logprobs.TextOffset[0] != offsets[cc.Index] {
			t.Fatalf("text_offset %d, want %d (characters of text sent before, as vLLM)", cc.Logprobs.TextOffset[0], offsets[cc.Index])
		}
		offsets[cc.Index] += utf8.RuneCountInString(cc.Text)
	}
	if !finished[0] || !finished[1] || tokens[0] != 4 || tokens[1] != 4 || usage == nil || usage.CompletionTokens != 8 {
		t.Fatalf("finished %v tokens %v usage %+v", finished, tokens, usage)
	}
}

// TestServerChatHasNoTemplate: the model defines no chat template, so every chat
// request, streamed or not, and /tokenize of messages get vLLM's answer for such a
// model, whatever the model is called: a 400 BadRequestError, param null, with vLLM's
// message. Over the in-process transport as over HTTP (TestListenAndServe).
func TestServerChatHasNoTemplate(t *testing.T) {
	c, _ := testClient(t)
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"n":2,"max_tokens":3,"logprobs":true,"top_logprobs":2,"stream":true,"seed":1}`},
		{"/v1/chat/completions", `{"model":"twinkle-go-small","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0,"prompt_logprobs":1}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`},
		{"/v1/chat/completions", `{"messages":[]}`},
		{"/tokenize", `{"messages":[{"role":"user","content":"hi"}]}`},
	} {
		code, b := post(t, c, tc.path, tc.body)
		if code != 400 || string(b) != `{"error":{"message":"`+vllmcheck.NoChatTemplate+`","type":"BadRequestError","param":null,"code":400}}` {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, code, b)
		}
	}
}

func TestServerErrors(t *testing.T) {
	c, m := testClient(t)
	ctx := m.Config.MaxSeqLen
	long := strings.Repeat("x", ctx*m.Tok.MaxTokenLen()+1)
	cases := []struct {
		path, body string
		code       int
		param, msg string
	}{
		{"/v1/completions", `{"prompt":"a","top_p":0}`, 400, "top_p", "top_p must be in (0, 1], got 0.0. (parameter=top_p, value=0.0)"},
		{"/v1/completions", `{"prompt":"a","temperature":-1}`, 400, "temperature", "temperature must be non-negative, got -1.0. (parameter=temperature, value=-1.0)"},
		{"/v1/completions", `{"prompt":"a","temperature":2.5}`, 400, "temperature", "temperature must be in [0, 2], got 2.5."},
		{"/v1/completions", `{"prompt":"a","top_k":-2}`, 400, "", "top_k must be 0 (disable), or at least 1, got -2."},
		{"/v1/completions", `{"prompt":"a","n":3,"temperature":0}`, 400, "", "n must be 1 when using greedy sampling, got 3."},
		{"/v1/completions", `{"prompt":"a","n":17}`, 400, "", "n must be at most 16"},
		{"/v1/completions", `{"prompt":"a","prompt_logprobs":1,"stream":true}`, 400, "prompt_logprobs", "`prompt_logprobs` are not available when `stream=True`."},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"top_logprobs":2}`, 400, "top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true."},
		{"/v1/completions", `{"prompt":"a","logprobs":21}`, 400, "logprobs", "Requested sample logprobs of 21, which is greater than max allowed: 20 (parameter=logprobs, value=21)"},
		{"/v1/completions", `{"prompt":"a","logprobs":-1}`, 400, "logprobs", "`logprobs` must be a positive value."},
		{"/v1/completions", `{"prompt":"a","prompt_logprobs":-1}`, 400, "prompt_logprobs", fmt.Sprintf("Requested prompt logprobs of %d, which is greater than max allowed: 20", m.Config.VocabSize)},
		{"/v1/completions", `{"prompt":"a","stream_options":{"include_usage":true}}`, 400, "stream_options", "Stream options can only be defined when `stream=True`."},
		{"/v1/completions", `{"prompt":"a","max_tokens":0}`, 400, "max_tokens", "max_tokens must be at least 1, got 0. (parameter=max_tokens, value=0)"},
		{"/v1/completions", `{"prompt":"a","min_tokens":9,"max_tokens":4}`, 400, "", "min_tokens must be less than or equal to max_tokens=4, got 9."},
		{"/v1/completions", `{"prompt":"a","presence_penalty":3}`, 400, "", "presence_penalty must be in [-2, 2], got 3.0."},
		{"/v1/completions", `{"prompt":"a","repetition_penalty":0}`, 400, "", "repetition_penalty must be greater than zero, got 0.0."},
		{"/v1/completions", `{"prompt":"a","stop":["x",""]}`, 400, "", "stop cannot contain an empty string."},
		{"/v1/completions", `{"prompt":"a","stop_token_ids":[99999]}`, 400, "stop_token_ids", fmt.Sprintf("token_id(s) [99999] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: %d (parameter=stop_token_ids, value=[99999])", m.Config.VocabSize)},
		{"/v1/completions", `{"prompt":"a","stop_token_ids":[-1]}`, 400, "stop_token_ids", "token_id(s) [-1] in stop_token_ids"},
		{"/v1/completions", `{"prompt":"a","model":"gpt-9"}`, 404, "model", "The model `gpt-9` does not exist."},
		{"/v1/completions", `{"prompt":`, 400, "", "JSON"},
		{"/v1/completions", `[1,2]`, 400, "", "JSON object"},
		{"/v1/completions", `{"prompt":"a","temperature":"hot"}`, 400, "temperature", "temperature: Input should be a valid number, got JSON string"},
		{"/v1/completions", `{"prompt":""}`, 400, "", "Either prompt or prompt_embeds must be provided and non-empty."},
		{"/v1/completions", `{"prompt":[1,99999]}`, 400, "", "Token id 99999 is out of vocabulary"},
		{"/v1/completions", `{"prompt":"a","min_p":2}`, 400, "", "min_p must be in [0, 1], got 2.0."},
		// max_tokens beyond the context is refused as vLLM refuses it, not cut short.
		{"/v1/completions", `{"prompt":"a","max_tokens":5000}`, 400, "input_tokens", fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested 5000 output tokens and your prompt contains at least 1 input tokens, for a total of at least 5001 tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=1)", ctx)},
		{"/v1/completions", `{"prompt":"` + strings.Repeat("xy ", ctx) + `"}`, 400, "input_tokens", fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested 16 output tokens and your prompt contains at least", ctx)},
		{"/v1/completions", `{"prompt":"` + long + `"}`, 400, "input_tokens", fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested 16 output tokens and your prompt contains at least %d input tokens", ctx, ctx+1)},
	}
	for _, tc := range cases {
		code, b := post(t, c, tc.path, tc.body)
		info, ok := wire.ParseError(b)
		if code != tc.code || !ok || info.StatusCode() != tc.code || !strings.Contains(info.Message, tc.msg) {
			t.Errorf("%s %.80s: %d %s", tc.path, tc.body, code, b)
			continue
		}
		if (tc.param == "") != (info.Param == nil) || (info.Param != nil && *info.Param != tc.param) {
			t.Errorf("%.80s: param %v, want %q", tc.body, info.Param, tc.param)
		}
		if tc.code == 400 && info.Type != "BadRequestError" {
			t.Errorf("%.80s: type %q", tc.body, info.Type)
		}
		if strings.Contains(info.Message, "stop stop") || strings.Contains(info.Message, "float64") {
			t.Errorf("%.80s: message %q", tc.body, info.Message)
		}
	}
	// Unknown fields are ignored, as vLLM does; so is a known name in the wrong case
	// (pydantic matches names exactly; Go's decoder would not).
	for _, body := range []string{`{"prompt":"a","max_tokens":1,"temprature":5}`, `{"prompt":"a","max_tokens":1,"Temperature":5}`} {
		if code, b := post(t, c, "/v1/completions", body); code != 200 {
			t.Errorf("%s: %d %s", body, code, b)
		}
	}
}

// TestServerBodyTooLarge: a body over the limit is a 413 that says so, not a
// JSON error about a body cut short.
func TestServerBodyTooLarge(t *testing.T) {
	c, _ := testClient(t)
	body := `{"prompt":"` + strings.Repeat("a", vllmcheck.MaxBodyBytes) + `"}`
	for _, path := range []string{"/v1/completions", "/v1/chat/completions", "/tokenize"} {
		code, b := post(t, c, path, body)
		info, ok := wire.ParseError(b)
		if code != 413 || !ok || info.StatusCode() != 413 || !strings.Contains(info.Message, "too large") || strings.Contains(info.Message, "JSON") {
			t.Errorf("%s: %d %.300s", path, code, b)
		}
	}
}

// TestServerUnknownRoutes: a known path with the wrong method is a 405, an
// unknown path a 404, both as vLLM-shaped JSON errors.
func TestServerUnknownRoutes(t *testing.T) {
	c, _ := testClient(t)
	cases := []struct {
		method, path string
		code         int
		typ          string
	}{
		{"GET", "/v1/completions", 405, "MethodNotAllowed"},
		{"DELETE", "/v1/models", 405, "MethodNotAllowed"},
		{"POST", "/health", 405, "MethodNotAllowed"},
		{"GET", "/tokenize", 405, "MethodNotAllowed"},
		{"GET", "/v1/nothing", 404, "NotFoundError"},
		{"POST", "/v1/models/extra", 404, "NotFoundError"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, "http://local"+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		info, ok := wire.ParseError(b)
		if resp.StatusCode != tc.code || !ok || info.StatusCode() != tc.code || info.Type != tc.typ || !strings.Contains(info.Message, tc.path) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, b)
		}
	}
}

func TestServerTokenize(t *testing.T) {
	c, tm := testClient(t)
	code, b := post(t, c, "/tokenize", `{"prompt":"func main() {","return_token_strs":true}`)
	var tr tokenizeResponse
	if code != 200 || json.Unmarshal(b, &tr) != nil || tr.Count != len(tr.Tokens) || len(tr.TokenStrs) != tr.Count || tr.MaxModelLen != tm.Config.MaxSeqLen {
		t.Fatalf("tokenize: %d %s", code, b)
	}
	ids, _ := json.Marshal(tr.Tokens)
	code, b = post(t, c, "/detokenize", `{"tokens":`+string(ids)+`}`)
	if code != 200 || !strings.Contains(string(b), `"prompt":"func main() {"`) {
		t.Fatalf("detokenize: %d %s", code, b)
	}
	if code, b = post(t, c, "/detokenize", `{"tokens":[1,999999]}`); code != 400 {
		t.Fatalf("detokenize of a bad id: %d %s", code, b)
	}
}

// TestServerClientDisconnect closes the body mid-stream: generation stops
// and nothing is left running.
func TestServerClientDisconnect(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, _ := testClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := `{"prompt":"abc","max_tokens":1000,"ignore_eos":true,"stream":true}`
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://local/v1/completions", strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp.Body.Close()
	if time.Since(start) > 5*time.Second {
		t.Fatal("closing the body did not stop generation promptly")
	}
}

func TestServerEchoAndTokenIDs(t *testing.T) {
	c, tm := testClient(t)
	ids := tm.Tok.Encode("abc d")
	idsJSON, _ := json.Marshal(ids)
	// A prompt given as token ids, echoed with logprobs, streamed.
	code, b := post(t, c, "/v1/completions", `{"prompt":`+string(idsJSON)+`,"echo":true,"logprobs":1,"max_tokens":3,"stream":true,"return_token_ids":true,"seed":9}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	evs := events(t, b)
	var first wire.CompletionChunk
	if err := json.Unmarshal([]byte(evs[0]), &first); err != nil {
		t.Fatal(err)
	}
	ch := first.Choices[0]
	lp := ch.Logprobs
	if !strings.HasPrefix(ch.Text, "abc d") || len(lp.Tokens) != len(ids)+1 || lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil || lp.TokenLogprobs[1] == nil {
		t.Fatalf("echo chunk: %s", evs[0])
	}
	if !ch.PromptTokenIDs.Valid || !slices.Equal(ch.PromptTokenIDs.V, ids) || len(ch.TokenIDs.V) != len(ids)+1 {
		t.Fatalf("token ids in the echo chunk: %s", evs[0])
	}
	// Non-streamed echo: the text starts with the prompt.
	code, b = post(t, c, "/v1/completions", `{"prompt":"abc d","echo":true,"max_tokens":2,"temperature":0}`)
	var r wire.CompletionResponse
	if code != 200 || json.Unmarshal(b, &r) != nil || !strings.HasPrefix(r.Choices[0].Text, "abc d") {
		t.Fatalf("echo: %d %s", code, b)
	}
}
