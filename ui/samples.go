package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/inspector"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// samplesPane is the sample area: the grid of sample columns, the column
// with focus or zoomed, the token inspector beside them and the heatmap's
// legend. The root fills the columns from a run or a session and gives the
// pane its rectangle; the pane lays out the grid, draws, and takes the keys
// and clicks that land on it.
type samplesPane struct {
	c    *Common
	cols []*column
	// focus is the column with focus; zoom the column given the whole area,
	// -1 for none.
	focus, zoom int
	grid        gridLayout
	// area is the pane's inner rectangle; legendInside says the legend takes
	// its last line (else the root draws it under the body).
	area         rect
	legendInside bool

	// perRow asks the grid for that many columns per row (a grid sweep), 0
	// lets it choose.
	perRow int
	// stats shows each column's sparkline and statistics under its body;
	// rank orders the columns by one statistic (rankOff for none).
	stats bool
	rank  rankBy

	// topAsked is how many alternatives per token the run on screen asked
	// for in completion mode (topAsked), for the inspector's merged count.
	topAsked int

	// foldThinking: every column draws a reasoning model's thinking as its summary line.
	foldThinking bool

	inspecting bool
	insp       *inspector.Inspector
	// divergence: while inspecting, the first token index where samples
	// differ, marked in every column; -1 otherwise.
	divergence int
	divPrefix  string

	// smooth: columns follow their streams line by line rather than by jumps.
	smooth bool
	// stagger holds back, in stream frames, what would share a screen row.
	stagger frameStagger

	// drawn-once caches
	styler                lineStyler
	stylerIn              stylerInputs
	stylerOK              bool
	legendKey, legendLine string

	// lpMode is the logprobs mode of the samples on screen (see setShownMode).
	lpMode backend.LogprobsMode
}

func newSamplesPane(c *Common) *samplesPane {
	p := &samplesPane{c: c, zoom: -1, divergence: -1, insp: inspector.New(c.Styles, c.Painter)}
	p.setTheme()
	return p
}

// setTheme follows a new theme.
func (p *samplesPane) setTheme() {
	p.divPrefix = stylePrefix(p.c.Styles.Column.Divergence)
	p.setPainter()
}

// setPainter follows a new painter (heatmap mode, colour profile or theme).
func (p *samplesPane) setPainter() {
	p.insp.SetStyles(p.c.Styles)
	p.insp.SetPainter(p.c.Painter)
}

// SetSize gives the pane its inner rectangle and lays the grid out in it.
func (p *samplesPane) SetSize(area rect, legendInside bool) {
	p.area, p.legendInside = area, legendInside
	p.layout()
}

// layout places the columns: each has a header and a footer line around
// its body.
func (p *samplesPane) layout() {
	gridArea := p.area
	if p.legendInside {
		gridArea = p.area.withoutLegend()
	}
	p.grid = layoutGridPer(gridArea, len(p.cols), minColumnW, minColumnH+p.extraLines(), p.focus, p.zoom, p.perRow)
	for i, c := range p.cols {
		cell := p.grid.Cells[i]
		if cell.W == 0 {
			continue
		}
		c.SetSmoothScroll(p.smooth)
		c.SetSize(cell.W, max(1, cell.H-2-p.extraLines()))
	}
}

// wantsInspector reports whether the inspector takes room beside the grid.
func (p *samplesPane) wantsInspector() bool { return p.inspecting && len(p.cols) > 0 }

// setColumns shows cols, keeping the focus and the zoom where they can stay.
func (p *samplesPane) setColumns(cols []*column) {
	p.cols = cols
	for _, c := range cols {
		c.SetThinkingFolded(p.foldThinking)
	}
	p.focus = max(0, min(p.focus, len(cols)-1))
	if p.zoom >= len(cols) {
		p.zoom = -1
	}
}

// column is column i, made (with those before it) when a run numbers more
// samples than it asked for; grew says it was.
func (p *samplesPane) column(i int, started time.Time) (c *column, grew bool) {
	if i < 0 {
		return nil, false
	}
	for i >= len(p.cols) {
		c := newColumn(len(p.cols), nil, started)
		c.SetThinkingFolded(p.foldThinking)
		p.cols = append(p.cols, c)
		grew = true
	}
	return p.cols[i], grew
}

