package vllmtest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// twoTokens is a one-choice completion script: " a" " b", finish "length".
func twoTokens(f *Fault) Script {
	return Script{Fault: f, Samples: []Sample{{Tokens: []Tok{{Text: " a", Logprob: -1}, {Text: " b", Logprob: -2}}, Finish: "length", StopReason: wire.StopNull()}}}
}

const streamBody = `{"model":"m","prompt":"x","stream":true}`

// streamOf posts a streaming completion and returns the raw body and the read error.
func streamOf(t *testing.T, srv *Server, sc Script) (string, error) {
	t.Helper()
	srv.Push(sc)
	resp, err := http.Post(srv.URL+"/completions", "application/json", strings.NewReader(streamBody))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func chunk(text, finish string) string {
	fr := "null"
	if finish != "" {
		fr = `"` + finish + `"`
	}
	return `data: {"id":"cmpl-twinkletest","object":"text_completion","created":1767225600,"model":"m","choices":[{"index":0,"text":"` + text + `","logprobs":null,"finish_reason":` + fr + `,"stop_reason":null}]}` + "\n\n"
}

func TestStreamFaults(t *testing.T) {
	srv := New()
	defer srv.Close()
	full := chunk(" a", "") + chunk(" b", "") + chunk("", "length") + "data: [DONE]\n\n"
	if got, err := streamOf(t, srv, twoTokens(nil)); err != nil || got != full {
		t.Fatalf("no fault: %v\n%s", err, got)
	}
	mk := func(set func(f *Fault)) *Fault {
		f := NoFault()
		set(&f)
		return &f
	}
	cases := []struct {
		name string
		f    *Fault
		want string
	}{
		{"close after one token", mk(func(f *Fault) { f.CloseAt = 1 }), chunk(" a", "")},
		{"no [DONE]", mk(func(f *Fault) { f.NoDone = true }), chunk(" a", "") + chunk(" b", "") + chunk("", "length")},
		{"keep-alive flood", mk(func(f *Fault) { f.KeepAlives = 2 }),
			": keep-alive\n\n: keep-alive\n\n" + strings.ReplaceAll(strings.TrimSuffix(full, "\n\n"), "\n\ndata: ", "\n\n: keep-alive\n\n: keep-alive\n\ndata: ") + "\n\n"},
		{"slow bytes", mk(func(f *Fault) { f.SlowBytes = time.Microsecond }), full},
		{"stall with keep-alives", mk(func(f *Fault) { f.StallAt, f.StallFor, f.StallKeepAlive = 1, 60*time.Millisecond, 10*time.Millisecond }), ""},
		{"in-band first, nested", mk(func(f *Fault) { f.InBandAt, f.Message = 0, "boom" }),
			`data: {"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}` + "\n\ndata: [DONE]\n\n"},
		{"in-band mid-stream, flat", mk(func(f *Fault) {
			f.InBandAt, f.InBandShape, f.InBandCode, f.Type = 1, ShapeFlat, 503, "ServiceUnavailableError"
		}),
			chunk(" a", "") + `data: {"object":"error","message":"scripted in-band error","type":"ServiceUnavailableError","param":null,"code":503}` + "\n\ndata: [DONE]\n\n"},
		{"in-band as an error event", mk(func(f *Fault) { f.InBandAt, f.InBandShape, f.Message = 0, ShapeEvent, "bad" }),
			"event: error\ndata: " + `{"message":"bad","type":"InternalServerError","param":null,"code":500}` + "\n\ndata: [DONE]\n\n"},
		{"in-band after the last token", mk(func(f *Fault) { f.InBandAt = 3 }),
			chunk(" a", "") + chunk(" b", "") + chunk("", "length") + `data: {"error":{"message":"scripted in-band error","type":"InternalServerError","param":null,"code":500}}` + "\n\ndata: [DONE]\n\n"},
	}
	for _, tc := range cases {
		got, err := streamOf(t, srv, twoTokens(tc.f))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name == "stall with keep-alives" {
			if !strings.HasPrefix(got, chunk(" a", "")+": keep-alive\n\n") || !strings.HasSuffix(got, "\n\n"+strings.TrimPrefix(full, chunk(" a", ""))) {
				t.Errorf("%s:\n%s", tc.name, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	// An abrupt drop is a read error, not a clean end.
	got, err := streamOf(t, srv, twoTokens(mk(func(f *Fault) { f.DropAt = 1 })))
	if err == nil || got != chunk(" a", "") {
		t.Errorf("drop: %v\n%s", err, got)
	}
	if srv.Disconnects() != 0 {
		t.Errorf("%d disconnects counted where the client stayed", srv.Disconnects())
	}
}

// A client that goes away during a stall, or while the headers are held back, is
// counted, and WaitDisconnect sees it.
func TestDisconnectsAreCounted(t *testing.T) {
	srv := New()
	defer srv.Close()
	stall := NoFault()
	stall.StallAt, stall.StallKeepAlive = 0, 5*time.Millisecond
	srv.Push(twoTokens(&stall))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/completions", strings.NewReader(streamBody))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != ": keep-alive\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	cancel()
	resp.Body.Close()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := srv.WaitDisconnect(wctx, 1); err != nil {
		t.Fatal(err)
	}

	delay := NoFault()
	delay.HeaderDelay = time.Minute
	srv.Push(twoTokens(&delay))
	hctx, hcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer hcancel()
	req, _ = http.NewRequestWithContext(hctx, "POST", srv.URL+"/completions", strings.NewReader(streamBody))
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held headers: %v", err)
	}
	if err := srv.WaitDisconnect(wctx, 2); err != nil {
		t.Fatal(err)
	}
	short, scancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer scancel()
	if err := srv.WaitDisconnect(short, 3); err == nil || !strings.Contains(err.Error(), "saw 2 disconnects, want 3") {
		t.Fatalf("waiting for a third: %v", err)
	}
}

func TestStatusFaultsAndRouting(t *testing.T) {
	srv := New()
	defer srv.Close()
	f := NoFault()
	f.Status, f.RetryAfter, f.Message = 429, "2", "slow down"
	srv.Push(Script{Fault: &f})
	resp, body := post(t, srv, "/completions", streamBody)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || body != `{"error":{"message":"slow down","type":"Too Many Requests","param":null,"code":429}}` {
		t.Errorf("429: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/v1/nothing", "", 404, `{"error":{"message":"Not Found","type":"NotFoundError","param":null,"code":404}}`},
		{"GET", "/v1/completions", "", 404, `"code":404`},
		{"POST", "/v1/completions", `{"prompt":`, 400, "not valid JSON"},
		{"POST", "/v1/completions", `{"prompt":"x","max_tokens":5000}`, 400, "This model's maximum context length is 4096 tokens. However, you requested 5000 output tokens"},
		{"POST", "/v1/completions", `{"prompt":"x","top_k":-2}`, 400, `"param":null`},
		{"POST", "/v1/chat/completions", `{"model":"m"}`, 400, "messages: Field required"},
		{"POST", "/v1/completions", `{"prompt":"` + strings.Repeat("a", vllmcheck.MaxBodyBytes) + `"}`, 413, "Request body is too large"},
	} {
		req, _ := http.NewRequest(tc.method, strings.TrimSuffix(srv.URL, "/v1")+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s %.60s: %d %.300s", tc.method, tc.path, tc.body, resp.StatusCode, b)
		}
	}
	if n := len(srv.Requests()); n != 8 {
		t.Errorf("%d requests recorded, want every one (8)", n)
	}
}

func TestDefaultScriptAndFailWhen(t *testing.T) {
	srv := New()
	defer srv.Close()
	f := NoFault()
	f.CloseAt = 0
	srv.SetDefault(Script{TokensPerChunk: 2, Fault: &f})
	srv.FailWhen(func(body []byte) *Fault {
		if !strings.Contains(string(body), `"seed":7`) {
			return nil
		}
		g := NoFault()
		g.Status, g.ErrorShape, g.Message, g.Type = 500, ShapeFlat, "seven", "InternalServerError"
		return &g
	})
	resp, body := post(t, srv, "/completions", `{"model":"m","prompt":"x","seed":7}`)
	if resp.StatusCode != 500 || body != `{"object":"error","message":"seven","type":"InternalServerError","param":null,"code":500}` {
		t.Errorf("FailWhen: %d %s", resp.StatusCode, body)
	}
	// The default script applies when the queue is empty: closed before the first chunk.
	resp, body = post(t, srv, "/completions", `{"model":"m","prompt":"x","stream":true,"max_tokens":4,"logprobs":1}`)
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("default script: %d %q", resp.StatusCode, body)
	}
}

// The hidden `twinkle testserver` command serves this server on a real port for demos.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Post("http://"+ln.Addr().String()+"/v1/completions", "application/json", strings.NewReader(`{"model":"twinkle-test/tiny-chat","prompt":"Once","max_tokens":3,"seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"object":"text_completion"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ListenAndServe("256.0.0.1:bad"); err == nil {
		t.Fatal("listening on a bad address did not fail")
	}
}
