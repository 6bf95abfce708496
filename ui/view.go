package ui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// panelWidth is the parameter panel's outer width for a screen width.
func panelWidth(w int) int {
	switch {
	case w >= 140:
		return 50
	case w >= compactBelow:
		return 46
	}
	return max(panelMinW+2, min(44, w/2))
}

// legendMinW is the width the heatmap's legend needs to keep its scale in
// every mode.
const legendMinW = 48

// compactBelow is the screen width under which the parameter panel
// collapses into one summary line while it does not have focus: beside the
// samples it would take half of an 80-column screen.
const compactBelow = 100

// compact reports whether the screen is laid out compactly.
func (m *Model) compact() bool { return m.c.Width < compactBelow }

// panelOpen reports whether the parameter panel is laid out: always, except
// on a compact screen where it needs focus.
func (m *Model) panelOpen() bool {
	return !m.compact() || m.focus == focusParams
}

// relayout recomputes every rectangle from the screen size; it runs in
// Update (on resize, mode, column count, zoom), never in View.
func (m *Model) relayout() {
	w, h := m.c.Width, m.c.Height
	if w < minScreenW || h < minScreenH {
		return
	}
	r := &m.rects
	helpH := m.help.height()
	r.header = rect{0, 0, w, 1}
	r.help = rect{0, h - helpH, w, helpH}
	r.status = rect{0, h - helpH - 1, w, 1}
	bodyY, bodyH := 1, h-helpH-2
	pw := panelWidth(w)
	rx, rw := pw, w-pw
	if !m.panelOpen() {
		rx, rw = 0, w
	}
	iw := 0
	if m.samples.wantsInspector() {
		iw = inspectorWidth(rw)
	}
	r.legend = rect{}
	if m.compact() || rw-iw-2 < legendMinW {
		// The samples are too narrow for the heatmap's legend to keep its
		// scale: it gets a line of the screen's width under the body.
		bodyH--
		r.legend = rect{0, bodyY + bodyH, w, 1}
	}
	y := bodyY
	r.panelOuter, r.summary = rect{0, bodyY, pw, bodyH}, rect{}
	if !m.panelOpen() {
		// One line sums the parameters up and the samples take the width.
		r.summary = rect{0, bodyY, w, 1}
		y = bodyY + 1
		r.panelOuter = rect{}
	}
	// The panel's text keeps one cell off its border on each side.
	r.panel = inner(r.panelOuter)
	r.panel.X, r.panel.W = r.panel.X+1, max(1, r.panel.W-2)
	promptH := 4
	switch {
	case bodyH < 18:
		promptH = 2
	case bodyH < 24:
		promptH = 3
	}
	if m.api == params.Chat {
		sysH := 1
		if bodyH >= 30 {
			sysH = 2
		}
		r.systemOuter = rect{rx, y, rw, sysH + 2}
		y += sysH + 2
	} else {
		r.systemOuter = rect{}
	}
	r.system = inner(r.systemOuter)
	r.promptOuter = rect{rx, y, rw, promptH + 2}
	r.prompt = inner(r.promptOuter)
	y += promptH + 2
	r.samplesOuter = rect{rx, y, rw, bodyY + bodyH - y}
	r.inspOuter = rect{}
	if iw > 0 {
		r.inspOuter = rect{rx + rw - iw, y, iw, r.samplesOuter.H}
		r.samplesOuter.W -= iw
	}
	r.samples = inner(r.samplesOuter)

	m.system.SetSize(r.system.W, r.system.H)
	m.prompt.SetSize(r.prompt.W, r.prompt.H)
	m.panel.SetSize(r.panel.W, r.panel.H)
	m.panel.SetAPI(m.api)
	// Without a line of its own, the legend takes the sample area's last.
	m.samples.SetSize(r.samples, r.legend.W == 0)
}

func inner(r rect) rect {
	if r.W < 2 || r.H < 2 {
		return rect{}
	}
	return rect{r.X + 1, r.Y + 1, r.W - 2, r.H - 2}
}

// View draws the screen and declares the terminal state it needs.
func (m *Model) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	if m.samples.inspecting {
		// Hovering a token moves the inspector's cursor: that needs motion
		// without a button held, asked for only while inspecting.
		v.MouseMode = tea.MouseModeAllMotion
	}
	v.WindowTitle = m.windowTitle()
	v.SetContent(m.render())
	return v
}

func (m *Model) windowTitle() string {
	state := "idle"
	switch {
	case m.streaming():
		state = "streaming"
	case m.run != nil && m.run.canceled:
		state = "cancelled"
	case m.run != nil:
		state = "done"
	case m.loaded != nil:
		state = "session"
	}
	model := m.modelName
	if model == "" {
		model = "no model"
	}
	return sanitize.Line("twinkle · " + model + " · " + state)
}

