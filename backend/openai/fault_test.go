package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

func fault(mod func(*vllmtest.Fault)) *vllmtest.Fault {
	f := vllmtest.NoFault()
	mod(&f)
	return &f
}

// finishes returns each sample's finish event.
func finishes(t *testing.T, evs []backend.Event, n int) []backend.Event {
	t.Helper()
	out := make([]backend.Event, n)
	seen := make([]int, n)
	for _, ev := range evs {
		if ev.Kind == backend.EventFinish {
			out[ev.Sample] = ev
			seen[ev.Sample]++
		}
	}
	for i, s := range seen {
		if s != 1 {
			t.Errorf("sample %d finished %d times, want exactly once", i, s)
		}
	}
	return out
}

func TestDropMidStreamIsInterruptedWithTextKept(t *testing.T) {
	srv, c, waits := newTest(t)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.DropAt = 5 })})
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(8)), 2, ip(1)))
	fs := finishes(t, evs, 2)
	for i, f := range fs {
		if f.Reason != backend.StopInterrupted || f.Err == nil {
			t.Fatalf("sample %d: %q %v, want interrupted with an error", i, f.Reason, f.Err)
		}
		// Plain words on screen; Go's text kept for the session file and --verbose.
		if f.Err.Message != "the server closed the connection mid-stream" || f.Err.Error() != f.Err.Message {
			t.Errorf("sample %d: message %q, want the plain words", i, f.Err.Error())
		}
		if !strings.Contains(f.Err.Detail, "connection reset by peer") {
			t.Errorf("sample %d: detail %q, want Go's text", i, f.Err.Detail)
		}
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"message":"the server closed the connection mid-stream","detail":"`) {
		t.Errorf("the session JSON loses the detail: %s", b)
	}
	// 5 token chunks interleaved over 2 samples: 3 for sample 0, 2 for sample 1.
	if len(r.Tokens[0]) != 3 || len(r.Tokens[1]) != 2 || r.Trajectories[0].Messages[1].Content == "" {
		t.Errorf("partial text not kept: %d/%d tokens, text %q", len(r.Tokens[0]), len(r.Tokens[1]), r.Trajectories[0].Messages[1].Content)
	}
	if len(*waits) != 0 {
		t.Errorf("retried mid-stream: %v", *waits)
	}
}

func TestCleanCloseWithoutDoneIsInterrupted(t *testing.T) {
	srv, c, _ := newTest(t)
	// Sample 0 has 3 tokens (length), sample 1 two (EOS): chunks s0t0 s1t0 s0t1 s1t1 s0t2
	// fin1 fin0; close before fin0.
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.CloseAt = 6 })})
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(3)), 2, nil))
	fs := finishes(t, evs, 2)
	if fs[1].Reason != backend.StopStop || fs[1].StoppedBy.Kind != backend.StoppedByEOS || fs[1].Err != nil {
		t.Errorf("sample 1 got its finish_reason: %q %v, want stop by EOS", fs[1].Reason, fs[1].Err)
	}
	if fs[0].Reason != backend.StopInterrupted || fs[0].Err.Kind != backend.KindInterrupted {
		t.Errorf("sample 0: %q %+v, want interrupted", fs[0].Reason, fs[0].Err)
	}
	if len(strings.Fields(r.Trajectories[0].Messages[1].Content)) != 3 {
		t.Errorf("sample 0's partial text was not kept: %q", r.Trajectories[0].Messages[1].Content)
	}
}

func TestFinishReasonsWithoutDoneAreComplete(t *testing.T) {
	srv, c, _ := newTest(t)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.NoDone = true })})
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(3)), 2, nil))
	for i, f := range finishes(t, evs, 2) {
		if want := []backend.StopReason{"length", "stop"}[i]; f.Reason != want || f.Err != nil {
			t.Errorf("sample %d: %q %v, want %q: a finish_reason per choice completes a stream", i, f.Reason, f.Err, want)
		}
	}
}

