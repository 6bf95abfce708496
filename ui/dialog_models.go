package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// modelsDialog picks the model runs ask for from those the server lists;
// the list is asked for again as it opens and follows the answer.
type modelsDialog struct {
	c      *Common
	pick   picker
	models []backend.Model
	// failed is why the server could not list its models ("" when it could).
	failed string
}

func newModelsDialog(c *Common, models []backend.Model, current, failed string) *modelsDialog {
	d := &modelsDialog{c: c, models: models, failed: failed}
	for i, mo := range models {
		if mo.ID == current {
			d.pick.idx = i
		}
	}
	return d
}

func (d *modelsDialog) open() tea.Cmd { return nil }

func (d *modelsDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case modelsMsg:
		if msg.err != nil {
			d.failed = sanitize.Line(msg.err.Error())
			return nil
		}
		d.models, d.failed = msg.models, ""
	case tea.KeyPressMsg:
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(msg, dk.Close):
			return closeDialog{}
		case d.pick.move(msg, dk, len(d.models)):
		case key.Matches(msg, dk.Accept):
			if d.pick.idx < len(d.models) {
				return actions{chooseModel{d.models[d.pick.idx].ID}, closeDialog{}}
			}
			return closeDialog{}
		}
	}
	return nil
}

func (d *modelsDialog) draw(r rect) []string {
	in := inner(r)
	var lines []string
	if len(d.models) == 0 {
		msg := "no models listed yet"
		if d.failed != "" {
			msg = "could not list models: " + d.failed
		}
		lines = append(lines, d.c.Styles.Dialog.Hint.Render(msg))
	}
	lines = append(lines, d.pick.lines(d.c.Styles, len(d.models), in.H, func(i int) string {
		s := sanitize.Line(d.models[i].ID)
		if d.models[i].MaxModelLen > 0 {
			s += fmt.Sprintf("  (context %d)", d.models[i].MaxModelLen)
		}
		return s
	})...)
	return dialogBox(d.c, r, "pick a model", lines)
}

func (d *modelsDialog) helpID() string { return "models" }

func (d *modelsDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, k.Accept, k.Close}
}

func (d *modelsDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
