package themes

import (
	"fmt"
	"image/color"

	"github.com/charmbracelet/colorprofile"
)

// Lint reports what makes a valid palette hard to read, for a user theme's author: heatmap
// steps that merge after downsampling to ANSI-256, and an unknown-logprob colour that is also
// a heatmap step. Built-in palettes have no findings (tested).
func (p Palette) Lint() []string {
	var out []string
	cs := p.HeatColors()
	for i := 1; i < len(cs); i++ {
		a, b := colorprofile.ANSI256.Convert(cs[i-1]), colorprofile.ANSI256.Convert(cs[i])
		if sameColor(a, b) {
			out = append(out, fmt.Sprintf("heatmap steps %d and %d look the same at 256 colours", i-1, i))
		}
	}
	if u := p.Unknown.Value(); u != nil {
		for i, c := range cs {
			if sameColor(colorprofile.ANSI256.Convert(u), colorprofile.ANSI256.Convert(c)) {
				out = append(out, fmt.Sprintf("unknown looks like heatmap step %d at 256 colours", i))
			}
		}
	}
	return out
}

func sameColor(a, b color.Color) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2
}
