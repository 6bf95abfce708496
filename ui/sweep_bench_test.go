package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// BenchmarkSweepGrid16 is one streaming frame of a 4x4 grid sweep at 200x60:
// a token (with five alternatives) arrives in each of the 16 columns, then
// the screen renders, with the sparklines and statistics off and on.
func BenchmarkSweepGrid16(b *testing.B) {
	for _, stats := range []bool{false, true} {
		for _, n := range []int{500, 4000} {
			b.Run(fmt.Sprintf("stats=%v/tokens=%d", stats, n), func(b *testing.B) {
				m := newTestModel(b, &fakeSampler{}, 200, 60)
				start := time.Unix(0, 0)
				alt := func(i int) backend.Token {
					t := tok(" "+benchWords[i%len(benchWords)], -0.3-float64(i%7)/3)
					for k := range 5 {
						t.Top = append(t.Top, backend.Alt{Text: fmt.Sprint(k), Logprob: backend.Logprob(-0.2 - float64(k))})
					}
					return t
				}
				cols := make([]*column, 16)
				for c := range cols {
					col := newColumn(c, nil, start)
					col.Label = fmt.Sprintf("temperature=%.1f top_p=0.%d", float64(c/4)*0.5, 5+c%4)
					toks := make([]backend.Token, n)
					for i := range toks {
						toks[i] = alt(i*7 + c)
					}
					text := ""
					for _, t := range toks {
						text += t.Text
					}
					// Text with its tokens, as a server streams them.
					col.AppendStream(toks, text, start.Add(time.Second))
					cols[c] = col
				}
				m.samples.setColumns(cols)
				m.samples.perRow = 4
				m.samples.stats = stats
				m.samples.rank = rankPerplexity
				m.focus = focusSamples
				m.relayout()
				m.View()
				t := []backend.Token{alt(3)}
				now := time.Unix(5, 0)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					for _, c := range m.samples.cols {
						c.AppendStream(t, t[0].Text, now)
					}
					_ = m.View()
				}
			})
		}
	}
}
