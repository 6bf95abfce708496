package ui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
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
	t.Parallel()
	s := savedSession(t)
	t.Run("no server", func(t *testing.T) {
		m := New(Config{Session: s, SessionPath: "s.json", IsDark: true})
		m.Update(windowSize(160, 40))
		if h := strings.Split(plainScreen(m), "\n")[0]; !strings.Contains(h, "no server") || !strings.Contains(h, "read-only") {
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

// writeSession saves s under dir/name, last modified at mod.
func writeSession(t *testing.T, dir, name string, s Session, mod time.Time) string {
	t.Helper()
	path := filepath.Join(dir, name)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	return path
}

// sessionsDir holds three sessions and two files that are not sessions.
func sessionsDir(t *testing.T, now time.Time) string {
	dir := t.TempDir()
	s := *savedSession(t)
	for i, name := range []string{"old.json", "newest.json", "middle.json"} {
		s.Prompt = "prompt of " + name
		s.Saved = now.Add(-[]time.Duration{50 * time.Hour, 5 * time.Minute, 3 * time.Hour}[i])
		writeSession(t, dir, name, s, s.Saved)
	}
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"x"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	return dir
}

// ctrl+o lists the sessions in the sessions folder, newest first: the arrows
// pick one, a typed path works too, and nothing offered is a file that does
// not exist.
func TestOpenListsSessionsNewestFirst(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	dir := sessionsDir(t, now)
	m := newTestModel(t, &fakeSampler{}, 160, 40)
	m.c.Store = store.New(t.TempDir(), dir)
	m.setFocus(focusParams)
	drive(t, m, press(m, "ctrl+o"))
	screen := plainScreen(m)
	iNew, iMid, iOld := strings.Index(screen, "newest.json"), strings.Index(screen, "middle.json"), strings.Index(screen, "old.json · ")
	if iNew < 0 || iMid < iNew || iOld < iMid || strings.Contains(screen, "package.json") || strings.Contains(screen, "notes.txt") {
		t.Fatalf("sessions not listed newest first, or non-sessions listed:\n%s", screen)
	}
	if !strings.Contains(screen, "newest.json · 5 min ago") || !strings.Contains(screen, `"prompt of middle.json"`) {
		t.Fatalf("entries say too little:\n%s", screen)
	}
	if got := front[*sessionsDialog](t, m).input.Value(); got != filepath.Join(dir, "newest.json") {
		t.Fatalf("offered %q, want the newest session", got)
	}
	m.Update(keyMsg("down"))
	if got := front[*sessionsDialog](t, m).input.Value(); got != filepath.Join(dir, "middle.json") {
		t.Fatalf("down offered %q", got)
	}
	drive(t, m, press(m, "enter"))
	if m.loaded == nil || m.prompt.Value() != "prompt of middle.json" {
		t.Fatalf("enter did not open the picked session: status %q", m.status)
	}

	// A typed path: letters type (j is not "down" here), enter opens it.
	other := writeSession(t, t.TempDir(), "j.json", *savedSession(t), now)
	drive(t, m, press(m, "ctrl+o"))
	front[*sessionsDialog](t, m).input.SetValue("")
	for _, r := range other {
		m.Update(keyMsg(string(r)))
	}
	if front[*sessionsDialog](t, m).input.Value() != other {
		t.Fatalf("typed %q", front[*sessionsDialog](t, m).input.Value())
	}
	drive(t, m, press(m, "enter"))
	if m.loadedPath != other {
		t.Fatalf("typed path not opened: %q, status %q", m.loadedPath, m.status)
	}
}

func TestGoldenOpenSession(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	dir := sessionsDir(t, now)
	m, _ := serverModel(t, 120, 40, func(c *Config) { c.Store = store.New(t.TempDir(), dir) })
	m.setFocus(focusParams)
	drive(t, m, press(m, "ctrl+o"))
	// The folder is a temporary one: the golden shows it by a fixed name.
	d := front[*sessionsDialog](t, m)
	d.dir = "sessions"
	d.offer(filepath.Join("sessions", filepath.Base(d.input.Value())))
	checkGolden(t, m)
}

// What a run may put back is let go once the run has ended, so runs do not
// keep every earlier screen alive.
func TestRunsDoNotKeepOldScreens(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"a b"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	for i := 0; i < 3; i++ {
		drive(t, m, m.startRun())
	}
	if b := m.run.before; b.run != nil || b.cols != nil {
		t.Fatalf("the last run still holds the screen before it: %+v", b)
	}
}
