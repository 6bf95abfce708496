package heatmap

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
)

// RawNote is what every heatmap view must say about its numbers (vLLM's default
// logprobs mode returns the model's raw distribution).
const RawNote = "raw logprobs, before temperature/truncation"

// Ticks are the legend's labels, one per bucket that the mode uses ("" for a bucket it
// never produces): probability by each bucket's upper edge, the others by the lower edge.
func (m Mode) Ticks() [numBuckets]string {
	switch m {
	case Probability:
		return [numBuckets]string{"1", ".88", ".75", ".63", ".5", ".38", ".25", ".13"}
	case Surprisal:
		return [numBuckets]string{"0", ".25", ".5", "1", "2", "3", "4", "6+"}
	case Rank:
		return [numBuckets]string{"#1", "", "", "#2", "#3", "≤5", "≤10", "more"}
	case Entropy:
		return [numBuckets]string{"0", ".1", ".25", ".5", "1", "1.5", "2", "3+"}
	}
	return [numBuckets]string{}
}

// Title is the mode's name as the legend shows it.
func (m Mode) Title() string {
	switch m {
	case Probability:
		return "probability"
	case Surprisal:
		return "surprisal, bits"
	case Rank:
		return "rank of sampled"
	case Entropy:
		return "entropy of top-K, bits"
	}
	return "heatmap off"
}

// ShortRawNote is RawNote for narrow legends.
const ShortRawNote = "raw, pre-sampling"

// Legend renders the one-line legend bar for the painter's mode, at most width cells wide:
// the mode, the scale with its ticks in the scale's own looks, the unknown look, the
// raw-logprobs note, and without colour a note saying so. keyHint (e.g. "m: mode") is shown
// when there is room. Narrower widths get sparser layouts, the raw note and the no-colour
// note kept as long as anything but the mode fits.
func Legend(st *themes.Styles, p *Painter, width int, keyHint string) string {
	return LegendFor(st, p, width, keyHint, RawNote, ShortRawNote)
}

// DistributionNote says which distribution the numbers on screen come from, long and
// short, for LegendFor: the logprobs mode of the run shown (claimed, for a server that
// does not report it), and whether the painter colours by the processed values that the
// built-in model gives beside the raw ones.
func DistributionNote(m backend.LogprobsMode, byProcessed bool) (long, short string) {
	switch {
	case m.Logits():
		return string(m.OrDefault()) + ": logits, not probabilities, so nothing is coloured", "logits: not coloured"
	case byProcessed:
		return "processed logprobs: the distribution each token was drawn from", "processed, as drawn"
	case m.OrDefault() == backend.ProcessedLogprobs:
		return "processed logprobs: after penalties, temperature and truncation", "processed, as drawn"
	}
	return RawNote, ShortRawNote
}

// LegendFor is Legend with the note on the numbers given (see DistributionNote).
func LegendFor(st *themes.Styles, p *Painter, width int, keyHint, note, shortNote string) string {
	ls := st.Legend
	m := p.Mode()
	title := ls.Mode.Render(m.Title())
	key := ""
	if keyHint != "" {
		key = ls.Key.Render(keyHint)
	}
	if m == Off {
		if note != RawNote {
			// Off because the numbers are logits: the note says why.
			return fit([][]string{{title, ls.Note.Render(note), key}, {title, ls.Note.Render(shortNote)}, {title}}, width)
		}
		return fit([][]string{{title, key}, {title}}, width)
	}
	scale := func(swatches bool) string {
		var b strings.Builder
		for i, t := range m.Ticks() {
			if t == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			if swatches && !p.mono {
				b.WriteString(p.Paint(i, true, 0, "█"))
			}
			b.WriteString(p.Paint(i, true, 0, t))
		}
		return b.String()
	}
	full, bare := scale(true), scale(false)
	unknown := p.Paint(0, false, 0, "unknown")
	raw, short := ls.Note.Render(note), ls.Note.Render(shortNote)
	mono, monoShort := "", ""
	if p.mono {
		note := "no colour: faint→bold→reverse"
		if st.Heat.Boundary != themes.BoundaryNone {
			note += "; underline: every other token"
		}
		mono, monoShort = ls.Note.Render(note), ls.Note.Render("no colour")
	}
	return fit([][]string{
		{title, full, unknown, raw, mono, key},
		{title, full, unknown, raw, mono},
		{title, bare, unknown, raw, mono},
		{title, bare, unknown, short, monoShort},
		{title, bare, short, monoShort},
		{title, bare, monoShort},
		{title, bare},
		{title},
	}, width)
}

// fit joins the first layout whose parts fit in width (empty parts skipped), truncating
// the last layout's first part as a last resort.
func fit(layouts [][]string, width int) string {
	if width <= 0 {
		return ""
	}
	for _, parts := range layouts {
		var kept []string
		for _, p := range parts {
			if p != "" {
				kept = append(kept, p)
			}
		}
		line := strings.Join(kept, "  ")
		if ansi.StringWidth(line) <= width {
			return line
		}
	}
	last := layouts[len(layouts)-1]
	return ansi.Truncate(last[0], width, "…")
}
