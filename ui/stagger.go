package ui

import "sort"

// Bubble Tea's renderer rewrites a changed screen row from its first changed cell to its
// last, whatever lies between: when two columns side by side change on the same row in
// one frame, the text of the columns between them is sent again. Streaming columns fill
// at about the same pace, so their open lines, their footers and their headers often
// share rows. A stream frame therefore shows, of each column's header, body and footer,
// only those whose changed rows no part shown before it in the frame has taken; the
// others keep what they showed and go first in the next frame. A body waits at most
// maxStaggerWait frames, and only while the lines it took in since it was last shown,
// and as many again as this frame brought, would still all be on screen after a jump
// (which keeps keepLines above the tail): no line scrolls past unseen, and fast streams,
// whose frames carry many lines, are not held back at all. Headers and footers, which share their line with the other
// columns' only, take turns, at most one frame per column. A frame that follows anything
// but a stream update (a key, a resize, a click) shows everything as it is.
const maxStaggerWait = 2

// frameStagger holds what each column's cell showed in the last frame.
type frameStagger struct {
	on    bool // the frame being drawn follows a stream update
	turn  int  // rotates which column goes first among equals
	shown map[*column]*shownCell
}

type shownCell struct {
	lines  []string
	cell   rect
	count  int    // the column's line count when its body was shown
	seen   int    // and in the last frame
	waited [3]int // frames the header, body and footer have been held back
}

// part is a column's header (0), body (1) or footer (2): lines [from, to) of its cell.
type part struct {
	col, kind, from, to int
	rows                []int // screen rows whose text changed
	waited              int
	must                bool // shown in this frame whatever it shares a row with
}

// apply replaces, in rendered (column index -> the lines of its cell), the parts that wait
// by what they showed before, and records what is shown.
func (s *frameStagger) apply(cols []*column, cells []rect, rendered map[int][]string, screenH int) {
	on := s.on
	s.on = false // one frame per update: a second View shows everything
	prev := s.shown
	s.shown = make(map[*column]*shownCell, len(cols))
	var parts []part
	for i, c := range cols {
		lines, ok := rendered[i]
		if !ok {
			continue
		}
		cell := cells[i]
		old := prev[c]
		if !on || old == nil || old.cell != cell || len(old.lines) != len(lines) || len(lines) < 3 {
			s.shown[c] = &shownCell{lines: append([]string(nil), lines...), cell: cell, count: c.Lines(), seen: c.Lines()}
			continue
		}
		s.shown[c] = old
		// Lines taken in since the body was last shown, and the most the next frame
		// will likely bring: as many as this one did.
		ahead := 2*c.Lines() - old.count - old.seen
		old.seen = c.Lines()
		for kind, span := range [3][2]int{{0, 1}, {1, len(lines) - 1}, {len(lines) - 1, len(lines)}} {
			p := part{col: i, kind: kind, from: span[0], to: span[1], waited: old.waited[kind]}
			limit := maxStaggerWait
			switch {
			case kind != 1:
				limit = max(limit, len(cols))
			case ahead > c.keepLines()+1:
				limit = 0
			}
			p.must = p.waited >= limit
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
	n := len(cols)
	// What must be shown goes first, then what has waited longest, then columns in turn.
	s.turn++
	sort.SliceStable(parts, func(a, b int) bool {
		pa, pb := parts[a], parts[b]
		if pa.must != pb.must {
			return pa.must
		}
		if pa.waited != pb.waited {
			return pa.waited > pb.waited
		}
		return (pa.col+n-s.turn%n)%n < (pb.col+n-s.turn%n)%n
	})
	taken := make([]bool, screenH)
	for _, p := range parts {
		c := cols[p.col]
		sc := s.shown[c]
		free := true
		for _, y := range p.rows {
			if !p.must && y >= 0 && y < screenH && taken[y] {
				free = false
				break
			}
		}
		lines := rendered[p.col]
		if !free {
			sc.waited[p.kind]++
			copy(lines[p.from:p.to], sc.lines[p.from:p.to])
			continue
		}
		sc.waited[p.kind] = 0
		copy(sc.lines[p.from:p.to], lines[p.from:p.to])
		if p.kind == 1 {
			sc.count = c.Lines()
		}
		for _, y := range p.rows {
			if y >= 0 && y < screenH {
				taken[y] = true
			}
		}
	}
}
