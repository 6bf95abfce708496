package ui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// Under each column's body, on the stats key: a sparkline of the heatmap's
// measure across the sample, so where a sample became unlikely stands out
// before it is read, and a line of the sample's statistics, which the rank
// key orders the columns by.

// sparkBlocks are the sparkline's heights, expected (low) to surprising.
var sparkBlocks = [...]string{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}

// rankBy is the statistic the columns are ranked by.
type rankBy int

const (
	rankOff rankBy = iota
	rankLogprob
	rankPerplexity
	rankEntropy
	rankNotTop
	rankLength
	numRanks
)

// rankNames say how each ranking reads; rank 1 is always the least likely
// (or most unusual) sample.
var rankNames = [numRanks]string{"", "lowest mean logprob first", "highest perplexity first", "highest entropy first", "most not-top tokens first", "longest first"}

// columnExtra caches a column's sparkline and statistics.
type columnExtra struct {
	sparkKey string
	spark    string
	// running counts the tokens once; stats is its figures at statsAt tokens.
	running backend.RunningStats
	statsAt int
	stats   backend.SampleStats
	// buckets is each token's step on the spark mode's scale (-1 unknown),
	// computed once per token and mode.
	buckets    []int8
	bucketMode heatmap.Mode
	lineKey    string
	line       string
}

// extraLines is how many lines the pane adds under each column's body.
func (p *samplesPane) extraLines() int {
	if p.stats {
		return 2
	}
	return 0
}

// toggleStats shows or hides the sparklines and statistics.
func (p *samplesPane) toggleStats() {
	p.stats = !p.stats
	p.layout()
}

// nextRank ranks the columns by the next statistic, showing them.
func (p *samplesPane) nextRank() {
	p.rank = (p.rank + 1) % numRanks
	if !p.stats {
		p.toggleStats()
	}
	// Focus goes to rank 1, so it is in view however many rows the grid has.
	if first := p.rankFirst(); first >= 0 {
		p.focusColumn(first)
		p.refreshInspector()
	}
}

// rankFirst is the column ranked first, -1 for none.
func (p *samplesPane) rankFirst() int {
	for i := range p.cols {
		if place, _ := p.rankOf(i); place == 1 {
			return i
		}
	}
	return -1
}

// sparkMode is the measure the sparkline draws: the heatmap's, or surprisal
// while the heatmap is off.
func (p *samplesPane) sparkMode() heatmap.Mode {
	if p.c.HeatMode == heatmap.Off {
		return heatmap.Surprisal
	}
	return p.c.HeatMode
}

// extraView is column i's sparkline and stats lines, w cells each.
func (p *samplesPane) extraView(i, w int) []string {
	if !p.stats {
		return nil
	}
	return []string{p.sparkline(p.cols[i], w), p.statsLine(i, w)}
}

// sparkline draws c's tokens in w cells: one cell per token while they fit,
// else each cell the most surprising token of its stretch, so a spike is
// never averaged away. The cell holding the token cursor is marked.
func (p *samplesPane) sparkline(c *column, w int) string {
	mode := p.sparkMode()
	pk := ""
	if p.c.Painter != nil {
		pk = p.c.Painter.Key()
	}
	key := fmt.Sprint(len(c.tokens), w, mode, pk, c.Cursor, p.c.ThemeKey)
	if key == c.extra.sparkKey {
		return c.extra.spark
	}
	st := &p.c.Styles.Column
	toks := c.tokens
	n := len(toks)
	var b strings.Builder
	if n == 0 {
		b.WriteString(st.Stats.Render(padTo("no logprobs: no sparkline", w)))
		c.extra.sparkKey, c.extra.spark = key, ansi.Truncate(b.String(), w, "")
		return c.extra.spark
	}
	buckets := bucketsOf(c, mode)
	cells := min(n, w)
	cursorCell := -1
	if c.Cursor >= 0 && c.Cursor < n {
		cursorCell = c.Cursor * cells / n
	}
	for cell := 0; cell < cells; cell++ {
		lo, hi := cell*n/cells, (cell+1)*n/cells
		best, bestAt := -1, lo
		for t := lo; t < hi; t++ {
			if bk := int(buckets[t]); bk > best {
				best, bestAt = bk, t
			}
		}
		glyph := " "
		if best >= 0 {
			glyph = sparkBlocks[min(len(sparkBlocks)-1, max(0, best))]
		}
		switch {
		case cell == cursorCell:
			b.WriteString(st.Cursor.Render(glyph))
		case p.c.Painter != nil && p.c.HeatMode != heatmap.Off && best >= 0:
			b.WriteString(p.c.Painter.Render(&toks[bestAt], bestAt, glyph))
		default:
			b.WriteString(st.Stats.Render(glyph))
		}
	}
	if cells < w {
		b.WriteString(strings.Repeat(" ", w-cells))
	}
	c.extra.sparkKey, c.extra.spark = key, b.String()
	return c.extra.spark
}

// statsOf is c's statistics and the K of its entropy estimate, counting
// only the tokens new since the last call.
func statsOf(c *column) (backend.SampleStats, int) {
	r := &c.extra.running
	if n := r.Count(); n != len(c.tokens) || c.extra.statsAt != n {
		if n > len(c.tokens) {
			*r = backend.RunningStats{}
			n = 0
		}
		r.Add(c.tokens[n:])
		c.extra.stats, c.extra.statsAt = r.Stats(), r.Count()
	}
	return c.extra.stats, r.TopK()
}