func TestIdleTimeoutIgnoresKeepAlives(t *testing.T) {
	srv, c, _ := newTest(t, func(c *Config) { c.IdleTimeout = 150 * time.Millisecond })
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.StallAt = 2; f.StallKeepAlive = 10 * time.Millisecond })})
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(4)), 1, nil))
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopInterrupted || f.Err == nil || f.Err.Kind != backend.KindTimeout || !strings.Contains(f.Err.Message, "idle") {
		t.Fatalf("stalled stream with keep-alives: %q %+v, want an idle timeout", f.Reason, f.Err)
	}
	if want := "no tokens for 150ms: the stream went quiet for longer than the idle timeout"; f.Err.Message != want {
		t.Errorf("message %q, want %q: the timeout's value, as configured", f.Err.Message, want)
	}
	if len(strings.Fields(r.Trajectories[0].Messages[1].Content)) != 2 {
		t.Errorf("text before the stall = %q, want 2 tokens", r.Trajectories[0].Messages[1].Content)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitDisconnect(ctx, 1); err != nil {
		t.Errorf("the server did not see the timed-out request go away: %v", err)
	}
}

// Each bound applies to its own gap; a stream longer than any of them is not cut.
func TestNoTotalCap(t *testing.T) {
	srv, c, _ := newTest(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond; c.FirstTokenTimeout = 300 * time.Millisecond })
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) {
		f.HeaderDelay = 150 * time.Millisecond
		f.StallAt, f.StallFor = 3, 200*time.Millisecond
	})})
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(4)), 1, nil))
	if f := finishes(t, evs, 1)[0]; f.Reason != backend.StopLength {
		t.Errorf("slow but healthy stream: %q %v, want length", f.Reason, f.Err)
	}
}

// Completions have no role chunk, so a stream of keep-alives only never delivers content.
func TestFirstTokenTimeoutAfterHeaders(t *testing.T) {
	srv, c, _ := newTest(t, func(c *Config) { c.FirstTokenTimeout = 100 * time.Millisecond })
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.StallAt = 0; f.StallKeepAlive = 10 * time.Millisecond })})
	req := backend.Request{API: params.Completion, Model: "m", Prompt: "x", Params: sampling(1, i64(1), ip(4)), Options: params.Options{N: 1}}
	evs, _, _ := collect(t, context.Background(), c, req)
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopInterrupted || f.Err.Kind != backend.KindTimeout || f.Err.Message != "no response from the server within the first-token timeout (100ms)" {
		t.Errorf("no first token (keep-alives only): %q %+v, want a first-token timeout naming its value", f.Reason, f.Err)
	}
}

func TestFirstTokenTimeoutIsNotRetried(t *testing.T) {
	srv, c, waits := newTest(t, func(c *Config) { c.FirstTokenTimeout = 100 * time.Millisecond })
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.HeaderDelay = 3 * time.Second })})
	evs, _, _ := collect(t, context.Background(), c, backend.Request{API: params.Chat, Model: "m", Messages: []backend.Message{{Role: "user", Content: "x"}}, Params: sampling(1, nil, ip(2)), Options: params.Options{N: 1}})
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopError || f.Err.Kind != backend.KindTimeout || !strings.Contains(f.Err.Message, "first-token") {
		t.Errorf("slow headers: %q %+v, want a first-token timeout", f.Reason, f.Err)
	}
	if len(*waits) != 0 || len(srv.Requests()) != 1 {
		t.Errorf("a timeout was retried: waits %v, %d requests", *waits, len(srv.Requests()))
	}
}

func TestSlowBytesAndKeepAliveFloodGiveTheSameResult(t *testing.T) {
	srv, c, _ := newTest(t)
	req := chatReq(sampling(1, i64(4), ip(3)), 2, ip(2))
	req.Model = "m"
	_, want, _ := collect(t, context.Background(), c, req)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.SlowBytes = time.Microsecond })})
	_, slow, _ := collect(t, context.Background(), c, req)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.KeepAlives = 500 })})
	_, flood, _ := collect(t, context.Background(), c, req)
	for name, got := range map[string]backend.SampleResponse{"slow bytes": slow, "keep-alive flood": flood} {
		if !sameResponse(want, got) {
			t.Errorf("%s: response differs:\n%+v\nwant\n%+v", name, got, want)
		}
	}
}

