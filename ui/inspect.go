package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/inspector"
)

// The token inspector: a cursor walks the tokens of the focused sample, the
// same position is marked in every sample, and a pane beside the samples
// shows the token under it (ui/inspector draws the pane).

// inspectorWidth is the pane's outer width for a sample area of width w.
func inspectorWidth(w int) int {
	return max(34, min(56, w/3))
}

// toggleInspector opens or closes the inspector, starting at the first token
// of the focused sample.
func (m *Model) toggleInspector() {
	m.inspecting = !m.inspecting
	if m.inspecting {
		cur := 0
		if len(m.cols) > 0 && m.cols[m.colFocus].Cursor >= 0 {
			cur = m.cols[m.colFocus].Cursor
		}
		m.setCursor(cur)
	} else {
		for _, c := range m.cols {
			c.Cursor = -1
		}
		m.divergence = -1
	}
	m.relayout()
}

// setCursor puts the token cursor at index i (clamped to the focused
// sample) in every sample, scrolls it into view and tells the inspector.
func (m *Model) setCursor(i int) {
	if len(m.cols) == 0 {
		return
	}
	fc := m.cols[m.colFocus]
	n := len(fc.Tokens())
	if n == 0 {
		for _, c := range m.cols {
			c.Cursor = -1
		}
		m.insp.Clear()
		m.insp.SetAcross(nil, -1)
		m.divergence = -1
		return
	}
	i = max(0, min(n-1, i))
	all := make([][]backend.Token, len(m.cols))
	across := make([]*backend.Token, len(m.cols))
	for ci, c := range m.cols {
		all[ci] = c.Tokens()
		if i < len(all[ci]) {
			c.Cursor = i
			across[ci] = &all[ci][i]
		} else {
			c.Cursor = -1
		}
		if c.wrap != nil && c.Cursor >= 0 {
			c.ShowLine(c.LineOf(i))
		}
	}
	m.insp.SetToken(&fc.Tokens()[i], m.colFocus, i)
	m.insp.SetPlace(m.inspectPlace(fc, i))
	m.divergence = firstDivergence(m.cols, inspector.FirstDivergence(all))
	m.insp.SetAcross(across, m.divergence)
	m.insp.SetAcrossLabels(acrossLabels(m.cols, i))
}

// refreshInspector follows new tokens (streaming) and parameter changes.
func (m *Model) refreshInspector() {
	if !m.inspecting || len(m.cols) == 0 {
		return
	}
	m.setCursor(m.cols[m.colFocus].Cursor)
}

// handleInspectKey moves the token cursor; false when the key is not one of
// the inspector's.
func (m *Model) handleInspectKey(msg tea.KeyPressMsg) bool {
	k := &m.c.Keys.Inspect
	if len(m.cols) == 0 {
		return false
	}
	fc := m.cols[m.colFocus]
	toks := fc.Tokens()
	cur := max(0, fc.Cursor)
	switch {
	case key.Matches(msg, k.WordLeft):
		m.setCursor(inspector.PrevWord(toks, cur))
	case key.Matches(msg, k.WordRight):
		m.setCursor(inspector.NextWord(toks, cur))
	case key.Matches(msg, k.Left):
		m.setCursor(cur - 1)
	case key.Matches(msg, k.Right):
		m.setCursor(cur + 1)
	case key.Matches(msg, k.First):
		m.setCursor(0)
	case key.Matches(msg, k.Last):
		m.setCursor(len(toks) - 1)
	case key.Matches(msg, k.PrevSample):
		m.colFocus = (m.colFocus + len(m.cols) - 1) % len(m.cols)
		m.relayout()
		m.setCursor(cur)
	case key.Matches(msg, k.NextSample):
		m.colFocus = (m.colFocus + 1) % len(m.cols)
		m.relayout()
		m.setCursor(cur)
	default:
		return false
	}
	return true
}

// renderInspector draws the pane into r.
func (m *Model) renderInspector(r Rect) []string {
	m.insp.SetParams(m.panel.P)
	in := inner(r)
	return m.frame(r, "inspector · i closes", true, textLines(m.insp.Render(in.W, in.H), in.W, in.H))
}
