package ui

import (
	"strings"
	"testing"
)

// The last run's seed is a number the user may type back in: on the compact screen's
// parameter panel it is shown whole, never cut.
func TestLastSeedShownWholeAt80x24(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 80, 24)
	seed := int64(2147483647)
	m.seedRun = &seed
	m.setFocus(focusParams)
	screen := plainScreen(m)
	if !strings.Contains(screen, "[auto] last 2147483647") && !strings.Contains(screen, "[auto] 2147483647 ") {
		t.Fatalf("the last seed is not shown whole:\n%s", screen)
	}
}
