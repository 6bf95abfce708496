package ui

import (
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// textPos is a place in a column's token stream: byte off of token tok's
// display text.
type textPos struct{ tok, off int }

// wrappedLine is one screen line of a column: the text from start up to end
// (exclusive) and its width in cells. Newlines and the space a word wrap
// swallowed lie between one line's end and the next line's start.
type wrappedLine struct {
	start, end textPos
	width      int
	newline    bool // the line ends at a newline of token end.tok
}

// wrapper lays tokens out into lines of at most width cells, incrementally:
// Append handles only the new token, so streaming costs the size of the token,
// not of the transcript. Wrapping is by grapheme cluster with the same width
// function lipgloss uses, so wide runes never straddle a column edge and
// combining marks stay on the cell of their base.
type wrapper struct {
	width int
	disp  []string // sanitized display text per token
	lines []wrappedLine
	// wrap state of the last (open) line
	curW     int
	brk      textPos // just after the last space on the open line
	brkW     int     // width of the open line up to brk
	hasBreak bool
	// mark is the state after the pieces that can no longer change (see setMark).
	mark wrapMark
}

func newWrapper(width int) *wrapper {
	w := &wrapper{width: max(1, width)}
	w.lines = []wrappedLine{{}}
	w.setMark()
	return w
}

// Len is the number of lines, counting the open last one.
func (w *wrapper) Len() int { return len(w.lines) }

// Append lays out one more token, given as raw (unsanitized) text.
func (w *wrapper) Append(raw string) { w.appendDisplay(sanitize.TextAt(raw, w.curW)) }

// appendDisplay lays out one more token already made safe for display (by
// sanitize, or constant text), so it is not sanitized a second time.
func (w *wrapper) appendDisplay(s string) {
	ti := len(w.disp)
	w.disp = append(w.disp, s)
	last := &w.lines[len(w.lines)-1]
	for off := 0; off < len(s); {
		g, gw := ansi.FirstGraphemeCluster(s[off:], ansi.GraphemeWidth)
		if g == "" {
			break
		}
		here := textPos{ti, off}
		next := textPos{ti, off + len(g)}
		switch {
		case g == "\n" || g == "\r\n":
			last.end, last.width, last.newline = here, w.curW, true
			w.lines = append(w.lines, wrappedLine{start: next})
			last = &w.lines[len(w.lines)-1]
			w.curW, w.hasBreak = 0, false
		case w.curW+gw > w.width && w.curW > 0:
			if g == " " {
				// The overflowing space becomes the line break itself.
				last.end, last.width = here, w.curW
				w.lines = append(w.lines, wrappedLine{start: next})
				last = &w.lines[len(w.lines)-1]
				w.curW, w.hasBreak = 0, false
				break
			}
			if w.hasBreak {
				// Word wrap: move the partial word down to a new line.
				last.end, last.width = w.brk, w.brkW
				w.lines = append(w.lines, wrappedLine{start: w.brk})
				last = &w.lines[len(w.lines)-1]
				w.curW -= w.brkW
				w.hasBreak = false
				if w.curW+gw <= w.width {
					w.curW += gw
					if g == " " {
						w.brk, w.brkW, w.hasBreak = next, w.curW, true
					}
					break
				}
			}
			// A word longer than the line: break it at the grapheme.
			last.end, last.width = here, w.curW
			w.lines = append(w.lines, wrappedLine{start: here})
			last = &w.lines[len(w.lines)-1]
			w.curW, w.hasBreak = gw, false
		default:
			w.curW += gw
			if g == " " {
				w.brk, w.brkW, w.hasBreak = next, w.curW, true
			}
		}
		off += len(g)
	}
	last.width = w.curW
	last.end = textPos{ti + 1, 0}
}

// segments calls fn for each token fragment of line i, in order. Fragments
// never contain a newline.
func (w *wrapper) segments(i int, fn func(tok int, frag string)) {
	w.segmentsAt(i, func(tok, _ int, frag string) { fn(tok, frag) })
}

// segmentsAt is segments with each fragment's byte offset in its token's
// display text.
func (w *wrapper) segmentsAt(i int, fn func(tok, from int, frag string)) {
	ln := w.lines[i]
	for t := ln.start.tok; t < len(w.disp) && t <= ln.end.tok; t++ {
		s := w.disp[t]
		from, to := 0, len(s)
		if t == ln.start.tok {
			from = ln.start.off
		}
		if t == ln.end.tok {
			to = min(to, ln.end.off)
		}
		if from < to {
			fn(t, from, s[from:to])
		}
	}
}

// Text returns line i as plain text (tests, search).
func (w *wrapper) Text(i int) string {
	var out []byte
	w.segments(i, func(_ int, frag string) { out = append(out, frag...) })
	return string(out)
}
