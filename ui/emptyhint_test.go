package ui

import (
	"strings"
	"testing"
)

// Before the first run the samples pane says how to start one; where it is narrow the
// hint wraps between words rather than losing its end.
func TestEmptySamplesHintWrapsAtWords(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 80, 24)
	m.setFocus(focusParams)
	screen := plainScreen(m)
	if !strings.Contains(screen, "no samples yet:") || !strings.Contains(screen, "press ctrl+r") {
		t.Fatalf("the hint is cut:\n%s", screen)
	}
}