func sameResponse(a, b backend.SampleResponse) bool {
	if len(a.Trajectories) != len(b.Trajectories) {
		return false
	}
	for i := range a.Trajectories {
		if a.Trajectories[i].Messages[1] != b.Trajectories[i].Messages[1] || a.StopReason[i] != b.StopReason[i] || len(a.Tokens[i]) != len(b.Tokens[i]) || b.Errors != nil {
			return false
		}
	}
	return true
}

func TestRetryAfter429IsHonoured(t *testing.T) {
	srv, c, waits := newTest(t)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.Status = 429; f.RetryAfter = "2"; f.Message = "slow down" })})
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 1, nil))
	if f := finishes(t, evs, 1)[0]; f.Reason != backend.StopLength {
		t.Fatalf("after a 429: %q %v, want success", f.Reason, f.Err)
	}
	if len(*waits) != 1 || (*waits)[0] != 2*time.Second {
		t.Errorf("waits = %v, want exactly the Retry-After of 2s", *waits)
	}
	// The UI says why nothing streams yet.
	rs := retries(evs)
	if len(rs) != 1 {
		t.Fatalf("retry events %+v, want one", rs)
	}
	want := backend.RetryInfo{Status: 429, Wait: 2 * time.Second, FromServer: true, Attempt: 2, MaxAttempts: 4}
	if r := rs[0]; *r.Retry != want || r.Sample != 0 || r.Count != 1 || r.Err == nil || r.Err.Message != "slow down" {
		t.Errorf("retry event %+v %+v, want %+v for sample 0 with the server's message", r, r.Retry, want)
	}
	if got := rs[0].Retry.String(); got != "rate-limited, retrying in 2s (attempt 2 of 4)" {
		t.Errorf("retry line %q", got)
	}
	b, _ := json.Marshal(rs[0])
	if !strings.Contains(string(b), `"type":"retry","sample":0,"count":1,`) || !strings.Contains(string(b), `"retry":{"status":429,"wait_s":2,"from_server":true,"attempt":2,"max_attempts":4}`) {
		t.Errorf("retry line of twinkle sample --stream: %s", b)
	}
}

// retries returns the run's retry events, in order.
func retries(evs []backend.Event) []backend.Event {
	var out []backend.Event
	for _, ev := range evs {
		if ev.Kind == backend.EventRetry {
			out = append(out, ev)
		}
	}
	return out
}

func TestRetryAfterTooLongIsReported(t *testing.T) {
	srv, c, waits := newTest(t)
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.Status = 429; f.RetryAfter = "3600"; f.Message = "quota" })})
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 1, nil))
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopError || f.Err.Status != 429 || f.Err.RetryAfter != time.Hour || !strings.Contains(f.Err.Message, "retry after") {
		t.Errorf("429 with a 1h Retry-After: %q %+v", f.Reason, f.Err)
	}
	if len(*waits) != 0 {
		t.Errorf("waited %v", *waits)
	}
}

