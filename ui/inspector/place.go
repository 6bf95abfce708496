package inspector

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// Place is where the shown token sits in its sample's text. vLLM decodes each token on its
// own, so a token holding part of a character reads "\ufffd"; the sample's text has the
// character, and the column draws it once, in the look of its least likely token, with a
// mark. The inspector names the character and each token that makes it.
type Place struct {
	// Shared is the grapheme the token makes together with its neighbours (raw, untrusted),
	// "" when none; the token is Part (from 1) of the Parts that make it, listed in Members.
	Shared      string
	Part, Parts int
	Members     []Member
	// Mark turns on the column's mark for Shared (an escape sequence prefix), "" for none.
	Mark string
	// Bytes are the token's bytes in the text, when found (HaveBytes); Ambiguous when
	// another division of the text into these tokens decodes to the same texts.
	Bytes     string
	HaveBytes bool
	Ambiguous bool
	// Outside says why the token is not in the sample's text ("" when it is).
	Outside string
	// Merged: the server keyed its alternatives by decoded text (completions), and at
	// least this many that decode alike collapsed into one entry.
	Merged int
}

// Member is one of the tokens that make a shared grapheme.
type Member struct {
	Bytes   string
	Logprob backend.Logprob
}

// SetPlace says where the shown token sits; the zero Place says nothing.
func (in *Inspector) SetPlace(p Place) {
	in.place = p
	in.drawnCurrent = false
}

// partial reports an alternative that holds part of a character: vLLM reports it as
// "\ufffd" (or with one among other text).
func partial(text string) bool { return strings.Contains(text, "\ufffd") }

// placeTitle is the shared grapheme in the token's look with the column's mark, a token
// holding part of a character not in the text as the column draws it, or "".
func (in *Inspector) placeTitle() string {
	p := in.place
	if p.Parts < 2 {
		if p.Outside != "" && partial(in.tok.Text) {
			// Part of a character that is not in the text: drawn as the column draws it.
			return in.painter.Render(in.tok, 0, strings.ReplaceAll(sanitize.Visible(in.tok.Text), "\ufffd", "◌"))
		}
		return ""
	}
	shown := in.painter.Render(in.tok, 0, sanitize.Visible(p.Shared))
	if p.Mark != "" {
		shown = p.Mark + shown + "\x1b[m"
	}
	return shown
}

// SetAcrossLabels names what each sample's token at the cursor stands for, where its
// reported text does not say (part of a character); nil or "" entries use the text.
func (in *Inspector) SetAcrossLabels(labels []string) {
	in.acrossLabels = labels
	in.drawnCurrent = false
}

func (in *Inspector) acrossLabel(i int, t *backend.Token) string {
	if i < len(in.acrossLabels) && in.acrossLabels[i] != "" {
		return in.acrossLabels[i]
	}
	return sanitize.Visible(t.Text)
}

// altLabel is an alternative's text as the table shows it.
func altLabel(text string) string {
	if partial(text) {
		return "(part)"
	}
	return sanitize.Visible(text)
}

// placeLines say which character the token is part of, with its tokens, or why it is not
// in the text.
func (in *Inspector) placeLines(width int) []string {
	s := in.st.Inspector
	p := in.place
	var lines []string
	if p.Outside != "" {
		lines = append(lines, s.Note.Render(p.Outside))
	}
	if p.Parts > 1 {
		char := sanitize.Visible(p.Shared)
		lines = append(lines, in.placeTitle()+s.Value.Render(fmt.Sprintf("  token %d of %d of %s", p.Part, p.Parts, char)))
		note := fmt.Sprintf("one grapheme made of %d tokens, drawn once with this mark", p.Parts)
		if partial(in.tok.Text) {
			note += "; alone, this token's bytes read \"\\ufffd\""
		}
		for _, l := range wrapNote(note, width) {
			lines = append(lines, s.Note.Render(l))
		}
		hexW := 0
		for _, m := range p.Members {
			hexW = max(hexW, len(hexBytes(m.Bytes)))
		}
		for i, m := range p.Members {
			mark, st := "  ", s.Alt
			if i == p.Part-1 {
				mark, st = "▶ ", s.AltSampled
			}
			lp, prob := "unknown", "?"
			if m.Logprob.Known() {
				lp = strconv.FormatFloat(float64(m.Logprob), 'f', 3, 64)
				prob = fmtProb(m.Logprob.Prob())
			}
			lines = append(lines, st.Render(mark+strconv.Itoa(i+1)+"  ")+s.Value.Render(pad(hexBytes(m.Bytes), hexW))+
				s.Label.Render("  logprob ")+s.Value.Render(lp)+s.Label.Render("  p ")+s.Value.Render(prob))
		}
	}
	if p.HaveBytes && partial(in.tok.Text) && p.Parts < 2 {
		note := "its bytes in the text"
		if p.Ambiguous {
			note = "its bytes in the text (one of several divisions that decode alike)"
		}
		lines = append(lines, s.Label.Render("bytes ")+s.Value.Render(hexBytes(p.Bytes))+s.Note.Render("  "+note))
	}
	return lines
}

// altNotes explain the table's "(part)" entries and what the server merged.
func (in *Inspector) altNotes(width int) []string {
	s := in.st.Inspector
	hasPart := false
	for _, a := range in.tok.Top {
		hasPart = hasPart || partial(a.Text)
	}
	var notes []string
	if hasPart {
		notes = append(notes, "(part) = part of a character: the server decodes each alternative on its own")
	}
	if in.place.Merged > 0 {
		notes = append(notes, fmt.Sprintf("the server keys alternatives by text: at least %d that decode alike were merged into one entry", in.place.Merged))
	}
	var lines []string
	for _, n := range notes {
		for _, l := range wrapNote(n, width) {
			lines = append(lines, s.Note.Render(l))
		}
	}
	return lines
}

func hexBytes(b string) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", b[i])
	}
	return sb.String()
}
