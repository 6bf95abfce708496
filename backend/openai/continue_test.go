package openai

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// lastGeneration is the body of the last generation request the server received.
func lastGeneration(t *testing.T, srv *vllmtest.Server) map[string]any {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == "/v1/completions" || reqs[i].Path == "/v1/chat/completions" {
			return reqs[i].Fields()
		}
	}
	t.Fatal("no generation request")
	return nil
}

func ids(v ...int) []backend.TokenID {
	out := make([]backend.TokenID, len(v))
	for i, x := range v {
		out[i] = backend.TokenID(x)
	}
	return out
}

// numbers reads a JSON list of numbers.
func numbers(t *testing.T, v any) []int {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list of numbers, got %#v", v)
	}
	out := make([]int, len(list))
	for i, x := range list {
		f, ok := x.(float64)
		if !ok {
			t.Fatalf("want a number at %d, got %#v", i, x)
		}
		out[i] = int(f)
	}
	return out
}

func TestContinueCompletionSendsIDs(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	p := params.Default()
	p.Temperature, p.TopP, p.Seed, p.MaxTokens = 0.7, 0.9, i64(5), ip(10)
	base := backend.Request{API: params.Completion, Prompt: "Once upon", Params: p,
		Options: params.Options{N: 2, Logprobs: ip(3), Advanced: params.Advanced{MinTokens: 6}}}
	req, err := backend.ContinueRequest(base, backend.Continuation{Text: " a time", IDs: ids(1203, 1201, 1002, 1003), Generated: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, r, _ := collect(t, ctx, c, req)
	f := lastGeneration(t, srv)
	if got := numbers(t, f["prompt"]); !slices.Equal(got, []int{1203, 1201, 1002, 1003}) {
		t.Errorf("prompt %v, want the ids", got)
	}
	// The kept tokens count against max_tokens and min_tokens; every other field is sent
	// as the parameters say.
	if f["max_tokens"] != 8.0 || f["min_tokens"] != 4.0 || f["temperature"] != 0.7 || f["top_p"] != 0.9 || f["seed"] != 5.0 || f["n"] != 2.0 || f["logprobs"] != 3.0 {
		t.Errorf("body %v", f)
	}
	if f["return_token_ids"] != true {
		t.Errorf("return_token_ids %v: a continuation asks for ids, to be continued in turn", f["return_token_ids"])
	}
	if _, ok := f["continue_final_message"]; ok {
		t.Error("completion mode sent continue_final_message")
	}
	// The server reports the ids it ran, once per sample.
	for i := range 2 {
		if got := r.PromptTokenIDs[i]; !slices.Equal(got, ids(1203, 1201, 1002, 1003)) {
			t.Errorf("sample %d: prompt ids %v", i, got)
		}
		for k, tok := range r.Tokens[i] {
			if tok.ID < 1000 {
				t.Errorf("sample %d token %d: id %d, want the server's", i, k, tok.ID)
			}
		}
	}
	if got := r.Trajectories[0].Messages[0].Content; got != "Once upon a time" {
		t.Errorf("trajectory prompt %q: want the prompt with the prefix sent", got)
	}
}

func TestContinueCompletionText(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	base := backend.Request{API: params.Completion, Prompt: "Once upon", Params: params.Default(), Options: params.Options{Logprobs: ip(2)}}
	req, err := backend.ContinueRequest(base, backend.Continuation{Text: " a time", Generated: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	collect(t, ctx, c, req)
	f := lastGeneration(t, srv)
	if f["prompt"] != "Once upon a time" {
		t.Errorf("prompt %#v", f["prompt"])
	}
	// The test server tokenizes the text it was sent, as vLLM does.
	_, r, _ := collect(t, ctx, c, req)
	if got := r.PromptTokenIDs[0]; !slices.Equal(got, ids(1200, 1001, 1002, 1003)) {
		t.Errorf("prompt ids %v", got)
	}
}

func TestContinueChatSendsPartialMessage(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	base := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Tell a story"}},
		Params: params.Default(), Options: params.Options{Logprobs: ip(2)}}
	// Ids are for completion mode: chat sends the text.
	req, err := backend.ContinueRequest(base, backend.Continuation{Text: "Once upon a", IDs: ids(1, 2, 3), Generated: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, r, _ := collect(t, ctx, c, req)
	raw := srv.Requests()[len(srv.Requests())-1]
	f := raw.Fields()
	if f["continue_final_message"] != true || f["add_generation_prompt"] != false {
		t.Errorf("continue_final_message %v, add_generation_prompt %v", f["continue_final_message"], f["add_generation_prompt"])
	}
	var msgs []backend.Message
	b, _ := json.Marshal(f["messages"])
	json.Unmarshal(b, &msgs)
	want := append(slices.Clone(base.Messages), backend.Message{Role: "assistant", Content: "Once upon a"})
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages %+v", msgs)
	}
	if _, ok := f["prompt"]; ok {
		t.Error("chat sent a prompt")
	}
	// The continued message is not the start of a new turn: no generation prompt after it.
	var want2 []int
	for _, m := range want {
		want2 = append(want2, vllmtest.TokenIDs(m.Content)...)
	}
	if got := r.PromptTokenIDs[0]; !slices.Equal(got, ids(want2...)) {
		t.Errorf("prompt ids %v, want %v", got, want2)
	}
	if n := len(r.Trajectories[0].Messages); n != 4 || r.Trajectories[0].Messages[2].Content != "Once upon a" {
		t.Errorf("trajectory %+v: want what was sent, then the reply", r.Trajectories[0].Messages)
	}

	// An empty prefix is a plain request: nothing to continue.
	req, _ = backend.ContinueRequest(base, backend.Continuation{})
	collect(t, ctx, c, req)
	f = lastGeneration(t, srv)
	if _, ok := f["continue_final_message"]; ok {
		t.Errorf("an empty prefix sent continue_final_message: %v", f)
	}
}

func TestStepRequest(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	p := params.Default()
	p.Seed, p.MaxTokens = i64(40), ip(20)
	base := backend.Request{API: params.Completion, Prompt: "Once", Params: p, Options: params.Options{N: 4, PromptLogprobs: ip(2), Advanced: params.Advanced{MinTokens: 10}}}
	req, err := backend.StepRequest(base, &backend.Continuation{Text: " upon a", IDs: ids(1200, 1001, 1002), Generated: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, r, _ := collect(t, ctx, c, req)
	f := lastGeneration(t, srv)
	if f["max_tokens"] != 1.0 || f["logprobs"] != float64(backend.StepLogprobs) || f["n"] != 1.0 || f["min_tokens"] != 1.0 || f["seed"] != 42.0 {
		t.Errorf("step body %v: want max_tokens 1, logprobs %d, n 1, min_tokens 1 (EOS still blocked), seed 40+2", f, backend.StepLogprobs)
	}
	if got := numbers(t, f["prompt"]); !slices.Equal(got, []int{1200, 1001, 1002}) {
		t.Errorf("prompt %v", got)
	}
	if len(r.Tokens) != 1 || len(r.Tokens[0]) != 1 || len(r.Tokens[0][0].Top) == 0 {
		t.Errorf("a step gives one token with its alternatives: %+v", r.Tokens)
	}
	for _, q := range srv.Requests() {
		if q.Request.PromptLogprobs != nil {
			t.Error("a step fetched prompt logprobs")
		}
	}

	// Next 10 asks for 10 at once; to the end, what max_tokens leaves.
	req, _ = backend.StepRequest(base, &backend.Continuation{Text: " upon a", Generated: 2}, 10)
	if *req.Params.MaxTokens != 10 {
		t.Errorf("next 10: max_tokens %d", *req.Params.MaxTokens)
	}
	req, _ = backend.StepRequest(base, &backend.Continuation{Text: " upon a", Generated: 2}, 0)
	if *req.Params.MaxTokens != 18 {
		t.Errorf("to the end: max_tokens %d, want 20-2", *req.Params.MaxTokens)
	}
	// The first step has no prefix at all; chat asks for logprobs as a bool.
	req, _ = backend.StepRequest(backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: params.Default()}, nil, 1)
	collect(t, ctx, c, req)
	f = lastGeneration(t, srv)
	if f["logprobs"] != true || f["top_logprobs"] != float64(backend.StepLogprobs) || f["max_tokens"] != 1.0 {
		t.Errorf("chat step %v", f)
	}
	if _, ok := f["continue_final_message"]; ok {
		t.Error("a step from the start continued a message")
	}
}

func TestContinueRequestRefusals(t *testing.T) {
	t.Parallel()
	p := params.Default()
	p.MaxTokens = ip(5)
	base := backend.Request{API: params.Completion, Prompt: "x", Params: p}
	if _, err := backend.ContinueRequest(base, backend.Continuation{Text: "abcde", Generated: 5}); err == nil {
		t.Error("a prefix of max_tokens tokens left nothing to generate, yet no error")
	}
	sweep := base
	sweep.Variants = []params.SamplingParams{p, p}
	if _, err := backend.ContinueRequest(sweep, backend.Continuation{Text: "a", Generated: 1}); err == nil {
		t.Error("a sweep was continued")
	}
	// Text cut inside a character cannot be sent as text.
	r, _ := backend.ContinueRequest(base, backend.Continuation{Text: "caf\xc3", Generated: 1})
	if err := r.Validate(); err == nil {
		t.Error("a prefix cut inside a character was accepted as text")
	}
	r, _ = backend.ContinueRequest(base, backend.Continuation{Text: "caf\xc3", IDs: ids(1, 2), Generated: 1})
	if err := r.Validate(); err != nil {
		t.Errorf("the same prefix as ids: %v", err)
	}
	chat := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "x"}}, Params: p}
	r, _ = backend.ContinueRequest(chat, backend.Continuation{Text: "caf\xc3", IDs: ids(1, 2), Generated: 1})
	if err := r.Validate(); err == nil {
		t.Error("chat cannot send ids, yet a prefix cut inside a character was accepted")
	}
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	srv, c, _ := newTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := c.Tokenize(ctx, "", " fox", false)
	if err != nil || !slices.Equal(got, ids(vllmtest.TokenIDs(" fox")...)) || got[0] != 1008 {
		t.Fatalf("Tokenize: %v %v", got, err)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/tokenize" {
		t.Fatalf("path %s: /tokenize is served at the root, not under /v1", last.Path)
	}
	f := last.Fields()
	if f["add_special_tokens"] != false || f["prompt"] != " fox" || f["model"] != "twinkle-test/tiny-chat" {
		t.Errorf("tokenize body %v", f)
	}
}