func TestBackoffOn503And500IsCappedAndJittered(t *testing.T) {
	srv, c, waits := newTest(t, func(c *Config) {
		c.BackoffBase = 100 * time.Millisecond
		c.BackoffMax = 150 * time.Millisecond
		c.MaxRetries = 3
	})
	for _, s := range []int{503, 500, 502} {
		srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.Status = s; f.Message = "busy" })})
	}
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 1, nil))
	if f := finishes(t, evs, 1)[0]; f.Reason != backend.StopLength {
		t.Fatalf("after 3 transient errors: %q %v", f.Reason, f.Err)
	}
	bounds := [][2]time.Duration{{50, 100}, {75, 150}, {75, 150}}
	if len(*waits) != 3 {
		t.Fatalf("waits = %v, want 3", *waits)
	}
	for i, w := range *waits {
		if w < bounds[i][0]*time.Millisecond || w > bounds[i][1]*time.Millisecond {
			t.Errorf("wait %d = %v, want in [%dms, %dms]", i, w, bounds[i][0], bounds[i][1])
		}
	}
	rs := retries(evs)
	if len(rs) != 3 {
		t.Fatalf("%d retry events, want 3", len(rs))
	}
	for i, r := range rs {
		want := backend.RetryInfo{Status: []int{503, 500, 502}[i], Wait: (*waits)[i], Attempt: i + 2, MaxAttempts: 4}
		if *r.Retry != want {
			t.Errorf("retry %d = %+v, want %+v", i, *r.Retry, want)
		}
	}
	if got := rs[0].Retry.String(); !strings.HasPrefix(got, "unavailable, retrying in ") || !strings.HasSuffix(got, "ms (attempt 2 of 4)") {
		t.Errorf("503 retry line %q", got)
	}
	if got := rs[2].Retry.Cause(); got != "server error (HTTP 502)" {
		t.Errorf("502 cause %q", got)
	}
}

func TestRetriesRunOut(t *testing.T) {
	srv, c, waits := newTest(t, func(c *Config) { c.MaxRetries = 2 })
	for range 3 {
		srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.Status = 503; f.Message = "queue full" })})
	}
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 1, nil))
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopError || f.Err.Status != 503 || f.Err.Message != "queue full" || len(*waits) != 2 {
		t.Errorf("503 x3: %q %+v after %d waits", f.Reason, f.Err, len(*waits))
	}
}

func TestBadRequestBothShapesNameTheParam(t *testing.T) {
	cases := []struct {
		shape     vllmtest.Shape
		msg       string
		param     *string
		wantParam string
	}{
		{vllmtest.ShapeNested, "top_p must be in (0, 1], got 0.0. (parameter=top_p, value=0.0)", sp("top_p"), "top_p"},
		{vllmtest.ShapeFlat, "top_k must be -1 (disable), or at least 1, got -2.", nil, "top_k"},
		{vllmtest.ShapeNested, "n must be 1 when using greedy sampling, got 3.", nil, "n"},
		{vllmtest.ShapeFlat, "value error (parameter=min_p, value=2)", nil, "min_p"},
	}
	for _, tc := range cases {
		srv, c, waits := newTest(t)
		srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) {
			f.Status, f.ErrorShape, f.Message, f.Param, f.Type = 400, tc.shape, tc.msg, tc.param, "BadRequestError"
		})})
		evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 2, nil))
		for i, f := range finishes(t, evs, 2) {
			e := f.Err
			if f.Reason != backend.StopError || e == nil || e.Kind != backend.KindHTTP || e.Status != 400 || e.Message != tc.msg || e.Param != tc.wantParam || e.Type != "BadRequestError" {
				t.Errorf("%q sample %d: %q %+v", tc.msg, i, f.Reason, e)
			}
		}
		if len(*waits) != 0 {
			t.Errorf("a 400 was retried")
		}
		if r.Errors == nil || r.Errors[0].Param != tc.wantParam {
			t.Errorf("response errors = %+v", r.Errors)
		}
	}
}

func TestInBandErrorFirstInAllShapes(t *testing.T) {
	for _, shape := range []vllmtest.Shape{vllmtest.ShapeNested, vllmtest.ShapeFlat, vllmtest.ShapeEvent} {
		srv, c, _ := newTest(t)
		srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) {
			f.InBandAt, f.InBandShape, f.InBandCode, f.Message = 0, shape, 400, "max_tokens is too large (parameter=max_tokens)"
		})})
		evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(3)), 2, nil))
		for i, f := range finishes(t, evs, 2) {
			e := f.Err
			if f.Reason != backend.StopError || e == nil || e.Kind != backend.KindServer || e.Message != "max_tokens is too large (parameter=max_tokens)" || e.Param != "max_tokens" || e.Status != 400 {
				t.Errorf("shape %d sample %d: %q %+v", shape, i, f.Reason, e)
			}
		}
	}
}

