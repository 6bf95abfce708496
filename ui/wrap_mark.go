package ui

// A column's last pieces can still change: a character split over tokens is drawn once
// its last token and the text have arrived, and the grapheme at the end can grow (a
// combining mark, an emoji modifier, a joiner). The wrapper keeps a mark after the pieces
// that are final and goes back to it to lay the others out again, so a change costs the
// size of what changed, not of the transcript.

// wrapMark is the wrapper's state at its mark.
type wrapMark struct {
	disp, lines int
	last        wrappedLine
	curW        int
	brk         textPos
	brkW        int
	hasBreak    bool
}

// setMark remembers the current state: the pieces so far are final.
func (w *wrapper) setMark() {
	w.mark = wrapMark{disp: len(w.disp), lines: len(w.lines), last: w.lines[len(w.lines)-1],
		curW: w.curW, brk: w.brk, brkW: w.brkW, hasBreak: w.hasBreak}
}

// toMark drops the pieces appended since the mark and returns the first line that
// changed.
func (w *wrapper) toMark() int {
	m := w.mark
	w.disp = w.disp[:m.disp]
	w.lines = w.lines[:m.lines]
	w.lines[m.lines-1] = m.last
	w.curW, w.brk, w.brkW, w.hasBreak = m.curW, m.brk, m.brkW, m.hasBreak
	return m.lines - 1
}
