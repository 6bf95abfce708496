package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// sessionsDialog opens a session file: it lists those in the store's work
// folder, newest first (name, age, prompt, samples, model); the arrows pick
// one, letters type a path. The newest, or the one on screen, is offered.
type sessionsDialog struct {
	c     *Common
	input textinput.Model
	// offered is what the input was last given rather than typed.
	offered string
	// shown is the session file on screen, offered first when listed.
	shown string
	pick  picker
	dir   string // "" until listed
	list  []store.SessionInfo
	err   string
}

type sessionsListedMsg struct {
	dir     string
	entries []store.SessionInfo
	err     error
}

func newSessionsDialog(c *Common, shown string) *sessionsDialog {
	d := &sessionsDialog{c: c, shown: shown, input: newTextInput(c.Styles)}
	d.input.Placeholder = "path to a session file"
	return d
}

func (d *sessionsDialog) open() tea.Cmd {
	st := d.c.Store
	return tea.Batch(d.input.Focus(), func() tea.Msg {
		dir, list, err := st.Sessions()
		return sessionsListedMsg{dir: dir, entries: list, err: err}
	})
}

// offer puts a path in the input, as offered (not typed).
func (d *sessionsDialog) offer(path string) {
	d.input.SetValue(path)
	d.input.CursorEnd()
	d.offered = path
}

func (d *sessionsDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case sessionsListedMsg:
		d.list, d.dir, d.err = msg.entries, msg.dir, ""
		if msg.err != nil {
			d.err = msg.err.Error()
		}
		d.pick.idx = 0
		for i, e := range d.list {
			if e.Path == d.shown {
				d.pick.idx = i
			}
		}
		// Unless a path is being typed already.
		if d.input.Value() == d.offered && len(d.list) > 0 {
			d.offer(d.list[d.pick.idx].Path)
		}
		return nil
	case tea.KeyPressMsg:
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(msg, dk.Close):
			return closeDialog{}
		case key.Matches(msg, dk.Accept):
			path := strings.TrimSpace(d.input.Value())
			if path == "" {
				return sayStatus{"a file name is needed", true}
			}
			return actions{closeDialog{}, runCmd{loadSessionCmd(path)}}
		case msg.Text == "" && d.pick.move(msg, dk, len(d.list)):
			// The arrows pick (letters such as j and k type).
			if len(d.list) > 0 {
				d.offer(d.list[d.pick.idx].Path)
			}
			return nil
		}
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return runCmd{cmd}
}

func (d *sessionsDialog) draw(r rect) []string {
	in := inner(r)
	d.input.SetWidth(max(1, in.W-3))
	lines := []string{"", "> " + d.input.View(), "",
		d.c.Styles.Dialog.Hint.Render("↑↓ pick a session below or type a path; enter opens it, esc goes back"), ""}
	lines = append(lines, d.listLines(in.W, in.H-len(lines))...)
	return dialogBox(d.c, r, "open session", lines)
}

// listLines is the list of session files in w cells and h lines.
func (d *sessionsDialog) listLines(w, h int) []string {
	dim := d.c.Styles.Dialog.Hint
	switch {
	case d.err != "":
		return wrapStyled(d.c.Styles.Slider.InvalidMsg, "cannot list "+sanitize.Line(d.dir)+": "+sanitize.Line(d.err), w)
	case d.dir == "":
		return []string{dim.Render("listing sessions…")}
	case len(d.list) == 0:
		return []string{dim.Render(ansi.Truncate("no sessions in "+sanitize.Line(d.dir)+" yet (ctrl+s saves one)", w, "…"))}
	}
	out := []string{dim.Render(ansi.Truncate(fmt.Sprintf("sessions in %s, newest first:", sanitize.Line(d.dir)), w, "…"))}
	return append(out, d.pick.lines(d.c.Styles, len(d.list), max(1, h-1), func(i int) string {
		e := d.list[i]
		label := fmt.Sprintf("%s · %s · %q · %d sample%s · %s", e.Name, ago(d.c.Now(), e.Saved), e.Prompt, e.Samples, plural(e.Samples), e.Model)
		return ansi.Truncate(sanitize.Line(label), max(1, w-2), "…")
	})...)
}

// ago says how long before now t was, in the largest whole unit.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "at an unknown time"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2006-01-02")
}

func (d *sessionsDialog) helpID() string { return "sessions" }

func (d *sessionsDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, k.Accept, k.Close}
}

func (d *sessionsDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
