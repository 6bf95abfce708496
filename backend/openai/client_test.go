package openai

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ip(v int) *int       { return &v }
func i64(v int64) *int64  { return &v }
func sp(v string) *string { return &v }

// newTest starts a server and a client with fast timeouts and instant retries.
func newTest(t *testing.T, mod ...func(*Config)) (*vllmtest.Server, *Client, *[]time.Duration) {
	t.Helper()
	srv := vllmtest.New()
	t.Cleanup(srv.Close)
	var waits []time.Duration
	cfg := Config{
		BaseURL:           srv.URL,
		FirstTokenTimeout: 5 * time.Second,
		IdleTimeout:       5 * time.Second,
		Sleep:             func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() },
	}
	for _, f := range mod {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cfg.HTTPClient.(interface{ CloseIdleConnections() }).CloseIdleConnections() })
	return srv, c, &waits
}

// collect runs req to the end and returns every event and the assembled response.
func collect(t *testing.T, ctx context.Context, c backend.Sampler, req backend.Request) ([]backend.Event, backend.SampleResponse, *backend.Assembler) {
	t.Helper()
	ch, err := c.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	a := backend.NewAssembler(req)
	var evs []backend.Event
	for ev := range ch {
		evs = append(evs, ev)
		a.Apply(ev)
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != backend.EventDone {
		t.Fatalf("last event is not done: %+v", evs)
	}
	return evs, a.Response(), a
}

func chatReq(p params.SamplingParams, n int, k *int) backend.Request {
	return backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "Once upon a time"}}, Params: p, Options: params.Options{N: n, Logprobs: k}}
}

func sampling(temp float64, seed *int64, maxTok *int) params.SamplingParams {
	p := params.Default()
	p.Temperature, p.Seed, p.MaxTokens = temp, seed, maxTok
	return p
}

func TestChatDoneWhen(t *testing.T) {
	srv, c, _ := newTest(t)
	p := sampling(0.8, i64(7), ip(6))
	p.Stop = params.Stop{Strings: []string{"###"}}
	_, r, _ := collect(t, context.Background(), c, chatReq(p, 3, ip(5)))
	if len(r.Trajectories) != 3 {
		t.Fatalf("trajectories = %d, want 3", len(r.Trajectories))
	}
	for i, s := range r.Seeds {
		if s == nil || *s != 7+int64(i) {
			t.Errorf("seed %d = %v, want %d", i, s, 7+i)
		}
	}
	// Generate's rules: sample 0 length, 1 stop string (odd), 2 EOS? (2%3==2 but no ids: length)
	want := []backend.StopReason{"length", "stop", "length"}
	for i, w := range want {
		if r.StopReason[i] != w {
			t.Errorf("stop_reason[%d] = %q, want %q", i, r.StopReason[i], w)
		}
	}
	if r.StoppedBy[1].Kind != backend.StoppedByString || r.StoppedBy[1].String != "###" {
		t.Errorf("stopped_by[1] = %+v, want the stop string", r.StoppedBy[1])
	}
	if r.StoppedBy[0].Kind != backend.StoppedByNone {
		t.Errorf("stopped_by[0] = %+v, want null for length", r.StoppedBy[0])
	}
	if r.Model != "twinkle-test/tiny-chat" {
		t.Errorf("model = %q", r.Model)
	}
	expect := vllmtest.Generate(3, i64(7), ip(6), []string{"###"}, nil)
	for i, s := range expect {
		if got := len(r.Tokens[i]); got != len(s.Tokens) {
			t.Fatalf("sample %d: %d tokens, want %d", i, got, len(s.Tokens))
		}
		text := ""
		for j, tok := range s.Tokens {
			got := r.Tokens[i][j]
			if got.Text != tok.Text || float64(got.Logprob) != tok.Logprob {
				t.Errorf("sample %d token %d = %q %v, want %q %v", i, j, got.Text, got.Logprob, tok.Text, tok.Logprob)
			}
			if len(got.Top) != 5 {
				t.Errorf("sample %d token %d: %d alternatives, want 5", i, j, len(got.Top))
			}
			for k := 1; k < len(got.Top); k++ {
				if got.Top[k].Logprob > got.Top[k-1].Logprob {
					t.Errorf("sample %d token %d: top not sorted: %+v", i, j, got.Top)
				}
			}
			if float64(r.Logprobs[i][j]) != tok.Logprob {
				t.Errorf("logprobs[%d][%d] = %v", i, j, r.Logprobs[i][j])
			}
			if j < len(s.Tokens)-s.Hidden {
				text += tok.Text
			}
		}
		msgs := r.Trajectories[i].Messages
		if len(msgs) != 2 || msgs[0].Content != "Once upon a time" || msgs[1].Role != "assistant" || msgs[1].Content != text {
			t.Errorf("trajectory %d = %+v, want assistant %q", i, msgs, text)
		}
	}
	if r.Usage.CompletionTokens == 0 {
		t.Errorf("usage not recorded: %+v", r.Usage)
	}
	// The body holds every sampling field explicitly, as sent.
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/models" || reqs[1].Path != "/v1/chat/completions" {
		t.Fatalf("requests = %+v", reqs)
	}
	got := reqs[1].Fields()
	wantFields := map[string]any{
		"model": "twinkle-test/tiny-chat", "n": 3.0, "max_tokens": 6.0, "temperature": 0.8, "top_p": 1.0,
		"top_k": -1.0, "min_p": 0.0, "repetition_penalty": 1.0, "seed": 7.0, "stop": []any{"###"}, "stop_token_ids": []any{},
		"logprobs": true, "top_logprobs": 5.0, "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}},
	}
	checkBody(t, got, wantFields)
}

