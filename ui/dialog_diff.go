package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// diffDialog aligns two samples token by token: the first divergence and
// every later difference, with the probabilities of both tokens at each.
type diffDialog struct {
	c      *Common
	seqs   []explore.Seq
	a, b   int
	d      *explore.Diff
	scroll scroller
	// body is the drawn differences for the width and theme in bodyKey, nil after a compare.
	body    []string
	bodyKey string
}

// newDiffDialog compares sample a with the one after it; seqs are every
// column's sample.
func newDiffDialog(c *Common, seqs []explore.Seq, a int) *diffDialog {
	d := &diffDialog{c: c, seqs: seqs, a: a, b: (a + 1) % len(seqs)}
	d.compare()
	return d
}

func (d *diffDialog) compare() {
	d.d = explore.Compare(d.seqs[d.a], d.seqs[d.b])
	d.scroll.off, d.body = 0, nil
}

func (d *diffDialog) open() tea.Cmd { return nil }

func (d *diffDialog) handle(msg tea.Msg) action {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	dk := &d.c.Keys.Dialog
	n := len(d.seqs)
	switch {
	case key.Matches(km, dk.Close):
		return closeDialog{}
	case key.Matches(km, dk.Right), key.Matches(km, dk.Left):
		step := 1
		if key.Matches(km, dk.Left) {
			step = n - 1
		}
		for {
			d.b = (d.b + step) % n
			if d.b != d.a {
				break
			}
		}
		d.compare()
	default:
		d.scroll.key(km, d.c)
	}
	return nil
}

func (d *diffDialog) draw(r rect) []string {
	in := inner(r)
	st := d.c.Styles.Dialog
	by := "by their bytes"
	if d.d.ByID {
		by = "by token id"
	}
	diffs := d.d.Differences()
	head := fmt.Sprintf("A = sample #%d (%d tokens), B = sample #%d (%d tokens) · %d difference%s · tokens compared %s",
		d.a+1, len(d.seqs[d.a].Tokens), d.b+1, len(d.seqs[d.b].Tokens), len(diffs), plural(len(diffs)), by)
	lines := append(wrapStyled(st.Title, head, in.W),
		wrapStyled(st.Hint, "at: token positions in A/B · p: each token's raw probability · B's in A's: B's token in A's distribution there", in.W)...)
	lines = append(lines, "")
	if d.body == nil || d.bodyKey != d.c.ThemeKey+"|"+fmt.Sprint(in.W) {
		d.body, d.bodyKey = []string{}, d.c.ThemeKey+"|"+fmt.Sprint(in.W)
		for i, l := range d.d.Lines(sanitize.Line) {
			s := st.Item
			if i == 0 && d.d.First >= 0 {
				s = st.ItemSelected
			}
			d.body = append(d.body, wrapStyled(s, l, in.W)...)
		}
	}
	lines = append(lines, d.scroll.window(d.body, in.H-len(lines))...)
	return dialogBox(d.c, r, "diff of two samples"+d.scroll.where(len(d.body), d.scroll.h), lines)
}

func (d *diffDialog) helpID() string { return "diff" }

func (d *diffDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{withHelp(k.Right, "other sample B"), withHelp(k.Down, "scroll"), k.Close}
}

func (d *diffDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
