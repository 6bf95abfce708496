package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// presetsDialog lists the presets in the config folder: enter loads one (the
// root applies it, presetLoadedMsg), s saves the current parameters as one.
type presetsDialog struct {
	c     *Common
	pick  picker
	dir   string
	names []string
	// save saves the parameters on screen as the preset called name.
	save func(name string) tea.Cmd
}

type (
	presetsListedMsg struct {
		dir   string
		names []string
		err   error
	}
	presetLoadedMsg struct {
		name string
		p    store.Preset
		err  error
	}
)

func newPresetsDialog(c *Common, save func(name string) tea.Cmd) *presetsDialog {
	return &presetsDialog{c: c, save: save}
}

func (d *presetsDialog) open() tea.Cmd { return listPresetsCmd(d.c.Store) }

func listPresetsCmd(st *store.Store) tea.Cmd {
	return func() tea.Msg {
		dir, names, err := st.Presets()
		return presetsListedMsg{dir: dir, names: names, err: err}
	}
}

func loadPresetCmd(st *store.Store, name string) tea.Cmd {
	return func() tea.Msg {
		p, err := st.LoadPreset(name)
		return presetLoadedMsg{name: name, p: p, err: err}
	}
}

func (d *presetsDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case presetsListedMsg:
		d.names, d.dir = msg.names, msg.dir
		d.pick.idx = min(d.pick.idx, max(0, len(d.names)-1))
		if msg.err != nil {
			return sayStatus{msg.err.Error(), true}
		}
	case presetLoadedMsg:
		if msg.err == nil {
			return closeDialog{} // the root has applied it
		}
	case tea.KeyPressMsg:
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(msg, dk.Close):
			return closeDialog{}
		case d.pick.move(msg, dk, len(d.names)):
		case key.Matches(msg, dk.Accept):
			if d.pick.idx < len(d.names) {
				return runCmd{loadPresetCmd(d.c.Store, d.names[d.pick.idx])}
			}
		case pressed(msg, dk.SavePreset):
			if d.c.Store == nil {
				return sayStatus{noFilesMsg, true}
			}
			return openDialog{newFileDialog(d.c, "save preset as (name)", "", "", func(name string) action {
				return runCmd{tea.Sequence(d.save(name), listPresetsCmd(d.c.Store))}
			})}
		}
	}
	return nil
}

func (d *presetsDialog) draw(r rect) []string {
	in := inner(r)
	dim := d.c.Styles.Dialog.Hint
	lines := []string{dim.Render(ansi.Truncate("in "+sanitize.Line(d.dir), in.W, "…")), ""}
	if len(d.names) == 0 {
		lines = append(lines, dim.Render("no presets yet: press s to save the current parameters"))
	}
	lines = append(lines, d.pick.lines(d.c.Styles, len(d.names), in.H-2, func(i int) string { return d.names[i] })...)
	return dialogBox(d.c, r, "presets", lines)
}

func (d *presetsDialog) helpID() string { return "presets" }

func (d *presetsDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Up, k.Down, k.Accept, k.SavePreset, k.Close}
}

func (d *presetsDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
