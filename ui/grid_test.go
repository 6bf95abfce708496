package ui

import "testing"

func TestGridSideBySide(t *testing.T) {
	t.Parallel()
	g := layoutGrid(rect{0, 0, 100, 30}, 4, 20, 6, 0, -1)
	if g.PerRow != 4 || g.Rows != 1 {
		t.Fatalf("got %d per row, %d rows", g.PerRow, g.Rows)
	}
	total := 0
	for i, c := range g.Cells {
		total += c.W
		if c.H != 30 || c.Y != 0 {
			t.Fatalf("cell %d: %+v", i, c)
		}
		if i > 0 && c.X != g.Cells[i-1].X+g.Cells[i-1].W+gridGap {
			t.Fatalf("cell %d not adjacent: %+v", i, c)
		}
	}
	if total+3*gridGap != 100 {
		t.Fatalf("widths sum to %d", total)
	}
}

func TestGridWrapsAtMinWidth(t *testing.T) {
	t.Parallel()
	// 8 columns of at least 30 cells in 100 cells: 3 per row would leave
	// 3+3+2; the grid balances the rows.
	g := layoutGrid(rect{0, 0, 100, 40}, 8, 30, 6, 0, -1)
	if g.PerRow != 3 || g.Rows != 3 {
		t.Fatalf("got %d per row, %d rows", g.PerRow, g.Rows)
	}
	for i, c := range g.Cells {
		if c.W < 30 {
			t.Fatalf("cell %d narrower than min: %+v", i, c)
		}
	}
	// 7 columns at 6 per row balance to 4+3 rather than 6+1.
	g = layoutGrid(rect{0, 0, 200, 40}, 7, 30, 6, 0, -1)
	if g.PerRow != 4 || g.Rows != 2 {
		t.Fatalf("7 columns: %d per row, %d rows", g.PerRow, g.Rows)
	}
}

func TestGridScrollsToFocusedRow(t *testing.T) {
	t.Parallel()
	// 16 columns, 1 per row, room for 2 rows of 6: focus 9 must be visible.
	g := layoutGrid(rect{0, 0, 40, 13}, 16, 30, 6, 9, -1)
	if g.VisibleRows != 2 || g.FirstRow != 8 {
		t.Fatalf("visible %d first %d", g.VisibleRows, g.FirstRow)
	}
	if g.Cells[9].W == 0 || g.Cells[0].W != 0 {
		t.Fatalf("focused cell hidden or first shown: %+v %+v", g.Cells[9], g.Cells[0])
	}
}

func TestGridZoom(t *testing.T) {
	t.Parallel()
	area := rect{3, 4, 120, 30}
	g := layoutGrid(area, 8, 30, 6, 0, 5)
	if g.Cells[5] != area {
		t.Fatalf("zoomed cell %+v", g.Cells[5])
	}
	for i, c := range g.Cells {
		if i != 5 && c.W != 0 {
			t.Fatalf("cell %d shown while zoomed", i)
		}
	}
}

func TestGridNarrowerThanMin(t *testing.T) {
	t.Parallel()
	g := layoutGrid(rect{0, 0, 10, 10}, 2, 30, 6, 0, -1)
	if g.PerRow != 1 || g.Cells[0].W != 10 {
		t.Fatalf("got %+v", g)
	}
}
