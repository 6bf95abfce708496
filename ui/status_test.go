package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// finishScript emits one token per sample, then each sample's finish.
func finishScript(finishes ...backend.Event) func(backend.Request, *backend.Emitter, context.Context) {
	return func(req backend.Request, e *backend.Emitter, _ context.Context) {
		n := len(finishes)
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: n, Requested: n, Model: "test-model"}})
		for i := range finishes {
			e.Emit(backend.Event{Kind: backend.EventTokens, Sample: i, Text: "some", Tokens: []backend.Token{tok("some", -1)}})
		}
		for i, f := range finishes {
			f.Kind, f.Sample = backend.EventFinish, i
			e.Emit(f)
		}
		e.Emit(backend.Event{Kind: backend.EventDone})
	}
}

// The status line says how a run ended; a run in which every sample failed
// never reads as done.
func TestStatusSaysHowTheRunEnded(t *testing.T) {
	t.Parallel()
	reset := &backend.Error{Kind: backend.KindTransport, Message: "read tcp 127.0.0.1:39670->127.0.0.1:8000: read: connection reset by peer",
		Err: errors.New("connection reset by peer")}
	http500 := &backend.Error{Kind: backend.KindHTTP, Status: 500, Message: "boom"}
	ok := backend.Event{Reason: backend.StopLength}
	for _, tc := range []struct {
		name     string
		finishes []backend.Event
		want     []string
		not      []string
		isErr    bool
	}{
		{"done", []backend.Event{ok, ok}, []string{"done in"}, []string{"failed", "interrupted"}, false},
		{"dropped", []backend.Event{{Reason: backend.StopInterrupted, Err: reset}, {Reason: backend.StopInterrupted, Err: reset}},
			[]string{"interrupted after", "the server closed the connection mid-stream"}, []string{"done", "read tcp"}, true},
		{"all failed", []backend.Event{{Reason: backend.StopError, Err: http500}, {Reason: backend.StopError, Err: http500}},
			[]string{"failed after 0ms (all 2 samples): server returned HTTP 500: boom"}, []string{"done"}, true},
		{"some failed", []backend.Event{ok, {Reason: backend.StopError, Err: http500}, ok},
			[]string{"done in", "with 1 of 3 failed", "sample 2: server returned HTTP 500: boom"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSampler{script: finishScript(tc.finishes...)}
			m := newTestModel(t, f, 160, 40)
			drive(t, m, m.startRun())
			for _, w := range tc.want {
				if !strings.Contains(m.status, w) {
					t.Errorf("status %q lacks %q", m.status, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(m.status, n) {
					t.Errorf("status %q says %q", m.status, n)
				}
			}
			if m.statusErr != tc.isErr {
				t.Errorf("status %q: error %v, want %v", m.status, m.statusErr, tc.isErr)
			}
			if tc.name == "dropped" {
				// The column says it plainly; the response (and so a saved
				// session) keeps Go's detail.
				if s := plainScreen(m); strings.Contains(s, "read tcp") || !strings.Contains(s, "✗ the server closed the connection") {
					t.Errorf("column:\n%s", s)
				}
				if r, _ := m.Response(); len(r.Errors) == 0 || r.Errors[0] == nil || !strings.Contains(r.Errors[0].Message, "connection reset by peer") {
					t.Errorf("the detail is gone from the response: %+v", r.Errors)
				}
			}
		})
	}
}

// A problem that ends no sample (the prompt logprobs request failing) is
// not lost when the run's summary is written.
func TestStatusKeepsARunLevelProblem(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
		e.Emit(backend.Event{Kind: backend.EventError, Count: 1, Err: &backend.Error{Kind: backend.KindHTTP, Status: 400, Message: "prompt logprobs: too many"}})
		e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "x", Tokens: []backend.Token{tok("x", -1)}})
		e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopLength})
		e.Emit(backend.Event{Kind: backend.EventDone})
	}}
	m := newTestModel(t, f, 160, 40)
	drive(t, m, m.startRun())
	if !strings.Contains(m.status, "done in") || !strings.Contains(m.status, "prompt logprobs: too many") || !m.statusErr {
		t.Fatalf("status %q (error %v)", m.status, m.statusErr)
	}
}