func TestInBand500MidStreamKeepsFinishedSamplesAndText(t *testing.T) {
	srv, c, _ := newTest(t)
	// Sample 0 has 4 tokens (length), sample 1 three (EOS): chunks s0t0 s1t0 s0t1 s1t1
	// s0t2 s1t2 s0t3 fin1 fin0.
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.InBandAt = 6; f.Message = "CUDA error: an illegal memory access" })})
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(4)), 2, nil))
	fs := finishes(t, evs, 2)
	// The error comes before s0t3: neither sample has finished, so both end with it.
	for i, f := range fs {
		if f.Reason != backend.StopError || f.Err.Kind != backend.KindServer || f.Err.Status != 500 || !strings.Contains(f.Err.Message, "CUDA") {
			t.Errorf("sample %d: %q %+v", i, f.Reason, f.Err)
		}
		if len(strings.Fields(r.Trajectories[i].Messages[1].Content)) != 3 {
			t.Errorf("sample %d text %q, want 3 tokens kept", i, r.Trajectories[i].Messages[1].Content)
		}
	}
	srv.Push(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.InBandAt = 8; f.Message = "boom" })})
	evs, _, _ = collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(4)), 2, nil))
	fs = finishes(t, evs, 2)
	if fs[1].Reason != backend.StopStop || fs[1].Err != nil || fs[0].Reason != backend.StopError {
		t.Errorf("error after sample 1 finished: %q %v / %q %v", fs[0].Reason, fs[0].Err, fs[1].Reason, fs[1].Err)
	}
}

func TestOneVariantsErrorDoesNotStopTheOthers(t *testing.T) {
	srv, c, _ := newTest(t)
	srv.SetDefault(vllmtest.Script{})
	bad := sampling(1, i64(1), ip(3))
	bad.TopP = 0.5
	good := sampling(1, i64(1), ip(3))
	req := chatReq(good, 2, nil)
	req.Model = "m"
	req.Variants = []params.SamplingParams{good, bad}
	// The variants run concurrently, so fail the one whose body has top_p 0.5.
	srv.SetDefault(vllmtest.Script{})
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if strings.Contains(string(body), `"top_p":0.5`) {
			return fault(func(f *vllmtest.Fault) { f.Status = 400; f.Message = "bad top_p"; f.Param = sp("top_p") })
		}
		return nil
	})
	evs, r, _ := collect(t, context.Background(), c, req)
	fs := finishes(t, evs, 4)
	for i := 0; i < 2; i++ {
		if fs[i].Err != nil || fs[i].Reason.Failed() {
			t.Errorf("good variant sample %d: %q %v", i, fs[i].Reason, fs[i].Err)
		}
	}
	for i := 2; i < 4; i++ {
		if fs[i].Reason != backend.StopError || fs[i].Err.Param != "top_p" {
			t.Errorf("bad variant sample %d: %q %+v", i, fs[i].Reason, fs[i].Err)
		}
	}
	if len(r.Variants) != 2 || r.Variants[1].First != 2 || r.Variants[1].Params.TopP != 0.5 {
		t.Errorf("variants = %+v", r.Variants)
	}
}

