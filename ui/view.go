package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
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
	helpH := 1
	if m.fullHelp {
		helpH = fullHelpRows
	}
	r.header = Rect{0, 0, w, 1}
	r.help = Rect{0, h - helpH, w, helpH}
	r.status = Rect{0, h - helpH - 1, w, 1}
	bodyY, bodyH := 1, h-helpH-2
	pw := panelWidth(w)
	rx, rw := pw, w-pw
	if !m.panelOpen() {
		rx, rw = 0, w
	}
	iw := 0
	if m.inspecting && len(m.cols) > 0 {
		iw = inspectorWidth(rw)
	}
	r.legend = Rect{}
	if m.compact() || rw-iw-2 < legendMinW {
		// The samples are too narrow for the heatmap's legend to keep its
		// scale: it gets a line of the screen's width under the body.
		bodyH--
		r.legend = Rect{0, bodyY + bodyH, w, 1}
	}
	y := bodyY
	r.panelOuter, r.summary = Rect{0, bodyY, pw, bodyH}, Rect{}
	if !m.panelOpen() {
		// One line sums the parameters up and the samples take the width.
		r.summary = Rect{0, bodyY, w, 1}
		y = bodyY + 1
		r.panelOuter = Rect{}
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
		r.systemOuter = Rect{rx, y, rw, sysH + 2}
		y += sysH + 2
	} else {
		r.systemOuter = Rect{}
	}
	r.system = inner(r.systemOuter)
	r.promptOuter = Rect{rx, y, rw, promptH + 2}
	r.prompt = inner(r.promptOuter)
	y += promptH + 2
	r.samplesOuter = Rect{rx, y, rw, bodyY + bodyH - y}
	r.inspOuter = Rect{}
	if iw > 0 {
		r.inspOuter = Rect{rx + rw - iw, y, iw, r.samplesOuter.H}
		r.samplesOuter.W -= iw
	}
	r.samples = inner(r.samplesOuter)

	m.system.SetWidth(max(1, r.system.W))
	m.system.SetHeight(max(1, r.system.H))
	m.prompt.SetWidth(max(1, r.prompt.W))
	m.prompt.SetHeight(max(1, r.prompt.H))
	m.help.SetWidth(w)

	// The grid: each column has a header and a footer line around its body.
	focus := m.colFocus
	// The heatmap legend takes the last line of the sample area.
	gridArea := r.samples
	if r.legend.W == 0 {
		gridArea = r.samples.withoutLegend()
	}
	m.grid = LayoutGrid(gridArea, len(m.cols), minColumnW, minColumnH, focus, m.zoom)
	for i, c := range m.cols {
		cell := m.grid.Cells[i]
		if cell.W == 0 {
			continue
		}
		c.SetSmoothScroll(m.cfg.SmoothScroll)
		c.SetSize(cell.W, max(1, cell.H-2))
	}
}

func inner(r Rect) Rect {
	if r.W < 2 || r.H < 2 {
		return Rect{}
	}
	return Rect{r.X + 1, r.Y + 1, r.W - 2, r.H - 2}
}