// What the caller has to say about the backend it chose is said once, in the
// status line, and gives way to the first run's status.
func TestStatusShowsTheStartNoticeOnce(t *testing.T) {
	t.Parallel()
	const notice = "no server at localhost:8000, using the built-in model; --endpoint to choose"
	f := &fakeSampler{script: finishScript(backend.Event{Reason: backend.StopLength})}
	m := New(Config{Sampler: f, Params: params.Default(), Options: params.Options{N: 1}, IsDark: true, Notice: notice})
	m.Update(windowSize(100, 30))
	lines := strings.Split(plainScreen(m), "\n")
	if st := lines[m.rects.status.Y]; !strings.Contains(st, notice) || m.statusErr {
		t.Fatalf("status line %q (error %v)", st, m.statusErr)
	}
	drive(t, m, m.startRun())
	if strings.Contains(plainScreen(m), "built-in model") {
		t.Fatalf("the notice outlived the first run:\n%s", plainScreen(m))
	}
}

// A stream that goes quiet says so in its column, and counts; a request
// waiting to be retried says why, when and which attempt comes next.
func TestColumnSaysWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	sent := make(chan struct{})
	f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, ctx context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 2, Requested: 2}})
		e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "one", Tokens: []backend.Token{tok("one", -1)}})
		close(sent)
		<-ctx.Done() // a stalled stream
		for i := 0; i < 2; i++ {
			e.Emit(backend.Event{Kind: backend.EventFinish, Sample: i, Reason: backend.StopCancelled})
		}
		e.Emit(backend.Event{Kind: backend.EventDone})
	}}
	m := newTestModel(t, f, 160, 40)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m.c.Now = func() time.Time { return now }
	d := driveUntil(t, m, m.startRun(), func() bool { return len(m.samples.cols) == 2 && m.samples.cols[0].TokenCount() == 1 })
	<-sent
	if s := plainScreen(m); strings.Contains(s, "no tokens for") {
		t.Fatalf("quiet before any time passed:\n%s", s)
	}
	now = now.Add(2 * time.Second)
	if s := plainScreen(m); strings.Contains(s, "no tokens for") {
		t.Fatalf("2s is not yet quiet:\n%s", s)
	}
	now = now.Add(5 * time.Second)
	s := plainScreen(m)
	if !strings.Contains(s, "no tokens for 7s") || !strings.Contains(s, "waiting for the first token: 7s") {
		t.Fatalf("a stalled stream says nothing:\n%s", s)
	}

	m.samples.cols[1].Retrying(retryNote{attempt: 2, of: 4, until: now.Add(2500 * time.Millisecond), status: 429})
	if s := plainScreen(m); !strings.Contains(s, "rate-limited, retrying in 3s (attempt 2 of 4)") {
		t.Fatalf("retry not shown:\n%s", s)
	}
	now = now.Add(time.Second)
	if s := plainScreen(m); !strings.Contains(s, "rate-limited, retrying in 2s (attempt 2 of 4)") {
		t.Fatalf("retry does not count down:\n%s", s)
	}
	d.until(press(m, "esc"), func() bool { return m.run.done })
	if s := plainScreen(m); strings.Contains(s, "retrying") || strings.Contains(s, "no tokens for") {
		t.Fatalf("a finished column still waits:\n%s", s)
	}
}

