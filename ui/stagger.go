package ui

import "sort"

// Bubble Tea's renderer rewrites a changed screen row from its first changed cell to its
// last, whatever lies between: when two columns side by side change on the same row in
// one frame, the text of the columns between them is sent again. Streaming columns fill
// at about the same pace, so their open lines, their footers and their headers often
// share rows. A stream frame therefore shows, of each column's header, body and footer,
// only those whose changed rows no part shown before it in the frame has taken; the
// others keep what they showed and go first in the next frame. A body is shown at the
// latest after maxStaggerWait frames; headers and footers, which share their line with
// the other columns' only, take turns, at most one frame per column. A frame that follows
// anything but a stream update (a key, a resize, a click) shows everything as it is.
const maxStaggerWait = 2

// frameStagger holds what each column's cell showed in the last frame.
type frameStagger struct {
	on    bool // the frame being drawn follows a stream update
	turn  int  // rotates which column goes first among equals
	shown map[*Column]*shownCell
}

type shownCell struct {
	lines  []string
	cell   Rect
	waited [3]int // frames the header, body and footer have been held back
}

// part is a column's header (0), body (1) or footer (2): lines [from, to) of its cell.
type part struct {
	col, kind, from, to int
	rows                []int // screen rows whose text changed
	waited              int
}

// apply replaces, in rendered (column index -> the lines of its cell), the parts that wait
// by what they showed before, and records what is shown.
func (s *frameStagger) apply(cols []*Column, cells []Rect, rendered map[int][]string, screenH int) {
	on := s.on
	s.on = false // one frame per update: a second View shows everything
	prev := s.shown
	s.shown = make(map[*Column]*shownCell, len(cols))
	var parts []part
	for i, c := range cols {
		lines, ok := rendered[i]
		if !ok {
			continue
		}
		cell := cells[i]
		old := prev[c]
		if !on || old == nil || old.cell != cell || len(old.lines) != len(lines) || len(lines) < 3 {
			s.shown[c] = &shownCell{lines: append([]string(nil), lines...), cell: cell}
			continue
		}
		s.shown[c] = old
		for kind, span := range [3][2]int{{0, 1}, {1, len(lines) - 1}, {len(lines) - 1, len(lines)}} {
			p := part{col: i, kind: kind, from: span[0], to: span[1], waited: old.waited[kind]}
			for r := p.from; r < p.to; r++ {
				if lines[r] != old.lines[r] {
					p.rows = append(p.rows, cell.Y+r)
				}
			}
			if len(p.rows) > 0 {
				parts = append(parts, p)
			}
		}
	}
	if len(parts) == 0 {
		return
	}
	s.turn++
	n := len(cols)
	sort.SliceStable(parts, func(a, b int) bool {
		pa, pb := parts[a], parts[b]
		if pa.waited != pb.waited {
			return pa.waited > pb.waited
		}
		return (pa.col+n-s.turn%n)%n < (pb.col+n-s.turn%n)%n
	})
	taken := make([]bool, screenH)
	for _, p := range parts {
		limit := maxStaggerWait
		if p.kind != 1 {
			limit = max(limit, n)
		}
		free := p.waited >= limit
		if !free {
			free = true
			for _, y := range p.rows {
				if y >= 0 && y < screenH && taken[y] {
					free = false
					break
				}
			}
		}
		sc := s.shown[cols[p.col]]
		lines := rendered[p.col]
		if !free {
			sc.waited[p.kind]++
			copy(lines[p.from:p.to], sc.lines[p.from:p.to])
			continue
		}
		sc.waited[p.kind] = 0
		copy(sc.lines[p.from:p.to], lines[p.from:p.to])
		for _, y := range p.rows {
			if y >= 0 && y < screenH {
				taken[y] = true
			}
		}
	}
}