func TestCancelStopsEveryRequestAndTheServerSeesIt(t *testing.T) {
	srv, c, _ := newTest(t)
	srv.SetDefault(vllmtest.Script{Fault: fault(func(f *vllmtest.Fault) { f.StallAt = 2 })})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatReq(sampling(1, i64(1), ip(8)), 2, nil)
	req.Model = "m"
	req.Variants = []params.SamplingParams{sampling(1, i64(1), ip(8)), sampling(0.5, i64(9), ip(8))}
	ch, err := c.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var evs []backend.Event
	tokens := 0
	for ev := range ch {
		evs = append(evs, ev)
		if ev.Kind == backend.EventTokens {
			tokens++
			if tokens == 4 { // both streams are stalled after 2 chunks each
				cancel()
			}
		}
	}
	for i, f := range finishes(t, evs, 4) {
		if f.Reason != backend.StopCancelled || f.Err == nil || !errors.Is(f.Err, context.Canceled) {
			t.Errorf("sample %d: %q %v, want cancelled", i, f.Reason, f.Err)
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := srv.WaitDisconnect(wctx, 2); err != nil {
		t.Error(err)
	}
}

func TestConnectionRefusedIsRetriedThenReported(t *testing.T) {
	srv := vllmtest.New()
	url := srv.URL
	srv.Close()
	var waits []time.Duration
	c, err := New(Config{BaseURL: url, Model: "m", MaxRetries: 2, Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, nil, ip(2)), 1, nil))
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopError || f.Err.Kind != backend.KindTransport || len(waits) != 2 {
		t.Errorf("refused: %q %+v after %d waits", f.Reason, f.Err, len(waits))
	}
	rs := retries(evs)
	if len(rs) != 2 || rs[1].Retry.Status != 0 || rs[1].Retry.Attempt != 3 || rs[1].Retry.MaxAttempts != 3 || rs[1].Err.Kind != backend.KindTransport {
		t.Fatalf("retry events %+v", rs)
	}
	if got := rs[1].Retry.String(); !strings.HasPrefix(got, "could not connect, retrying in ") || !strings.HasSuffix(got, "(attempt 3 of 3)") {
		t.Errorf("retry line %q", got)
	}
	// The column reads the address in words; Go's text stays in the detail.
	host := strings.TrimPrefix(strings.TrimSuffix(url, "/v1"), "http://")
	if want := "could not connect to " + host; f.Err.Message != want {
		t.Errorf("message %q, want %q", f.Err.Message, want)
	}
	if !strings.Contains(f.Err.Detail, "connection refused") || !strings.Contains(f.Err.Detail, "dial tcp") {
		t.Errorf("detail %q lost Go's text", f.Err.Detail)
	}
}

// Listing the models is retried too, before any sample started: the retry concerns the
// run as a whole.
func TestModelListRetryIsARunRetry(t *testing.T) {
	srv := vllmtest.NewHandler()
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			failed := false
			once.Do(func() { failed = true })
			if failed {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, err := New(Config{BaseURL: hs.URL, Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.cfg.HTTPClient.(*http.Client).CloseIdleConnections()
	evs, r, _ := collect(t, context.Background(), c, chatReq(sampling(1, i64(1), ip(2)), 2, nil))
	rs := retries(evs)
	if len(rs) != 1 || evs[0].Kind != backend.EventRetry || rs[0].Count != 0 || rs[0].Retry.Status != 503 || rs[0].Retry.Wait != time.Second {
		t.Fatalf("events %+v, want a run-level retry first", evs)
	}
	if got := rs[0].Retry.String(); got != "unavailable, retrying in 1s (attempt 2 of 4)" {
		t.Errorf("retry line %q", got)
	}
	if r.StopReason[0] != backend.StopLength {
		t.Errorf("the run after the retry: %v", r.StopReason)
	}
}

func TestNoModelsIsARunError(t *testing.T) {
	srv, c, _ := newTest(t)
	srv.Models = nil
	evs, _, a := collect(t, context.Background(), c, chatReq(sampling(1, nil, ip(2)), 1, nil))
	if len(evs) != 1 || a.Err() == nil || !strings.Contains(a.Err().Error(), "no models") {
		t.Errorf("events %+v, err %v", evs, a.Err())
	}
}

// A server that accepts the connection but never answers the TLS handshake is cut off by
// the connect timeout (which also bounds the handshake), and not retried when told not to.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	c, err := New(Config{BaseURL: "https://" + ln.Addr().String() + "/v1", Model: "m", ConnectTimeout: 100 * time.Millisecond, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.cfg.HTTPClient.(*http.Client).CloseIdleConnections()
	evs, _, _ := collect(t, context.Background(), c, chatReq(sampling(1, nil, ip(2)), 1, nil))
	f := finishes(t, evs, 1)[0]
	if f.Reason != backend.StopError || f.Err.Kind != backend.KindTransport || !strings.Contains(f.Err.Message, "handshake timeout") {
		t.Errorf("silent TLS server: %q %+v", f.Reason, f.Err)
	}
}
