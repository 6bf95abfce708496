package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// targetsDialog picks which of the program's compare targets the next runs
// go to: space toggles one, enter keeps the choice. The targets themselves
// come from the program's flags only; the dialog cannot add one, so a
// session that may not choose endpoints (an SSH viewer) cannot reach others.
type targetsDialog struct {
	c       *Common
	pick    picker
	targets []backend.Target
	on      []bool
}

// chooseTargets makes on the targets the runs go to.
type chooseTargets struct{ on []bool }

func (chooseTargets) isAction() {}

func newTargetsDialog(c *Common, targets []backend.Target, on []bool) *targetsDialog {
	return &targetsDialog{c: c, targets: targets, on: append([]bool(nil), on...)}
}

func (d *targetsDialog) open() tea.Cmd { return nil }

func (d *targetsDialog) handle(msg tea.Msg) action {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	dk := &d.c.Keys.Dialog
	switch {
	case key.Matches(k, dk.Close):
		return closeDialog{}
	case d.pick.move(k, dk, len(d.targets)):
	case key.Matches(k, dk.Toggle):
		d.on[d.pick.idx] = !d.on[d.pick.idx]
	case key.Matches(k, dk.Accept):
		n := 0
		for _, o := range d.on {
			if o {
				n++
			}
		}
		if n == 0 {
			return sayStatus{"choose at least one target (space toggles)", true}
		}
		return actions{closeDialog{}, chooseTargets{d.on}}
	}
	return nil
}

func (d *targetsDialog) draw(r rect) []string {
	in := inner(r)
	hint := d.c.Styles.Dialog.Hint
	lines := []string{hint.Render("runs go to every checked target at once, same prompt, parameters and seed"), ""}
	lines = append(lines, d.pick.lines(d.c.Styles, len(d.targets), in.H-4, func(i int) string {
		t := d.targets[i]
		box := "[ ]"
		if d.on[i] {
			box = "[x]"
		}
		model := t.Model
		if model == "" {
			model = "the model picked (ctrl+l)"
			if i > 0 {
				model = "the server's first model"
			}
		}
		return fmt.Sprintf("%s %s  %s  %s", box, sanitize.Line(t.Name), sanitize.Line(t.Endpoint), sanitize.Line(model))
	})...)
	lines = append(lines, "", hint.Render("space toggles · enter keeps · targets come from --compare NAME=URL,MODEL"))
	return dialogBox(d.c, r, "compare targets", lines)
}

func (d *targetsDialog) helpID() string { return "targets" }

func (d *targetsDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, k.Toggle, k.Accept, k.Close}
}

func (d *targetsDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
