package heatmap

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
)

// benchTokens makes n tokens with k alternatives each, logprobs spread like real text
// (mostly likely, a tail of surprises).
func benchTokens(n, k int) []backend.Token {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{" the", " cat", " sat", " on", " mat", ".", "\n", " a", "  ", " model"}
	toks := make([]backend.Token, n)
	for i := range toks {
		p := 1 - r.ExpFloat64()*0.2
		if p < 0.001 {
			p = 0.001
		}
		t := backend.Token{Text: words[i%len(words)], Logprob: lp(p), ID: backend.NoTokenID}
		rest := 1 - p
		for j := range k {
			q := rest / float64(j+2)
			if j == 0 {
				q = p
			}
			t.Top = append(t.Top, backend.Alt{Text: words[(i+j)%len(words)], Logprob: lp(q)})
		}
		toks[i] = t
	}
	return toks
}

func BenchmarkRenderToken(b *testing.B) {
	st := styles("dark", true)
	toks := benchTokens(1024, 5)
	for _, m := range []Mode{Probability, Surprisal, Rank, Entropy} {
		b.Run(m.String(), func(b *testing.B) {
			p := NewPainter(st, m, colorprofile.TrueColor)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t := &toks[i&1023]
				_ = p.Render(t, i, t.Text)
				i++
			}
		})
	}
}

// BenchmarkRecolourAll is a heatmap mode switch that re-colours every token of 8 columns of
// 10,000 tokens (top-5 alternatives each) eagerly: a new Painter, then every token styled
// once. Columns restyle only their visible lines, so this is the worst case.
func BenchmarkRecolourAll(b *testing.B) {
	st := styles("dark", true)
	cols := make([][]backend.Token, 8)
	for i := range cols {
		cols[i] = benchTokens(10_000, 5)
	}
	out := make([]string, 10_000)
	for _, m := range []Mode{Probability, Entropy} {
		b.Run("8x10000/"+m.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := NewPainter(st, m, colorprofile.TrueColor)
				for _, col := range cols {
					for i := range col {
						out[i] = p.Render(&col[i], i, col[i].Text)
					}
				}
			}
		})
	}
}

func BenchmarkNewPainter(b *testing.B) {
	st := styles("dark", true)
	b.ReportAllocs()
	for b.Loop() {
		_ = NewPainter(st, Surprisal, colorprofile.TrueColor)
	}
}

func BenchmarkClassify(b *testing.B) {
	toks := benchTokens(1024, 5)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = Classify(&toks[i&1023])
		i++
	}
}

// BenchmarkRecolourClassified is the mode switch when columns keep each token's Class (one
// Classify per token on arrival): tokens restyled under the new mode into lines of six
// tokens, each line built in its own strings.Builder and kept, as a column's line cache does.
func BenchmarkRecolourClassified(b *testing.B) {
	st := styles("dark", true)
	cols := make([][]Class, 8)
	texts := make([][]string, 8)
	for i := range cols {
		toks := benchTokens(10_000, 5)
		for j := range toks {
			cols[i] = append(cols[i], Classify(&toks[j]))
			texts[i] = append(texts[i], toks[j].Text)
		}
	}
	const perLine = 6
	lines := make([]string, 10_000/perLine+1)
	restyle := func(p *Painter, n int) {
		for c, col := range cols {
			for l := 0; l*perLine < n; l++ {
				var sb strings.Builder
				sb.Grow(perLine * 64)
				for i := l * perLine; i < min(n, (l+1)*perLine); i++ {
					p.WriteClass(&sb, col[i], i, texts[c][i])
				}
				lines[l] = sb.String()
			}
		}
	}
	// Every token of 8 columns of 10,000: the eager worst case.
	b.Run("all-8x10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			restyle(NewPainter(st, Entropy, colorprofile.TrueColor), 10_000)
		}
	})
	// What a mode switch costs on screen: columns restyle only visible lines; a 200x60
	// screen of 8 columns shows about 8 x 58 lines of ~5 tokens (8 x 300 tokens).
	b.Run("visible-8x300", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			restyle(NewPainter(st, Entropy, colorprofile.TrueColor), 300)
		}
	})
}

// The inspector works out the truncation view each time the cursor moves or a slider
// changes: top-20 at temperature 0.7 with top_k and top_p.
func BenchmarkTruncate(b *testing.B) {
	as := issueAlts()
	sampled := &backend.Token{Text: "e", Logprob: as[4].Logprob}
	s := Sampling{Temperature: .7, TopK: 40, TopP: .9}
	b.ReportAllocs()
	for b.Loop() {
		Truncate(as, sampled, s)
	}
}
