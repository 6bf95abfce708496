package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// A column draws the sample's real text, not the tokens' texts as the server reported
// them: byte-level tokenizers split characters over tokens, and vLLM reports such a token
// as "\ufffd". backend.Aligner places the tokens in the streamed text; here each grapheme
// of that text is drawn in the piece of the token holding its first byte. A grapheme made
// of several tokens (a split character, or an emoji with a modifier or joiners) is drawn
// once, in the look of its least likely token, with the split mark; the tokens after the
// first that hold only part of it draw nothing of their own there.

// incomplete stands for the part of a character a token holds when the character is not
// in the text.
const incomplete = "◌"

// shareLook is a grapheme at the end of a token's piece that later tokens share.
type shareLook struct {
	raw         string // the grapheme, raw
	first, last int    // the tokens that make it
	worst       int    // the least likely of them, whose look it takes
}

// displaySegment is what token (or text chunk) k stands for in the drawn text, raw: its
// bytes in the aligned text, its own text where it is not in the text, or nothing while
// the character it is part of has not arrived.
func (c *column) displaySegment(k int) string {
	if c.al == nil {
		return c.chunks[k]
	}
	a, t := c.al, c.tokens[k].Text
	p := a.Places()[k]
	switch {
	case p.In() && p.End <= a.TextLen():
		return a.Slice(p.Start, p.End)
	case p.In(), !backend.Partial(t):
		// A whole token's bytes are its text: drawn before its text streams (vLLM holds
		// text back while it may start a stop string), or where the text does not have it.
		return t
	case a.Finished() || (a.Lost() >= 0 && k >= a.Lost()):
		// Not in the text (a character cut off by the end never completes): each
		// piece of a character shows as a dotted circle, not as U+FFFD, which the
		// text does not have.
		return strings.ReplaceAll(t, wire.Replacement, incomplete)
	case k == c.firstUnplaced():
		// The text stops inside this token: it holds what the text has past the placed
		// tokens (the end of a character the previous tokens began).
		return a.Slice(c.placedEnd(k), a.TextLen())
	}
	return "" // part of a character still to come
}

// firstUnplaced is the first token not placed in the text.
func (c *column) firstUnplaced() int {
	pl := c.al.Places()
	for k := c.al.Settled(); k < len(pl); k++ {
		if !pl[k].In() {
			return k
		}
	}
	return len(pl)
}

// placedEnd is where the placed tokens before k end in the text.
func (c *column) placedEnd(k int) int {
	if k == 0 {
		return 0
	}
	return c.al.Places()[k-1].End
}

// finalIndex is how many tokens (or chunks) draw what they will always draw.
func (c *column) finalIndex() int {
	if c.al == nil {
		return len(c.chunks)
	}
	a := c.al
	if a.Finished() || a.Lost() >= 0 {
		return a.Len()
	}
	k := a.Settled()
	pl := a.Places()
	// Whole tokens the text has not reached draw their own text, which is their bytes.
	for k < len(pl) && !pl[k].In() && !backend.Partial(c.tokens[k].Text) {
		k++
	}
	return k
}

// finished reports whether nothing more will come.
func (c *column) finished() bool {
	if c.al != nil {
		return c.al.Finished()
	}
	return !c.Streaming
}

// count is how many tokens (or chunks) the column draws.
func (c *column) count() int {
	if c.al == nil {
		return len(c.chunks)
	}
	return len(c.tokens)
}

