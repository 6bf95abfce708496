package openai

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

func TestTokensComeFromLogprobEntriesNotText(t *testing.T) {
	srv, c, _ := newTest(t)
	toks := []vllmtest.Tok{
		{Text: " The", Logprob: -0.5, ID: 1, Alts: []vllmtest.Alt{{Text: " A", Logprob: -0.2}, {Text: " One", Logprob: -3}}},
		{Text: " end", Logprob: -9999, ID: 2, Alts: []vllmtest.Alt{{Text: " start", Logprob: -1}, {Text: " x", Logprob: -9999}}},
		{Text: "\xef\xbf\xbd", Logprob: -1.25, ID: 3},
		{Text: "##", Logprob: -0.01, ID: 4},
		{Text: "#", Logprob: -0.02, ID: 5},
	}
	// 3 entries per chunk, text held back by 2 tokens, the stop string's 2 tokens hidden.
	srv.Push(vllmtest.Script{TokensPerChunk: 3, TextLag: 2, Samples: []vllmtest.Sample{{Tokens: toks, Finish: "stop", StopReason: wire.StopString("###"), Hidden: 2}}})
	req := chatReq(sampling(1, nil, ip(10)), 1, ip(3))
	req.Model = "m"
	evs, r, _ := collect(t, context.Background(), c, req)
	var tokenEvents []backend.Event
	for _, ev := range evs {
		if ev.Kind == backend.EventTokens {
			tokenEvents = append(tokenEvents, ev)
		}
	}
	if len(tokenEvents) < 2 || len(tokenEvents[0].Tokens) != 3 || tokenEvents[0].Text != " The" {
		t.Fatalf("first token event = %+v, want 3 tokens ahead of the text %q", tokenEvents[0], " The")
	}
	got := r.Tokens[0]
	if len(got) != 5 {
		t.Fatalf("%d tokens, want 5 (hidden stop-string tokens included)", len(got))
	}
	if got[1].Logprob.Known() || !got[0].Logprob.Known() {
		t.Errorf("-9999 must be unknown: %v %v", got[0].Logprob, got[1].Logprob)
	}
	// sorted, highest first, unknown last; the sampled token came first on the wire.
	wantTop := []string{" A", " The", " One"}
	for k, w := range wantTop {
		if got[0].Top[k].Text != w {
			t.Errorf("top of token 0 = %+v, want order %v", got[0].Top, wantTop)
			break
		}
	}
	if got[1].Top[0].Text != " start" || got[1].Top[2].Logprob.Known() {
		t.Errorf("unknown logprobs must sort last: %+v", got[1].Top)
	}
	if got[2].Text != "\ufffd" {
		t.Errorf("split multibyte token = %q", got[2].Text)
	}
	if r.Trajectories[0].Messages[1].Content != " The end\ufffd" {
		t.Errorf("content = %q, want the text without the stop string", r.Trajectories[0].Messages[1].Content)
	}
	if r.StoppedBy[0].Kind != backend.StoppedByString || r.StoppedBy[0].String != "###" {
		t.Errorf("stopped_by = %+v", r.StoppedBy[0])
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"logprobs":[[-0.5,null,-1.25,-0.01,-0.02]]`) {
		t.Errorf("unknown logprob must be null in JSON: %s", b)
	}
}

// Null or missing logprobs read as unknown, never as 0 (certainty); a non-number is an error.
func TestNullAndMissingLogprobsAreUnknown(t *testing.T) {
	d := newDecoder(true, true)
	err := d.decode([]byte(`{"choices":[{"index":0,"delta":{"content":"ab"},"logprobs":{"content":[{"token":"a","logprob":null,"top_logprobs":[{"token":"a","logprob":-0.5},{"token":"c"}]},{"token":"b","logprob":-2,"top_logprobs":[{"token":"d","logprob":null}]}]},"finish_reason":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	toks := d.choices[0].tokens
	if toks[0].Logprob.Known() || !toks[1].Logprob.Known() || toks[1].Logprob != -2 {
		t.Errorf("logprobs %v %v, want unknown then -2", toks[0].Logprob, toks[1].Logprob)
	}
	if !toks[0].Top[0].Logprob.Known() || toks[0].Top[1].Logprob.Known() || toks[1].Top[0].Logprob.Known() {
		t.Errorf("top logprobs %+v %+v: a missing or null one must be unknown", toks[0].Top, toks[1].Top)
	}
	d = newDecoder(false, true)
	if err := d.decode([]byte(`{"choices":[{"index":0,"text":"ab","logprobs":{"tokens":["a","b"],"token_logprobs":[null,-1.5],"top_logprobs":[null,{"b":-1.5}]},"finish_reason":null}]}`)); err != nil {
		t.Fatal(err)
	}
	if toks := d.choices[0].tokens; toks[0].Logprob.Known() || toks[1].Logprob != -1.5 {
		t.Errorf("completion logprobs %v %v, want unknown then -1.5", toks[0].Logprob, toks[1].Logprob)
	}
	if err := d.decode([]byte(`{"choices":[{"index":0,"text":"a","logprobs":{"tokens":["a"],"token_logprobs":["-1"],"top_logprobs":[null]}}]}`)); err == nil {
		t.Error("a logprob given as a string was accepted")
	}
}

func TestTokenIDsWhenTheServerSendsThem(t *testing.T) {
	d := newDecoder(true, true)
	err := d.decode([]byte(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ab"},"logprobs":{"content":[{"token":"a","logprob":-1,"bytes":[97],"top_logprobs":[]},{"token":"b","logprob":-2,"bytes":[98],"top_logprobs":[]}]},"finish_reason":null,"token_ids":[7,8]}]}`))
	if err != nil || len(d.choices) != 1 || d.choices[0].tokens[0].ID != 7 || d.choices[0].tokens[1].ID != 8 {
		t.Fatalf("decode: %v %+v", err, d.choices)
	}
	// A field missing from the next chunk must not keep the last chunk's value.
	if err := d.decode([]byte(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":null}]}`)); err != nil {
		t.Fatal(err)
	}
	if d.choices[0].text != "" || len(d.choices[0].tokens) != 0 {
		t.Errorf("stale fields leaked into the next chunk: %+v", d.choices[0])
	}
}

func TestPromptLogprobsBySeparateRequest(t *testing.T) {
	for _, api := range []params.API{params.Chat, params.Completion} {
		srv, c, _ := newTest(t)
		req := backend.Request{API: api, Model: "m", Prompt: "Once upon a time", Messages: []backend.Message{{Role: "user", Content: "Once upon a time"}},
			Params: sampling(0.7, i64(5), ip(4)), Options: params.Options{N: 2, Logprobs: ip(1), PromptLogprobs: ip(2)}}
		_, r, _ := collect(t, context.Background(), c, req)
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%s: %d requests, want 2", api, len(reqs))
		}
		var stream, plp map[string]any
		for _, rq := range reqs {
			f := rq.Fields()
			if f["stream"] == true {
				stream = f
			} else {
				plp = f
			}
		}
		if stream == nil || plp == nil {
			t.Fatalf("%s: want one streamed and one non-streamed request", api)
		}
		if _, ok := stream["prompt_logprobs"]; ok {
			t.Errorf("%s: the stream asked for prompt_logprobs", api)
		}
		// No stream_options: vLLM answers 400 to it without stream.
		want := map[string]any{
			"model": "m", "n": 1, "max_tokens": 1, "temperature": 0.7, "top_p": 1, "top_k": -1, "min_p": 0, "repetition_penalty": 1,
			"seed": 5, "stop": []string{}, "stop_token_ids": []int{}, "prompt_logprobs": 2, "stream": false, "return_token_ids": true,
		}
		if api == params.Chat {
			want["messages"] = []any{map[string]any{"role": "user", "content": "Once upon a time"}}
		} else {
			want["prompt"] = "Once upon a time"
		}
		checkBody(t, plp, want)
		for i := 0; i < 2; i++ {
			pt := r.PromptTokens[i]
			if len(pt) != 4 || pt[0].Logprob.Known() || r.PromptLogprobs[i][0].Known() {
				t.Fatalf("%s sample %d: prompt tokens %+v", api, i, pt)
			}
			if pt[1].Text != " upon" || float64(pt[1].Logprob) != -2.5 || pt[1].ID != 2001 || len(pt[1].Top) != 2 || pt[1].Top[0].Text != " alt0" {
				t.Errorf("%s sample %d: prompt token 1 = %+v", api, i, pt[1])
			}
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"prompt_logprobs":[[null,-2.5,-3.5,-4.5],[null,-2.5,-3.5,-4.5]]`) {
			t.Errorf("%s: JSON prompt_logprobs: %s", api, b)
		}
	}
}

func TestPromptLogprobsFailureIsAnErrorEventOnly(t *testing.T) {
	srv, c, _ := newTest(t)
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if strings.Contains(string(body), "prompt_logprobs") {
			f := vllmtest.NoFault()
			f.Status, f.Message = 400, "prompt_logprobs not supported"
			return &f
		}
		return nil
	})
	req := chatReq(sampling(1, i64(1), ip(3)), 1, nil)
	req.Model = "m"
	req.Options.PromptLogprobs = ip(1)
	evs, r, _ := collect(t, context.Background(), c, req)
	var errEv *backend.Event
	for i := range evs {
		if evs[i].Kind == backend.EventError {
			errEv = &evs[i]
		}
	}
	if errEv == nil || errEv.Err.Param != "prompt_logprobs" {
		t.Fatalf("no error event for the failed prompt-logprobs request: %+v", evs)
	}
	if r.StopReason[0] != backend.StopLength || r.PromptLogprobs[0] != nil {
		t.Errorf("the sample itself must succeed: %q %v", r.StopReason[0], r.PromptLogprobs)
	}
}

func TestGuessParam(t *testing.T) {
	for msg, want := range map[string]string{
		"top_p must be in (0, 1], got 0.0. (parameter=top_p, value=0.0)":         "top_p",
		"n must be 1 when using greedy sampling, got 3.":                         "n",
		"`prompt_logprobs` are not available when `stream=True`.":                "prompt_logprobs",
		"Requested sample logprobs of 25, which is greater than max allowed: 20": "logprobs",
		"The model `x` does not exist.":                                          "",
		"nonsense":                                                               "",
	} {
		if got := guessParam(msg); got != want {
			t.Errorf("guessParam(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestClipKeepsUTF8(t *testing.T) {
	short := strings.Repeat("é", 10)
	if got := clip(short); got != short {
		t.Errorf("clip(%q) = %q, want it unchanged", short, got)
	}
	long := "x" + strings.Repeat("é", 400) // 'é' is 2 bytes: byte 500 is inside one
	got := clip(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 500+len("…") {
		t.Errorf("clip of %d bytes = %d bytes %q: want valid UTF-8, at most 500 bytes and …", len(long), len(got), got)
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:8000":     "http://localhost:8000/v1",
		"http://localhost:8000/":    "http://localhost:8000/v1",
		"http://localhost:8000/v1/": "http://localhost:8000/v1",
		"https://x.example/api/v1":  "https://x.example/api/v1",
	} {
		c, err := New(Config{BaseURL: in})
		if err != nil || c.BaseURL() != want {
			t.Errorf("New(%q) = %v, %v; want %q", in, c, err, want)
		}
	}
	for _, bad := range []string{"", "localhost:8000", "ftp://x", "http://user:sk-secret@host/v1"} {
		_, err := New(Config{BaseURL: bad})
		if err == nil || strings.Contains(err.Error(), "sk-secret") {
			t.Errorf("New(%q) = %v, want an error without the credentials", bad, err)
		}
	}
}
