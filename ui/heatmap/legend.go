package heatmap

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

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

// Legend renders the one-line legend bar for the painter's mode, at most width cells wide:
// the mode, the scale with its ticks in the scale's own looks, the unknown look, and the
// raw-logprobs note. keyHint (e.g. "m: mode") is shown when there is room. What does not
// fit is dropped, least important first.
func Legend(st *themes.Styles, p *Painter, width int, keyHint string) string {
	ls := st.Legend
	m := p.Mode()
	title := ls.Mode.Render(m.Title())
	if m == Off {
		parts := []string{title}
		if keyHint != "" {
			parts = append(parts, ls.Key.Render(keyHint))
		}
		return fit(parts, width)
	}
	var scale strings.Builder
	for i, t := range m.Ticks() {
		if t == "" {
			continue
		}
		if scale.Len() > 0 {
			scale.WriteByte(' ')
		}
		if !p.mono {
			scale.WriteString(p.Paint(i, true, 0, "█"))
		}
		scale.WriteString(p.Paint(i, true, 0, t))
	}
	unknown := p.Paint(0, false, 0, "unknown")
	parts := []string{title, scale.String(), unknown, ls.Note.Render(RawNote)}
	if p.mono {
		parts = append(parts, ls.Note.Render("no colour: faint→bold underline"))
	}
	if keyHint != "" {
		parts = append(parts, ls.Key.Render(keyHint))
	}
	return fit(parts, width)
}

// fit joins parts with a separator, dropping from the end until the line fits, and
// truncating the first part as a last resort.
func fit(parts []string, width int) string {
	if width <= 0 {
		return ""
	}
	const sep = "  "
	for n := len(parts); n > 0; n-- {
		line := strings.Join(parts[:n], sep)
		if ansi.StringWidth(line) <= width {
			return line
		}
	}
	return ansi.Truncate(parts[0], width, "…")
}