func TestRetryNoteWords(t *testing.T) {
	t.Parallel()
	now := time.Unix(100, 0)
	for _, tc := range []struct {
		r    retryNote
		want string
	}{
		{retryNote{attempt: 2, of: 3, until: now.Add(4 * time.Second), status: 429}, "rate-limited, retrying in 4s (attempt 2 of 3)"},
		{retryNote{attempt: 3, of: 3, until: now.Add(100 * time.Millisecond), status: 503}, "unavailable, retrying in 1s (attempt 3 of 3)"},
		{retryNote{attempt: 2, of: 3, until: now.Add(time.Second), status: 502}, "server error (HTTP 502), retrying in 1s (attempt 2 of 3)"},
		{retryNote{attempt: 2, of: 5, until: now.Add(-time.Second)}, "could not connect, retrying in 0s (attempt 2 of 5)"},
	} {
		if got := tc.r.text(now, 60); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
	r := retryNote{attempt: 2, of: 4, until: now.Add(3 * time.Second), status: 429}
	for w, want := range map[int]string{40: "rate-limited, retrying in 3s (2 of 4)", 31: "rate-limited, retry in 3s (2/4)", 20: "429: retry in 3s (2/4)"} {
		if got := r.text(now, w); got != want {
			t.Errorf("in %d cells: %q, want %q", w, got, want)
		}
	}
}

// In automatic mode a chat run refused for want of a chat template (vLLM's
// 400, recognised by its answer) moves the playground to completion mode and
// says so; a mode the user chose stays.
func TestNoChatTemplateSwitchesToCompletion(t *testing.T) {
	t.Parallel()
	refused := &backend.Error{Kind: backend.KindHTTP, Status: 400, Type: "BadRequestError",
		Message: "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one."}
	script := func(req backend.Request, e *backend.Emitter, _ context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 2, Requested: 2}})
		for i := 0; i < 2; i++ {
			e.Emit(backend.Event{Kind: backend.EventFinish, Sample: i, Reason: backend.StopError, Err: refused})
		}
		e.Emit(backend.Event{Kind: backend.EventDone})
	}
	for _, chosen := range []params.API{"", params.Chat} {
		m := New(Config{Sampler: &fakeSampler{script: script}, API: chosen, Params: params.Default(), Options: params.Options{N: 2}, IsDark: true})
		m.Update(windowSize(120, 40))
		drive(t, m, m.startRun())
		if chosen == "" {
			if m.api != params.Completion || !strings.Contains(m.status, "switched to completion mode") {
				t.Errorf("automatic: mode %s, status %q", m.api, m.status)
			}
		} else {
			if m.api != params.Chat || strings.Contains(m.status, "switched") {
				t.Errorf("chosen chat: mode %s, status %q", m.api, m.status)
			}
			// The columns say plainly why, and the way on; the error keeps the server's words.
			screen := plainScreen(m)
			if !strings.Contains(screen, "this model has no chat template") || strings.Contains(screen, "transformers") {
				t.Errorf("chosen chat: the refusal is not said plainly:\n%s", screen)
			}
			if c := m.samples.cols[0]; c.Err == nil || c.Err.Message != refused.Message {
				t.Errorf("chosen chat: the column's error lost the server's words: %+v", c.Err)
			}
		}
	}
}

// The backend's retry event reaches the columns it concerns: they count down
// to the next attempt instead of "waiting for the first token".
func TestRetryEventShowsInTheColumns(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{script: finishScript(backend.Event{Reason: backend.StopLength}, backend.Event{Reason: backend.StopLength})}, 160, 40)
	m.panel.O.N = 2
	drive(t, m, m.startRun())
	for _, c := range m.samples.cols {
		c.Streaming = true // as if the run were still waiting
	}
	now := m.c.Now()
	m.applyEvent(m.run, backend.Event{Kind: backend.EventRetry, Sample: 1, Count: 1,
		Retry: &backend.RetryInfo{Status: 429, Wait: 3 * time.Second, Attempt: 2, MaxAttempts: 4}}, now)
	if got := m.samples.cols[0].retry; got != nil {
		t.Errorf("sample 1 was not retried, but its column says %+v", *got)
	}
	r := m.samples.cols[1].retry
	if r == nil {
		t.Fatal("sample 2's column has no retry note")
	}
	if got := r.text(now, 80); got != "rate-limited, retrying in 3s (attempt 2 of 4)" {
		t.Errorf("retry note %q", got)
	}
	m.applyEvent(m.run, backend.Event{Kind: backend.EventRetry, Retry: &backend.RetryInfo{Status: 503, Wait: time.Second, Attempt: 3, MaxAttempts: 4}}, now)
	for i, c := range m.samples.cols {
		if c.retry == nil || c.retry.status != 503 {
			t.Errorf("a whole-run retry missed column %d", i)
		}
	}
}

// Prompt logprobs that could not be matched to the prompt colour nothing, and
// the prompt pane says why.
func TestUnalignedPromptLogprobsAreSaid(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
		e.Emit(backend.Event{Kind: backend.EventPromptLogprobs, PromptAlignment: backend.PromptUnaligned})
		e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "x", Tokens: []backend.Token{tok("x", -1)}})
		e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopLength})
		e.Emit(backend.Event{Kind: backend.EventDone})
	}}
	m := newTestModel(t, f, 160, 40)
	m.promptHeat = true
	m.setFocus(focusSamples)
	drive(t, m, m.startRun())
	if s := plainScreen(m); !strings.Contains(s, "did not match the prompt sent") {
		t.Fatalf("no word on the unmatched prompt logprobs:\n%s", s)
	}
}
