package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/themes"
)

// A dialog is a window over the prompt and the samples (export, the model
// and preset pickers, a file name, the sessions list). Each is one file: its
// state, its keys and help, its drawing and the actions it returns. The root
// opens it in one line and applies what it returns; it keeps no field for it.
type dialog interface {
	keyHelp
	// open starts the dialog as it comes to the front: a command to run (a
	// folder to list, a cursor to show), or nil.
	open() tea.Cmd
	// handle takes a message: keys and pastes while the dialog is in front,
	// every other message wherever it is (a listing it asked for arriving).
	// It says what the root is to do, or nil.
	handle(msg tea.Msg) action
	// draw draws the dialog into r: exactly r.H lines of r.W cells.
	draw(r rect) []string
}

// action is what a dialog asks of the root.
type action interface{ isAction() }

type (
	// closeDialog closes the dialog that returned it; the one beneath, if
	// any, is in front again.
	closeDialog struct{}
	// runCmd runs a command (a file to write, a folder to list).
	runCmd struct{ cmd tea.Cmd }
	// openDialog opens d in front of the one that returned it.
	openDialog struct{ d dialog }
	// sayStatus puts a line in the status bar.
	sayStatus struct {
		text string
		err  bool
	}
	// chooseModel makes id the model that runs ask for.
	chooseModel struct{ id string }
	// actions are several, applied in order.
	actions []action
)

func (closeDialog) isAction() {}
func (runCmd) isAction()      {}
func (openDialog) isAction()  {}
func (sayStatus) isAction()   {}
func (chooseModel) isAction() {}
func (actions) isAction()     {}

// overlay is the stack of open dialogs; the last is in front and the only
// one drawn and given keys.
type overlay struct{ stack []dialog }

func (o *overlay) empty() bool { return len(o.stack) == 0 }

func (o *overlay) front() dialog {
	if len(o.stack) == 0 {
		return nil
	}
	return o.stack[len(o.stack)-1]
}

func (o *overlay) push(d dialog) { o.stack = append(o.stack, d) }

// remove closes d wherever it is in the stack.
func (o *overlay) remove(d dialog) {
	for i, x := range o.stack {
		if x == d {
			o.stack = append(o.stack[:i:i], o.stack[i+1:]...)
			return
		}
	}
}

func (o *overlay) clear() { o.stack = nil }

// open brings d to the front.
func (m *Model) open(d dialog) tea.Cmd {
	m.overlay.push(d)
	return d.open()
}

// apply does what dialog d asked.
func (m *Model) apply(d dialog, a action) tea.Cmd {
	switch a := a.(type) {
	case closeDialog:
		m.overlay.remove(d)
	case runCmd:
		return a.cmd
	case openDialog:
		return m.open(a.d)
	case sayStatus:
		m.setStatus(a.text, a.err)
	case chooseModel:
		m.modelName = a.id
		m.setStatus("model: "+a.id, false)
	case showNode:
		m.showNode(a.id)
	case actions:
		var cmds []tea.Cmd
		for _, x := range a {
			cmds = append(cmds, m.apply(d, x))
		}
		return tea.Batch(cmds...)
	}
	return nil
}

// toFront gives the dialog in front a key or a paste.
func (m *Model) toFront(msg tea.Msg) tea.Cmd {
	d := m.overlay.front()
	return m.apply(d, d.handle(msg))
}

// toDialogs gives every open dialog a message that is not input: each takes
// what it asked for and leaves the rest.
func (m *Model) toDialogs(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, d := range append([]dialog(nil), m.overlay.stack...) {
		cmds = append(cmds, m.apply(d, d.handle(msg)))
	}
	return tea.Batch(cmds...)
}

// noFilesMsg is how a dialog refuses what needs files in a program with no
// store.
const noFilesMsg = "files are off in this session (sessions, presets and exports to file); x then c copies an export"

// picker is a dialog's list selection.
type picker struct{ idx int }

// move moves the selection over a list of n items on up and down; false
// when msg is neither.
func (p *picker) move(msg tea.KeyPressMsg, d *DialogKeys, n int) bool {
	switch {
	case key.Matches(msg, d.Up):
		p.idx = max(0, p.idx-1)
	case key.Matches(msg, d.Down):
		p.idx = min(max(0, n-1), p.idx+1)
	default:
		return false
	}
	return true
}

// lines draws at most h items of n, keeping the selection in view.
func (p *picker) lines(st *themes.Styles, n, h int, label func(int) string) []string {
	first := 0
	if h > 0 && p.idx >= h {
		first = p.idx - h + 1
	}
	var out []string
	for i := first; i < n && len(out) < max(1, h); i++ {
		s := st.Dialog.Item
		mark := "  "
		if i == p.idx {
			s, mark = st.Dialog.ItemSelected, "▸ "
		}
		out = append(out, s.Render(mark+label(i)))
	}
	return out
}

// dialogBox frames a dialog's lines into r.
func dialogBox(c *Common, r rect, title string, lines []string) []string {
	in := inner(r)
	return c.frames.frame(r, title, true, textLines(strings.Join(lines, "\n"), in.W, in.H))
}
