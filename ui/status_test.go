package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

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
		})
	}
}

// A problem that ends no sample (the prompt logprobs request failing) is
// not lost when the run's summary is written.
func TestStatusKeepsARunLevelProblem(t *testing.T) {
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