// title is the pane's frame title: how many samples, and which are shown.
func (p *samplesPane) title() string {
	n := len(p.cols)
	if n == 0 {
		return "samples"
	}
	t := fmt.Sprintf("samples · %d", n)
	if p.zoom >= 0 {
		t += fmt.Sprintf(" · zoomed on #%d (z)", p.zoom+1)
	} else if p.grid.VisibleRows < p.grid.Rows {
		t += fmt.Sprintf(" · rows %d-%d of %d", p.grid.FirstRow+1, p.grid.FirstRow+p.grid.VisibleRows, p.grid.Rows)
	}
	return t
}

// view draws the grid of columns into the pane's area; focused says whether
// the pane has focus, spin is the spinner's frame for live columns.
func (p *samplesPane) view(focused bool, spin string) []string {
	area := p.area
	out := make([]string, area.H)
	blank := strings.Repeat(" ", area.W)
	if len(p.cols) == 0 {
		for i := range out {
			out[i] = blank
		}
		// Wrapped between words where the pane is narrow, so the key is never lost.
		hint := strings.Split(ansi.Wordwrap("no samples yet: write a prompt and press ctrl+r", max(1, area.W-2), ""), "\n")
		for i, l := range hint {
			if 1+i < area.H {
				out[1+i] = p.c.Styles.App.Hint.Render(ansi.Truncate(padTo("  "+l, area.W), area.W, ""))
			}
		}
		return out
	}
	// Build rows of cells: for each screen line, concatenate the cells that
	// cover it, with a gap between them.
	rowsAt := make([][]int, area.H) // screen line -> column indexes on it
	for i, cell := range p.grid.Cells {
		if cell.W == 0 {
			continue
		}
		for y := cell.Y; y < cell.Y+cell.H; y++ {
			if ly := y - area.Y; ly >= 0 && ly < area.H {
				rowsAt[ly] = append(rowsAt[ly], i)
			}
		}
	}
	rendered := make(map[int][]string, len(p.cols))
	for i, cell := range p.grid.Cells {
		if cell.W > 0 {
			rendered[i] = p.renderColumn(i, cell, focused, spin)
		}
	}
	p.stagger.apply(p.cols, p.grid.Cells, rendered, p.c.Height)
	gap := p.c.frames.border.v // the same glyph and look, rendered once per theme
	for ly := 0; ly < area.H; ly++ {
		idx := rowsAt[ly]
		if len(idx) == 0 {
			out[ly] = blank
			continue
		}
		var b strings.Builder
		x := area.X
		for j, ci := range idx {
			cell := p.grid.Cells[ci]
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
	if p.legendInside && area.H > minColumnH {
		out[area.H-1] = p.legend(area.W)
	}
	return out
}

// legend is the heatmap's legend line, w cells wide.
func (p *samplesPane) legend(w int) string {
	if p.c.Painter == nil {
		return strings.Repeat(" ", w)
	}
	if lk := fmt.Sprint(p.c.Painter.Key(), w, p.lpMode); lk != p.legendKey {
		p.legendKey = lk
		note, short := heatmap.DistributionNote(p.lpMode, p.c.Painter.ByProcessed())
		p.legendLine = " " + padTo(heatmap.LegendFor(p.c.Styles, p.c.Painter, w-1, "m: mode", note, short), w-1)
	}
	return p.legendLine
}

// renderColumn draws one column into its cell: header, body, footer.
func (p *samplesPane) renderColumn(i int, cell rect, paneFocused bool, spinner string) []string {
	st := &p.c.Styles.Column
	c := p.cols[i]
	lines := make([]string, 0, cell.H)
	focused := i == p.focus && paneFocused
	hs := st.Header
	hf := focused || (i == p.focus && p.zoom >= 0)
	if hf {
		hs = st.HeaderFocused
	}
	// The header is drawn every frame for every column: it is built again
	// only when something it shows changes.
	spin := ""
	if c.Streaming {
		spin = spinner
	}
	hk := columnHeadKey{fork: c.Fork, spin: spin, offset: c.Offset(), lines: c.Lines(), h: c.height, w: cell.W, focused: hf, seeded: c.Seed != nil, styles: p.c.Styles, label: c.Label}
	if c.Seed != nil {
		hk.seed = *c.Seed
	}
	if hk != c.headKey {
		head := columnHead(c, spin, cell.W)
		c.headKey, c.headLine = hk, hs.Render(padTo(ansi.Truncate(head, cell.W, "…"), cell.W))
	}
	lines = append(lines, c.headLine)
	bodyH := max(0, cell.H-2-p.extraLines())
	body := c.BodyLines(p.lineStyler())
	lines = append(lines, body...)
	blank := strings.Repeat(" ", cell.W)
	for len(lines) < 1+bodyH {
		lines = append(lines, blank)
	}
	if c.Err != nil && bodyH > 0 {
		// The whole error goes in the body (the footer has room for a few
		// words): after the text, or over its last lines when it is full.
		el := wrapStyled(p.c.Styles.Badge.Error, "✗ "+sanitize.Line(errorText(c.Err, c.Reason)), cell.W)
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
		waiting = c.waitText(p.c.Now(), cell.W)
	}
	if fk := fmt.Sprint(c.footStamp(p.c.Now()), c.Streaming, cell.W, p.c.ThemeKey, waiting); fk != c.footKey {
		c.footKey, c.footLine = fk, p.renderFooter(c, cell.W, waiting)
	}
	lines = append(lines, p.extraView(i, cell.W)...)
	lines = append(lines, c.footLine)
	return lines[:cell.H]
}

// columnHeadKey is everything a column's header line is drawn from.
type columnHeadKey struct {
	fork, spin          string
	offset, lines, h, w int
	focused, seeded     bool
	seed                int64
	label               string
	styles              *themes.Styles
}

// columnHead is a column's header line as text: its number, where the view
// is in the text, its seed. Items that do not fit are dropped whole, the
// seed first, so "↑ N lines" shows whenever anything is above the window;
// a count is never shown without its unit.
func columnHead(c *column, spin string, w int) string {
	lead := "  "
	if c.Streaming {
		lead = spin + " "
	}
	num := fmt.Sprintf("#%d", c.Index+1)
	above, below := c.Offset(), c.Lines()-c.Offset()-c.height
	var scroll []string
	if above > 0 {
		scroll = append(scroll, fmt.Sprintf("↑ %d line%s", above, plural(above)))
	}
	if below > 0 {
		scroll = append(scroll, fmt.Sprintf("↓ %d line%s", below, plural(below)))
	}
	seed := "seed random"
	if c.Seed != nil {
		seed = "seed " + strconv.FormatInt(*c.Seed, 10)
	}
	head := []string{num}
	if c.Label != "" {
		head = append(head, sanitize.Line(c.Label))
	}
	tiers := [][]string{append(append(head, seed), scroll...), append(head, scroll...)}
	if c.Label == "" {
		tiers = append(tiers, append([]string{num}, scroll...))
	}
	if c.Fork != "" {
		tiers = append([][]string{append([]string{num, c.Fork}, scroll...)}, tiers...)
	}
	h := ""
	for _, items := range tiers {
		if h = lead + strings.Join(items, " · "); ansi.StringWidth(h) <= w {
			return h
		}
	}
	// Narrower still: the label cut, then the scroll items that fit whole (a
	// count without its unit would read as anything).
	if c.Label != "" && len(scroll) > 0 {
		tail := " · " + strings.Join(scroll, " · ")
		room := w - ansi.StringWidth(lead+num+" ") - ansi.StringWidth(tail)
		if room >= 4 {
			return lead + num + " " + ansi.Truncate(sanitize.Line(c.Label), room, "…") + tail
		}
	}
	h = lead + num
	for _, it := range scroll {
		if ansi.StringWidth(h+" · "+it) <= w {
			h += " · " + it
		}
	}
	return h
}

func (p *samplesPane) renderFooter(c *column, w int, waiting string) string {
	st := &p.c.Styles.Column
	var line string
	if !c.Streaming {
		// (while streaming the header's spinner says so)
		eos := c.StoppedBy.Kind == backend.StoppedByEOS
		line = p.c.Styles.Badge.For(string(c.Reason), eos).Render(c.badgeText(w))
	} else if waiting != "" {
		// What the stream is waiting for comes before its numbers.
		line = p.c.Styles.Badge.Interrupted.Render(ansi.Truncate(waiting, w, "…"))
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
		line += st.Stats.Render(seg)
		lineW += pw
	}
	if line == "" && c.Streaming {
		line = st.Stats.Render("waiting for the first token…")
	}
	return padTo(ansi.Truncate(line, w, "…"), w)
}

// lineStyler is how columns style their lines right now. It is asked for by
// every column every frame, so it is rebuilt only when what it is made of
// changes (painter, styles, the divergence mark).
func (p *samplesPane) lineStyler() lineStyler {
	in := stylerInputs{p.c.Painter, p.c.Styles, p.c.ThemeKey, p.divergence}
	if p.stylerOK && in == p.stylerIn {
		return p.styler
	}
	st := &p.c.Styles.Column
	ls := lineStyler{
		plain:      func(s string) string { return st.Body.Render(s) },
		divergence: p.divergence,
		divPrefix:  p.divPrefix,
		split:      splitPrefix(p.c.Styles, p.c.Profile),
	}
	// lipgloss draws struck-through text a rune at a time; the look is
	// turned on once per fragment instead.
	stopOn, stopCursorOn := stylePrefix(st.Stop), stylePrefix(st.StopCursor)
	ls.stop = func(s string, cursor bool) string {
		if cursor {
			return stopCursorOn + s + "\x1b[m"
		}
		return stopOn + s + "\x1b[m"
	}
	ls.thinking = stylePrefix(st.ThinkingMark)
	ls.thinkPlain = func(s string) string { return st.Thinking.Render(s) }
	ls.label = func(s string) string { return st.ThinkingLabel.Render(s) }
	ls.labelCursor = func(s string) string { return st.Cursor.Render(s) }
	boundaryOn, boundaryCursorOn := stylePrefix(st.Boundary), stylePrefix(st.BoundaryCursor)
	ls.boundary = func(s string, cursor bool) string {
		if cursor {
			return boundaryCursorOn + s + "\x1b[m"
		}
		return boundaryOn + s + "\x1b[m"
	}
	heatKey := ""
	if p := p.c.Painter; p != nil {
		heatKey = p.Key()
		ls.render, ls.cursor, ls.newline = p.Render, p.RenderCursor, p.NewlineMark
		ls.ruleHeat = p.Mode() != heatmap.Off
	}
	ls.key = fmt.Sprint(p.c.ThemeKey, "|", heatKey, "|div", p.divergence)
	p.styler, p.stylerIn, p.stylerOK = ls, in, true
	return ls
}

// stylerInputs is everything lineStyler is built from.
type stylerInputs struct {
	painter    *heatmap.Painter
	styles     *themes.Styles
	themeKey   string
	divergence int
}

// handleKey moves among and scrolls the columns, zooms one, and opens the
// inspector and moves its cursor; true when the inspector opened or closed,
// which changes the screen's layout.
func (p *samplesPane) handleKey(msg tea.KeyPressMsg) bool {
	k := &p.c.Keys.Samples
	if len(p.cols) == 0 {
		return false
	}
	switch {
	case key.Matches(msg, k.Inspect):
		p.toggleInspector()
		return true
	case key.Matches(msg, k.Stats):
		p.toggleStats()
		return true
	case key.Matches(msg, k.Rank):
		p.nextRank()
		return true
	}
	if p.inspecting && p.handleInspectKey(msg) {
		return false
	}
	col := p.cols[p.focus]
	page := max(1, col.height-1)
	switch {
	case key.Matches(msg, k.Left):
		p.focusColumn(p.focus - 1)
	case key.Matches(msg, k.Right):
		p.focusColumn(p.focus + 1)
	case key.Matches(msg, k.Up):
		col.Scroll(-1)
	case key.Matches(msg, k.Down):
		col.Scroll(1)
	case key.Matches(msg, k.PageUp):
		col.Scroll(-page)
	case key.Matches(msg, k.PageDown):
		col.Scroll(page)
	case key.Matches(msg, k.Top):
		col.ScrollTo(false)
	case key.Matches(msg, k.Bottom):
		col.ScrollTo(true)
	case key.Matches(msg, k.FoldThinking):
		p.foldThinking = !p.foldThinking
		for _, c := range p.cols {
			c.SetThinkingFolded(p.foldThinking)
		}
	case key.Matches(msg, k.Zoom):
		if p.zoom >= 0 {
			p.zoom = -1
		} else {
			p.zoom = p.focus
		}
		p.layout()
	}
	return false
}

func (p *samplesPane) focusColumn(i int) {
	if len(p.cols) == 0 {
		return
	}
	p.focus = (i%len(p.cols) + len(p.cols)) % len(p.cols)
	if p.zoom >= 0 {
		p.zoom = p.focus
	}
	p.layout()
}

// The token inspector: a cursor walks the tokens of the focused sample, the
// same position is marked in every sample, and a pane beside the samples
// shows the token under it (ui/inspector draws the pane).

// inspectorWidth is the pane's outer width for a sample area of width w.
func inspectorWidth(w int) int {
	return max(34, min(56, w/3))
}

// toggleInspector opens or closes the inspector, starting at the first token
// of the focused sample.
func (p *samplesPane) toggleInspector() {
	p.inspecting = !p.inspecting
	if p.inspecting {
		cur := 0
		if len(p.cols) > 0 && p.cols[p.focus].Cursor >= 0 {
			cur = p.cols[p.focus].Cursor
		}
		p.setCursor(cur)
	} else {
		for _, c := range p.cols {
			c.Cursor = -1
		}
		p.divergence = -1
	}
}

// setCursor puts the token cursor at index i (clamped to the focused
// sample) in every sample, scrolls it into view and tells the inspector.
func (p *samplesPane) setCursor(i int) {
	if len(p.cols) == 0 {
		return
	}
	fc := p.cols[p.focus]
	n := len(fc.Tokens())
	if n == 0 {
		for _, c := range p.cols {
			c.Cursor = -1
		}
		p.insp.Clear()
		p.insp.SetAcross(nil, -1)
		p.divergence = -1
		return
	}
	i = max(0, min(n-1, i))
	all := make([][]backend.Token, len(p.cols))
	across := make([]*backend.Token, len(p.cols))
	for ci, c := range p.cols {
		all[ci] = c.Tokens()
		if i < len(all[ci]) {
			c.Cursor = i
			across[ci] = &all[ci][i]
		} else {
			c.Cursor = -1
		}
		if c.wrap != nil && c.Cursor >= 0 {
			c.ShowLine(c.LineOf(i))
		}
	}
	p.insp.SetToken(&fc.Tokens()[i], p.focus, i)
	p.insp.SetPlace(p.inspectPlace(fc, i))
	p.divergence = firstDivergence(p.cols, inspector.FirstDivergence(all))
	p.insp.SetAcross(across, p.divergence)
	p.insp.SetAcrossLabels(acrossLabels(p.cols, i))
}

// refreshInspector follows new tokens (streaming) and parameter changes.
func (p *samplesPane) refreshInspector() {
	if !p.inspecting || len(p.cols) == 0 {
		return
	}
	p.setCursor(p.cols[p.focus].Cursor)
}

// handleInspectKey moves the token cursor; false when the key is not one of
// the inspector's.
func (p *samplesPane) handleInspectKey(msg tea.KeyPressMsg) bool {
	k := &p.c.Keys.Inspect
	if len(p.cols) == 0 {
		return false
	}
	fc := p.cols[p.focus]
	toks := fc.Tokens()
	cur := max(0, fc.Cursor)
	switch {
	case key.Matches(msg, k.WordLeft):
		p.setCursor(inspector.PrevWord(toks, cur))
	case key.Matches(msg, k.WordRight):
		p.setCursor(inspector.NextWord(toks, cur))
	case key.Matches(msg, k.Left):
		p.setCursor(cur - 1)
	case key.Matches(msg, k.Right):
		p.setCursor(cur + 1)
	case key.Matches(msg, k.First):
		p.setCursor(0)
	case key.Matches(msg, k.Last):
		p.setCursor(len(toks) - 1)
	case key.Matches(msg, k.PrevSample):
		p.focus = (p.focus + len(p.cols) - 1) % len(p.cols)
		p.layout()
		p.setCursor(cur)
	case key.Matches(msg, k.NextSample):
		p.focus = (p.focus + 1) % len(p.cols)
		p.layout()
		p.setCursor(cur)
	default:
		return false
	}
	return true
}

// inspectorView draws the inspector into r, for the parameters sp.
func (p *samplesPane) inspectorView(r rect, sp params.SamplingParams, adv params.Advanced) []string {
	p.insp.SetParams(sp)
	p.insp.SetAdvanced(adv)
	in := inner(r)
	return p.c.frames.frame(r, "inspector · i closes", true, textLines(p.insp.Render(in.W, in.H), in.W, in.H))
}

// cellAt is the column whose cell holds (x, y), and the token there
// (-1 for none); -1, -1 off every cell.
func (p *samplesPane) cellAt(x, y int) (col, tok int) {
	for i, cell := range p.grid.Cells {
		if cell.Contains(x, y) {
			return i, p.cols[i].TokenAt(x-cell.X, y-cell.Y-1)
		}
	}
	return -1, -1
}

// hover moves the inspector's cursor to the token under the mouse.
func (p *samplesPane) hover(x, y int) {
	if !p.inspecting {
		return
	}
	i, t := p.cellAt(x, y)
	if t < 0 || i == p.focus && t == p.cols[i].Cursor {
		return
	}
	if i != p.focus {
		p.focus = i
		p.layout()
	}
	p.setCursor(t)
}

// wheel scrolls the column under the mouse.
func (p *samplesPane) wheel(x, y, dir int) {
	if i, _ := p.cellAt(x, y); i >= 0 {
		p.cols[i].Scroll(-3 * dir)
	}
}

// click focuses the column under the mouse and says which token it landed
// on, -1 for none.
func (p *samplesPane) click(x, y int) int {
	i, t := p.cellAt(x, y)
	if i < 0 {
		return -1
	}
	p.focus = i
	return t
}

// startInspecting opens the inspector without moving its cursor; false when
// it was open.
func (p *samplesPane) startInspecting() bool {
	if p.inspecting {
		return false
	}
	p.inspecting = true
	return true
}

func (p *samplesPane) helpID() string {
	if p.inspecting {
		return "samples/inspect"
	}
	return "samples"
}

func (p *samplesPane) ShortHelp() []key.Binding {
	g, s := &p.c.Keys.Global, &p.c.Keys.Samples
	e := &p.c.Keys.Explore
	if p.inspecting {
		i := &p.c.Keys.Inspect
		return []key.Binding{i.Right, e.Fork, i.NextSample, s.Inspect, e.Step, e.Tree, g.Help, i.WordRight}
	}
	if p.anyThinking() {
		return []key.Binding{g.Run, s.Right, s.Inspect, s.FoldThinking, s.Stats, e.Step, e.Merged, e.Tree, g.Help, s.Rank, s.Down, g.Heatmap, g.Sweep}
	}
	return []key.Binding{g.Run, s.Right, s.Inspect, s.Stats, e.Step, e.Merged, e.Tree, g.Help, s.Rank, s.Down, g.Heatmap, g.Sweep}
}

func (p *samplesPane) FullHelp() [][]key.Binding {
	s := &p.c.Keys.Samples
	if p.inspecting {
		i := &p.c.Keys.Inspect
		// The explore keys first: a narrow screen cuts the last columns.
		return [][]key.Binding{exploreHelp(&p.c.Keys.Explore),
			{i.Left, i.Right, i.WordLeft, i.WordRight, i.First, i.Last},
			{i.PrevSample, i.NextSample, s.Up, s.Down, s.Inspect}}
	}
	return [][]key.Binding{exploreHelp(&p.c.Keys.Explore),
		{s.Left, s.Right, s.Up, s.Down, s.PageUp, s.PageDown},
		{s.Top, s.Bottom, s.Zoom, s.Inspect, s.FoldThinking, s.Keep, s.Stats, s.Rank}}
}
