// Package inspector is the token inspector pane: for the token under the sample cursor it
// shows the token's text with every control character and whitespace made visible, its
// logprob, probability, surprisal, rank and the entropy of the shown alternatives, the top-K
// alternatives as a bar chart (the sampled one marked), and what the current temperature,
// min-p, top-k and top-p would make of them over the whole vocabulary: exact where the
// shown alternatives decide it, bounds (and "uncertain") where the tokens not shown could.
// With processed values (the built-in model's, or a server said to run with processed
// logprobs) it shows those instead, exactly; logits are shown as logits, never as
// probabilities (processed.go).
//
// It is a plain component (setters and Render(width, height)), not a tea.Model; it must
// never import bubbletea or ui/, and every token string goes through ui/sanitize.
package inspector

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// Inspector shows one token. The zero value is not usable; call New.
type Inspector struct {
	st      *themes.Styles
	painter *heatmap.Painter
	params  params.SamplingParams
	adv     params.Advanced
	// mode is the logprobs mode the tokens' Logprob values come from.
	mode backend.LogprobsMode

	tok           *backend.Token
	sample, index int
	place         Place    // where tok sits in its sample's text (see SetPlace)
	acrossLabels  []string // see SetAcrossLabels

	across  []*backend.Token // the same position in every sample
	diverge int

	// Render's last result: the pane is drawn every frame while streaming,
	// but changes only through a setter or a new size.
	drawn        string
	drawnW       int
	drawnH       int
	drawnCurrent bool
}

// New makes an inspector drawing with st and colouring the token with painter (which
// also says the heatmap mode, whose metric is highlighted).
func New(st *themes.Styles, painter *heatmap.Painter) *Inspector {
	return &Inspector{st: st, painter: painter, params: params.Default(), mode: backend.RawLogprobs}
}

// SetStyles changes the theme.
func (in *Inspector) SetStyles(st *themes.Styles) { in.st, in.drawnCurrent = st, false }

// SetPainter changes the heatmap mode, theme or colour profile the token is coloured with.
func (in *Inspector) SetPainter(p *heatmap.Painter) { in.painter, in.drawnCurrent = p, false }

// SetParams sets the sampling parameters whose truncation is shown. Callers may
// pass them every frame: only a change to what the pane shows redraws it.
func (in *Inspector) SetParams(p params.SamplingParams) {
	if p.Temperature != in.params.Temperature || p.TopK != in.params.TopK || p.TopP != in.params.TopP ||
		p.RepetitionPenalty != in.params.RepetitionPenalty {
		in.drawnCurrent = false
	}
	in.params = p
}

// SetAdvanced sets vLLM's fields beyond the seven: min_p joins the truncation shown, and
// the penalties and biases, which the view cannot apply, make it say so.
func (in *Inspector) SetAdvanced(a params.Advanced) {
	if a.MinP != in.adv.MinP || a.PresencePenalty != in.adv.PresencePenalty || a.FrequencyPenalty != in.adv.FrequencyPenalty ||
		len(a.LogitBias) != len(in.adv.LogitBias) || len(a.BadWords) != len(in.adv.BadWords) || a.MinTokens != in.adv.MinTokens {
		in.drawnCurrent = false
	}
	in.adv = a
}

// SetToken shows tok, token index of sample (both counted from 0). The inspector keeps the
// pointer: the caller must not change the token while it is shown.
func (in *Inspector) SetToken(tok *backend.Token, sample, index int) {
	in.tok, in.sample, in.index = tok, sample, index
	in.place = Place{}
	in.drawnCurrent = false
}

// Clear shows nothing under the cursor.
func (in *Inspector) Clear() { in.tok, in.drawnCurrent = nil, false }

// Render draws the pane's content in exactly width x height cells (lines padded, cut to
// fit); the caller frames it.
func (in *Inspector) Render(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	if in.drawnCurrent && in.drawnW == width && in.drawnH == height {
		return in.drawn
	}
	var lines []string
	if in.tok == nil {
		lines = []string{in.st.Inspector.Empty.Render("no token under the cursor: move into a sample run with logprobs")}
	} else {
		lines = in.lines(width, height)
	}
	in.drawn, in.drawnW, in.drawnH, in.drawnCurrent = block(lines, width, height), width, height, true
	return in.drawn
}

