package ui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/themes"
)

// frames draws the rounded border round a pane or a dialog. Every pane is
// framed every frame and titles change rarely, so the border glyphs are
// rendered once per theme and each frame's top and bottom once per title,
// focus and width. One per program, rebuilt with the theme.
type frames struct {
	st                    *themes.Styles
	border, borderFocused borderPieces
	cache                 map[frameKey]frameLines
}

// borderPieces are the border glyphs, rendered in a style.
type borderPieces struct {
	tl, tr, bl, br, h, v string
}

func newBorderPieces(st lipgloss.Style) borderPieces {
	b := lipgloss.RoundedBorder()
	return borderPieces{
		tl: st.Render(b.TopLeft), tr: st.Render(b.TopRight),
		bl: st.Render(b.BottomLeft), br: st.Render(b.BottomRight),
		h: st.Render(b.Top), v: st.Render(b.Left),
	}
}

func newFrames(st *themes.Styles) *frames {
	return &frames{
		st:            st,
		border:        newBorderPieces(st.App.Border),
		borderFocused: newBorderPieces(st.App.BorderFocused),
	}
}

// frame draws a rounded border around content lines, with a title; the
// border of the focused pane is drawn in the focus style.
func (f *frames) frame(r rect, title string, focused bool, content []string) []string {
	if r.H < 2 || r.W < 2 {
		return nil
	}
	bp := f.border
	if focused {
		bp = f.borderFocused
	}
	e := f.edges(title, focused, r.W)
	out := make([]string, 0, r.H)
	out = append(out, e.top)
	for i := 0; i < r.H-2; i++ {
		l := e.blank
		if i < len(content) {
			l = content[i]
		}
		out = append(out, bp.v+l+bp.v)
	}
	out = append(out, e.bottom)
	return out
}

// frameKey is what a frame's top and bottom lines are drawn from.
type frameKey struct {
	title   string
	focused bool
	w       int
}

// frameLines are a frame's drawn top and bottom borders and an empty inner line.
type frameLines struct{ top, bottom, blank string }

func (f *frames) edges(title string, focused bool, w int) frameLines {
	k := frameKey{title, focused, w}
	if e, ok := f.cache[k]; ok {
		return e
	}
	bp := f.border
	ts := f.st.App.Title
	if focused {
		bp = f.borderFocused
		ts = f.st.App.TitleFocused
	}
	iw := w - 2
	t := ansi.Truncate(" "+title+" ", max(0, iw-2), "…")
	tw := ansi.StringWidth(t)
	e := frameLines{
		top:    bp.tl + bp.h + ts.Render(t) + strings.Repeat(bp.h, max(0, iw-1-tw)) + bp.tr,
		bottom: bp.bl + strings.Repeat(bp.h, iw) + bp.br,
		blank:  strings.Repeat(" ", iw),
	}
	// A handful of panes are on screen at once; old titles and sizes go.
	if f.cache == nil || len(f.cache) >= 32 {
		f.cache = make(map[frameKey]frameLines)
	}
	f.cache[k] = e
	return e
}
