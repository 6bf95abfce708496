package heatmap

import (
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
)

// pinned is what a terminal of profile prof receives (Bubble Tea downsamples the same way).
func pinned(prof colorprofile.Profile, s string) string {
	var b strings.Builder
	w := &colorprofile.Writer{Forward: &b, Profile: prof}
	_, _ = w.WriteString(s)
	return b.String()
}

// strip is a short sample painted token by token: every bucket, an unknown logprob, a
// whitespace-only token and a newline mark.
func strip(p *Painter) string {
	var toks []backend.Token
	for i, q := range []float64{.99, .8, .7, .55, .45, .3, .2, .05, .001} {
		t := tok([]string{"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog"}[i], q, q, (1-q)/2, (1-q)/4)
		toks = append(toks, t)
	}
	toks = append(toks, backend.Token{Text: " ?", Logprob: backend.Unknown()}, tok("  ", .4, .4, .3), tok("\n", .6, .6, .2))
	var b strings.Builder
	for i := range toks {
		if toks[i].Text == "\n" {
			continue // a column never hands a newline over as a fragment; it draws the mark
		}
		b.WriteString(p.Render(&toks[i], i, toks[i].Text))
	}
	last := len(toks) - 1
	b.WriteString(p.NewlineMark(&toks[last], last))
	return b.String()
}

var profiles = []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256, colorprofile.ANSI, colorprofile.ASCII}

// Golden legend and token strip for every built-in theme at every colour profile.
func TestGoldenThemesAtProfiles(t *testing.T) {
	for _, name := range themes.BuiltinNames() {
		for _, dark := range []bool{true, false} {
			bg := "on-light"
			if dark {
				bg = "on-dark"
			}
			st := styles(name, dark)
			for _, prof := range profiles {
				t.Run(name+"-"+bg+"/"+prof.String(), func(t *testing.T) {
					p := NewPainter(st, Surprisal, prof)
					out := Legend(st, p, 160, "m: mode") + "\n" + strip(p)
					golden.RequireEqual(t, pinned(prof, out))
				})
			}
		}
	}
}

// Golden legend and strip for every mode (default dark theme, true colour).
func TestGoldenModes(t *testing.T) {
	st := styles("dark", true)
	for _, m := range Modes() {
		t.Run(m.String(), func(t *testing.T) {
			p := NewPainter(st, m, colorprofile.TrueColor)
			out := Legend(st, p, 160, "m: mode") + "\n" + strip(p) + "\n" + Legend(st, p, 50, "m: mode")
			golden.RequireEqual(t, out)
		})
	}
}