// bucketsOf is each of c's tokens' step under mode, new tokens added.
func bucketsOf(c *column, mode heatmap.Mode) []int8 {
	e := &c.extra
	if e.bucketMode != mode || len(e.buckets) > len(c.tokens) {
		e.buckets, e.bucketMode = e.buckets[:0], mode
	}
	for i := len(e.buckets); i < len(c.tokens); i++ {
		b := int8(-1)
		if bk, ok := mode.Bucket(&c.tokens[i]); ok {
			b = int8(bk)
		}
		e.buckets = append(e.buckets, b)
	}
	return e.buckets
}

// rankValue is the statistic r of s, oriented so that larger is less likely;
// false when s cannot tell it.
func rankValue(r rankBy, s backend.SampleStats) (float64, bool) {
	switch r {
	case rankLogprob:
		if s.MeanLogprob != nil {
			return -*s.MeanLogprob, true
		}
	case rankPerplexity:
		if s.Perplexity != nil {
			return *s.Perplexity, true
		}
	case rankEntropy:
		if s.MeanEntropyBits != nil {
			return *s.MeanEntropyBits, true
		}
	case rankNotTop:
		if s.NotTopChoice != nil {
			return float64(*s.NotTopChoice), true
		}
	case rankLength:
		return float64(s.Tokens), true
	}
	return 0, false
}

// rankOf is column i's place among the columns under the pane's ranking (1
// the least likely) and how many were ranked; 0 when it has none.
func (p *samplesPane) rankOf(i int) (place, of int) {
	if p.rank == rankOff {
		return 0, 0
	}
	s, _ := statsOf(p.cols[i])
	v, ok := rankValue(p.rank, s)
	if !ok {
		return 0, 0
	}
	place = 1
	for j, c := range p.cols {
		cs, _ := statsOf(c)
		if u, ok := rankValue(p.rank, cs); ok {
			of++
			if u > v || (u == v && j < i) {
				place++
			}
		}
	}
	return place, of
}

// statsLine is column i's statistics: the ranked one first, with its place.
// Parts that do not fit are dropped whole, from the last.
func (p *samplesPane) statsLine(i, w int) string {
	c := p.cols[i]
	s, topK := statsOf(c)
	place, of := p.rankOf(i)
	key := fmt.Sprint(len(c.tokens), w, p.rank, place, of, p.c.ThemeKey)
	if key == c.extra.lineKey {
		return c.extra.line
	}
	parts := map[rankBy]string{}
	if s.MeanLogprob != nil {
		parts[rankLogprob] = fmt.Sprintf("lp %.2f", *s.MeanLogprob)
	}
	if s.Perplexity != nil {
		parts[rankPerplexity] = "ppl " + formatStat(*s.Perplexity)
	}
	if s.MeanEntropyBits != nil {
		parts[rankEntropy] = fmt.Sprintf("H≈%.2fb (top-%d est.)", *s.MeanEntropyBits, topK)
	}
	if s.NotTopChoice != nil {
		parts[rankNotTop] = fmt.Sprintf("%d not top", *s.NotTopChoice)
	}
	parts[rankLength] = fmt.Sprintf("%d tok", s.Tokens)
	var items []string
	if place > 0 {
		items = append(items, fmt.Sprintf("rank %d/%d: %s", place, of, parts[p.rank]))
	} else if p.rank != rankOff {
		items = append(items, "unranked")
	}
	for _, r := range []rankBy{rankPerplexity, rankLogprob, rankEntropy, rankNotTop} {
		if r != p.rank && parts[r] != "" {
			items = append(items, parts[r])
		}
	}
	if len(c.tokens) == 0 {
		items = []string{"no logprobs: no statistics"}
	}
	line, lw := "", 0
	for _, it := range items {
		sep := " · "
		if line == "" {
			sep = ""
		}
		if lw+ansi.StringWidth(sep+it) > w {
			break
		}
		line += sep + it
		lw += ansi.StringWidth(sep + it)
	}
	st := &p.c.Styles.Column
	out := st.Stats.Render(padTo(ansi.Truncate(line, w, "…"), w))
	if place == 1 && of > 1 {
		out = st.HeaderFocused.Render(padTo(ansi.Truncate(line, w, "…"), w))
	}
	c.extra.lineKey, c.extra.line = key, out
	return out
}

// formatStat prints a figure with three significant digits.
func formatStat(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "?"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// rankSummary says what the columns are ranked by and which comes first.
func (p *samplesPane) rankSummary() string {
	if p.rank == rankOff {
		return "ranking off (o ranks the samples; s hides the sparklines)"
	}
	first := p.rankFirst()
	what := fmt.Sprintf("ranked by %s (o: next)", rankNames[p.rank])
	if first < 0 {
		return what + ": no sample can be ranked by it (logprobs off?)"
	}
	c := p.cols[first]
	name := fmt.Sprintf("#%d", c.Index+1)
	if c.Label != "" {
		name += " (" + c.Label + ")"
	}
	return what + ": rank 1 is " + name + ", focused"
}