// render builds the screen as exact-width lines; region renderers return
// []string of their rectangle's size, so composition is plain concatenation.
func (m *Model) render() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < minScreenW || h < minScreenH {
		return m.renderTooSmall(w, h)
	}
	r := &m.rects
	screen := make([]string, h)
	screen[0] = m.renderHeader(w)

	// left: parameters (on a compact screen without focus there: a line)
	var left []string
	if r.panelOuter.W > 0 {
		panel := m.panel.View(m.focus == focusParams && m.overlay.empty(), m.seedNote())
		for i, l := range panel {
			panel[i] = " " + l + " "
		}
		left = m.c.frames.frame(r.panelOuter, "parameters", m.focus == focusParams && m.overlay.empty(), panel)
	}
	if r.summary.W > 0 {
		screen[r.summary.Y] = m.panel.Summary(r.summary.W)
	}

	// right: system, prompt, samples (or the open dialog over prompt+samples)
	var right []string
	top := r.promptOuter.Y
	if m.api == params.Chat {
		top = r.systemOuter.Y
	}
	if d := m.overlay.front(); d != nil {
		right = d.draw(rect{r.promptOuter.X, top, r.promptOuter.W, r.samplesOuter.Y + r.samplesOuter.H - top})
	} else {
		if m.api == params.Chat {
			sys, _ := m.system.view(m.focus == focusSystem)
			right = append(right, m.c.frames.frame(r.systemOuter, "system", m.focus == focusSystem, sys)...)
		}
		title := "prompt"
		if m.api == params.Chat {
			title = "user"
		}
		content, heat := m.prompt.view(m.focus == focusPrompt)
		if heat {
			title += " · prompt logprobs (tab here to edit)"
		} else if note := m.prompt.heatNote(); m.promptHeat && note != "" {
			title += " · " + note
		}
		right = append(right, m.c.frames.frame(r.promptOuter, title, m.focus == focusPrompt, content)...)
		samples := m.c.frames.frame(r.samplesOuter, m.samples.title(), m.focus == focusSamples, m.samples.view(m.focus == focusSamples, m.spin.View()))
		if r.inspOuter.W > 0 {
			insp := m.samples.inspectorView(r.inspOuter, m.panel.P, m.panel.O.Advanced)
			for i := range samples {
				if i < len(insp) {
					samples[i] += insp[i]
				}
			}
		}
		right = append(right, samples...)
	}
	for i, rl := range right {
		if row := top + i; row < h {
			screen[row] = rl
		}
	}
	for i, ll := range left {
		if row := r.panelOuter.Y + i; row < h {
			screen[row] = ll + screen[row]
		}
	}
	if r.legend.W > 0 {
		screen[r.legend.Y] = strings.Repeat(" ", w)
		if len(m.samples.cols) > 0 {
			screen[r.legend.Y] = m.samples.legend(w)
		}
	}
	screen[r.status.Y] = m.renderStatus(w)
	hl := textLines(m.help.view(m.focused(), w), w, r.help.H)
	copy(screen[r.help.Y:], hl)
	return strings.Join(screen, "\n")
}

// focused is what has focus, for the help line: the dialog in front, else
// the focused pane.
func (m *Model) focused() keyHelp {
	if d := m.overlay.front(); d != nil {
		return d
	}
	switch m.focus {
	case focusParams:
		return m.panel
	case focusSamples:
		return m.samples
	case focusSystem:
		return m.system
	}
	return m.prompt
}

func (m *Model) renderTooSmall(w, h int) string {
	msg := fmt.Sprintf("twinkle needs at least %dx%d; this terminal is %dx%d", minScreenW, minScreenH, w, h)
	lines := textLines(ansi.Wrap(msg, w, " "), w, h)
	// Centre the message vertically so it is seen at a glance.
	top := max(0, (h-2)/2)
	out := make([]string, h)
	for i := range out {
		out[i] = strings.Repeat(" ", w)
	}
	for i, l := range lines {
		if top+i < h && strings.TrimSpace(l) != "" {
			out[top+i] = m.c.Styles.App.TooSmall.Render(l)
		}
	}
	return strings.Join(out, "\n")
}

func (m *Model) seedNote() string {
	if m.panel.SeedLocked || m.seedRun == nil {
		return ""
	}
	return "last " + strconv.FormatInt(*m.seedRun, 10)
}

func (m *Model) renderHeader(w int) string {
	return m.header.view(headerInputs{m.c.Endpoint, m.modelName, m.connErr, m.loadedPath, m.readOnly(), m.api, m.conn, m.loaded != nil, w, m.c.Styles})
}

func (m *Model) renderStatus(w int) string {
	st := &m.c.Styles.Status
	var s string
	switch {
	case m.statusErr:
		s = st.Error.Render("✗ " + m.status)
	case m.streaming():
		s = st.Warning.Render(m.spin.View() + " " + m.status)
	default:
		s = st.Info.Render(m.status)
	}
	return padTo(ansi.Truncate(" "+s, w, "…"), w)
}

// textLines splits rendered text into exactly h lines of exactly w cells.
func textLines(s string, w, h int) []string {
	src := strings.Split(s, "\n")
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(src) {
			l = src[i]
		}
		out[i] = padTo(ansi.Truncate(l, w, ""), w)
	}
	return out
}

// padTo pads a styled line with spaces to w cells.
func padTo(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}