// block pads or cuts lines to width x height.
func block(lines []string, width, height int) string {
	var b strings.Builder
	for i := range height {
		var l string
		if i < len(lines) {
			l = lines[i]
		}
		if w := ansi.StringWidth(l); w > width {
			l = ansi.Truncate(l, width, "…")
		}
		b.WriteString(l)
		if pad := width - ansi.StringWidth(l); pad > 0 {
			b.WriteString(strings.Repeat(" ", pad))
		}
		if i < height-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (in *Inspector) lines(width, height int) []string {
	s := in.st.Inspector
	tok := in.tok
	mode := in.painter.Mode()

	// Title: where, then the token as text with whitespace shown, in its heat look.
	vis := sanitize.Visible(tok.Text)
	if vis == "" {
		vis = "(empty)"
	}
	title := s.Title.Render(fmt.Sprintf("token %d · sample %d", in.index+1, in.sample+1))
	shown := in.painter.Render(tok, 0, vis)
	if mode == heatmap.Off {
		shown = s.Token.Render(vis)
	}
	if p := in.placeTitle(); p != "" {
		shown = p
	}
	lines := []string{title + "  " + shown}
	quoted := sanitize.Line(strconv.QuoteToASCII(tok.Text))
	lines = append(lines, s.Label.Render("text ")+s.Value.Render(quoted)+s.Label.Render("  "+plural(len(tok.Text), "byte")))
	lines = append(lines, in.placeLines(width)...)

	// Metrics, flowed into as many lines as the width needs.
	lines = append(lines, flow(in.metrics(mode), width)...)
	// The other samples' tokens give way to the table when it would not have
	// room for its header, a count and the sampled row: the table is about this
	// token.
	if across := in.acrossLines(width); len(tok.Top) == 0 || height-len(lines)-len(across) >= minTableLines {
		lines = append(lines, across...)
	}

	if len(tok.Top) == 0 {
		lines = append(lines, s.Note.Render("no alternatives: ask for logprobs > 0 to see them"))
		return lines
	}
	room := height - len(lines)
	switch {
	case tok.Processed != nil:
		return append(lines, in.exactTable(width, room, processedRows(tok), true,
			"exact: the built-in model's raw logprobs beside the processed ones it drew from (vLLM's order: bad words, min_tokens, logit bias, penalties, temperature, min_p, top_k, top_p)")...)
	case in.mode.Logits():
		return append(lines, in.logitsLines(width)...)
	case in.mode.Processed():
		return append(lines, in.exactTable(width, room, claimedRows(tok), false,
			"exact: processed logprobs, as the server is said to run (--logprobs-mode "+string(in.mode)+"): the distribution drawn from, nothing recomputed here")...)
	}
	return append(lines, in.table(width, room)...)
}

// metrics are the token's numbers as "label value" chips; the current mode's is highlighted.
func (in *Inspector) metrics(mode heatmap.Mode) []string {
	s := in.st.Inspector
	tok := in.tok
	chip := func(label, value string, m heatmap.Mode) string {
		v := s.Value.Render(value)
		if m == mode && mode != heatmap.Off {
			v = in.st.Legend.Mode.Render(value)
		}
		return s.Label.Render(label+" ") + v
	}
	known := tok.Logprob.Known()
	num := func(ok bool, f string, v float64) string {
		if !ok {
			return "unknown"
		}
		return fmt.Sprintf(f, v)
	}
	// Each number says which distribution it is: raw (the model's) or processed (drawn
	// from), and logits are not probabilities at all.
	kind := "raw "
	if in.mode.Processed() {
		kind = "processed "
	}
	if in.mode.Logits() {
		return []string{chip(kind+"logit", num(known, "%.4g", float64(tok.Logprob)), heatmap.Off)}
	}
	byProcessed := in.painter.ByProcessed() && tok.Processed != nil
	pMode, sMode := heatmap.Probability, heatmap.Surprisal
	if byProcessed {
		pMode, sMode = heatmap.Off, heatmap.Off
	}
	out := []string{
		chip(kind+"logprob", num(known, "%.4g", float64(tok.Logprob)), heatmap.Off),
		chip("p", num(known, "%.4f", heatmap.Prob(tok.Logprob)), pMode),
		chip("surprisal", num(known, "%.2f bits", heatmap.SurprisalBits(tok.Logprob)), sMode),
	}
	if pr := tok.Processed; pr != nil {
		// The probability the token was really drawn with, exactly (a sure token's
		// surprisal reads 0.00, not the -0.00 of a float32 logprob rounded past 0).
		pMode, sMode = heatmap.Off, heatmap.Off
		if byProcessed {
			pMode, sMode = heatmap.Probability, heatmap.Surprisal
		}
		ok := pr.Logprob.Known()
		out = append(out, chip("drawn p", num(ok, "%.4f", heatmap.Prob(pr.Logprob)), pMode),
			chip("drawn surprisal", num(ok, "%.2f bits", max(0, heatmap.SurprisalBits(pr.Logprob))), sMode))
	}
	rank := "unknown"
	if r, atLeast, ok := heatmap.RankOf(tok); ok {
		rank = "#" + strconv.Itoa(r)
		if atLeast {
			rank = "≥" + rank
		}
	}
	out = append(out, chip("rank", rank, heatmap.Rank))
	h, ok := heatmap.EntropyBits(tok.Top)
	label := "entropy"
	if len(tok.Top) > 0 {
		label = fmt.Sprintf("entropy (top-%d)", len(tok.Top))
	}
	out = append(out, chip(label, num(ok, "%.2f bits", h), heatmap.Entropy))
	return out
}

// flow packs chips into lines no wider than width.
func flow(chips []string, width int) []string {
	var lines []string
	var cur string
	for _, c := range chips {
		switch {
		case cur == "":
			cur = c
		case ansi.StringWidth(cur)+3+ansi.StringWidth(c) <= width:
			cur += "   " + c
		default:
			lines = append(lines, cur)
			cur = c
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// table is the alternatives: text, the raw probability as a bar, and what is left after
// temperature, top-k and top-p, exact or as bounds, followed by what the numbers mean.
func (in *Inspector) table(width, room int) []string {
	s := in.st.Inspector
	tok := in.tok
	p := in.params
	tr := heatmap.Truncate(tok.Top, tok, heatmap.Sampling{Temperature: p.Temperature, TopK: p.TopK, TopP: p.TopP, MinP: in.adv.MinP})
	exact := tr.Exact()

	const marker = 2
	textW := 4
	for _, c := range tr.Candidates {
		textW = max(textW, ansi.StringWidth(altLabel(c.Text)))
	}
	textW = min(textW, 16, max(4, width/4))
	// Two bar columns ("raw" and "after") with a value each: ".900" is 4 cells, a range
	// ".267–.297" 9; one when narrow, where the value is "raw→after".
	const valW = 11
	rest := width - marker - textW - 1
	two := rest >= 2*(valW+1+6)+2
	narrowW := valW
	if !exact {
		narrowW = 14 // ".550→.267–.297"
	}
	barW := rest - narrowW - 1
	if two {
		barW = (rest-2)/2 - valW - 1
	}
	barW = max(1, barW)

	after := fmt.Sprintf("after T=%s", fmtNum(p.Temperature))
	if p.IsGreedy() {
		after = "after greedy"
	} else {
		if p.TopK > 0 {
			after += " k=" + strconv.Itoa(p.TopK)
		}
		if p.TopP < 1 {
			after += " p=" + fmtNum(p.TopP)
		}
		if in.adv.MinP > 0 {
			after += " min_p=" + fmtNum(in.adv.MinP)
		}
	}
	var lines []string
	head := strings.Repeat(" ", marker) + pad("alt", textW) + " " + pad("raw p (model)", barW+valW+1) + "  " + after + "*"
	if !two {
		head = strings.Repeat(" ", marker) + pad("alt", textW) + " " + pad("raw p", barW) + " raw→after*"
	}
	lines = append(lines, s.Label.Render(head))

	// Short of height, the alternatives come before the notes: each note is kept whole or
	// left out, so none is cut mid-sentence.
	slots := pickRows(len(tr.Candidates), tr.Sampled, room-len(lines))
	notes := fitNotes(in.notes(tr, after, two, width), room-len(lines)-len(slots))
	for _, sl := range slots {
		if sl.more > 0 {
			lines = append(lines, s.Note.Render(moreText(sl.more)))
			continue
		}
		i, c := sl.row, tr.Candidates[sl.row]
		mark, textSt, barSt := "  ", s.Alt, s.Bar
		if i == tr.Sampled {
			mark, textSt, barSt = "▶ ", s.AltSampled, s.BarSampled
		}
		text := pad(ansi.Truncate(altLabel(c.Text), textW, "…"), textW)
		line := textSt.Render(mark) + textSt.Render(text) + " "
		if two {
			line += barSt.Render(pad(bar(c.Raw, barW), barW)) + " " + s.Value.Render(pad(fmtProb(c.Raw), valW)) + "  "
			switch {
			case c.Cut == heatmap.Kept:
				line += barSt.Render(pad(bar(c.FinalLo, barW), barW)) + " " + s.Value.Render(pad(fmtBounds(c.FinalLo, c.FinalHi), valW))
			case c.Cut == heatmap.Uncertain:
				line += s.Uncertain.Render(pad("uncertain (bounds)", barW+1+valW))
			default:
				line += s.Cut.Render(pad(cutLabel(c.Cut, false), barW+1+valW))
			}
		} else {
			// Narrow: one bar (raw), then "raw→after" or the fate.
			v := s.Value.Render(pad(fmtProb(c.Raw)+"→"+fmtBounds(c.FinalLo, c.FinalHi), narrowW))
			bs := barSt
			switch {
			case c.Cut == heatmap.Uncertain:
				v = s.Uncertain.Render(pad("uncertain", narrowW))
			case c.Cut != heatmap.Kept:
				v, bs = s.Cut.Render(pad(cutLabel(c.Cut, true), narrowW)), s.BarCut
			}
			line += bs.Render(pad(bar(c.Raw, barW), barW)) + " " + v
		}
		lines = append(lines, line)
	}
	return append(lines, notes...)
}

// minTableLines is the least height an alternatives table is given: its
// header, the sampled row and a count of the rows left out.
const minTableLines = 3

// rowSlot is one line of an alternatives table: a row, or a count of rows
// left out there.
type rowSlot struct{ row, more int }

// pickRows chooses which of n rows fit in room lines. Short of room, the rows
// from the top are kept, the sampled row always (it is what the inspector is
// about, however low it ranks), and each run of rows left out is counted on a
// line of its own.
func pickRows(n, sampled, room int) []rowSlot {
	var out []rowSlot
	if room <= 0 {
		return nil
	}
	if n <= room {
		for i := range n {
			out = append(out, rowSlot{row: i})
		}
		return out
	}
	top := room - 1 // the last line counts what is left out
	low := sampled >= 0 && sampled >= top && sampled < n
	if low {
		top = room - 2 // the sampled row, and a count above it
		if sampled < n-1 {
			top-- // a count below it too
		}
	}
	top = max(0, top)
	for i := range min(top, n) {
		out = append(out, rowSlot{row: i})
	}
	if !low {
		return append(out, rowSlot{more: n - top})
	}
	if room >= 2 && sampled > top {
		out = append(out, rowSlot{more: sampled - top})
	}
	out = append(out, rowSlot{row: sampled})
	if after := n - 1 - sampled; after > 0 {
		if len(out) < room {
			return append(out, rowSlot{more: after})
		}
		// No line for a count below: the one above counts them all.
		for i := range out {
			if out[i].more > 0 {
				out[i].more += after
			}
		}
	}
	return out
}

// moreText is the line that counts rows left out.
func moreText(n int) string {
	if n == 1 {
		return "  … 1 more row"
	}
	return fmt.Sprintf("  … %d more rows", n)
}

// notes say what the table means: the sampled token's fate, where the cut falls, and
// whether the numbers after truncation are exact or bounds; one entry a paragraph, in the
// order they are drawn.
func (in *Inspector) notes(tr heatmap.Truncation, after string, two bool, width int) [][]string {
	p := in.params
	var say []string
	if tr.Sampled < 0 {
		say = append(say, "sampled token not among the alternatives")
	} else {
		switch c := tr.Candidates[tr.Sampled].Cut; {
		case c == heatmap.Uncertain:
			say = append(say, "the sampled token may be cut now: uncertain (bounds)")
		case c == heatmap.TopKOrP:
			say = append(say, "the sampled token would be cut now, by top_k or by top_p")
		case c.IsCut():
			say = append(say, "the sampled token would be cut by "+c.String()+" now")
		}
	}
	n := len(tr.Candidates)
	if p.IsGreedy() || p.TopK > 0 || p.TopP < 1 || in.adv.MinP > 0 {
		kept := fmt.Sprintf("kept %d of %d shown", tr.Kept, n)
		if tr.Uncertain > 0 {
			kept += fmt.Sprintf(", %d uncertain (bounds)", tr.Uncertain)
		}
		switch {
		case !tr.Beyond:
		case tr.Kept == n:
			kept += "; the cut lies beyond the shown alternatives"
		case tr.Uncertain > 0:
			kept += "; the cut may lie beyond the shown alternatives"
		default:
			kept += "; tokens not shown may be kept too"
		}
		say = append(say, kept)
	}
	star := "* "
	if !two {
		star = "* " + after + ": "
	}
	switch {
	case tr.Shown > 1+1e-3:
		star += fmt.Sprintf("the shown probabilities sum to %.3g, past 1: these logprobs are not one distribution, so the values after truncation mean little", tr.Shown)
	case tr.Exact() && p.IsGreedy():
		star += "exact: vLLM's greedy argmax on the raw logprobs"
	case tr.Exact() && in.adv.MinP > 0:
		star += "exact: vLLM's temperature, min_p, top_k and top_p, in that order, on the raw logprobs"
	case tr.Exact():
		star += "exact: vLLM's temperature, top_k and top_p on the raw logprobs"
	default:
		star += fmt.Sprintf("bounds: the tokens not shown hold %s of the raw mass, split in ways not known", fmtProb(max(0, 1-tr.Shown)))
	}
	var unapplied []string
	if p.RepetitionPenalty != 1 {
		unapplied = append(unapplied, "repetition_penalty")
	}
	a := in.adv
	if a.PresencePenalty != 0 || a.FrequencyPenalty != 0 {
		unapplied = append(unapplied, "presence/frequency penalties")
	}
	if len(a.LogitBias) > 0 || len(a.BadWords) > 0 || a.MinTokens > 0 {
		unapplied = append(unapplied, "logit_bias, bad_words and min_tokens")
	}
	if len(unapplied) > 0 {
		star += "; " + strings.Join(unapplied, ", ") + " not applied, so approximate"
	}
	return in.noteParagraphs(width, strings.Join(say, "; "), star)
}

// noteParagraphs wraps each non-empty paragraph to width in the note style, then
// adds the notes on the alternatives: what both tables put under their rows.
func (in *Inspector) noteParagraphs(width int, paras ...string) [][]string {
	var out [][]string
	for _, para := range paras {
		if para == "" {
			continue
		}
		var lines []string
		for _, l := range wrapNote(para, width) {
			lines = append(lines, in.st.Inspector.Note.Render(l))
		}
		out = append(out, lines)
	}
	return append(out, in.altNotes(width)...)
}

// fitNotes keeps the notes' paragraphs, in order, that fit in room lines, each whole or
// not at all, so none is cut mid-sentence.
func fitNotes(paras [][]string, room int) []string {
	var out []string
	for _, para := range paras {
		if len(out)+len(para) <= room {
			out = append(out, para...)
		}
	}
	return out
}

// wrapNote breaks a note into lines of width cells, at words where it can.
func wrapNote(note string, width int) []string {
	return strings.Split(ansi.Hardwrap(ansi.Wordwrap(note, width, ""), width, true), "\n")
}

// cutLabel names a fate that cuts.
func cutLabel(c heatmap.CutBy, narrow bool) string {
	if c == heatmap.TopKOrP {
		if narrow {
			return "cut top_k/p"
		}
		return "cut top_k or top_p"
	}
	return "cut " + c.String()
}

func pad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// bar draws p (0..1) in w cells with eighth blocks.
func bar(p float64, w int) string {
	if math.IsNaN(p) || p <= 0 {
		return ""
	}
	eighths := int(math.Round(min(p, 1) * float64(w*8)))
	if eighths == 0 {
		eighths = 1 // a non-zero probability never draws as nothing
	}
	full, part := eighths/8, eighths%8
	out := strings.Repeat("█", full)
	if part > 0 {
		out += string([]rune("▏▎▍▌▋▊▉")[part-1])
	}
	return out
}

func fmtProb(p float64) string {
	switch {
	case math.IsNaN(p):
		return "?"
	case p >= 0.9995:
		return "1.00"
	case p < 0.0005 && p > 0:
		return "<.001"
	}
	return fmt.Sprintf(".%03d", int(math.Round(p*1000)))
}

// fmtBounds shows a probability known to lie in [lo, hi], rounded outwards so that the
// range shown still holds it.
func fmtBounds(lo, hi float64) string {
	a, b := math.Floor(lo*1000)/1000, math.Ceil(hi*1000)/1000
	if fmtProb(lo) == fmtProb(hi) || a == b {
		return fmtProb(lo)
	}
	return fmtProb(a) + "–" + fmtProb(b)
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
