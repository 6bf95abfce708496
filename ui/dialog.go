package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// exportTarget describes the current screen for params' exporters.
func (m *Model) exportTarget() params.Target {
	t := params.Target{API: m.api, Model: m.modelName, Prompt: m.prompt.Value(), Options: m.panel.O}
	// Only a URL is an address a curl command can reach; the built-in model ("local")
	// is left to params' default, where `twinkle serve-model` listens.
	if strings.HasPrefix(m.c.Endpoint, "http://") || strings.HasPrefix(m.c.Endpoint, "https://") {
		t.Endpoint = strings.TrimSuffix(m.c.Endpoint, "/")
		if !strings.HasSuffix(t.Endpoint, "/v1") {
			t.Endpoint += "/v1"
		}
	}
	if m.api == params.Chat {
		t.System = m.system.Value()
	}
	return t
}

// exportParams returns the parameters an export shows: with an unlocked seed,
// the seed the last run drew, so the export reproduces what is on screen.
func (m *Model) exportParams() params.SamplingParams {
	p := m.panel.P.Clone()
	if !m.panel.SeedLocked && p.Seed == nil && m.seedRun != nil {
		s := *m.seedRun
		p.Seed = &s
	}
	return p
}

func (m *Model) exportText() (string, error) {
	f := params.Formats()
	return params.Export(f[m.exportTab%len(f)], m.exportParams(), m.exportTarget())
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

func (m *Model) openFileDialog(act fileAction, initial string, ret modalKind) {
	m.modal, m.fileAct, m.fileReturn = modalFile, act, ret
	m.fileInput.Placeholder = ""
	if act == fileOpenSession {
		m.fileInput.Placeholder = "path to a session file"
	}
	m.setFileInput(initial)
}

// setFileInput puts a path in the file dialog's input, as offered (not typed).
func (m *Model) setFileInput(path string) {
	m.fileInput.SetValue(path)
	m.fileInput.CursorEnd()
	m.fileInitial = path
}

func (m *Model) handleModalKey(msg tea.KeyPressMsg) tea.Cmd {
	d := &m.c.Keys.Dialog
	if m.modal == modalFile {
		switch {
		case key.Matches(msg, d.Close):
			m.modal = m.fileReturn
			return nil
		case key.Matches(msg, d.Accept):
			return m.acceptFile(strings.TrimSpace(m.fileInput.Value()))
		case m.fileAct == fileOpenSession && msg.Text == "" && (key.Matches(msg, d.Up) || key.Matches(msg, d.Down)):
			// The arrows pick from the listed sessions (letters type).
			if m.movePick(msg, len(m.sessions)) && len(m.sessions) > 0 {
				m.setFileInput(m.sessions[m.pickIdx].path)
			}
			return nil
		}
		var cmd tea.Cmd
		m.fileInput, cmd = m.fileInput.Update(msg)
		return cmd
	}
	if key.Matches(msg, d.Close) {
		m.modal = modalNone
		return nil
	}
	switch m.modal {
	case modalExport:
		n := len(params.Formats())
		switch {
		case key.Matches(msg, d.Left), key.Matches(msg, m.c.Keys.Global.Prev):
			m.exportTab = (m.exportTab + n - 1) % n
		case key.Matches(msg, d.Right), key.Matches(msg, m.c.Keys.Global.Next):
			m.exportTab = (m.exportTab + 1) % n
		case key.Matches(msg, d.Copy):
			text, err := m.exportText()
			if err != nil {
				m.setStatus("export: "+err.Error(), true)
				return nil
			}
			m.setStatus("copied "+params.Formats()[m.exportTab]+" export to the clipboard (OSC 52)", false)
			// The only place twinkle writes the clipboard: on this key.
			return tea.SetClipboard(text)
		case key.Matches(msg, d.Write):
			if m.cfg.NoFiles {
				m.setStatus(noFilesMsg, true)
				return nil
			}
			f := params.Formats()[m.exportTab]
			m.openFileDialog(fileWriteExport, filepath.Join(m.cfg.Dir, "twinkle-"+f+"."+exportExt(f)), modalExport)
			return m.fileInput.Focus()
		}
	case modalModels:
		switch {
		case m.movePick(msg, len(m.models)):
		case key.Matches(msg, d.Accept):
			if m.pickIdx < len(m.models) {
				m.modelName = m.models[m.pickIdx].ID
				m.setStatus("model: "+m.modelName, false)
			}
			m.modal = modalNone
		}
	case modalPresets:
		switch {
		case m.movePick(msg, len(m.presets)):
		case key.Matches(msg, d.Accept):
			if m.pickIdx < len(m.presets) {
				return m.loadPresetCmd(m.presets[m.pickIdx])
			}
		case key.Matches(msg, d.SavePreset):
			if m.cfg.NoFiles {
				m.setStatus(noFilesMsg, true)
				return nil
			}
			m.openFileDialog(fileSavePreset, "", modalPresets)
			return m.fileInput.Focus()
		}
	}
	return nil
}

// movePick moves a picker's selection over a list of n items on up and down;
// false when msg is neither.
func (m *Model) movePick(msg tea.KeyPressMsg, n int) bool {
	d := &m.c.Keys.Dialog
	switch {
	case key.Matches(msg, d.Up):
		m.pickIdx = max(0, m.pickIdx-1)
	case key.Matches(msg, d.Down):
		m.pickIdx = min(max(0, n-1), m.pickIdx+1)
	default:
		return false
	}
	return true
}

func (m *Model) acceptFile(path string) tea.Cmd {
	if path == "" {
		m.setStatus("a file name is needed", true)
		return nil
	}
	act := m.fileAct
	m.modal = m.fileReturn
	switch act {
	case fileSaveSession:
		return saveSessionCmd(m.snapshot(), path)
	case fileOpenSession:
		return loadSessionCmd(path)
	case fileWriteExport:
		text, err := m.exportText()
		if err != nil {
			m.setStatus("export: "+err.Error(), true)
			return nil
		}
		return func() tea.Msg {
			if err := writeFileAtomic(path, []byte(text)); err != nil {
				return statusMsg{"export: " + err.Error(), true}
			}
			return statusMsg{"export written to " + path, false}
		}
	case fileSavePreset:
		return tea.Sequence(m.savePresetCmd(path), m.listPresets())
	}
	return nil
}

// renderDialog draws the open dialog in area (the right side of the body).
func (m *Model) renderDialog(area Rect) []string {
	st := m.c.Styles.Dialog
	in := inner(area)
	var lines []string
	title := ""
	switch m.modal {
	case modalExport:
		title = "export parameters"
		var tabs []string
		for i, f := range params.Formats() {
			s := st.Tab
			if i == m.exportTab {
				s = st.TabSelected
			}
			tabs = append(tabs, s.Render(" "+f+" "))
		}
		lines = append(lines, strings.Join(tabs, " "), "")
		text, err := m.exportText()
		if err != nil {
			lines = append(lines, wrapStyled(m.c.Styles.Slider.Invalid, "cannot export: "+sanitize.Line(err.Error()), in.W)...)
		} else {
			for _, l := range strings.Split(strings.TrimRight(sanitize.Text(text), "\n"), "\n") {
				lines = append(lines, st.Code.Render(ansi.Truncate(l, in.W, "…")))
			}
		}
	case modalModels:
		title = "pick a model"
		if len(m.models) == 0 {
			msg := "no models listed yet"
			if m.conn == connFailed {
				msg = "could not list models: " + m.connErr
			}
			lines = append(lines, m.c.Styles.App.Dim.Render(msg))
		}
		lines = append(lines, m.pickList(len(m.models), in.H, func(i int) string {
			s := sanitize.Line(m.models[i].ID)
			if m.models[i].MaxModelLen > 0 {
				s += fmt.Sprintf("  (context %d)", m.models[i].MaxModelLen)
			}
			return s
		})...)
	case modalPresets:
		title = "presets"
		lines = append(lines, m.c.Styles.App.Dim.Render(ansi.Truncate("in "+sanitize.Line(m.presetDirShown), in.W, "…")), "")
		if len(m.presets) == 0 {
			lines = append(lines, m.c.Styles.App.Dim.Render("no presets yet: press s to save the current parameters"))
		}
		lines = append(lines, m.pickList(len(m.presets), in.H-2, func(i int) string { return m.presets[i] })...)
	case modalFile:
		switch m.fileAct {
		case fileSaveSession:
			title = "save session to"
		case fileOpenSession:
			title = "open session"
		case fileWriteExport:
			title = "write export to"
		case fileSavePreset:
			title = "save preset as (name)"
		}
		m.fileInput.SetWidth(max(1, in.W-3))
		lines = append(lines, "", "> "+m.fileInput.View(), "")
		if m.fileAct == fileOpenSession {
			lines = append(lines, m.c.Styles.App.Dim.Render("↑↓ pick a session below or type a path; enter opens it, esc goes back"), "")
			lines = append(lines, m.sessionList(in.W, in.H-len(lines))...)
		} else {
			lines = append(lines, m.c.Styles.App.Dim.Render("enter to confirm, esc to go back"))
		}
	}
	return m.frame(area, title, true, textLines(strings.Join(lines, "\n"), in.W, in.H))
}

// sessionList is the open dialog's list of session files, newest first.
func (m *Model) sessionList(w, h int) []string {
	dim := m.c.Styles.App.Dim
	switch {
	case m.sessionsErr != "":
		return wrapStyled(m.c.Styles.Slider.InvalidMsg, "cannot list "+sanitize.Line(m.sessionsDir)+": "+sanitize.Line(m.sessionsErr), w)
	case m.sessionsDir == "":
		return []string{dim.Render("listing sessions…")}
	case len(m.sessions) == 0:
		return []string{dim.Render(ansi.Truncate("no sessions in "+sanitize.Line(m.sessionsDir)+" yet (ctrl+s saves one)", w, "…"))}
	}
	out := []string{dim.Render(ansi.Truncate(fmt.Sprintf("sessions in %s, newest first:", sanitize.Line(m.sessionsDir)), w, "…"))}
	return append(out, m.pickList(len(m.sessions), max(1, h-1), func(i int) string {
		e := m.sessions[i]
		label := fmt.Sprintf("%s · %s · %q · %d sample%s · %s", e.name, ago(m.c.Now(), e.saved), e.prompt, e.samples, plural(e.samples), e.model)
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

func (m *Model) pickList(n, h int, label func(int) string) []string {
	st := m.c.Styles.Dialog
	first := 0
	if h > 0 && m.pickIdx >= h {
		first = m.pickIdx - h + 1
	}
	var out []string
	for i := first; i < n && len(out) < max(1, h); i++ {
		s := st.Item
		mark := "  "
		if i == m.pickIdx {
			s, mark = st.ItemSelected, "▸ "
		}
		out = append(out, s.Render(mark+label(i)))
	}
	return out
}
