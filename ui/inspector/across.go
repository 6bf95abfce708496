package inspector

import (
	"fmt"
	"strconv"

	"github.com/twinkle-sh/twinkle/backend"
)

// FirstDivergence is the first token position at which the samples differ (by token text),
// or -1 when there are fewer than two samples or all are identical. A sample that ends
// while the others go on diverges where it ends.
func FirstDivergence(samples [][]backend.Token) int {
	if len(samples) < 2 {
		return -1
	}
	shortest, longest := len(samples[0]), len(samples[0])
	for _, s := range samples[1:] {
		shortest, longest = min(shortest, len(s)), max(longest, len(s))
	}
	for i := range shortest {
		t := samples[0][i].Text
		for _, s := range samples[1:] {
			if s[i].Text != t {
				return i
			}
		}
	}
	if shortest != longest {
		return shortest
	}
	return -1
}

// SetAcross shows the token at the cursor's position in every sample (nil where a sample
// has no token there) and the first position where the samples diverge (-1: none; see
// FirstDivergence). Nil or one entry hides the comparison.
func (in *Inspector) SetAcross(toks []*backend.Token, firstDivergence int) {
	in.across, in.diverge = toks, firstDivergence
	in.drawnCurrent = false
}

func (in *Inspector) acrossLines(width int) []string {
	if len(in.across) < 2 {
		return nil
	}
	s := in.st.Inspector
	var chips []string
	for i, t := range in.across {
		text := "—"
		if t != nil {
			text = in.acrossLabel(i, t)
			if text == "" {
				text = "(empty)"
			}
		}
		st := s.Alt
		if i == in.sample {
			st = s.AltSampled
		}
		chips = append(chips, s.Label.Render(strconv.Itoa(i+1)+" ")+st.Render(text))
	}
	lines := flow(append([]string{s.Label.Render("at this position:")}, chips...), width)
	switch {
	case in.diverge < 0:
		lines = append(lines, s.Note.Render("all samples agree so far"))
	case in.diverge == in.index:
		lines = append(lines, in.st.Column.Divergence.Render("samples diverge here"))
	default:
		lines = append(lines, s.Note.Render(fmt.Sprintf("samples first diverge at token %d", in.diverge+1)))
	}
	return lines
}
