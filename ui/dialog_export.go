package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// exportDialog shows the screen's parameters as code in each of params'
// formats: c copies one (OSC 52), w writes it to a file. The format shown
// last is shown again when it reopens (Common.exportTab).
type exportDialog struct {
	c *Common
	// text is the export of what the screen holds now, in a format.
	text func(format string) (string, error)
}

func newExportDialog(c *Common, text func(format string) (string, error)) *exportDialog {
	return &exportDialog{c: c, text: text}
}

func (d *exportDialog) format() string {
	f := params.Formats()
	return f[d.c.exportTab%len(f)]
}

func (d *exportDialog) open() tea.Cmd { return nil }

func (d *exportDialog) handle(msg tea.Msg) action {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	dk, n := &d.c.Keys.Dialog, len(params.Formats())
	switch {
	case key.Matches(k, dk.Close):
		return closeDialog{}
	case key.Matches(k, dk.Left), key.Matches(k, d.c.Keys.Global.Prev):
		d.c.exportTab = (d.c.exportTab + n - 1) % n
	case key.Matches(k, dk.Right), key.Matches(k, d.c.Keys.Global.Next):
		d.c.exportTab = (d.c.exportTab + 1) % n
	case key.Matches(k, dk.Copy):
		text, err := d.text(d.format())
		if err != nil {
			return sayStatus{"export: " + err.Error(), true}
		}
		// The only place twinkle writes the clipboard: on this key.
		return actions{sayStatus{"copied " + d.format() + " export to the clipboard (OSC 52)", false}, runCmd{tea.SetClipboard(text)}}
	case pressed(k, dk.Write):
		if d.c.Store == nil {
			return sayStatus{noFilesMsg, true}
		}
		f := d.format()
		return openDialog{newFileDialog(d.c, "write export to", "", d.c.Store.WorkPath("twinkle-"+f+"."+exportExt(f)), func(path string) action {
			text, err := d.text(f)
			if err != nil {
				return sayStatus{"export: " + err.Error(), true}
			}
			return runCmd{writeExportCmd(path, text)}
		})}
	}
	return nil
}

func writeExportCmd(path, text string) tea.Cmd {
	return func() tea.Msg {
		if err := store.WriteFileAtomic(path, []byte(text)); err != nil {
			return statusMsg{"export: " + err.Error(), true}
		}
		return statusMsg{"export written to " + path, false}
	}
}

// exportExt is the file extension an export format is written with.
func exportExt(format string) string {
	switch format {
	case "openai":
		return "json"
	case "curl":
		return "sh"
	}
	return "py"
}

func (d *exportDialog) draw(r rect) []string {
	st := d.c.Styles
	in := inner(r)
	var tabs []string
	for i, f := range params.Formats() {
		s := st.Export.Tab
		if i == d.c.exportTab%len(params.Formats()) {
			s = st.Export.TabActive
		}
		tabs = append(tabs, s.Render(" "+f+" "))
	}
	lines := []string{strings.Join(tabs, " "), ""}
	text, err := d.text(d.format())
	if err != nil {
		lines = append(lines, wrapStyled(st.Slider.Invalid, "cannot export: "+sanitize.Line(err.Error()), in.W)...)
	} else {
		for _, l := range strings.Split(strings.TrimRight(sanitize.Text(text), "\n"), "\n") {
			lines = append(lines, st.Export.Code.Render(ansi.Truncate(l, in.W, "…")))
		}
	}
	return dialogBox(d.c, r, "export parameters", lines)
}

func (d *exportDialog) helpID() string { return "export" }

func (d *exportDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Left, k.Right, k.Copy, k.Write, k.Close}
}

func (d *exportDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
