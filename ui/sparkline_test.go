package ui

import (
	"math"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// A sparkline narrower than its sample draws each cell as the most surprising
// token of its stretch: one unlikely token among a hundred likely ones still
// shows at full height, where an average would hide it.
func TestSparklineKeepsTheSpike(t *testing.T) {
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.c.HeatMode = heatmap.Off // surprisal, then
	toks := make([]backend.Token, 100)
	for i := range toks {
		toks[i] = tok(" a", math.Log(0.99))
	}
	toks[57] = tok(" z", math.Log(0.001))
	c := newColumn(0, nil, time.Unix(0, 0))
	c.AppendTokens(toks, time.Unix(1, 0))
	m.samples.setColumns([]*column{c})
	line := []rune(ansi.Strip(m.samples.sparkline(c, 10)))
	if len(line) != 10 {
		t.Fatalf("%d cells: %q", len(line), string(line))
	}
	for i, r := range line {
		want := sparkBlocks[0]
		if i == 5 { // token 57 of 100 in 10 cells
			want = sparkBlocks[len(sparkBlocks)-1]
		}
		if string(r) != want {
			t.Errorf("cell %d is %q, want %q (line %q)", i, string(r), want, string(line))
		}
	}
	// Wide enough, one cell per token, padded.
	if got := ansi.StringWidth(m.samples.sparkline(c, 130)); got != 130 {
		t.Errorf("width %d, want 130", got)
	}
}

// Rank 1 is the least likely sample by the chosen measure; a column with no
// logprobs is left unranked.
func TestRankOrdersLeastLikelyFirst(t *testing.T) {
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	var cols []*column
	for i, p := range []float64{0.9, 0.2, 0.6} {
		c := newColumn(i, nil, time.Unix(0, 0))
		c.AppendTokens([]backend.Token{tok(" x", math.Log(p)), tok(" y", math.Log(p))}, time.Unix(1, 0))
		cols = append(cols, c)
	}
	cols = append(cols, newColumn(3, nil, time.Unix(0, 0)))
	m.samples.setColumns(cols)
	m.samples.nextRank() // by mean logprob
	for i, want := range []int{3, 1, 2, 0} {
		if place, of := m.samples.rankOf(i); place != want || (want > 0 && of != 3) {
			t.Errorf("column %d: rank %d of %d, want %d of 3", i, place, of, want)
		}
	}
	if m.samples.focus != 1 || !m.samples.stats {
		t.Errorf("focus %d stats %v: rank 1 is focused and the stats shown", m.samples.focus, m.samples.stats)
	}
}
