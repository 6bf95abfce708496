package ui

import (
	"fmt"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
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
	page int

	key  helpKey
	text string
}

type helpKey struct {
	id    string
	full  bool
	page  int
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
	k := helpKey{src.helpID(), h.full, h.page, w, h.c.ThemeKey}
	if k == h.key {
		return h.text
	}
	h.m.SetWidth(w)
	if h.full {
		pages := h.pages(src, w)
		p := min(h.page, len(pages)-1)
		groups := pages[p]
		if len(pages) > 1 {
			groups = withPageLine(groups, h.pageBinding(p, len(pages)))
		}
		h.text = h.m.FullHelpView(groups)
	} else {
		h.text = h.m.ShortHelpView(src.ShortHelp())
	}
	h.key = k
	return h.text
}

// toggle is what the help key does: the full help opens on its first page,
// steps through the others, and closes after the last.
func (h *helpBar) toggle(src keyHelp, w int) {
	switch {
	case !h.full:
		h.full, h.page = true, 0
	case h.page+1 < len(h.pages(src, w)):
		h.page++
	default:
		h.full, h.page = false, 0
	}
}

// pages splits the full help into screens of whole groups that fit w: the
// focused component's groups first (they are why the help was asked for),
// then the global ones. A narrow screen gets more pages instead of columns
// cut to "…"; each page of several has room for the line that says so.
func (h *helpBar) pages(src keyHelp, w int) [][][]key.Binding {
	groups := append(src.FullHelp(), globalHelp(&h.c.Keys)...)
	if h.width(groups) <= w {
		return [][][]key.Binding{groups}
	}
	widest := h.pageBinding(8, 9)
	var pages [][][]key.Binding
	var cur [][]key.Binding
	for _, g := range groups {
		next := append(cur[:len(cur):len(cur)], g)
		if len(cur) > 0 && h.width(withPageLine(next, widest)) > w {
			pages = append(pages, cur)
			next = [][]key.Binding{g}
		}
		cur = next
	}
	return append(pages, cur)
}

// withPageLine adds the page line to the shortest group when it has a row to
// spare (the help stays fullHelpRows high), else as a column of its own.
func withPageLine(groups [][]key.Binding, b key.Binding) [][]key.Binding {
	out := append([][]key.Binding(nil), groups...)
	short := -1
	for i, g := range out {
		if len(g) < fullHelpRows && (short < 0 || len(g) < len(out[short])) {
			short = i
		}
	}
	if short < 0 {
		return append(out, []key.Binding{b})
	}
	out[short] = append(out[short][:len(out[short]):len(out[short])], b)
	return out
}

// width is the cells the full help of groups takes, uncut.
func (h *helpBar) width(groups [][]key.Binding) int {
	m := h.m
	m.SetWidth(0)
	return lipgloss.Width(m.FullHelpView(groups))
}

// pageBinding is the column that says which page of the full help shows and
// which key turns it.
func (h *helpBar) pageBinding(p, n int) key.Binding {
	k := h.c.Keys.Global.Help.Help().Key
	if p+1 < n {
		return key.NewBinding(key.WithKeys("?"), key.WithHelp(k, fmt.Sprintf("more keys %d/%d", p+1, n)))
	}
	return key.NewBinding(key.WithKeys("?"), key.WithHelp(k, fmt.Sprintf("hide keys %d/%d", p+1, n)))
}

// globalHelp is the full help's first columns: the keys that work from
// every focus. Eight rows at most (fullHelpRows), four columns with the
// focused component's two: fits 110 cells.
func globalHelp(k *KeyMap) [][]key.Binding {
	g := k.Global
	return [][]key.Binding{
		{g.Run, g.Cancel, g.Next, g.Prev, g.Mode, g.Models, g.Quit},
		{g.Export, g.Save, g.Open, g.Presets, g.Heatmap, g.HeatSource, g.PromptHeat, g.Theme},
	}
}

// fullHelpRows is the height of the full help: its longest group.
const fullHelpRows = 8
