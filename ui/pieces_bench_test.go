package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// BenchmarkStreamSplit is one streaming frame of text whose characters are split over byte
// tokens (CJK, accents, emoji): a token and the text it releases arrive in each of 8
// columns, then the screen renders. Compare BenchmarkStreamFrame (whole tokens).
func BenchmarkStreamSplit(b *testing.B) {
	for _, n := range []int{500, 10000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			unit := " 世界 好 café 🙂 the park 👍🏽 naïve"
			text := strings.Repeat(unit, (n+b.N)/10+20)
			var cuts []int
			for i := 1; i < len(text); i++ {
				if i%3 == 0 || text[i] == ' ' {
					cuts = append(cuts, i)
				}
			}
			s := newSplitStream(text, cuts, 0)
			m := newTestModel(b, &fakeSampler{}, 200, 60)
			m.panel.O.N = 8
			start := time.Unix(0, 0)
			m.samples.cols = make([]*column, 8)
			for c := range m.samples.cols {
				col := newColumn(c, nil, start)
				var body strings.Builder
				for _, t := range s.texts[:n] {
					body.WriteString(t)
				}
				col.AppendStream(s.toks[:n], body.String(), start)
				m.samples.cols[c] = col
			}
			m.focus = focusSamples
			m.relayout()
			m.View()
			now := time.Unix(5, 0)
			i := n
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, c := range m.samples.cols {
					c.AppendStream([]backend.Token{s.toks[i]}, s.texts[i], now)
				}
				i++
				_ = m.View()
			}
		})
	}
}
