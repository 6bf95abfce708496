package heatmap

import (
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// cellStyle is the style a terminal renderer (Bubble Tea's, ultraviolet) reads from a
// painted fragment and sends to a terminal of profile prof.
func cellStyle(t *testing.T, painted string, prof colorprofile.Profile) uv.Style {
	t.Helper()
	buf := uv.NewScreenBuffer(ansi.StringWidth(painted), 1)
	uv.NewStyledString(painted).Draw(buf, buf.Bounds())
	c := buf.CellAt(0, 0)
	if c == nil {
		t.Fatalf("nothing drawn from %q", painted)
	}
	return uv.ConvertStyle(c.Style, prof)
}

// What a boundary between two tokens costs the terminal: the renderer sends the
// difference of their styles. Even tokens carry the boundary's underline colour too (it
// shows only under an underline), so a boundary switches the underline and the heat
// colour and nothing else. In true colour the heat steps are the 256-colour palette's, so
// that change is "38;5;n" as at 256 colours, and the two profiles cost about the same.
func TestPainterBoundaryCostsOneChange(t *testing.T) {
	st := styles("dark", true)
	for _, prof := range []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256} {
		p := NewPainter(st, Probability, prof)
		var worst int
		for a := range numBuckets {
			for b := range numBuckets {
				even := cellStyle(t, p.Paint(a, true, 0, "x"), prof)
				odd := cellStyle(t, p.Paint(b, true, 1, "x"), prof)
				if even.UnderlineColor != odd.UnderlineColor {
					t.Errorf("%v: even and odd tokens have underline colours %v and %v", prof, even.UnderlineColor, odd.UnderlineColor)
				}
				for _, d := range []string{uv.StyleDiff(&even, &odd), uv.StyleDiff(&odd, &even)} {
					if strings.Contains(d, "38;2") {
						t.Errorf("%v: a heat step in 24-bit colour: %q", prof, d)
					}
					worst = max(worst, len(d))
				}
			}
		}
		if worst > len("\x1b[38;5;255;4:4m") {
			t.Errorf("%v: a boundary costs up to %d bytes", prof, worst)
		}
	}
}
