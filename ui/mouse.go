package ui

import (
	tea "charm.land/bubbletea/v2"
)

// handleMouse hit-tests against the rectangles relayout computed and hands
// each pane what lands on it: clicks focus panes, click or drag on a
// slider's bar sets it, the wheel steps a slider or scrolls a column.
func (m *Model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if !m.overlay.empty() {
		return nil
	}
	mo := msg.Mouse()
	r := &m.rects
	switch msg.(type) {
	case tea.MouseReleaseMsg:
		m.panel.release()
	case tea.MouseMotionMsg:
		if mo.Button == tea.MouseLeft && m.panel.drag(mo.X-r.panel.X, r.panel.W) {
			return nil
		}
		m.samples.hover(mo.X, mo.Y)
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
		if row, ok := m.panel.rowAt(mo.Y - r.panel.Y); r.panel.Contains(mo.X, mo.Y) && ok {
			m.setFocus(focusParams)
			m.panel.Select(row)
			m.panel.Step(dir, mo.Mod&tea.ModShift != 0)
			return nil
		}
		m.samples.wheel(mo.X, mo.Y, dir)
	case tea.MouseClickMsg:
		if mo.Button != tea.MouseLeft {
			return nil
		}
		switch {
		case r.summary.Contains(mo.X, mo.Y):
			m.setFocus(focusParams) // opens the panel on a compact screen
		case r.panel.Contains(mo.X, mo.Y):
			m.setFocus(focusParams)
			m.panel.click(mo.X-r.panel.X, mo.Y-r.panel.Y, r.panel.W)
		case r.promptOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusPrompt)
		case r.systemOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusSystem)
		case r.samplesOuter.Contains(mo.X, mo.Y):
			m.setFocus(focusSamples)
			if m.samples.clickLabel(mo.X, mo.Y) {
				return nil // a thinking's label line folds it or shows it
			}
			// A click on a token opens the inspector on it.
			if t := m.samples.click(mo.X, mo.Y); t >= 0 {
				if m.samples.startInspecting() {
					m.relayout()
				}
				m.samples.setCursor(t)
			}
		}
	}
	return nil
}
