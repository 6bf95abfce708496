package ui

import (
	"fmt"
	"math"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// A reasoning model's sample is its thinking, the end-of-thinking token and its answer, in
// that order both in the tokens and in the text. The column keeps one token stream and one
// aligned text: the thinking text, then the boundary token's own text (which the server puts
// in neither part), then the answer; so the heatmap, the inspector and the split characters
// work the same in both parts. Only the drawing differs: a label line above the thinking
// (or, folded, a one-line summary in its place), the thinking dimmed, and the boundary drawn
// as a rule rather than as its raw text.

// boundaryRule is how the end-of-thinking token is drawn.
const boundaryRule = "── end of thinking ──"

// thinkingView is a column's state of its thinking.
type thinkingView struct {
	state backend.ThinkingState
	// parts: the part of each text chunk, for a column without tokens.
	parts []backend.Part
	// pending: boundary tokens whose text is not in the aligned text yet. The text of one
	// that ends the thinking goes in when the answer's text begins (the thinking's text may
	// still be held back until then); one that starts it, before the thinking's text.
	pending []pendingBoundary
	// folded: the thinking drawn as a one-line summary.
	folded bool
	// labelAt is the index (token or chunk) whose drawing begins with the label line, -1
	// before any thinking; labelLen is how many bytes of its display text the label takes,
	// label the label drawn (folded, it changes once, when the thinking ends).
	labelAt, labelLen int
	label             string
	// Per part (backend.Part): tokens, those with a known logprob and the sum of their
	// logprobs, and when the first and last of them arrived.
	n, scored   [3]int
	sum         [3]float64
	first, last [3]time.Time
	// untimed: the arrival times are not the stream's (a loaded session keeps only the
	// first token's and the last's), so no rate per part is shown.
	untimed bool
}

type pendingBoundary struct {
	text  string
	start bool // it came before any thinking: a start-of-thinking token
}

// partOf is the part index k (a token, or a chunk without tokens) belongs to.
func (c *column) partOf(k int) backend.Part {
	if c.al != nil {
		if k >= 0 && k < len(c.tokens) {
			return c.tokens[k].Part
		}
		return backend.PartAnswer
	}
	if k >= 0 && k < len(c.think.parts) {
		return c.think.parts[k]
	}
	return backend.PartAnswer
}

// hasThinking reports whether the sample thought (anything but the answer arrived).
func (c *column) hasThinking() bool { return c.think.labelAt >= 0 }

// StoppedWhileThinking reports a sample that ran out of tokens before it answered.
func (c *column) StoppedWhileThinking() bool {
	return !c.Streaming && c.think.state.StoppedWhileThinking(c.Reason)
}

// addParts feeds tokens and the texts of both parts to the aligner, keeping the aligned
// text in the tokens' order.
func (c *column) addParts(toks []backend.Token, reasoning, text string, now time.Time) {
	thought := c.think.state.Thought
	for i := range toks {
		t := &toks[i]
		p := t.Part
		if int(p) >= len(c.think.n) {
			p = backend.PartAnswer
		}
		if p != backend.PartAnswer && c.think.labelAt < 0 {
			c.think.labelAt = len(c.tokens) - len(toks) + i
		}
		c.think.n[p]++
		if t.Logprob.Known() {
			c.think.scored[p]++
			c.think.sum[p] += float64(t.Logprob)
		}
		if c.think.first[p].IsZero() {
			c.think.first[p] = now
		}
		c.think.last[p] = now
		if p == backend.PartBoundary {
			c.think.pending = append(c.think.pending, pendingBoundary{t.Text, !thought})
		}
		thought = thought || p == backend.PartThinking
	}
	c.think.state.Add(backend.Event{Kind: backend.EventTokens, Tokens: toks, Reasoning: reasoning, Text: text})
	c.al.Add(toks, "")
	if reasoning != "" {
		c.flushBoundaries(true)
		c.al.Add(nil, reasoning)
	}
	if text != "" {
		c.flushBoundaries(false)
		c.al.Add(nil, text)
	}
}

// flushBoundaries puts pending boundary texts into the aligned text: only those that
// start the thinking when startOnly.
func (c *column) flushBoundaries(startOnly bool) {
	k := 0
	for ; k < len(c.think.pending); k++ {
		b := c.think.pending[k]
		if startOnly && !b.start {
			break
		}
		c.al.Add(nil, b.text)
	}
	c.think.pending = c.think.pending[k:]
}

// AppendParts adds tokens with the streamed thinking and answer text that came with them.
func (c *column) AppendParts(toks []backend.Token, reasoning, text string, now time.Time) {
	if len(toks) == 0 && text == "" && reasoning == "" {
		return
	}
	if len(toks) > 0 {
		c.mark(now)
	} else {
		c.version++
	}
	if c.tokens == nil {
		c.tokens = make([]backend.Token, 0, 256)
	}
	c.tokens = append(c.tokens, toks...)
	if c.al == nil {
		c.al = backend.NewAligner()
	}
	c.addParts(toks, reasoning, text, now)
	c.textLen = c.al.ContentLen()
	c.syncPieces()
	c.syncLabel()
}

// AppendTextParts adds streamed thinking and answer text of a run without logprobs. A
// chunk of no text stands for the end of the thinking, where the answer begins.
func (c *column) AppendTextParts(reasoning, text string, now time.Time) {
	if reasoning == "" && text == "" {
		return
	}
	add := func(s string, p backend.Part) {
		for len(c.think.parts) < len(c.chunks) {
			c.think.parts = append(c.think.parts, backend.PartAnswer)
		}
		if p != backend.PartAnswer && c.think.labelAt < 0 {
			c.think.labelAt = len(c.chunks)
		}
		c.chunks = append(c.chunks, s)
		c.think.parts = append(c.think.parts, p)
	}
	c.textLen += len(reasoning) + len(text)
	c.mark(now)
	if reasoning != "" {
		add(reasoning, backend.PartThinking)
	}
	if text != "" {
		if (c.think.state.Thought || reasoning != "") && !c.think.state.Ended {
			add("", backend.PartBoundary)
		}
		add(text, backend.PartAnswer)
	}
	c.think.state.Add(backend.Event{Kind: backend.EventTokens, Reasoning: reasoning, Text: text})
	c.syncPieces()
	c.syncLabel()
}

// SetThinkingFolded folds the thinking to its summary line, or shows it.
func (c *column) SetThinkingFolded(folded bool) {
	if c.think.folded == folded {
		return
	}
	c.think.folded = folded
	c.version++
	if c.hasThinking() {
		c.rewrap()
	}
}

// thinkingLabel is the label line drawn above the thinking, or in its place when folded.
func (c *column) thinkingLabel() string {
	if !c.think.folded {
		return "▾ thinking"
	}
	if c.Streaming && c.think.state.Still() {
		// No count while it grows: each change would lay the column out again (the
		// footer counts as it streams).
		return "▸ thinking…"
	}
	if c.tokens != nil {
		n := c.think.n[backend.PartThinking]
		return fmt.Sprintf("▸ thought for %d token%s", n, plural(n))
	}
	return "▸ thought (folded)"
}

// syncLabel lays the column out again when the folded summary's words changed.
func (c *column) syncLabel() {
	if c.hasThinking() && c.wrap != nil && c.think.folded && c.thinkingLabel() != c.think.label {
		c.rewrap()
	}
}

// rewrap lays every piece out again at the column's width.
func (c *column) rewrap() {
	if c.wrap == nil {
		return
	}
	c.wrap = newWrapper(c.width)
	for k, t := range c.texts {
		if k == c.stableTok {
			c.wrap.setMark()
		}
		c.wrapAppend(k, t)
	}
	if c.stableTok >= len(c.texts) {
		c.wrap.setMark()
	}
	c.styled = c.styled[:0]
	c.styledOK = c.styledOK[:0]
	c.fitCache(0)
	c.clampOffset()
}

// wrapAppend lays out index k's piece raw: as it is in the answer, dimmed in the thinking
// (nothing of it when folded), the boundary as a rule on a line of its own, the label line
// before the first piece of the thinking.
func (c *column) wrapAppend(k int, raw string) {
	w := c.wrap
	if c.think.labelAt < 0 || k < c.think.labelAt {
		w.Append(raw)
		return
	}
	part := c.partOf(k)
	if k == c.think.labelAt {
		lead := ""
		if w.curW > 0 {
			lead = "\n"
		}
		c.think.label = c.thinkingLabel()
		label := lead + c.think.label + "\n"
		c.think.labelLen = len(label)
		switch {
		case c.think.folded || part == backend.PartBoundary && c.boundaryStarts(k):
			// Folded, or a start-of-thinking token, which the label stands for.
			w.appendDisplay(label)
		case part == backend.PartBoundary:
			w.appendDisplay(label + boundaryRule + "\n")
		default:
			w.appendDisplay(label + sanitize.TextAt(raw, 0))
		}
		return
	}
	switch part {
	case backend.PartThinking:
		if c.think.folded {
			w.appendDisplay("")
			return
		}
		w.Append(raw)
	case backend.PartBoundary:
		if c.think.folded || c.boundaryStarts(k) {
			w.appendDisplay("")
			return
		}
		lead := ""
		if w.curW > 0 {
			lead = "\n"
		}
		w.appendDisplay(lead + boundaryRule + "\n")
	default:
		w.Append(raw)
	}
}

// boundaryStarts reports whether boundary token k starts the thinking (no thinking before
// it), where the label stands for it.
func (c *column) boundaryStarts(k int) bool {
	for j := c.think.labelAt; j < k; j++ {
		if c.partOf(j) == backend.PartThinking {
			return false
		}
	}
	return true
}

// inLabel reports whether byte from of index t's display text is in the label line.
func (c *column) inLabel(t, from int) bool {
	return t == c.think.labelAt && from < c.think.labelLen
}

// drawnNewline reports whether line ln ends at a newline the column drew (the label's, the
// rule's) rather than one of the sample's.
func (c *column) drawnNewline(ln wrappedLine) bool {
	if !c.hasThinking() {
		return false
	}
	t := ln.end.tok
	return c.inLabel(t, ln.end.off) || c.partOf(t) == backend.PartBoundary
}

// labelWidth is how many cells of fragment frag (from byte from of index t's display
// text) are the label's, with its bytes.
func (c *column) labelPrefix(t, from int, frag string) (n, width int) {
	if !c.inLabel(t, from) {
		return 0, 0
	}
	n = min(len(frag), c.think.labelLen-from)
	return n, ansi.StringWidth(frag[:n])
}

// thinkingStatParts is the footer's numbers for a sample that thought: each part's tokens,
// mean surprisal and rate, then the time to the first token.
func (c *column) thinkingStatParts() []string {
	type part struct {
		name string
		p    backend.Part
	}
	ps := []part{{"think", backend.PartThinking}, {"answer", backend.PartAnswer}}
	var counts, bits, rates []string
	for _, x := range ps {
		if c.tokens == nil {
			continue
		}
		t := &c.think
		n := t.n[x.p]
		counts = append(counts, fmt.Sprintf("%s %d tok", x.name, n))
		if s := t.scored[x.p]; s > 0 {
			// Mean surprisal, -log2 p, as the heatmap measures it.
			bits = append(bits, fmt.Sprintf("%s %.2f bits/tok", x.name, -t.sum[x.p]/float64(s)/math.Ln2))
		}
		if r := rateText(n, t.first[x.p], t.last[x.p]); !t.untimed && r != "" {
			rates = append(rates, x.name+" "+r)
		}
	}
	out := append(append(counts, bits...), rates...)
	if !c.firstTok.IsZero() {
		out = append(out, "ttft "+formatDuration(c.ttft))
	}
	return out
}

// noteThinkingCut tells the max_tokens slider how many samples on screen ran out of
// tokens while thinking, or clears what it said.
func (m *Model) noteThinkingCut() {
	cut := 0
	for _, c := range m.samples.cols {
		if c.StoppedWhileThinking() {
			cut++
		}
	}
	msg := ""
	if n := len(m.samples.cols); cut > 0 {
		msg = fmt.Sprintf("%d of %d samples ran out of tokens while still thinking: a reasoning model may need a larger max_tokens to reach its answer", cut, n)
	}
	m.panel.SetThinkingCut(msg)
}

// onLabel reports whether visible row y of the body is the label line.
func (c *column) onLabel(y int) bool {
	if !c.hasThinking() || c.wrap == nil {
		return false
	}
	i := c.offset + y
	return i >= 0 && i < c.wrap.Len() && c.labelLine(i)
}

// labelLine reports whether wrapped line i is the label line.
func (c *column) labelLine(i int) bool {
	ln := c.wrap.lines[i]
	return ln.start.tok == c.think.labelAt && ln.start.off < c.think.labelLen
}

// clickLabel folds or shows the thinking of the column whose label line is at (x, y);
// false when there is none there.
func (p *samplesPane) clickLabel(x, y int) bool {
	for i, cell := range p.grid.Cells {
		if cell.Contains(x, y) {
			c := p.cols[i]
			if !c.onLabel(y - cell.Y - 1) {
				return false
			}
			c.SetThinkingFolded(!c.think.folded)
			return true
		}
	}
	return false
}

// anyThinking reports whether a column on screen thought.
func (p *samplesPane) anyThinking() bool {
	for _, c := range p.cols {
		if c.hasThinking() {
			return true
		}
	}
	return false
}

// foldHolds reports whether line i is the label of folded thinking that hides token t
// (the inspector's cursor on it is drawn on the label).
func (c *column) foldHolds(i, t int) bool {
	if !c.think.folded || t < c.think.labelAt || c.partOf(t) == backend.PartAnswer || c.wrap == nil {
		return false
	}
	return c.labelLine(i)
}
