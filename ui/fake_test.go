package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/themes"
)

// fakeSampler is an in-process Sampler for unit tests of the model: it emits
// a scripted run through backend.Emitter, exactly as real samplers deliver.
type fakeSampler struct {
	mu       sync.Mutex
	requests []backend.Request
	script   func(req backend.Request, e *backend.Emitter, ctx context.Context)
}

func (f *fakeSampler) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "test-model", MaxModelLen: 4096}, {ID: "other-model"}}, nil
}

func (f *fakeSampler) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	e, ch := backend.NewEmitter()
	go func() {
		defer e.Close()
		f.script(req, e, ctx)
	}()
	return ch, nil
}

func tok(s string, lp float64) backend.Token {
	return backend.Token{Text: s, Logprob: backend.Logprob(lp), ID: backend.NoTokenID}
}

// wordsScript emits the given text per sample, word by word, then the finish.
func wordsScript(texts []string, finishes []backend.Event) func(backend.Request, *backend.Emitter, context.Context) {
	return func(req backend.Request, e *backend.Emitter, ctx context.Context) {
		n := req.Options.Samples()
		seeds := make([]*int64, n)
		for i := range seeds {
			if req.Params.Seed != nil {
				s := *req.Params.Seed + int64(i)
				seeds[i] = &s
			}
		}
		e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{First: 0, Count: n, Requested: n, Model: "test-model", Params: req.Params, Seeds: seeds}})
		for i := 0; i < n; i++ {
			text := texts[i%len(texts)]
			var toks []backend.Token
			for _, w := range strings.SplitAfter(text, " ") {
				toks = append(toks, tok(w, -0.5))
			}
			e.Emit(backend.Event{Kind: backend.EventTokens, Sample: i, Text: text, Tokens: toks})
		}
		for i := 0; i < n; i++ {
			f := finishes[i%len(finishes)]
			f.Kind, f.Sample = backend.EventFinish, i
			e.Emit(f)
		}
		e.Emit(backend.Event{Kind: backend.EventDone})
	}
}

// drive runs a command to completion synchronously, feeding resulting
// messages back into the model (batches expanded), like the program would.
func drive(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	deadline := time.Now().Add(5 * time.Second)
	for len(queue) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("drive: commands did not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case spinner.TickMsg:
			// Ticks reschedule themselves forever; a test does not wait for them.
		default:
			if strings.HasPrefix(typeString(msg), "cursor.") {
				continue // cursor blinks, forever too
			}
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
}

func newTestModel(t testing.TB, s backend.Sampler, w, h int) *Model {
	t.Helper()
	seed := int64(41)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(Config{
		Context:  ctx,
		Sampler:  s,
		Endpoint: "http://127.0.0.1:8000",
		Model:    "test-model",
		API:      params.Completion,
		Params:   params.Default(),
		Options:  params.Options{N: 1},
		IsDark:   true,
		Now:      func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) },
		NewSeed:  func() int64 { seed++; return seed },
		Store:    store.New(t.TempDir(), t.TempDir()),
	})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func plainScreen(m *Model) string {
	return ansi.Strip(m.View().Content)
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// keyMsg builds the KeyPressMsg a terminal would send for a key name.
func keyMsg(k string) tea.KeyPressMsg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp, "down": tea.KeyDown,
		"left": tea.KeyLeft, "right": tea.KeyRight, "space": tea.KeySpace, "backspace": tea.KeyBackspace,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd, "f1": tea.KeyF1, "f5": tea.KeyF5,
	}
	var mod tea.KeyMod
	name := k
	for {
		switch {
		case strings.HasPrefix(name, "ctrl+"):
			mod |= tea.ModCtrl
			name = name[5:]
			continue
		case strings.HasPrefix(name, "shift+"):
			mod |= tea.ModShift
			name = name[6:]
			continue
		case strings.HasPrefix(name, "alt+"):
			mod |= tea.ModAlt
			name = name[4:]
			continue
		}
		break
	}
	if r, ok := special[name]; ok {
		kk := tea.KeyPressMsg{Code: r, Mod: mod}
		if name == "space" {
			kk.Text = " "
		}
		return kk
	}
	r := []rune(name)[0]
	kk := tea.KeyPressMsg{Code: r, Mod: mod}
	if mod == 0 {
		kk.Text = name
	}
	if r >= 'A' && r <= 'Z' && mod == 0 {
		kk.Code = r + 32
		kk.ShiftedCode = r
		kk.Mod = tea.ModShift
	}
	return kk
}

func ansiWidth(s string) int { return ansi.StringWidth(s) }

func mustTheme(t testing.TB) *themes.Styles {
	p, _ := themes.Builtin(themes.DefaultName, true)
	s := themes.NewStyles(p, true)
	return &s
}

func windowSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

func typeString(v any) string { return fmt.Sprintf("%T", v) }

// front is the dialog in front, as a T; the test fails when there is none
// or it is another.
func front[T dialog](t testing.TB, m *Model) T {
	t.Helper()
	d, ok := m.overlay.front().(T)
	if !ok {
		var want T
		t.Fatalf("dialog in front is %T, want %T", m.overlay.front(), want)
	}
	return d
}

// inFront reports whether a T is the dialog in front.
func inFront[T dialog](m *Model) bool {
	_, ok := m.overlay.front().(T)
	return ok
}
