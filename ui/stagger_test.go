package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// rowsOf is the screen rows (of the plain screen) that differ between a and b.
func rowsOf(a, b string) []int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var rows []int
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			rows = append(rows, i)
		}
	}
	return rows
}

// In a stream frame, two columns that change on the same screen row do not both change:
// one waits for the next frame (Bubble Tea's renderer would otherwise send the text
// between them again). A frame that follows anything else (here a resize) shows
// everything, and a body that took in more lines than a jump would keep on screen does
// not wait.
func TestStaggerKeepsColumnsOffEachOthersRows(t *testing.T) {
	s := newStreamSim(t, 4, 160, 45, 0)
	s.tokens(2, 100*time.Millisecond) // every open line on the same row
	prev := ansi.Strip(s.m.View().Content)
	s.tokens(1, 100*time.Millisecond)
	now := ansi.Strip(s.r.cellText())
	held := 0
	for _, c := range s.m.samples.cols {
		if s.m.samples.stagger.shown[c].waited[1] > 0 {
			held++
		}
	}
	if held == 0 {
		t.Fatalf("4 columns changed on one row in one stream frame; none waited. Rows changed: %v", rowsOf(prev, now))
	}
	// The next frames show what waited.
	for range maxStaggerWait {
		s.update(s.emptyUpdate(), 100*time.Millisecond)
	}
	for i, c := range s.m.samples.cols {
		if w := s.m.samples.stagger.shown[c].waited[1]; w > 0 {
			t.Errorf("column %d still waits after %d frames", i, maxStaggerWait)
		}
	}
	// Anything but a stream update shows everything at once.
	s.tokens(1, 100*time.Millisecond)
	s.m.Update(tea.WindowSizeMsg{Width: 160, Height: 45})
	full := ansi.Strip(s.m.View().Content)
	for i, c := range s.m.samples.cols {
		if !strings.Contains(full, strings.TrimSpace(c.wrap.Text(c.Lines()-1))) {
			t.Errorf("column %d's open line is not on the screen after a resize", i)
		}
	}
	// A burst of many lines into one column is shown in the frame it arrives.
	c := s.m.samples.cols[0]
	before := c.Lines()
	s.update(s.burst(0, 60), 100*time.Millisecond)
	if c.Lines()-before <= c.keepLines() {
		t.Fatalf("the burst took in only %d lines", c.Lines()-before)
	}
	if w := s.m.samples.stagger.shown[c].waited[1]; w != 0 {
		t.Error("a column that took in more lines than a jump keeps waited")
	}
}
