package ui

import (
	tea "charm.land/bubbletea/v2"
)

// typeInto types s into whatever has focus, one key per character.
func typeInto(m *Model, s string) {
	for _, r := range s {
		if r == '\n' {
			m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
			continue
		}
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}
