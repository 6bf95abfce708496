package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// maxMerged is how many samples the merged tree shows: beyond it the lines
// stop reading as one picture.
const maxMerged = 16

// mergedDialog shows the run's samples as one prefix tree of their tokens:
// each edge with how many samples took it, their share of those that reached
// it and the model's probability of its first token, collapsed where all
// agree, so the first split and the size of each branch read at once.
type mergedDialog struct {
	c      *Common
	m      *explore.Merged
	lines  []explore.MergedLine
	of     int // samples in the run
	scroll scroller
	// body is the drawn lines for the width and theme in bodyKey.
	body    []string
	bodyKey string
}

func newMergedDialog(c *Common, seqs []explore.Seq) *mergedDialog {
	d := &mergedDialog{c: c, of: len(seqs)}
	d.m = explore.Merge(seqs[:min(len(seqs), maxMerged)])
	d.lines = d.m.Lines()
	return d
}

func (d *mergedDialog) open() tea.Cmd { return nil }

func (d *mergedDialog) handle(msg tea.Msg) action {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if key.Matches(km, d.c.Keys.Dialog.Close) {
		return closeDialog{}
	}
	d.scroll.key(km, d.c)
	return nil
}

func (d *mergedDialog) draw(r rect) []string {
	in := inner(r)
	st := d.c.Styles.Dialog
	head := fmt.Sprintf("%d samples", d.m.N)
	if d.of > d.m.N {
		head = fmt.Sprintf("the first %d of %d samples", d.m.N, d.of)
	}
	if fs := d.m.FirstSplit(); fs >= 0 {
		head += fmt.Sprintf(" · first split at token %d", fs)
	} else {
		head += " · all the same"
	}
	lines := append(wrapStyled(st.Title, head, in.W),
		wrapStyled(st.Hint, "×n: samples on the edge · %: their share of those that reached it · p: the model's raw probability of its first token (before temperature and truncation)", in.W)...)
	if d.body == nil || d.bodyKey != d.c.ThemeKey+"|"+fmt.Sprint(in.W) {
		d.body, d.bodyKey = make([]string, len(d.lines)), d.c.ThemeKey+"|"+fmt.Sprint(in.W)
		for i, l := range d.lines {
			room := in.W - ansi.StringWidth(l.Indent) - 22
			d.body[i] = st.Item.Render(l.Plain(sanitize.Line, max(8, room)))
		}
	}
	lines = append(lines, d.scroll.window(d.body, in.H-len(lines))...)
	return dialogBox(d.c, r, "merged tree of the samples"+d.scroll.where(len(d.body), d.scroll.h), lines)
}

func (d *mergedDialog) helpID() string { return "merged" }

func (d *mergedDialog) ShortHelp() []key.Binding {
	k, s := &d.c.Keys.Dialog, &d.c.Keys.Samples
	return []key.Binding{withHelp(k.Down, "scroll"), s.PageDown, k.Close}
}

func (d *mergedDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

// scroller scrolls a dialog's lines.
type scroller struct{ off, h, n int }

// key scrolls on up, down and the page keys.
func (s *scroller) key(msg tea.KeyPressMsg, c *Common) {
	dk, sk := &c.Keys.Dialog, &c.Keys.Samples
	page := max(1, s.h-1)
	switch {
	case key.Matches(msg, dk.Up):
		s.off--
	case key.Matches(msg, dk.Down):
		s.off++
	case key.Matches(msg, sk.PageUp):
		s.off -= page
	case key.Matches(msg, sk.PageDown):
		s.off += page
	case key.Matches(msg, sk.Top):
		s.off = 0
	case key.Matches(msg, sk.Bottom):
		s.off = s.n
	}
	s.clamp()
}

func (s *scroller) clamp() { s.off = max(0, min(s.off, s.n-s.h)) }

// window is the h lines of body in view.
func (s *scroller) window(body []string, h int) []string {
	s.h, s.n = max(1, h), len(body)
	s.clamp()
	return body[s.off:min(len(body), s.off+s.h)]
}

// where says which lines are in view when not all are.
func (s *scroller) where(n, h int) string {
	if n <= h || s.h == 0 {
		return ""
	}
	return fmt.Sprintf(" · lines %d-%d of %d", s.off+1, min(n, s.off+s.h), n)
}
