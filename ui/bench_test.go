package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

var benchWords = strings.Fields("the model considered several continuations before it chose this one and 日本語 or café could appear too while the stream goes on\n")

// benchModel builds a 200x60 playground with 8 columns of n tokens each, as
// a finished run would leave it.
func benchModel(b *testing.B, n int) *Model {
	m := newTestModel(b, &fakeSampler{}, 200, 60)
	m.panel.O.N = 8
	start := time.Unix(0, 0)
	m.samples.cols = make([]*column, 8)
	for c := range m.samples.cols {
		col := newColumn(c, nil, start)
		toks := make([]backend.Token, n)
		for i := range toks {
			w := benchWords[(i*7+c)%len(benchWords)]
			if w != "\n" {
				w = " " + w
			}
			toks[i] = tok(w, -0.3)
		}
		col.AppendTokens(toks, start.Add(time.Second))
		col.Finish(backend.StopLength, backend.StoppedBy{}, nil)
		m.samples.cols[c] = col
	}
	m.focus = focusSamples
	m.relayout()
	return m
}

// BenchmarkView renders the whole 200x60 screen with 8 columns; the cost must
// follow the screen, not the transcript (compare tokens=500 and 10000).
func BenchmarkView(b *testing.B) {
	for _, n := range []int{500, 10000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			m := benchModel(b, n)
			m.View()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkStreamFrame is one streaming frame: a token arrives in each of the
// 8 columns, then the screen renders.
func BenchmarkStreamFrame(b *testing.B) {
	for _, n := range []int{500, 10000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			m := benchModel(b, n)
			for _, c := range m.samples.cols {
				c.Streaming = true
			}
			m.View()
			t := []backend.Token{tok(" more", -0.2)}
			now := time.Unix(5, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, c := range m.samples.cols {
					c.AppendTokens(t, now)
				}
				_ = m.View()
			}
		})
	}
}

// BenchmarkHeatmapSwitch is pressing the heatmap key on a screen of 8 columns
// of 10,000 tokens: a new painter, then the first frame under it. Only the
// visible lines are recoloured; the rest restyle when scrolled to.
func BenchmarkHeatmapSwitch(b *testing.B) {
	m := benchModel(b, 10000)
	m.View()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.c.HeatMode = m.c.HeatMode.Next()
		m.rebuildPainter()
		_ = m.View()
	}
}
