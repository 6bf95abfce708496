package ui

import (
	"fmt"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// forkDialog lists the alternatives the server returned at one token of a
// sample; choosing one forks a new sample that continues from the text before
// the token with the chosen one in its place, with the current parameters.
type forkDialog struct {
	c    *Common
	pick picker
	tok  backend.Token
	pos  int
	// before is the text of the tokens just before it, for context.
	before string
	alts   []backend.Alt
	fork   func(backend.Alt) action
}

func newForkDialog(c *Common, toks []backend.Token, pos int, fork func(backend.Alt) action) *forkDialog {
	tok := toks[pos]
	d := &forkDialog{c: c, tok: tok, pos: pos, fork: fork}
	for _, t := range toks[max(0, pos-forkContext):pos] {
		d.before += t.Text
	}
	for _, a := range tok.Top {
		if a.Text != tok.Text {
			d.alts = append(d.alts, a)
		}
	}
	return d
}

func (d *forkDialog) open() tea.Cmd { return nil }

func (d *forkDialog) handle(msg tea.Msg) action {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	dk := &d.c.Keys.Dialog
	switch {
	case key.Matches(km, dk.Close):
		return closeDialog{}
	case d.pick.move(km, dk, len(d.alts)):
	case key.Matches(km, dk.Accept) && d.pick.idx < len(d.alts):
		return d.fork(d.alts[d.pick.idx])
	}
	return nil
}

func (d *forkDialog) draw(r rect) []string {
	in := inner(r)
	st := d.c.Styles.Dialog
	lines := append(wrapStyled(st.Hint, fmt.Sprintf("token %d, after …%s, the model sampled %s", d.pos, sanitize.Line(strconv.Quote(d.before)), tokenWords(d.tok.Text, d.tok.Logprob)), in.W),
		wrapStyled(st.Hint, "the new samples continue from the text before it with the one chosen in its place, with the current parameters", in.W)...)
	lines = append(lines, "")
	if len(d.alts) == 0 {
		lines = append(lines, st.Hint.Render("no other token was returned here (raise logprobs to see more)"))
	}
	lines = append(lines, d.pick.lines(d.c.Styles, len(d.alts), max(1, in.H-len(lines)), func(i int) string {
		a := d.alts[i]
		return tokenWords(a.Text, a.Logprob)
	})...)
	return dialogBox(d.c, r, fmt.Sprintf("fork at token %d · enter forks", d.pos), lines)
}

// forkContext is how many tokens before the fork the dialog quotes.
const forkContext = 8

// tokenWords is a token quoted on one line with its probability: p of the
// model's raw distribution at that position.
func tokenWords(text string, lp backend.Logprob) string {
	s := fmt.Sprintf("%q", text)
	s = sanitize.Line(s)
	if lp.Known() {
		s += fmt.Sprintf("  p=%.3g", lp.Prob())
	}
	return s
}

func (d *forkDialog) helpID() string { return "fork" }

func (d *forkDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, withHelp(k.Accept, "fork on it"), k.Close}
}

func (d *forkDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

// withHelp is b with another description, for a dialog where enter means
// more than "choose".
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}
