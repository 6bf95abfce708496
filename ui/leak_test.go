package ui

import (
	"context"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
)

// A run replaced by a newer one is cancelled and still read through Update;
// quitting before it has drained lets its goroutines go too (TestMain's
// goleak check fails otherwise), even with a sampler that keeps emitting
// after its context is done and a program context that never ends.
func TestQuitLetsReplacedRunsGo(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, ctx context.Context) {
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
		<-ctx.Done()
		for i := 0; i < 3; i++ { // winds down slowly
			e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "x", Tokens: []backend.Token{tok("x", -1)}})
		}
		e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopCancelled})
		e.Emit(backend.Event{Kind: backend.EventDone})
	}}
	m := newTestModel(t, f, 120, 40)
	m.c.Ctx = context.Background()
	var started func(cmd tea.Cmd) bool
	started = func(cmd tea.Cmd) bool {
		if cmd == nil {
			return false
		}
		switch msg := cmd().(type) {
		case runStartedMsg:
			m.Update(msg)
			return true
		case tea.BatchMsg:
			for _, c := range msg {
				if started(c) {
					return true
				}
			}
		}
		return false
	}
	for range 2 { // the second run replaces the first
		if !started(m.startRun()) {
			t.Fatal("a run did not start")
		}
	}
	m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
}
