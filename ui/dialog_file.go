package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// fileDialog asks for a file name or path (to save a session, write an
// export, name a preset); enter hands it to accept, esc goes back to what
// was open before.
type fileDialog struct {
	c      *Common
	title  string
	input  textinput.Model
	accept func(path string) action
}

func newFileDialog(c *Common, title, placeholder, initial string, accept func(path string) action) *fileDialog {
	d := &fileDialog{c: c, title: title, input: newTextInput(c.Styles), accept: accept}
	d.input.Placeholder = placeholder
	d.input.SetValue(initial)
	d.input.CursorEnd()
	return d
}

func (d *fileDialog) open() tea.Cmd { return d.input.Focus() }

func (d *fileDialog) handle(msg tea.Msg) action {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(k, dk.Close):
			return closeDialog{}
		case key.Matches(k, dk.Accept):
			path := strings.TrimSpace(d.input.Value())
			if path == "" {
				return sayStatus{"a file name is needed", true}
			}
			return actions{closeDialog{}, d.accept(path)}
		}
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return runCmd{cmd}
}

func (d *fileDialog) draw(r rect) []string {
	in := inner(r)
	d.input.SetWidth(max(1, in.W-3))
	return dialogBox(d.c, r, d.title, []string{"", "> " + d.input.View(), "", d.c.Styles.Dialog.Hint.Render("enter to confirm, esc to go back")})
}

func (d *fileDialog) helpID() string { return "file" }

func (d *fileDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Accept, k.Close}
}

func (d *fileDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
