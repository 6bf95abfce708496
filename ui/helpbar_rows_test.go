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

// At 80 columns the full help pages through whole groups, the focused pane's first, instead
// of cutting columns to "…": every key of the pane and every global key shows on some page.
func TestFullHelpPagesAtEighty(t *testing.T) {
	t.Parallel()
	for _, f := range []focusArea{focusPrompt, focusParams, focusSamples} {
		m := newTestModel(t, &fakeSampler{}, 80, 24)
		m.setFocus(f)
		src := m.focused()
		m.Update(keyMsg("f1"))
		var pages []string
		for m.help.full && len(pages) < 10 {
			lines := strings.Split(plainScreen(m), "\n")
			help := strings.Join(lines[len(lines)-fullHelpRows:], "\n")
			if strings.Contains(help, "…") {
				t.Errorf("focus %v: page %d of the full help cuts a column:\n%s", f, len(pages)+1, help)
			}
			pages = append(pages, help)
			m.Update(keyMsg("f1"))
		}
		if len(pages) == 0 || len(pages) == 10 {
			t.Fatalf("focus %v: the help key gave %d pages of full help", f, len(pages))
		}
		for _, group := range src.FullHelp() {
			for _, b := range group {
				if b.Enabled() && !strings.Contains(pages[0], b.Help().Desc) {
					t.Errorf("focus %v: the pane's key %q (%s) is not on the first page:\n%s", f, b.Help().Desc, b.Help().Key, pages[0])
				}
			}
		}
		all := strings.Join(pages, "\n")
		for _, group := range globalHelp(&m.c.Keys) {
			for _, b := range group {
				if b.Enabled() && !strings.Contains(all, b.Help().Desc) {
					t.Errorf("focus %v: global key %q (%s) is on no page", f, b.Help().Desc, b.Help().Key)
				}
			}
		}
	}
}
