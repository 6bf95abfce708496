package ui

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/params"
)

// A parked area, once made, is in the state a textarea given the same calls
// all along would be in: text, cursor, scroll and drawing.
func TestLazyAreaReplaysItsCalls(t *testing.T) {
	long := strings.Repeat("a line of the prompt\n", 30) + "last"
	styles := textarea.DefaultStyles(false)
	setValue := func(s string) op { return func(a area) { a.SetValue(s) } }
	width := func(w int) op { return func(a area) { a.SetWidth(w) } }
	height := func(h int) op { return func(a area) { a.SetHeight(h) } }
	focus := func(a area) { a.Focus() }
	blur := func(a area) { a.Blur() }
	cases := map[string][]op{
		"short":                       {setValue("hello")},
		"long, sized after":           {setValue(long), func(a area) { a.SetStyles(styles) }, focus, width(30), height(5), height(12), blur, focus, blur},
		"sized, then long":            {width(30), height(5), focus, setValue(long), height(8)},
		"tabs and control characters": {width(20), setValue("a\tb\x01c\r\nd"), height(3)},
	}
	// Past maxParkedCalls the area is made on the way.
	many := []op{setValue(long)}
	for i := range 3 * maxParkedCalls {
		many = append(many, width(20+i%7), focus)
	}
	cases["many resizes"] = many

	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			init := func(ta *textarea.Model) { ta.ShowLineNumbers, ta.Placeholder = false, "write" }
			lazy := newLazyArea(init)
			eager := textarea.New()
			init(&eager)
			for _, o := range ops {
				o(&lazy)
				o(eagerArea{&eager})
				if got, want := lazy.Value(), eager.Value(); got != want {
					t.Fatalf("Value while parked: %q, the textarea says %q", got, want)
				}
			}
			if a, b := state(lazy.get()), state(&eager); a != b {
				t.Errorf("made from its calls:\n%s\nthe textarea given them:\n%s", a, b)
			}
		})
	}
}

// area is what the panes call on an editor that may be parked.
type area interface {
	SetValue(string)
	SetWidth(int)
	SetHeight(int)
	SetStyles(textarea.Styles)
	Focus()
	Blur()
}

type op func(area)

// eagerArea gives a textarea the lazy area's method set.
type eagerArea struct{ t *textarea.Model }

func (e eagerArea) SetValue(s string)           { e.t.SetValue(s) }
func (e eagerArea) SetWidth(w int)              { e.t.SetWidth(w) }
func (e eagerArea) SetHeight(h int)             { e.t.SetHeight(h) }
func (e eagerArea) SetStyles(s textarea.Styles) { e.t.SetStyles(s) }
func (e eagerArea) Focus()                      { _ = e.t.Focus() }
func (e eagerArea) Blur()                       { e.t.Blur() }

func state(t *textarea.Model) string {
	return fmt.Sprintf("value %q line %d col %d offset %d focused %v width %d height %d\n%s",
		t.Value(), t.Line(), t.Column(), t.ScrollYOffset(), t.Focused(), t.Width(), t.Height(), t.View())
}

// Of the prompt editor and the conversation, the one not on screen keeps no
// textarea (each reserves about 240 KB): a viewer over SSH who never switches
// mode never pays for it. Switching makes it, and the text goes across as
// before.
func TestHiddenEditorKeepsNoTextarea(t *testing.T) {
	m := newTestModel(t, nil, 120, 40) // completion mode
	_ = m.View()
	press(m, "x", "tab")
	_ = m.View()
	press(m, "shift+tab")
	if m.convo.ed.made() {
		t.Error("completion mode made the conversation's textarea")
	}
	press(m, "ctrl+t")
	_ = m.View()
	if !m.convo.ed.made() || m.convo.ed.Value() != m.prompt.Value() || !strings.Contains(m.convo.ed.Value(), "x") {
		t.Errorf("chat mode: textarea made %v, text %q, the prompt's %q", m.convo.ed.made(), m.convo.ed.Value(), m.prompt.Value())
	}

	c := newChatTestModel(t, 120, 40)
	_ = c.View()
	if c.prompt.ta.made() {
		t.Error("chat mode made the prompt editor's textarea")
	}
}

func newChatTestModel(t testing.TB, w, h int) *Model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(Config{Context: ctx, Endpoint: "http://127.0.0.1:8000", Model: "test-model", API: params.Chat,
		Params: params.Default(), Options: params.Options{N: 1}, IsDark: true, Prompt: "hello"})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// An idle playground at 120x40 (what a viewer over SSH holds on the server,
// less Bubble Tea's screen buffers and input) stays well under a megabyte.
// Both textareas made cost about 0.7 MB; the bound leaves room for noise.
func TestIdleModelHeap(t *testing.T) {
	const n = 16
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ms := make([]*Model, n)
	for i := range ms {
		ms[i] = newChatTestModel(t, 120, 40)
		_ = ms[i].View()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n / (1 << 20)
	runtime.KeepAlive(ms)
	t.Logf("%.3f MB per idle model", per)
	if per > 0.6 {
		t.Errorf("an idle model holds %.3f MB of heap; at most 0.6 MB expected", per)
	}
}
