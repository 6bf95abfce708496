package inspector

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
)

// The inspector says which distribution its numbers come from. A server gives one kind
// of logprobs, which its --logprobs-mode names (the run's StartInfo, or the mode
// claimed); the built-in model gives the processed values beside the raw ones
// (Token.Processed), and then both are shown side by side, exactly.

// SetLogprobsMode says which distribution the tokens' Logprob values come from.
func (in *Inspector) SetLogprobsMode(m backend.LogprobsMode) {
	if m.OrDefault() != in.mode.OrDefault() {
		in.drawnCurrent = false
	}
	in.mode = m.OrDefault()
}

// exactRow is one alternative of a table whose numbers are all known exactly.
type exactRow struct {
	text    string
	raw     float64 // NaN: none shown (the claimed-processed table has one column)
	after   float64 // the probability drawn with; 0 when cut
	cut     bool    // minus infinity: the sampler's truncation removed it
	unknown bool    // the server gave no value
}

// processedRows pairs each alternative's raw and processed values (Token.Processed).
func processedRows(tok *backend.Token) []exactRow {
	rows := make([]exactRow, len(tok.Top))
	for i, a := range tok.Top {
		r := exactRow{text: a.Text, raw: math.NaN()}
		if a.Logprob.Known() {
			r.raw = a.Logprob.Prob()
		}
		pv := backend.Unknown()
		if i < len(tok.Processed.Top) {
			pv = tok.Processed.Top[i]
		}
		switch {
		case !pv.Known():
			r.unknown = true
		case math.IsInf(float64(pv), -1):
			r.cut = true
		default:
			r.after = pv.Prob()
		}
		rows[i] = r
	}
	return rows
}

// claimedRows reads the alternatives as processed logprobs (the mode claimed for the
// server): -9999, which the client reads as unknown, is minus infinity there.
func claimedRows(tok *backend.Token) []exactRow {
	rows := make([]exactRow, len(tok.Top))
	for i, a := range tok.Top {
		r := exactRow{text: a.Text, raw: math.NaN()}
		if a.Logprob.Known() && !math.IsInf(float64(a.Logprob), -1) {
			r.after = a.Logprob.Prob()
		} else {
			r.cut = true
		}
		rows[i] = r
	}
	return rows
}

// sampledRow is the index of the drawn token among tok.Top, -1 when absent.
func sampledRow(tok *backend.Token) int {
	for i, a := range tok.Top {
		if a.Text == tok.Text && (!tok.Logprob.Known() || !a.Logprob.Known() ||
			math.Abs(float64(a.Logprob-tok.Logprob)) <= 1e-6*max(1, math.Abs(float64(tok.Logprob)))) {
			return i
		}
	}
	for i, a := range tok.Top {
		if a.Text == tok.Text {
			return i
		}
	}
	return -1
}

// exactTable draws alternatives whose numbers are exact: with processed values beside
// the raw ones (two columns), or with the claimed processed values alone (one).
func (in *Inspector) exactTable(width, room int, rows []exactRow, two bool, note string) []string {
	s := in.st.Inspector
	tok := in.tok
	sampled := sampledRow(tok)
	const marker, valW = 2, 6
	textW := 4
	for _, r := range rows {
		textW = max(textW, ansi.StringWidth(altLabel(r.text)))
	}
	textW = min(textW, 16, max(4, width/4))
	rest := width - marker - textW - 1
	cols := 1
	if two {
		cols = 2
	}
	barW := max(1, (rest-2*(cols-1))/cols-valW-1)
	rawHead, afterHead := "raw p (model)", "processed p (as drawn)"
	if !two {
		afterHead = "processed p (as drawn, " + string(in.mode) + ")"
	}
	if barW+1+valW < len(rawHead) {
		rawHead, afterHead = "raw p", "drawn p"
	}
	head := strings.Repeat(" ", marker) + pad("alt", textW) + " "
	if two {
		head += pad(rawHead, barW+valW+1) + "  "
	}
	lines := []string{s.Label.Render(head + afterHead)}
	slots := pickRows(len(rows), sampled, room-len(lines))
	notes := fitNotes(in.exactNotes(rows, sampled, note, width), room-len(lines)-len(slots))
	cut := 0
	for _, r := range rows {
		if r.cut {
			cut++
		}
	}
	for _, sl := range slots {
		if sl.more > 0 {
			lines = append(lines, s.Note.Render(moreText(sl.more)))
			continue
		}
		i, r := sl.row, rows[sl.row]
		mark, textSt, barSt := "  ", s.Alt, s.Bar
		if i == sampled {
			mark, textSt, barSt = "▶ ", s.AltSampled, s.BarSampled
		}
		line := textSt.Render(mark) + textSt.Render(pad(ansi.Truncate(altLabel(r.text), textW, "…"), textW)) + " "
		if two {
			line += barSt.Render(pad(bar(r.raw, barW), barW)) + " " + s.Value.Render(pad(fmtProb(r.raw), valW)) + "  "
		}
		switch {
		case r.unknown:
			line += s.Uncertain.Render(pad("not given", barW+1+valW))
		case r.cut:
			line += s.Cut.Render(pad("cut (−inf)", barW+1+valW))
		default:
			line += barSt.Render(pad(bar(r.after, barW), barW)) + " " + s.Value.Render(pad(fmtProb(r.after), valW))
		}
		lines = append(lines, line)
	}
	return append(lines, notes...)
}

// exactNotes say what the exact table shows: the sampled token's share, how many were
// cut, and where the numbers come from.
func (in *Inspector) exactNotes(rows []exactRow, sampled int, note string, width int) [][]string {
	var say []string
	cut := 0
	for _, r := range rows {
		if r.cut {
			cut++
		}
	}
	if cut > 0 {
		say = append(say, fmt.Sprintf("%d of %d shown cut by the sampler (−inf: top_k, top_p, min_p, bad words or min_tokens)", cut, len(rows)))
	}
	if sampled < 0 {
		say = append(say, "sampled token not among the alternatives")
	}
	return in.noteParagraphs(width, strings.Join(say, "; "), note)
}

// logitsLines replace the table when the values are logits: no distribution to draw.
func (in *Inspector) logitsLines(width int) []string {
	note := fmt.Sprintf("the server runs with --logprobs-mode %s: these are logits, not log-probabilities, so no probabilities, ranks by probability or truncation are shown", in.mode)
	var out []string
	for _, l := range wrapNote(note, width) {
		out = append(out, in.st.Inspector.Note.Render(l))
	}
	return out
}
