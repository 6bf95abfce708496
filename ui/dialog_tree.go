package ui

import (
	"encoding/json"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/params"
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
		case key.Matches(msg, dk.Copy) && d.pick.idx < len(d.lines):
			id := d.lines[d.pick.idx].Node
			return actions{sayStatus{fmt.Sprintf("copied node %d's exact prompt (request JSON fields) to the clipboard (OSC 52)", id), false},
				runCmd{tea.SetClipboard(branchPromptJSON(d.tree.BranchPrompt(id)))}}
		case pressed(msg, dk.Write) && d.pick.idx < len(d.lines):
			if d.c.Store == nil {
				return sayStatus{noFilesMsg, true}
			}
			id := d.lines[d.pick.idx].Node
			text := branchPromptJSON(d.tree.BranchPrompt(id))
			return openDialog{newFileDialog(d.c, "write the branch's prompt to", "", d.c.Store.WorkPath(fmt.Sprintf("twinkle-branch-%d.json", id)), func(path string) action {
				return runCmd{writeExportCmd(path, text)}
			})}
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
	return []key.Binding{k.Up, k.Down, withHelp(k.Accept, "show as a column"), withHelp(k.Copy, "copy its prompt"), withHelp(k.Write, "write its prompt"), k.Close}
}

func (d *treeDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

// branchPromptJSON is a branch's prompt exactly as it was sent, as the fields
// of a vLLM request body: the prompt (token ids when they went as ids) for
// /v1/completions, or the messages with continue_final_message for
// /v1/chat/completions.
func branchPromptJSON(p explore.Prompt) string {
	body := map[string]any{}
	switch {
	case p.API == params.Chat:
		body["messages"] = p.Messages
		if p.Continue {
			body["continue_final_message"], body["add_generation_prompt"] = true, false
		}
	case p.IDs != nil:
		body["prompt"] = p.IDs
	default:
		body["prompt"] = p.Text
	}
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		return ""
	}
	return string(b) + "\n"
}
