package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// editorPane is the prompt or the system message: a text editor drawn again
// only when its text, cursor, size or theme changes (the prompt is on screen
// every frame while samples stream, and changes only when typed in). The
// prompt's pane can also show the prompt coloured by its logprobs.
type editorPane struct {
	ta   lazyArea
	c    *Common
	w, h int

	key   string
	lines []string

	// heat is the prompt's tokens with logprobs from the run on screen,
	// shown in place of the text while the text is what they are of and the
	// pane does not have focus.
	heat      promptHeat
	heatKey   string
	heatLines []string
}

// promptHeat is a prompt's tokens, the prompt text they are of and the
// system message sent with it (a chat prompt's tokens are looked for in
// both); note says why a run's prompt logprobs colour nothing.
type promptHeat struct {
	tokens     []backend.Token
	at, system string
	note       string
}

// heatNote is why the prompt is not coloured although its logprobs were
// asked for, while the prompt is the one they were asked for; "" otherwise.
func (e *editorPane) heatNote() string {
	if e.Value() != e.heat.at {
		return ""
	}
	return e.heat.note
}

func newEditorPane(c *Common, placeholder, value string) *editorPane {
	e := &editorPane{c: c, ta: newLazyArea(func(t *textarea.Model) {
		t.Placeholder = placeholder
		t.ShowLineNumbers = false
	})}
	e.SetValue(value)
	return e
}

func (e *editorPane) Value() string               { return e.ta.Value() }
func (e *editorPane) SetValue(s string)           { e.ta.SetValue(s) }
func (e *editorPane) SetStyles(s textarea.Styles) { e.ta.SetStyles(s) }
func (e *editorPane) Focus()                      { e.ta.Focus() }
func (e *editorPane) Blur()                       { e.ta.Blur() }

// SetSize gives the editor its inner size.
func (e *editorPane) SetSize(w, h int) {
	e.w, e.h = max(1, w), max(1, h)
	e.ta.SetWidth(e.w)
	e.ta.SetHeight(e.h)
}

func (e *editorPane) update(msg tea.Msg) tea.Cmd {
	t := e.ta.get()
	var cmd tea.Cmd
	*t, cmd = t.Update(msg)
	return cmd
}

// view is the pane's content, w by h cells as SetSize gave, and whether it
// shows the prompt's heatmap rather than its text.
func (e *editorPane) view(focused bool) ([]string, bool) {
	if heat := e.heatView(focused); heat != nil {
		return heat, true
	}
	t := e.ta.get()
	key := fmt.Sprint(t.Value(), "|", t.Line(), t.Column(), t.ScrollYOffset(), t.Focused(), e.w, e.h, e.c.ThemeKey)
	if key != e.key {
		e.key, e.lines = key, textLines(t.View(), e.w, e.h)
	}
	return e.lines, false
}

// heatView is the prompt coloured by its logprobs when a run fetched them,
// the prompt is unchanged since and it is not being edited; nil otherwise.
func (e *editorPane) heatView(focused bool) []string {
	p := e.c.Painter.Raw() // prompt tokens are never drawn: no processed values
	if e.heat.tokens == nil || focused || e.Value() != e.heat.at || p == nil {
		return nil
	}
	w, h := e.w, e.h
	key := fmt.Sprint(p.Key(), w, h, len(e.heat.tokens))
	if key != e.heatKey {
		lines := heatmap.Lines(p, promptDisplay(e.heat.tokens, e.heat.at, e.heat.system), w)
		if len(lines) > h && h > 0 {
			more := fmt.Sprintf("… %d more lines", len(lines)-h+1)
			lines = append(lines[:h-1], e.c.Styles.App.Hint.Render(padTo(more, w)))
		}
		e.heatKey, e.heatLines = key, textLines(strings.Join(lines, "\n"), w, h)
	}
	return e.heatLines
}

func (e *editorPane) helpID() string { return "editor" }

func (e *editorPane) ShortHelp() []key.Binding {
	g := &e.c.Keys.Global
	return []key.Binding{g.Run, g.Next, g.Sweep, g.Targets, g.Help, g.Batch, g.Cancel, g.Mode, g.Save, g.Quit}
}

// FullHelp adds the sweep, the targets and the batch to the global keys: every other
// key types.
func (e *editorPane) FullHelp() [][]key.Binding {
	g := &e.c.Keys.Global
	return [][]key.Binding{{g.Sweep, g.Targets, g.Batch}}
}
