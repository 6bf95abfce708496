package heatmap_test

import (
	"fmt"
	"math"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// A sample column styles each fragment of each token through one Painter, built once per
// (theme, mode, colour profile); Painter.Key goes into the column's line-cache key.
func ExamplePainter_Render() {
	st := themes.NewStyles(themes.Dark(), true)
	p := heatmap.NewPainter(&st, heatmap.Surprisal, colorprofile.TrueColor)

	toks := []backend.Token{
		{Text: "Hello", Logprob: backend.Logprob(math.Log(0.9))},
		{Text: " world", Logprob: backend.Logprob(math.Log(0.02))},
		{Text: "  ", Logprob: backend.Unknown()},
	}
	for i := range toks {
		styled := p.Render(&toks[i], i, toks[i].Text)
		b, ok := heatmap.Surprisal.Bucket(&toks[i])
		fmt.Printf("%q bucket %d known %v\n", ansi.Strip(styled), b, ok)
	}
	// Output:
	// "Hello" bucket 0 known true
	// " world" bucket 6 known true
	// "··" bucket 0 known false
}
