package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// keyHelp is what a component that can have focus tells the help line: its
// keys, short and full, and an id that changes whenever they do (the line is
// drawn again only then).
type keyHelp interface {
	help.KeyMap
	helpID() string
}

// helpBar is the help line at the bottom: the focused component's short
// help, or, toggled, the full help: every global key and the focused
// component's. The root composes it from whatever has focus.
type helpBar struct {
	c    *Common
	m    help.Model
	full bool

	key  helpKey
	text string
}

type helpKey struct {
	id    string
	full  bool
	w     int
	theme string
}

func newHelpBar(c *Common) *helpBar { return &helpBar{c: c, m: help.New()} }

// height is the lines the help takes: one, or the longest full-help group.
func (h *helpBar) height() int {
	if h.full {
		return fullHelpRows
	}
	return 1
}

func (h *helpBar) setStyles(st help.Styles) { h.m.Styles = st }

// view is the help for src in w cells.
func (h *helpBar) view(src keyHelp, w int) string {
	k := helpKey{src.helpID(), h.full, w, h.c.ThemeKey}
	if k == h.key {
		return h.text
	}
	h.m.SetWidth(w)
	if h.full {
		h.text = h.m.FullHelpView(append(globalHelp(&h.c.Keys), src.FullHelp()...))
	} else {
		h.text = h.m.ShortHelpView(src.ShortHelp())
	}
	h.key = k
	return h.text
}

// globalHelp is the full help's first columns: the keys that work from
// every focus. Seven rows at most (fullHelpRows), four columns with the
// focused component's two: fits 110 cells.
func globalHelp(k *KeyMap) [][]key.Binding {
	g := k.Global
	return [][]key.Binding{
		{g.Run, g.Cancel, g.Next, g.Prev, g.Mode, g.Models, g.Quit},
		{g.Export, g.Save, g.Open, g.Presets, g.Heatmap, g.HeatSource, g.PromptHeat, g.Theme},
	}
}

// fullHelpRows is the height of the full help: its longest group.
const fullHelpRows = 7