// syncPieces lays out again what may have changed: the pieces from the first that is not
// final on. Graphemes are attributed to the token holding their first byte; those that
// end before the last grapheme of the final part become final with their tokens' pieces.
func (c *column) syncPieces() {
	n := c.count()
	base, off := c.stableTok, c.stableOff
	for len(c.shared) < n {
		c.shared = append(c.shared, shareLook{})
		c.host = append(c.host, len(c.host))
	}
	// The drawn text from the mark on, and where each index's share of it starts.
	var all strings.Builder
	starts := make([]int, n-base+1)
	final := c.finalIndex()
	finalLen := -1
	for k := base; k < n; k++ {
		starts[k-base] = all.Len()
		if k == final {
			finalLen = all.Len()
		}
		seg := c.displaySegment(k)
		if k == base {
			seg = seg[min(off, len(seg)):]
		}
		all.WriteString(seg)
	}
	starts[n-base] = all.Len()
	if finalLen < 0 {
		finalLen = all.Len()
	}
	text := all.String()
	done := c.finished()

	pieces := make([]strings.Builder, n-base)
	for k := base; k < n; k++ {
		c.shared[k] = shareLook{}
		if k > base || off == 0 {
			c.host[k] = k
		}
	}
	// owner is the index whose share holds byte x (the last one starting at or before it:
	// empty shares hold nothing).
	owner := func(x, from int) int {
		i := from
		for i+1 < len(starts)-1 && starts[i+1] <= x {
			i++
		}
		return i
	}
	firstOwn := make([]int, n-base) // where the first grapheme starting in each share starts
	for i := range firstOwn {
		firstOwn[i] = -1
	}
	open, openAt, lastAt := -1, 0, -1 // the first grapheme that is not final, its holder; the last's
	oi := 0
	for x := 0; x < len(text); {
		g, _ := ansi.FirstGraphemeCluster(text[x:], ansi.GraphemeWidth)
		if g == "" {
			break
		}
		y := x + len(g)
		oi = owner(x, oi)
		li := owner(y-1, oi)
		first, last := base+oi, base+li
		pieces[oi].WriteString(g)
		if firstOwn[oi] < 0 {
			firstOwn[oi] = x
		}
		if last > first {
			c.shared[first] = shareLook{raw: g, first: first, last: last, worst: c.worst(first, last)}
			for k := first + 1; k <= last; k++ {
				c.host[k] = first
			}
		}
		// A grapheme is final once something final follows it (it cannot grow), or at
		// the end when nothing more will come.
		if open < 0 && !(y < finalLen || done && y <= finalLen) {
			open, openAt = x, oi
		}
		lastAt = li
		x = y
	}
	// The new mark: before the piece that holds the first grapheme that is not final;
	// bytes at the start of its share drawn by an earlier piece are done.
	newTok, newOff := base, off
	switch {
	case open >= 0:
		newTok = base + openAt
		newOff = firstOwn[openAt] - starts[openAt]
		if openAt == 0 {
			newOff += off
		}
	case lastAt >= 0:
		newTok, newOff = min(final, base+lastAt+1), 0
	}
	// Lay out: back to the mark, the pieces that became final, a new mark, the rest.
	c.texts = c.texts[:base]
	firstDirty := 0
	if c.wrap != nil {
		firstDirty = c.wrap.toMark()
	}
	for k := base; k < n; k++ {
		if k == newTok && c.wrap != nil {
			c.wrap.setMark()
		}
		s := pieces[k-base].String()
		c.texts = append(c.texts, s)
		if c.wrap != nil {
			c.wrapAppend(k, s)
		}
	}
	if newTok == n && c.wrap != nil {
		c.wrap.setMark()
	}
	c.stableTok, c.stableOff = newTok, newOff
	if c.wrap != nil {
		c.fitCache(firstDirty)
		if c.follow {
			c.offset = c.followOffset()
		}
	}
}

// worst is the least likely of tokens [first, last] (the first when none is known).
func (c *column) worst(first, last int) int {
	w := first
	if c.al == nil {
		return w
	}
	for k := first; k <= last; k++ {
		lp := c.tokens[k].Logprob
		if lp.Known() && (!c.tokens[w].Logprob.Known() || lp < c.tokens[w].Logprob) {
			w = k
		}
	}
	return w
}

// fitCache sizes the styled-line cache to the wrapped lines, lines from firstDirty on to
// be styled again.
func (c *column) fitCache(firstDirty int) {
	n := c.wrap.Len()
	if len(c.styled) > n {
		c.styled, c.styledOK = c.styled[:n], c.styledOK[:n]
	}
	for len(c.styled) < n {
		c.styled = append(c.styled, "")
		c.styledOK = append(c.styledOK, false)
	}
	for i := max(0, firstDirty); i < n; i++ {
		c.styledOK[i] = false
	}
}

// shareAt is where the shared grapheme begins in token t's display text, or -1 when its
// piece ends with none.
func (c *column) shareAt(t int) int {
	if t < 0 || t >= len(c.shared) || c.shared[t].last <= t || c.wrap == nil || t >= len(c.wrap.disp) {
		return -1
	}
	disp := c.wrap.disp[t]
	if tail := sanitize.Text(c.shared[t].raw); strings.HasSuffix(disp, tail) {
		return len(disp) - len(tail)
	}
	return 0
}

// hostOf is the token whose piece draws token t's first character.
func (c *column) hostOf(t int) int {
	if t >= 0 && t < len(c.host) {
		return c.host[t]
	}
	return t
}
