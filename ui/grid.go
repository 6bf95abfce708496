package ui

// rect is a cell rectangle on the screen, used for layout and mouse hit tests.
type rect struct{ X, Y, W, H int }

// Contains reports whether the cell (x, y) is inside r.
func (r rect) Contains(x, y int) bool {
	return x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H
}

// gridLayout places n sample columns in an area. Columns sit side by side
// while each can keep minW cells; beyond that they wrap into rows. When the
// rows cannot all keep minH lines, only the rows around the focused column
// are shown (FirstRow..FirstRow+VisibleRows).
type gridLayout struct {
	PerRow      int
	Rows        int
	FirstRow    int
	VisibleRows int
	Cells       []rect // one per column; zero rect for columns not shown
}

// Gap between columns and between rows of the grid, in cells.
const gridGap = 1

// layoutGrid computes the grid for n columns in area. zoom >= 0 gives the
// whole area to column zoom.
func layoutGrid(area rect, n, minW, minH, focus, zoom int) gridLayout {
	g := gridLayout{Cells: make([]rect, n)}
	if n <= 0 || area.W <= 0 || area.H <= 0 {
		return g
	}
	if zoom >= 0 && zoom < n {
		g.PerRow, g.Rows, g.FirstRow, g.VisibleRows = 1, 1, 0, 1
		g.Cells[zoom] = area
		return g
	}
	minW = max(minW, 1)
	minH = max(minH, 1)
	perRow := (area.W + gridGap) / (minW + gridGap)
	perRow = max(1, min(n, perRow))
	rows := (n + perRow - 1) / perRow
	// Rebalance so the last row is not much emptier than the others:
	// 7 columns at 6 per row become 4+3 instead of 6+1.
	perRow = (n + rows - 1) / rows
	visible := (area.H + gridGap) / (minH + gridGap)
	visible = max(1, min(rows, visible))
	focus = max(0, min(n-1, focus))
	first := 0
	if fr := focus / perRow; fr >= visible {
		first = fr - visible + 1
	}
	g.PerRow, g.Rows, g.FirstRow, g.VisibleRows = perRow, rows, first, visible

	rowH := splitEven(area.H, visible)
	// Columns of a short last row keep the width of the full rows so the
	// grid stays aligned.
	widths := splitEven(area.W, perRow)
	y := area.Y
	for r := 0; r < visible; r++ {
		row := first + r
		start := row * perRow
		count := min(perRow, n-start)
		x := area.X
		for c := 0; c < count; c++ {
			g.Cells[start+c] = rect{X: x, Y: y, W: widths[c], H: rowH[r]}
			x += widths[c] + gridGap
		}
		y += rowH[r] + gridGap
	}
	return g
}

// splitEven splits total cells into k parts separated by gridGap, giving the
// remainder to the first parts.
func splitEven(total, k int) []int {
	out := make([]int, k)
	if k <= 0 {
		return out
	}
	usable := total - gridGap*(k-1)
	if usable < k {
		usable = k
	}
	base, rem := usable/k, usable%k
	for i := range out {
		out[i] = base
		if i < rem {
			out[i]++
		}
	}
	return out
}

// withoutLegend is the grid's area inside a sample area whose last line
// holds the heatmap legend.
func (r rect) withoutLegend() rect {
	if r.H > minColumnH {
		r.H--
	}
	return r
}
