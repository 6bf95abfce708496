package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// savedSession runs a fake sampler and captures the screen as a session.
func savedSession(t *testing.T) *Session {
	t.Helper()
	f := &fakeSampler{script: wordsScript([]string{"alpha beta", "gamma"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.N = 2
	drive(t, m, m.startRun())
	s := m.snapshot()
	s.Model = "Qwen/Qwen2.5-7B-Instruct"
	return &s
}

// notServed answers every run as a server that does not serve the model.
type notServed struct{ fakeSampler }

func (n *notServed) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "twinkle-go-5m"}}, nil
}

// --load with no server that can run it: the header says the session is
// read-only, and a run that cannot start leaves the loaded samples on screen.
func TestLoadedSessionIsReadOnlyUntilAServerCanRunIt(t *testing.T) {
	s := savedSession(t)
	t.Run("no server", func(t *testing.T) {
		m := New(Config{Session: s, SessionPath: "s.json", IsDark: true})
		m.Update(windowSize(160, 40))
		if !strings.Contains(plainScreen(m), "read-only: no server") {
			t.Fatalf("header does not say read-only:\n%s", plainScreen(m))
		}
		before := samplesBlock(plainScreen(m))
		drive(t, m, m.startRun())
		if m.loaded != s || samplesBlock(plainScreen(m)) != before || !strings.Contains(m.status, "read-only") {
			t.Fatalf("status %q:\n%s", m.status, plainScreen(m))
		}
	})
	t.Run("model not served", func(t *testing.T) {
		f := &notServed{fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
			e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 2, Requested: 2}})
			for i := 0; i < 2; i++ {
				e.Emit(backend.Event{Kind: backend.EventFinish, Sample: i, Reason: backend.StopError,
					Err: &backend.Error{Kind: backend.KindHTTP, Status: 404, Message: "The model `" + req.Model + "` does not exist."}})
			}
			e.Emit(backend.Event{Kind: backend.EventDone})
		}}}
		m := New(Config{Session: s, SessionPath: "s.json", Sampler: f, Endpoint: "local", Params: params.Default(), IsDark: true})
		m.Update(windowSize(160, 40))
		drive(t, m, m.Init())
		if !strings.Contains(plainScreen(m), "read-only: model not served here") {
			t.Fatalf("header does not say read-only:\n%s", plainScreen(m))
		}
		before := samplesBlock(plainScreen(m))
		drive(t, m, m.startRun())
		if len(f.requests) != 1 {
			t.Fatalf("%d requests", len(f.requests))
		}
		if m.loaded != s || samplesBlock(plainScreen(m)) != before {
			t.Fatalf("the loaded samples were wiped:\n%s", plainScreen(m))
		}
		if !m.statusErr || !strings.Contains(m.status, "does not exist") || !strings.Contains(m.status, "showing the session as loaded from s.json") {
			t.Fatalf("status %q", m.status)
		}
		// The session is still what a save or an export sees.
		if r, _ := m.Response(); len(r.Trajectories) != 2 || r.Trajectories[0].Messages[1].Content != "alpha beta" {
			t.Fatalf("response %+v", r.Trajectories)
		}
		// Picking a served model makes it runnable.
		drive(t, m, press(m, "ctrl+l", "enter"))
		if strings.Contains(plainScreen(m), "read-only") {
			t.Fatalf("still read-only with a served model:\n%s", plainScreen(m))
		}
	})
}
