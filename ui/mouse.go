package ui

import (
	tea "charm.land/bubbletea/v2"
)

// handleMouse hit-tests against the rectangles relayout computed: clicks
// focus panes, click or drag on a slider's bar sets it, the wheel steps a
// slider or scrolls a column.
func (m *Model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if m.modal != modalNone {
		return nil
	}
	mo := msg.Mouse()
	r := &m.rects
	switch msg.(type) {
	case tea.MouseReleaseMsg:
		m.dragging = -1
		return nil
	case tea.MouseMotionMsg:
		if m.dragging >= 0 && mo.Button == tea.MouseLeft {
			if pos, ok := m.panel.PosFromX(r.panel.W, mo.X-r.panel.X); ok {
				m.panel.SetFromPos(m.dragging, pos)
			}
			return nil
		}
		if m.inspecting {
			for i, cell := range m.grid.Cells {
				if !cell.Contains(mo.X, mo.Y) {
					continue
				}
				if t := m.cols[i].TokenAt(mo.X-cell.X, mo.Y-cell.Y-1); t >= 0 && (i != m.colFocus || t != m.cols[i].Cursor) {
					if i != m.colFocus {
						m.colFocus = i
						m.relayout()
					}
					m.setCursor(t)
				}
			}
		}
		return nil
	case tea.MouseWheelMsg:
		dir := 0
		switch mo.Button {
		case tea.MouseWheelUp:
			dir = 1
		case tea.MouseWheelDown:
			dir = -1
		default:
			return nil
		}
		if row := mo.Y - r.panel.Y; r.panel.Contains(mo.X, mo.Y) && row < m.panel.Rows() {
			m.setFocus(focusParams)
			m.panel.Select(row)
			m.panel.Step(dir, mo.Mod&tea.ModShift != 0)
			return nil
		}
		for i, cell := range m.grid.Cells {
			if cell.Contains(mo.X, mo.Y) {
				m.cols[i].Scroll(-3 * dir)
				return nil
			}
		}
		return nil
	case tea.MouseClickMsg:
		if mo.Button != tea.MouseLeft {
			return nil
		}
		switch {
		case r.summary.Contains(mo.X, mo.Y):
			m.setFocus(focusParams) // opens the panel on a compact screen
		case r.panel.Contains(mo.X, mo.Y):
			m.setFocus(focusParams)
			row := mo.Y - r.panel.Y
			if row >= m.panel.Rows() {
				return nil
			}
			if m.panel.Editing() {
				m.panel.CancelEdit()
			}
			m.panel.Select(row)
			if pos, ok := m.panel.PosFromX(r.panel.W, mo.X-r.panel.X); ok {
				m.panel.SetFromPos(row, pos)
				m.dragging = row
			} else if m.panel.Focused().Key == "seed" {
				m.panel.ToggleSeedLock()
			}
		case r.promptOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusPrompt)
		case r.systemOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusSystem)
		case r.samplesOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusSamples)
			for i, cell := range m.grid.Cells {
				if !cell.Contains(mo.X, mo.Y) {
					continue
				}
				m.colFocus = i
				// A click on a token opens the inspector on it.
				if t := m.cols[i].TokenAt(mo.X-cell.X, mo.Y-cell.Y-1); t >= 0 {
					if !m.inspecting {
						m.inspecting = true
						m.relayout()
					}
					m.setCursor(t)
				}
			}
		}
	}
	return nil
}
