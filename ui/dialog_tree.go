package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// treeDialog is the branch tree: one node a line (each root, then where each
// branch forked and on which token, with its probability), and the selected
// node's sample under it. enter shows the node as a column.
type treeDialog struct {
	c     *Common
	tree  *explore.Tree
	lines []explore.TreeLine
	pick  picker
}

func newTreeDialog(c *Common, t *explore.Tree, selected int) *treeDialog {
	d := &treeDialog{c: c, tree: t, lines: t.Lines()}
	for i, l := range d.lines {
		if l.Node == selected {
			d.pick.idx = i
		}
	}
	return d
}

func (d *treeDialog) open() tea.Cmd { return nil }

func (d *treeDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case exploreRunMsg:
		d.lines = d.tree.Lines() // a branch made while the tree is open
	case tea.KeyPressMsg:
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(msg, dk.Close):
			return closeDialog{}
		case d.pick.move(msg, dk, len(d.lines)):
		case key.Matches(msg, dk.Accept) && d.pick.idx < len(d.lines):
			return actions{closeDialog{}, showNode{d.lines[d.pick.idx].Node}}
		}
	}
	return nil
}

func (d *treeDialog) draw(r rect) []string {
	in := inner(r)
	st := d.c.Styles.Dialog
	// The list takes the upper part; the selected sample the rest.
	listH := max(1, min(len(d.lines), in.H/2))
	lines := d.pick.lines(d.c.Styles, len(d.lines), listH, func(i int) string {
		return d.tree.Plain(d.lines[i], sanitize.Line)
	})
	for len(lines) < listH {
		lines = append(lines, "")
	}
	lines = append(lines, "")
	if d.pick.idx < len(d.lines) {
		id := d.lines[d.pick.idx].Node
		s := d.tree.Sample(id)
		head := fmt.Sprintf("node %d · depth %d", id, d.tree.Depth(id))
		if n := d.tree.Node(id); n != nil && n.Parent != explore.NoParent {
			head += fmt.Sprintf(" · forked from node %d at token %d", n.Parent, n.Fork)
		}
		lines = append(lines, st.Title.Render(head))
		text := wrapStyled(st.Item, sanitize.Text(s.Content), in.W)
		lines = append(lines, text[:min(len(text), max(0, in.H-len(lines)))]...)
	}
	return dialogBox(d.c, r, fmt.Sprintf("branch tree · %d samples", d.tree.Len()), lines)
}

func (d *treeDialog) helpID() string { return "tree" }

func (d *treeDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, withHelp(k.Accept, "show as a column"), k.Close}
}

func (d *treeDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
