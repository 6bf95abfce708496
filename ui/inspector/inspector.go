// Package inspector is the token inspector pane: for the token under the sample cursor it
// shows the token's text with every control character and whitespace made visible, its
// logprob, probability, surprisal, rank and the entropy of the shown alternatives, the top-K
// alternatives as a bar chart (the sampled one marked), and what the current temperature,
// top-k and top-p would make of them, computed client-side as an approximation over the
// top-K only.
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
	return &Inspector{st: st, painter: painter, params: params.Default()}
}

// SetStyles changes the theme.
func (in *Inspector) SetStyles(st *themes.Styles) { in.st, in.drawnCurrent = st, false }

// SetPainter changes the heatmap mode, theme or colour profile the token is coloured with.
func (in *Inspector) SetPainter(p *heatmap.Painter) { in.painter, in.drawnCurrent = p, false }

// SetParams sets the sampling parameters whose truncation is shown. Callers may
// pass them every frame: only a change to what the pane shows redraws it.
func (in *Inspector) SetParams(p params.SamplingParams) {
	if p.Temperature != in.params.Temperature || p.TopK != in.params.TopK || p.TopP != in.params.TopP {
		in.drawnCurrent = false
	}
	in.params = p
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
	lines = append(lines, in.acrossLines(width)...)

	if len(tok.Top) == 0 {
		lines = append(lines, s.Note.Render("no alternatives: ask for logprobs > 0 to see them"))
		return lines
	}
	return append(lines, in.table(width, height-len(lines))...)
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
	out := []string{
		chip("logprob", num(known, "%.4g", float64(tok.Logprob)), heatmap.Off),
		chip("p", num(known, "%.4f", heatmap.Prob(tok.Logprob)), heatmap.Probability),
		chip("surprisal", num(known, "%.2f bits", heatmap.SurprisalBits(tok.Logprob)), heatmap.Surprisal),
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
// temperature, top-k and top-p.
func (in *Inspector) table(width, room int) []string {
	s := in.st.Inspector
	tok := in.tok
	p := in.params
	tr := heatmap.Truncate(tok.Top, p.Temperature, p.TopK, p.TopP)

	const marker = 2
	textW := 4
	for _, c := range tr.Candidates {
		textW = max(textW, ansi.StringWidth(altLabel(c.Text)))
	}
	textW = min(textW, 16, max(4, width/4))
	// Two bar columns ("raw" and "after") with a value each: ".900" is 4 cells, "cut top_p"
	// 9; one when narrow.
	const valW = 11 // "<.001→<.001"
	rest := width - marker - textW - 1
	two := rest >= 2*(valW+1+6)+2
	barW := rest - valW - 1
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
	}
	after += "*"
	var lines []string
	head := strings.Repeat(" ", marker) + pad("alt", textW) + " " + pad("raw p (model)", barW+valW+1)
	if two {
		head += "  " + after
	} else {
		head = strings.Repeat(" ", marker) + pad("alt", textW) + " " + pad("raw p", barW) + " raw→after*"
	}
	lines = append(lines, s.Label.Render(head))

	sampledAt := sampledIndex(tr.Candidates, tok)
	sampledDone := sampledAt >= 0
	var sampledCut heatmap.CutBy
	for i, c := range tr.Candidates {
		sampled := i == sampledAt
		if sampled {
			sampledCut = c.Cut
		}
		if len(lines) >= room-1 {
			continue // keep counting the sampled token's fate; show what fits
		}
		mark, textSt, barSt := "  ", s.Alt, s.Bar
		if sampled {
			mark, textSt, barSt = "▶ ", s.AltSampled, s.BarSampled
		}
		text := pad(ansi.Truncate(altLabel(c.Text), textW, "…"), textW)
		line := textSt.Render(mark) + textSt.Render(text) + " " +
			barSt.Render(pad(bar(c.Raw, barW), barW)) + " " + s.Value.Render(pad(fmtProb(c.Raw), valW))
		if two {
			if c.Cut != heatmap.Kept {
				line += "  " + s.BarCut.Render(pad("", barW)) + " " + s.Cut.Render(pad("cut "+c.Cut.String(), valW))
			} else {
				line += "  " + barSt.Render(pad(bar(c.Final, barW), barW)) + " " + s.Value.Render(pad(fmtProb(c.Final), valW))
			}
		} else {
			// Narrow: one bar (raw), then "raw→after" or the cut.
			v := s.Value.Render(pad(fmtProb(c.Raw)+"→"+fmtProb(c.Final), valW))
			bs := barSt
			if c.Cut != heatmap.Kept {
				v, bs = s.Cut.Render(pad("cut "+c.Cut.String(), valW)), s.BarCut
			}
			line = textSt.Render(mark) + textSt.Render(text) + " " + bs.Render(pad(bar(c.Raw, barW), barW)) + " " + v
		}
		lines = append(lines, line)
	}
	note := fmt.Sprintf("* approximation over the top %d only; penalties not applied", len(tok.Top))
	if !two {
		note = fmt.Sprintf("* %s: approximation over the top %d only; penalties not applied", strings.TrimSuffix(after, "*"), len(tok.Top))
	}
	if !sampledDone {
		note = "sampled token not among the alternatives; " + note[2:]
	} else if sampledCut != heatmap.Kept {
		note = fmt.Sprintf("the sampled token would be cut by %s now; %s", sampledCut, note[2:])
	}
	for _, l := range wrapNote(note, width) {
		lines = append(lines, s.Note.Render(l))
	}
	return append(lines, in.altNotes(width)...)
}

// wrapNote breaks a note into lines of width cells, at words where it can.
func wrapNote(note string, width int) []string {
	return strings.Split(ansi.Hardwrap(ansi.Wordwrap(note, width, ""), width, true), "\n")
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

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// sampledIndex finds the sampled token among the candidates: same text and (to rounding)
// the same logprob; failing that, the first with the same text (completions key their
// alternatives by text, so a JSON round trip may be all that differs). -1 when absent.
func sampledIndex(cs []heatmap.Candidate, tok *backend.Token) int {
	textOnly := -1
	for i, c := range cs {
		if c.Text != tok.Text {
			continue
		}
		if tok.Logprob.Known() && math.Abs(float64(c.Logprob-tok.Logprob)) <= 1e-6*max(1, math.Abs(float64(tok.Logprob))) {
			return i
		}
		if textOnly < 0 {
			textOnly = i
		}
	}
	return textOnly
}