// checkBody compares the JSON object the server received with want, field by field: a
// misspelled or missing field would be silently ignored by vLLM.
func checkBody(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		gv, ok := got[k]
		gb, _ := json.Marshal(gv)
		wb, _ := json.Marshal(w)
		if !ok || string(gb) != string(wb) {
			t.Errorf("body %s = %s (present %v), want %s", k, gb, ok, wb)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected body field %s = %v", k, got[k])
		}
	}
}

func TestTemperatureZeroOnWireAndGreedyN(t *testing.T) {
	srv, c, _ := newTest(t)
	p := sampling(0, nil, ip(3))
	evs, r, _ := collect(t, context.Background(), c, backend.Request{API: params.Chat, Model: "m", Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: p, Options: params.Options{N: 3}})
	body := srv.Requests()[0].Fields()
	if v, ok := body["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature on the wire = %v (present %v), want an explicit 0", v, ok)
	}
	if body["n"] != 1.0 {
		t.Errorf("n = %v, want 1 for greedy", body["n"])
	}
	if _, ok := body["seed"]; !ok || body["seed"] != nil {
		t.Errorf("seed = %v, want explicit null", body["seed"])
	}
	if len(r.Trajectories) != 1 || len(r.Notes) != 1 || evs[0].Start.Requested != 3 || evs[0].Start.Count != 1 {
		t.Errorf("greedy n=3: %d trajectories, notes %q, start %+v", len(r.Trajectories), r.Notes, evs[0].Start)
	}
	if r.Seeds[0] != nil {
		t.Errorf("seed without a seed = %v", *r.Seeds[0])
	}
	if r.Tokens != nil || r.Logprobs != nil {
		t.Errorf("tokens/logprobs without logprobs asked: %v %v", r.Tokens, r.Logprobs)
	}
}

func TestCompletionStream(t *testing.T) {
	srv, c, _ := newTest(t)
	p := sampling(1, i64(3), ip(5))
	p.Stop = params.Stop{TokenIDs: []int{128009}}
	req := backend.Request{API: params.Completion, Prompt: "Once upon", Params: p, Options: params.Options{N: 3, Logprobs: ip(2)}}
	srv.Push(vllmtest.Script{TokensPerChunk: 2, TextLag: 1})
	_, r, _ := collect(t, context.Background(), c, req)
	checkBody(t, srv.Requests()[1].Fields(), map[string]any{
		"model": "twinkle-test/tiny-chat", "prompt": "Once upon", "n": 3, "max_tokens": 5, "temperature": 1,
		"top_p": 1, "top_k": -1, "min_p": 0, "repetition_penalty": 1, "seed": 3, "stop": []string{}, "stop_token_ids": []int{128009},
		"logprobs": 2, "stream": true, "stream_options": map[string]any{"include_usage": true},
	})
	expect := vllmtest.Generate(3, i64(3), ip(5), nil, []int{128009})
	for i, s := range expect {
		if len(r.Tokens[i]) != len(s.Tokens) {
			t.Fatalf("sample %d: %d tokens, want %d", i, len(r.Tokens[i]), len(s.Tokens))
		}
		text := ""
		for _, tok := range s.Tokens {
			text += tok.Text
		}
		if got := r.Trajectories[i].Messages; got[0].Role != "user" || got[0].Content != "Once upon" || got[1].Content != text {
			t.Errorf("sample %d: trajectory %+v, want text %q", i, got, text)
		}
		// completions: the sampled token plus up to K others.
		for j, tok := range r.Tokens[i] {
			if len(tok.Top) != 3 {
				t.Errorf("sample %d token %d: top %d entries, want 3", i, j, len(tok.Top))
			}
		}
	}
	if r.StopReason[1] != "stop" || r.StoppedBy[1].Kind != backend.StoppedByEOS {
		t.Errorf("sample 1: %q %+v, want stop by EOS", r.StopReason[1], r.StoppedBy[1])
	}
	if r.StopReason[2] != "stop" || r.StoppedBy[2].Kind != backend.StoppedByToken || r.StoppedBy[2].TokenID != 128009 {
		t.Errorf("sample 2: %q %+v, want stop by token 128009", r.StopReason[2], r.StoppedBy[2])
	}
}

func TestModelsAndAuth(t *testing.T) {
	srv, c, _ := newTest(t, func(c *Config) { c.APIKey = "sk-secret" })
	srv.Models = []string{"a/first", "b/second"}
	ms, err := c.Models(context.Background())
	if err != nil || len(ms) != 2 || ms[0].ID != "a/first" || ms[0].MaxModelLen != 4096 {
		t.Fatalf("models = %+v, %v", ms, err)
	}
	if h := srv.Requests()[0].Header.Get("Authorization"); h != "Bearer sk-secret" {
		t.Errorf("authorization header = %q", h)
	}
}

var _ = wire.StopNull
var _ = sp