// View draws the screen and declares the terminal state it needs.
func (m *Model) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	if m.inspecting {
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
	st := m.c.Styles
	r := &m.rects
	screen := make([]string, h)
	screen[0] = m.renderHeader(w)

	// left: parameters (on a compact screen without focus there: a line)
	var left []string
	if r.panelOuter.W > 0 {
		panel := m.panel.Render(st, r.panel.W, r.panel.H, m.focus == focusParams && m.modal == modalNone, m.seedNote())
		for i, l := range panel {
			panel[i] = " " + l + " "
		}
		left = m.frame(r.panelOuter, "parameters", m.focus == focusParams && m.modal == modalNone, panel)
	}
	if r.summary.W > 0 {
		screen[r.summary.Y] = m.panel.Summary(st, r.summary.W)
	}

	// right: system, prompt, samples (or the open dialog over prompt+samples)
	var right []string
	top := r.promptOuter.Y
	if m.api == params.Chat {
		top = r.systemOuter.Y
	}
	if m.modal != modalNone {
		area := Rect{r.promptOuter.X, top, r.promptOuter.W, r.samplesOuter.Y + r.samplesOuter.H - top}
		right = m.renderDialog(area)
	} else {
		if m.api == params.Chat {
			right = append(right, m.frame(r.systemOuter, "system", m.focus == focusSystem,
				m.systemView.lines(&m.system, r.system.W, r.system.H, m.c.ThemeKey))...)
		}
		title := "prompt"
		if m.api == params.Chat {
			title = "user"
		}
		content := m.promptView.lines(&m.prompt, r.prompt.W, r.prompt.H, m.c.ThemeKey)
		if heat := m.promptHeatLines(r.prompt.W, r.prompt.H); heat != nil {
			content, title = heat, title+" · prompt logprobs (tab here to edit)"
		}
		right = append(right, m.frame(r.promptOuter, title, m.focus == focusPrompt, content)...)
		samples := m.frame(r.samplesOuter, m.samplesTitle(), m.focus == focusSamples, m.renderSamples())
		if r.inspOuter.W > 0 {
			insp := m.renderInspector(r.inspOuter)
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
		if len(m.cols) > 0 {
			screen[r.legend.Y] = m.legend(w)
		}
	}
	screen[r.status.Y] = m.renderStatus(w)
	fh := focusHelp{k: &m.c.Keys, focus: m.focus, modal: m.modal, inspecting: m.inspecting}
	if hk := fmt.Sprint(fh.focus, fh.modal, fh.inspecting, m.fullHelp, w, m.c.ThemeKey); hk != m.helpKey {
		if m.fullHelp {
			m.helpText = m.help.FullHelpView(fh.FullHelp())
		} else {
			m.helpText = m.help.ShortHelpView(fh.ShortHelp())
		}
		m.helpKey = hk
	}
	helpText := m.helpText
	hl := textLines(helpText, w, r.help.H)
	copy(screen[r.help.Y:], hl)
	return strings.Join(screen, "\n")
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
			out[top+i] = m.c.Styles.App.Warning.Render(l)
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

// headerInputs is everything the header line is drawn from: it is redrawn
// only when one changes, not every frame.
type headerInputs struct {
	endpoint, model, connErr, loadedPath, readOnly string
	api                                            params.API
	conn                                           connState
	loaded                                         bool
	w                                              int
	styles                                         *styleSet
}

func (m *Model) renderHeader(w int) string {
	in := headerInputs{m.c.Endpoint, m.modelName, m.connErr, m.loadedPath, m.readOnly(), m.api, m.conn, m.loaded != nil, w, m.c.Styles}
	if in != m.headKey || m.headLine == "" {
		m.headKey, m.headLine = in, m.drawHeader(w)
	}
	return m.headLine
}

func (m *Model) drawHeader(w int) string {
	st := m.c.Styles.App
	endpoint := m.c.Endpoint
	if endpoint == "" {
		endpoint = "no endpoint"
	}
	model := m.modelName
	if model == "" {
		model = "(first listed)"
	}
	var conn string
	switch m.conn {
	case connOK:
		conn = st.HeaderOK.Render("● connected")
	case connFailed:
		conn = st.HeaderBad.Render("○ " + ansi.Truncate("offline: "+m.connErr, max(10, w/3), "…"))
	case connOffline:
		conn = st.HeaderDim.Render("○ no server")
	default:
		conn = st.HeaderDim.Render("◌ connecting")
	}
	// Items in screen order with their rank: when the line is too long the
	// highest rank goes first, whole, so nothing is cut mid-word.
	type item struct {
		text string
		rank int
	}
	items := []item{
		{st.HeaderTitle.Render(" twinkle"), 0},
		{st.HeaderDim.Render(sanitize.Line(endpoint)), 5},
		{st.HeaderDim.Render("model ") + st.Header.Render(sanitize.Line(model)), 2},
		{st.Mode.Render(string(m.api)), 4},
		{conn, 3},
	}
	if m.loaded != nil {
		items = append(items, item{st.HeaderDim.Render("session ") + st.Header.Render(sanitize.Line(m.loadedPath)), 6})
		if ro := m.readOnly(); ro != "" {
			items = append(items, item{st.HeaderBad.Render(sanitize.Line(ro)), 1})
		}
	}
	sep := st.HeaderDim.Render("  │  ")
	sepW := ansi.StringWidth(sep)
	width := func() int {
		n := sepW * (len(items) - 1)
		for _, it := range items {
			n += ansi.StringWidth(it.text)
		}
		return n
	}
	for len(items) > 2 && width() > w {
		drop := 0
		for i, it := range items {
			if it.rank > items[drop].rank {
				drop = i
			}
		}
		items = slices.Delete(items, drop, drop+1)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.text
	}
	// A model name longer than the screen is the one thing still cut.
	line := strings.Join(parts, sep)
	return padTo(ansi.Truncate(line, w, "…"), w)
}

func (m *Model) renderStatus(w int) string {
	st := m.c.Styles.App
	var s string
	switch {
	case m.statusErr:
		s = st.StatusError.Render("✗ " + m.status)
	case m.streaming():
		s = st.StatusBusy.Render(m.spin.View() + " " + m.status)
	default:
		s = st.Status.Render(m.status)
	}
	return padTo(ansi.Truncate(" "+s, w, "…"), w)
}

func (m *Model) samplesTitle() string {
	n := len(m.cols)
	if n == 0 {
		return "samples"
	}
	t := fmt.Sprintf("samples · %d", n)
	if m.zoom >= 0 {
		t += fmt.Sprintf(" · zoomed on #%d (z)", m.zoom+1)
	} else if m.grid.VisibleRows < m.grid.Rows {
		t += fmt.Sprintf(" · rows %d-%d of %d", m.grid.FirstRow+1, m.grid.FirstRow+m.grid.VisibleRows, m.grid.Rows)
	}
	return t
}

// renderSamples draws the grid of columns into the samples rectangle.
func (m *Model) renderSamples() []string {
	area := m.rects.samples
	out := make([]string, area.H)
	blank := strings.Repeat(" ", area.W)
	if len(m.cols) == 0 {
		for i := range out {
			out[i] = blank
		}
		hint := m.c.Styles.App.Dim.Render(padTo("  no samples yet: write a prompt and press ctrl+r", area.W))
		if area.H > 1 {
			out[1] = ansi.Truncate(hint, area.W, "")
		}
		return out
	}
	// Build rows of cells: for each screen line, concatenate the cells that
	// cover it, with a gap between them.
	rowsAt := make([][]int, area.H) // screen line -> column indexes on it
	for i, cell := range m.grid.Cells {
		if cell.W == 0 {
			continue
		}
		for y := cell.Y; y < cell.Y+cell.H; y++ {
			if ly := y - area.Y; ly >= 0 && ly < area.H {
				rowsAt[ly] = append(rowsAt[ly], i)
			}
		}
	}
	rendered := make(map[int][]string, len(m.cols))
	for i, cell := range m.grid.Cells {
		if cell.W > 0 {
			rendered[i] = m.renderColumn(i, cell)
		}
	}
	m.stagger.apply(m.cols, m.grid.Cells, rendered, m.c.Height)
	gap := m.c.border.v // the same glyph and look, rendered once per theme
	for ly := 0; ly < area.H; ly++ {
		idx := rowsAt[ly]
		if len(idx) == 0 {
			out[ly] = blank
			continue
		}
		var b strings.Builder
		x := area.X
		for j, ci := range idx {
			cell := m.grid.Cells[ci]
			if cell.X > x {
				if j > 0 {
					b.WriteString(gap)
					b.WriteString(strings.Repeat(" ", cell.X-x-1))
				} else {
					b.WriteString(strings.Repeat(" ", cell.X-x))
				}
			}
			b.WriteString(rendered[ci][ly-(cell.Y-area.Y)])
			x = cell.X + cell.W
		}
		if x < area.X+area.W {
			b.WriteString(strings.Repeat(" ", area.X+area.W-x))
		}
		out[ly] = b.String()
	}
	if m.rects.legend.W == 0 && area.H > minColumnH {
		out[area.H-1] = m.legend(area.W)
	}
	return out
}

// legend is the heatmap's legend line, w cells wide.
func (m *Model) legend(w int) string {
	if m.c.Painter == nil {
		return strings.Repeat(" ", w)
	}
	if lk := fmt.Sprint(m.c.Painter.Key(), w); lk != m.legendKey {
		m.legendKey = lk
		m.legendLine = " " + padTo(heatmap.Legend(m.c.Theme, m.c.Painter, w-1, "m: mode"), w-1)
	}
	return m.legendLine
}

// renderColumn draws one column into its cell: header, body, footer.
func (m *Model) renderColumn(i int, cell Rect) []string {
	st := m.c.Styles.Sample
	c := m.cols[i]
	lines := make([]string, 0, cell.H)
	focused := i == m.colFocus && m.focus == focusSamples
	hs := st.Header
	hf := focused || (i == m.colFocus && m.zoom >= 0)
	if hf {
		hs = st.HeaderFocused
	}
	// The header is drawn every frame for every column: it is built again
	// only when something it shows changes.
	spin := ""
	if c.Streaming {
		spin = m.spin.View()
	}
	hk := columnHeadKey{spin: spin, offset: c.Offset(), lines: c.Lines(), h: c.height, w: cell.W, focused: hf, seeded: c.Seed != nil, styles: m.c.Styles}
	if c.Seed != nil {
		hk.seed = *c.Seed
	}
	if hk != c.headKey {
		head := columnHead(c, spin, cell.W)
		c.headKey, c.headLine = hk, hs.Render(padTo(ansi.Truncate(head, cell.W, "…"), cell.W))
	}
	lines = append(lines, c.headLine)
	bodyH := max(0, cell.H-2)
	body := c.BodyLines(m.lineStyler())
	lines = append(lines, body...)
	blank := strings.Repeat(" ", cell.W)
	for len(lines) < 1+bodyH {
		lines = append(lines, blank)
	}
	if c.Err != nil && bodyH > 0 {
		// The whole error goes in the body (the footer has room for a few
		// words): after the text, or over its last lines when it is full.
		el := wrapStyled(m.c.Styles.Badge.Error, "✗ "+sanitize.Line(errorText(c.Err, c.Reason)), cell.W)
		el = el[:min(len(el), bodyH)]
		at := min(1+len(body)+1, 1+bodyH-len(el))
		if len(c.texts) == 0 {
			at = 1
		}
		copy(lines[at:], el)
	}
	// A live column's footer also says how long its stream has been quiet;
	// the spinner's tick redraws it while a run is live.
	waiting := ""
	if c.Streaming {
		waiting = c.waitText(m.c.Now(), cell.W)
	}
	if fk := fmt.Sprint(c.footStamp(m.c.Now()), c.Streaming, cell.W, m.c.ThemeKey, waiting); fk != c.footKey {
		c.footKey, c.footLine = fk, m.renderFooter(c, cell.W, waiting)
	}
	lines = append(lines, c.footLine)
	return lines[:cell.H]
}

// columnHeadKey is everything a column's header line is drawn from.
type columnHeadKey struct {
	spin                string
	offset, lines, h, w int
	focused, seeded     bool
	seed                int64
	styles              *styleSet
}

// columnHead is a column's header line as text: its number, where the view
// is in the text, its seed. Items that do not fit are dropped whole, the
// seed first, so "↑ N lines" shows whenever anything is above the window.
func columnHead(c *Column, spin string, w int) string {
	lead := "  "
	if c.Streaming {
		lead = spin + " "
	}
	num := fmt.Sprintf("#%d", c.Index+1)
	above, below := c.Offset(), c.Lines()-c.Offset()-c.height
	var scroll, short []string
	if above > 0 {
		scroll = append(scroll, fmt.Sprintf("↑ %d line%s", above, plural(above)))
		short = append(short, fmt.Sprintf("↑%d", above))
	}
	if below > 0 {
		scroll = append(scroll, fmt.Sprintf("↓ %d", below))
		short = append(short, fmt.Sprintf("↓%d", below))
	}
	seed := "seed random"
	if c.Seed != nil {
		seed = "seed " + strconv.FormatInt(*c.Seed, 10)
	}
	tiers := [][]string{append([]string{num, seed}, scroll...), append([]string{num}, scroll...)}
	h := ""
	for _, items := range tiers {
		if h = lead + strings.Join(items, " · "); ansi.StringWidth(h) <= w {
			return h
		}
	}
	return lead + num + " " + strings.Join(short, " ")
}

func (m *Model) renderFooter(c *Column, w int, waiting string) string {
	st := m.c.Styles.Sample
	var line string
	if !c.Streaming {
		// (while streaming the header's spinner says so)
		eos := c.StoppedBy.Kind == backend.StoppedByEOS
		line = m.c.Styles.Badge.For(string(c.Reason), eos).Render(c.Badge())
	} else if waiting != "" {
		// What the stream is waiting for comes before its numbers.
		line = m.c.Styles.Badge.Interrupted.Render(ansi.Truncate(waiting, w, "…"))
	}
	// Stats that do not fit are dropped whole, least important first. The
	// footer is redrawn on every token while streaming: widths are added up
	// part by part rather than measured again over the styled line.
	lineW := ansi.StringWidth(line)
	for _, part := range c.StatParts() {
		sep := " · "
		if line == "" {
			sep = ""
		}
		seg := sep + part
		pw := ansi.StringWidth(seg)
		if lineW+pw > w {
			break
		}
		line += st.Footer.Render(seg)
		lineW += pw
	}
	if line == "" && c.Streaming {
		line = st.Footer.Render("waiting for the first token…")
	}
	return padTo(ansi.Truncate(line, w, "…"), w)
}

// frame draws a rounded border around content lines, with a title; the
// border of the focused pane is drawn in the focus style.
func (m *Model) frame(r Rect, title string, focused bool, content []string) []string {
	if r.H < 2 || r.W < 2 {
		return nil
	}
	bp := m.c.border
	if focused {
		bp = m.c.borderFocused
	}
	e := m.frameEdges(title, focused, r.W)
	out := make([]string, 0, r.H)
	out = append(out, e.top)
	for i := 0; i < r.H-2; i++ {
		l := e.blank
		if i < len(content) {
			l = content[i]
		}
		out = append(out, bp.v+l+bp.v)
	}
	out = append(out, e.bottom)
	return out
}

// frameKey is what a frame's top and bottom lines are drawn from.
type frameKey struct {
	title   string
	focused bool
	w       int
	styles  *styleSet
}

// frameLines are a frame's drawn top and bottom borders and an empty inner line.
type frameLines struct{ top, bottom, blank string }

// frameEdges draws a frame's borders once per title, focus, width and theme:
// every pane is framed every frame, and titles change rarely.
func (m *Model) frameEdges(title string, focused bool, w int) frameLines {
	k := frameKey{title, focused, w, m.c.Styles}
	if e, ok := m.frames[k]; ok {
		return e
	}
	bp := m.c.border
	ts := m.c.Styles.App.Title
	if focused {
		bp = m.c.borderFocused
		ts = m.c.Styles.App.TitleFocused
	}
	iw := w - 2
	t := ansi.Truncate(" "+title+" ", max(0, iw-2), "…")
	tw := ansi.StringWidth(t)
	e := frameLines{
		top:    bp.tl + bp.h + ts.Render(t) + strings.Repeat(bp.h, max(0, iw-1-tw)) + bp.tr,
		bottom: bp.bl + strings.Repeat(bp.h, iw) + bp.br,
		blank:  strings.Repeat(" ", iw),
	}
	// A handful of panes are on screen at once; old titles and sizes go.
	if m.frames == nil || len(m.frames) >= 32 {
		m.frames = make(map[frameKey]frameLines)
	}
	m.frames[k] = e
	return e
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

// editorView caches a textarea's drawn lines: the prompt is redrawn every
// frame while samples stream, but changes only when the person types.
type editorView struct {
	key   string
	cache []string
}

func (e *editorView) lines(ta *textarea.Model, w, h int, theme string) []string {
	key := fmt.Sprint(ta.Value(), "|", ta.Line(), ta.Column(), ta.ScrollYOffset(), ta.Focused(), w, h, theme)
	if key != e.key {
		e.key, e.cache = key, textLines(ta.View(), w, h)
	}
	return e.cache
}

// promptHeatLines is the prompt coloured by its logprobs, when a run fetched
// them, the prompt is unchanged since and the prompt is not being edited.
func (m *Model) promptHeatLines(w, h int) []string {
	if m.promptTokens == nil || m.focus == focusPrompt || m.prompt.Value() != m.promptAt || m.c.Painter == nil {
		return nil
	}
	key := fmt.Sprint(m.c.Painter.Key(), w, h, len(m.promptTokens))
	if key != m.promptHeatKey {
		lines := heatmap.Lines(m.c.Painter, m.promptTokens, w)
		if len(lines) > h && h > 0 {
			more := fmt.Sprintf("… %d more lines", len(lines)-h+1)
			lines = append(lines[:h-1], m.c.Styles.App.Dim.Render(padTo(more, w)))
		}
		m.promptHeatKey, m.promptHeatRows = key, textLines(strings.Join(lines, "\n"), w, h)
	}
	return m.promptHeatRows
}
