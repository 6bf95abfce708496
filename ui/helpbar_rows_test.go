package ui

import (
	"strings"
	"testing"
)

// The full help shows every global key, whichever pane has focus: its height holds the
// longest group.
func TestFullHelpShowsEveryGlobalKey(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 200, 50)
	for _, f := range []focusArea{focusPrompt, focusParams, focusSamples} {
		m.setFocus(f)
		if !m.help.full {
			m.Update(keyMsg("f1"))
		}
		screen := plainScreen(m)
		for _, group := range globalHelp(&m.c.Keys) {
			for _, b := range group {
				if b.Enabled() && !strings.Contains(screen, b.Help().Desc) {
					t.Errorf("focus %v: %q (%s) is not in the full help:\n%s", f, b.Help().Desc, b.Help().Key, screen)
				}
			}
		}
	}
}
