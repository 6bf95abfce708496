package ui

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// paramPanel is the slider panel: one row per row of params' spec table, in
// the table's order, the advanced rows in a group that opens and closes
// (params_advanced.go). It holds the parameters being edited; the root
// model reads them when it runs.
type paramPanel struct {
	c     *Common
	specs []params.Spec
	P     params.SamplingParams
	O     params.Options
	// cursor is the focused row's index in specs, or headerRow.
	cursor int
	// top is the first visible row drawn, when they do not all fit.
	top int
	// advOpen shows every advanced row, not only the used ones.
	advOpen bool
	// mode is the logprobs mode claimed for the server ("" = as configured).
	mode backend.LogprobsMode
	// canTokenize: the sampler has a /tokenize, which resolves logit_bias
	// text; resolving is set while it works.
	canTokenize, resolving bool
	// biasErr is why the last resolution failed, until the list changes.
	biasErr string
	// completion: runs go to the completion API, which has no chat template
	// to read the reasoning switches.
	completion bool

	// SeedLocked: every run reuses the seed; unlocked, each run draws one.
	SeedLocked bool

	editing bool
	input   textinput.Model
	editErr string

	// problems: field -> message, from validation (invalid combinations)
	// and from a server error that named a parameter.
	problems  map[string]string
	serverErr map[string]string
	// warnings: combinations that still run but not as asked (greedy with
	// several samples draws one).
	warnings map[string]string
	// thinkingCut: why max_tokens may need to be larger (samples of the last run ran out
	// of tokens while thinking), "" when none did.
	thinkingCut string

	// dragging is the row whose bar the mouse is dragging, or -1.
	dragging int

	// the content size SetSize gave
	w, h int

	// cache of the last View, keyed by everything it draws from
	cacheKey   string
	cacheLines []string

	// capped: a server narrowed the ranges (see Caps).
	capped bool
}

// Widths of a slider row's parts.
const (
	sliderMarkW  = 2
	sliderLabelW = 13
	sliderValueW = 15
	panelMinW    = sliderMarkW + sliderLabelW + 6 + 1 + sliderValueW
)

// newParamPanel starts the panel at p and o.
func newParamPanel(c *Common, p params.SamplingParams, o params.Options) *paramPanel {
	pp := &paramPanel{c: c, specs: panelSpecs(), P: p.Clone(), O: o, serverErr: map[string]string{}, dragging: -1}
	pp.O.Advanced = o.Advanced.Clone()
	if c != nil {
		_, pp.canTokenize = c.Sampler.(backend.Tokenizer)
	}
	if pp.O.N <= 0 {
		pp.O.N = 1
	}
	if pp.O.Logprobs == nil {
		if s, ok := params.Lookup("logprobs"); ok && s.Default.Set {
			n := int(s.Default.V)
			pp.O.Logprobs = &n
		}
	}
	pp.SeedLocked = p.Seed != nil
	pp.input = newTextInput(nil)
	pp.revalidate()
	return pp
}

// Rows is the number of row lines the panel draws (the group's header
// included), from the top of its content.
func (pp *paramPanel) Rows() int { return min(len(pp.visible())-pp.top, pp.rowRoom()) }

// rowRoom is how many row lines fit: all of them when the size allows,
// else the height less the blank line and two lines of help.
func (pp *paramPanel) rowRoom() int {
	n := len(pp.visible())
	if pp.h <= 0 || n+2 <= pp.h {
		return n
	}
	return max(1, pp.h-3)
}

// rowAt is the row drawn on line y of the content: a spec index, or
// headerRow; false below the rows.
func (pp *paramPanel) rowAt(y int) (int, bool) {
	vis := pp.visible()
	if y < 0 || y >= pp.Rows() || pp.top+y >= len(vis) {
		return 0, false
	}
	return vis[pp.top+y], true
}

// scroll keeps the focused row inside the drawn window.
func (pp *paramPanel) scroll() {
	vis, room := pp.visible(), pp.rowRoom()
	at := max(0, slices.Index(vis, pp.cursor))
	pp.top = min(pp.top, at, max(0, len(vis)-room))
	if at >= pp.top+room {
		pp.top = at - room + 1
	}
	pp.top = max(0, pp.top)
}

// Row is the focused row: an index in specs, or headerRow.
func (pp *paramPanel) Row() int { return pp.cursor }

// Focused returns the spec of the focused row; the group's header reads as
// a row of its own key, "advanced", that no spec has.
func (pp *paramPanel) Focused() params.Spec {
	if pp.cursor == headerRow {
		return params.Spec{Key: "advanced", Label: "advanced", Help: "vLLM's samplers beyond the seven, and the logprobs mode: a, enter or space opens and closes the group (a row that is set stays shown)"}
	}
	return pp.specs[pp.cursor]
}

// Editing reports whether a value is being typed.
func (pp *paramPanel) Editing() bool { return pp.editing }

// Move moves the row cursor by d over the rows shown, wrapping around.
func (pp *paramPanel) Move(d int) {
	vis := pp.visible()
	n := len(vis)
	at := max(0, slices.Index(vis, pp.cursor))
	pp.cursor = vis[((at+d)%n+n)%n]
	pp.scroll()
}

// Select puts the cursor on row i (an index in specs, or headerRow).
func (pp *paramPanel) Select(i int) {
	if i == headerRow || i >= 0 && i < len(pp.specs) {
		pp.cursor = i
		pp.scroll()
	}
}

// Value reads row i.
func (pp *paramPanel) Value(i int) params.Value {
	s := pp.specs[i]
	if s.Key == logprobsModeKey {
		if at := slices.Index(s.Choices, string(pp.mode)); at >= 0 {
			return params.V(float64(at))
		}
		return params.Value{}
	}
	return s.Get(pp.P, pp.O)
}

func (pp *paramPanel) set(i int, v params.Value) {
	s := pp.specs[i]
	if s.Key == logprobsModeKey {
		pp.mode = ""
		if v.Set {
			pp.mode = backend.LogprobsMode(s.Choices[min(max(int(v.V), 0), len(s.Choices)-1)])
		}
	}
	s.Put(&pp.P, &pp.O, v)
	if s.Key == "seed" && v.Set {
		pp.SeedLocked = true
	}
	delete(pp.serverErr, s.Key)
	pp.revalidate()
}

// Step moves the focused slider one fine or coarse step.
func (pp *paramPanel) Step(dir int, coarse bool) {
	if pp.cursor == headerRow {
		if dir > 0 != pp.advOpen {
			pp.ToggleAdvanced()
		}
		return
	}
	s := pp.specs[pp.cursor]
	if s.Kind.IsList() {
		return
	}
	pp.set(pp.cursor, s.Step(pp.Value(pp.cursor), dir, coarse))
}

// SetFromPos sets row i from a place on its bar (0..1), as a click does.
func (pp *paramPanel) SetFromPos(i int, pos float64) {
	s := pp.specs[i]
	if s.Kind.IsList() || s.Key == "seed" {
		return
	}
	pp.set(i, s.FromPos(pos))
}

// defaultOf is row s's playground default.
func defaultOf(s params.Spec) params.Value {
	p, o := params.PlaygroundDefaults()
	return s.Get(p, o)
}

// defaultText is how row s's playground default reads: "256", "off",
// "random", "none".
func defaultText(s params.Spec) string {
	if s.Kind == params.StopList {
		p, _ := params.PlaygroundDefaults()
		if t := formatStopList(p.Stop); t != "" {
			return t
		}
		return "none"
	}
	if s.Kind.IsList() {
		return "none"
	}
	text, word := s.Describe(defaultOf(s))
	switch {
	case text == "" || word == s.Floor && word != "":
		return word
	case word != "":
		return text + " " + word
	}
	return text
}

// Reset puts the focused row back to its playground default.
func (pp *paramPanel) Reset() {
	if pp.cursor == headerRow {
		return
	}
	s := pp.specs[pp.cursor]
	switch s.Kind {
	case params.BiasList:
		pp.O.Advanced.LogitBias, pp.biasErr = nil, ""
	case params.WordList:
		pp.O.Advanced.BadWords = nil
	}
	if s.Kind == params.BiasList || s.Kind == params.WordList {
		delete(pp.serverErr, s.Key)
		pp.revalidate()
		return
	}
	if s.Kind == params.StopList {
		p, _ := params.PlaygroundDefaults()
		pp.P.Stop = p.Stop
		delete(pp.serverErr, s.Key)
		pp.revalidate()
		return
	}
	pp.set(pp.cursor, defaultOf(s))
	if s.Key == "seed" {
		pp.SeedLocked = false
	}
}

// ResetAll puts every row back to its playground default.
func (pp *paramPanel) ResetAll() {
	p, o := params.PlaygroundDefaults()
	pp.P = p
	pp.O.Advanced, pp.mode = o.Advanced.Clone(), ""
	for _, s := range pp.specs {
		if s.Options {
			s.Put(&pp.P, &pp.O, s.Get(p, o))
		}
	}
	pp.SeedLocked = false
	pp.serverErr = map[string]string{}
	pp.clampToCaps()
	pp.revalidate()
}

// ToggleSeedLock flips the seed lock; locking with no seed yet keeps the
// server's random choice ("random").
func (pp *paramPanel) ToggleSeedLock() { pp.SeedLocked = !pp.SeedLocked }

// SetServerError marks the slider a server error named, until it changes.
func (pp *paramPanel) SetServerError(field, msg string) {
	if field == "" {
		return
	}
	if field == "stop_token_ids" {
		field = "stop"
	}
	pp.serverErr[field] = msg
}

// ClearServerErrors drops server-reported problems (a new run starts).
func (pp *paramPanel) ClearServerErrors() { pp.serverErr = map[string]string{} }

// Problem returns the message shown on row key, if any.
func (pp *paramPanel) Problem(key string) string {
	if m, ok := pp.problems[key]; ok {
		return m
	}
	if m, ok := pp.serverErr[key]; ok {
		return m
	}
	return pp.warnings[key]
}

// Warned reports whether row key only carries a warning (it still runs).
func (pp *paramPanel) Warned(key string) bool {
	_, p := pp.problems[key]
	_, s := pp.serverErr[key]
	_, w := pp.warnings[key]
	return w && !p && !s
}

// Invalid reports the first problem that keeps a run from being sent.
func (pp *paramPanel) Invalid() error {
	if len(pp.problems) == 0 {
		return nil
	}
	for _, s := range pp.specs {
		if m, ok := pp.problems[s.Key]; ok {
			return errors.New(s.Key + ": " + m)
		}
	}
	return nil
}

// revalidate recomputes the problems shown on sliders from params' own rules,
// so an invalid combination shows before anything is sent.
func (pp *paramPanel) revalidate() {
	pp.problems = map[string]string{}
	add := func(err error) {
		var es params.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				f := e.Field
				if f == "stop_token_ids" {
					f = "stop"
				}
				if _, dup := pp.problems[f]; !dup {
					pp.problems[f] = e.Msg
				}
			}
		}
	}
	add(pp.P.Validate())
	add(pp.O.Validate(pp.P))
	if m := pp.biasProblem(); m != "" {
		if _, dup := pp.problems["logit_bias"]; !dup {
			pp.problems["logit_bias"] = m
		}
	}
	pp.capProblems()
	// Greedy with several samples is caused by two sliders: say so on both
	// before anything is sent. vLLM refuses it; twinkle sends one sample.
	pp.warnings = map[string]string{}
	if pp.O.GreedyConflict(pp.P) {
		msg := "greedy (temperature 0) with several samples: vLLM refuses n > 1, so one sample is drawn; raise temperature or set samples to 1"
		pp.warnings["temperature"] = msg
		pp.warnings["n"] = msg
	}
	if pp.completion {
		for _, k := range pp.O.Advanced.ChatOnly() {
			pp.warnings[k] = "completion mode has no chat template to read it, so it is not sent; ctrl+t switches to chat"
		}
	}
	if pp.thinkingCut != "" {
		pp.warnings["max_tokens"] = pp.thinkingCut
	}
}

// SetThinkingCut says on the max_tokens row why a larger value may be needed ("" says
// nothing).
func (pp *paramPanel) SetThinkingCut(msg string) {
	pp.thinkingCut = msg
	pp.revalidate()
}

// StartEdit opens the exact-value editor on the focused row, prefilled with
// initial (a digit typed) or the current value.
func (pp *paramPanel) StartEdit(initial string) tea.Cmd {
	if pp.cursor == headerRow {
		return nil
	}
	s := pp.specs[pp.cursor]
	pp.editing = true
	pp.editErr = ""
	if initial == "" {
		switch {
		case s.Kind == params.StopList:
			initial = formatStopList(pp.P.Stop)
		case s.Kind == params.BiasList:
			initial = formatBiasList(pp.O.Advanced.LogitBias)
		case s.Kind == params.WordList:
			initial = formatWordList(pp.O.Advanced.BadWords)
		case s.Kind == params.Choice:
			if v := pp.Value(pp.cursor); v.Set && int(v.V) >= 0 && int(v.V) < len(s.Choices) {
				initial = s.Choices[int(v.V)]
			}
		default:
			if v := pp.Value(pp.cursor); v.Set {
				initial = s.FormatNumber(v.V)
			}
		}
	}
	if pp.c != nil {
		pp.input.SetStyles(pp.c.Styles.TextInput) // the theme may have changed
	}
	pp.input.SetValue(initial)
	pp.input.CursorEnd()
	return pp.input.Focus()
}

// CancelEdit closes the editor without changing anything.
func (pp *paramPanel) CancelEdit() {
	pp.editing = false
	pp.editErr = ""
	pp.input.Blur()
}

// CommitEdit parses the typed value; on error the editor stays open and says
// why, losing nothing.
func (pp *paramPanel) CommitEdit() {
	s := pp.specs[pp.cursor]
	text := pp.input.Value()
	if s.Kind == params.StopList {
		st, err := parseStopList(text)
		if err != nil {
			pp.editErr = err.Error()
			return
		}
		pp.P.Stop = st
		delete(pp.serverErr, s.Key)
		pp.revalidate()
		pp.CancelEdit()
		return
	}
	if s.Kind == params.BiasList || s.Kind == params.WordList {
		var err error
		if s.Kind == params.BiasList {
			var bs []params.LogitBias
			if bs, err = parseBiasList(text); err == nil {
				pp.O.Advanced.LogitBias = bs
			}
		} else {
			var ws []string
			if ws, err = parseWordList(text); err == nil {
				pp.O.Advanced.BadWords = ws
			}
		}
		if err != nil {
			pp.editErr = err.Error()
			return
		}
		pp.resolving, pp.biasErr = false, ""
		delete(pp.serverErr, s.Key)
		pp.revalidate()
		pp.CancelEdit()
		return
	}
	v, err := s.Parse(text)
	if err != nil {
		pp.editErr = err.Error()
		return
	}
	// Typed values are kept as typed (vLLM's range can be wider than the
	// bar's); validation marks what the server would refuse.
	if s.Kind == params.Float && v.Set {
		p := math.Pow(10, 6)
		v.V = math.Round(v.V*p) / p
	}
	pp.set(pp.cursor, v)
	pp.CancelEdit()
}

// click is a left click at column x of row y of the panel's content, w
// cells wide: it focuses the row and sets its bar from where the click
// landed (a drag follows until release), or toggles the seed's lock.
func (pp *paramPanel) click(x, y, w int) {
	row, ok := pp.rowAt(y)
	if !ok {
		return
	}
	if pp.Editing() {
		pp.CancelEdit()
	}
	pp.Select(row)
	if row == headerRow {
		pp.ToggleAdvanced()
		return
	}
	if s := pp.Focused(); s.Kind == params.Bool {
		pp.Toggle()
		return
	}
	if pos, ok := pp.PosFromX(w, x); ok {
		pp.SetFromPos(y, pos)
		pp.dragging = y
	} else if pp.Focused().Key == "seed" {
		pp.ToggleSeedLock()
	}
}

// drag moves the bar being dragged to column x; false when none is.
func (pp *paramPanel) drag(x, w int) bool {
	if pp.dragging < 0 {
		return false
	}
	if pos, ok := pp.PosFromX(w, x); ok {
		pp.SetFromPos(pp.dragging, pos)
	}
	return true
}

// release ends a drag.
func (pp *paramPanel) release() { pp.dragging = -1 }

// Paste edits the focused row's value exactly: the editor opens empty and
// takes the pasted text.
func (pp *paramPanel) Paste(msg tea.PasteMsg) tea.Cmd {
	cmd := pp.StartEdit("")
	pp.input.SetValue("")
	return tea.Batch(cmd, pp.UpdateInput(msg))
}

// UpdateInput passes a message to the value editor. Why the last enter was
// refused stays on screen until the text changes (a cursor blink is a
// message too).
func (pp *paramPanel) UpdateInput(msg tea.Msg) tea.Cmd {
	before := pp.input.Value()
	var cmd tea.Cmd
	pp.input, cmd = pp.input.Update(msg)
	if pp.input.Value() != before {
		pp.editErr = ""
	}
	return cmd
}

// Summary is the parameters in one line of w cells, for a compact screen
// where the panel is closed: each row's value, rows that are off left out.
// Rows with a problem are marked and are the last to go when items must.
func (pp *paramPanel) Summary(w int) string {
	st := pp.c.Styles
	type item struct {
		text    string
		width   int
		problem bool
	}
	var items []item
	for i, s := range pp.specs {
		var shown string
		text, word := s.Describe(pp.Value(i))
		switch {
		case s.Advanced && !pp.used(i) && pp.Problem(s.Key) == "":
			continue
		case s.Kind == params.BiasList:
			shown = ansi.Truncate(sanitize.Line(formatBiasList(pp.O.Advanced.LogitBias)), 24, "…")
		case s.Kind == params.WordList:
			shown = ansi.Truncate(sanitize.Line(formatWordList(pp.O.Advanced.BadWords)), 24, "…")
		case s.Kind == params.StopList:
			if shown = formatStopList(pp.P.Stop); shown == "" {
				continue
			}
			shown = ansi.Truncate(sanitize.Line(shown), 24, "…")
		case s.Key == "seed" && !pp.SeedLocked:
			continue // drawn afresh each run, like an unset seed
		case word == "off" || word != "" && word == s.Floor && !s.Nullable:
			continue
		case text == "" || word != "" && (s.Kind == params.Choice || s.Kind == params.Bool):
			shown = word
		case word != "":
			shown = text + " " + word
		default:
			shown = text
		}
		problem := pp.Problem(s.Key) != ""
		label, value, mark := st.Slider.Label, st.Slider.Value, ""
		switch {
		case problem && pp.Warned(s.Key):
			label, value, mark = st.Slider.Warning, st.Slider.Warning, "! "
		case problem:
			label, value, mark = st.Slider.Invalid, st.Slider.Invalid, "✗ "
		}
		items = append(items, item{label.Render(mark+s.Label+" ") + value.Render(shown),
			ansi.StringWidth(mark + s.Label + " " + shown), problem})
	}
	sep := st.Slider.Label.Render(" · ")
	head := st.Slider.Label.Render(" params ")
	const sepW, headW = 3, 8
	for {
		total := headW
		for i, it := range items {
			if i > 0 {
				total += sepW
			}
			total += it.width
		}
		if total <= w || len(items) == 0 {
			break
		}
		// The last item without a problem goes; then the last one.
		drop := len(items) - 1
		for i := len(items) - 1; i >= 0; i-- {
			if !items[i].problem {
				drop = i
				break
			}
		}
		items = append(items[:drop], items[drop+1:]...)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.text
	}
	return padTo(ansi.Truncate(head+strings.Join(parts, sep), w, "…"), w)
}

// barGeometry returns where the bar of a row starts and how wide it is,
// relative to the panel's content origin, for a panel of width w.
func barGeometry(w int) (x, width int) {
	x = sliderMarkW + sliderLabelW
	width = max(4, w-x-1-sliderValueW)
	return x, width
}

// PosFromX converts a click at content column x to a bar position, or false
// when x is outside the bar.
func (pp *paramPanel) PosFromX(w, x int) (float64, bool) {
	bx, bw := barGeometry(w)
	if x < bx-1 || x > bx+bw {
		return 0, false
	}
	if bw <= 1 {
		return 0, true
	}
	pos := float64(x-bx) / float64(bw-1)
	return math.Max(0, math.Min(1, pos)), true
}

// SetSize gives the panel its content size: w cells by h lines.
func (pp *paramPanel) SetSize(w, h int) { pp.w, pp.h = w, h }

// View draws the panel in its size: one line per row, then the problem or
// help line of the focused row, wrapped to the remaining height. seedNote is
// what an unlocked seed's row says (the seed the last run drew).
func (pp *paramPanel) View(focused bool, seedNote string) []string {
	st, w, h := pp.c.Styles, pp.w, pp.h
	// The panel is redrawn every frame while samples stream but rarely
	// changes: styled rows are reused until something they show changes.
	var key string
	if !pp.editing {
		key = pp.renderKey(st, w, h, focused, seedNote)
		if key == pp.cacheKey {
			return append([]string(nil), pp.cacheLines...)
		}
	}
	lines := pp.render(st, w, h, focused, seedNote)
	pp.cacheKey, pp.cacheLines = key, lines
	return append([]string(nil), lines...)
}

// renderKey lists everything Render draws from, as text.
func (pp *paramPanel) renderKey(st *themes.Styles, w, h int, focused bool, seedNote string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%p|%d|%d|%v|%d|%d|%v|%v|%s|%s|", st, w, h, focused, pp.cursor, pp.top, pp.advOpen, pp.SeedLocked, seedNote, pp.mode)
	for i, s := range pp.specs {
		v := pp.Value(i)
		fmt.Fprintf(&b, "%v %v|%s|%v|", v.Set, v.V, pp.Problem(s.Key), pp.Warned(s.Key))
	}
	b.WriteString(formatStopList(pp.P.Stop))
	b.WriteString(formatBiasList(pp.O.Advanced.LogitBias))
	b.WriteString(formatWordList(pp.O.Advanced.BadWords))
	return b.String()
}

func (pp *paramPanel) render(st *themes.Styles, w, h int, focused bool, seedNote string) []string {
	lines := make([]string, 0, h)
	pp.scroll()
	vis := pp.visible()
	for _, i := range vis[pp.top : pp.top+pp.Rows()] {
		if i == headerRow {
			lines = append(lines, pp.renderHeader(st, w, focused && pp.cursor == headerRow))
			continue
		}
		lines = append(lines, pp.renderRow(st, i, pp.specs[i], w, focused && i == pp.cursor, seedNote))
	}
	// The line under the rows explains the focused row: its problem, the
	// editor, or its range and help.
	s := pp.Focused()
	var info []string
	switch {
	case pp.editing:
		// The input draws its cursor one cell past its width.
		pp.input.SetWidth(max(1, w-3))
		info = append(info, padTo(st.Slider.ValueEditing.Render("= ")+pp.input.View(), w))
		_, liveErr := s.Parse(pp.input.Value())
		switch {
		case pp.editErr != "":
			info = append(info, wrapStyled(st.Slider.Invalid, "✗ "+sanitize.Line(pp.editErr)+"; fix it or esc", w)...)
		case !s.Kind.IsList() && liveErr != nil && strings.TrimSpace(pp.input.Value()) != "":
			// A number field says at once what it cannot read (letters),
			// rather than only when enter is refused.
			info = append(info, wrapStyled(st.Slider.Warning, "! "+sanitize.Line(liveErr.Error()), w)...)
		case s.Kind == params.StopList:
			info = append(info, wrapStyled(st.Slider.Hint, `"text" with \n \t \xNN escapes, token ids bare; enter saves, esc cancels`, w)...)
		case s.Kind == params.BiasList:
			info = append(info, wrapStyled(st.Slider.Hint, `id=bias or "text"=bias, space between; text goes through the server's /tokenize; bias clamped to ±100; enter saves, esc cancels`, w)...)
		case s.Kind == params.WordList:
			info = append(info, wrapStyled(st.Slider.Hint, `"word" "two words", with \n \t \xNN escapes; enter saves, esc cancels`, w)...)
		default:
			info = append(info, wrapStyled(st.Slider.Hint, "enter saves, esc cancels, empty = "+emptyWord(s), w)...)
		}
	default:
		if m := pp.Problem(s.Key); m != "" {
			if pp.Warned(s.Key) {
				info = append(info, wrapStyled(st.Slider.Warning, "! "+sanitize.Line(m), w)...)
			} else {
				info = append(info, wrapStyled(st.Slider.InvalidMsg, "✗ "+sanitize.Line(m), w)...)
			}
		}
		hint := s.Help
		if r := s.RangeText(); r != "" {
			hint += " (" + r + ")"
		}
		switch {
		case pp.cursor == headerRow:
		case s.Kind == params.Bool:
			hint += "; space toggles, r resets to " + defaultText(s)
		default:
			hint += "; r resets to " + defaultText(s)
		}
		info = append(info, wrapStyled(st.Slider.Hint, hint, w)...)
	}
	lines = append(lines, strings.Repeat(" ", w))
	for _, l := range info {
		if len(lines) >= h {
			break
		}
		lines = append(lines, l)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return lines[:h]
}

func emptyWord(s params.Spec) string {
	if s.Floor != "" {
		return s.Floor
	}
	return "not allowed"
}

func (pp *paramPanel) renderRow(st *themes.Styles, i int, s params.Spec, w int, focused bool, seedNote string) string {
	mark := "  "
	label := st.Slider.Label
	if focused {
		mark = "▸ "
		label = st.Slider.LabelFocused
	}
	problem := pp.Problem(s.Key) != ""
	warned := pp.Warned(s.Key)
	if problem {
		label = st.Slider.Invalid
		if warned {
			label = st.Slider.Warning
		}
		if !focused {
			mark = "✗ "
			if warned {
				mark = "! "
			}
		}
	}
	name := fitRight(s.Label, sliderLabelW)
	head := st.Slider.Focused.Render(mark) + label.Render(name)
	rest := w - sliderMarkW - sliderLabelW
	var body string
	switch {
	case s.Kind.IsList():
		txt := formatStopList(pp.P.Stop)
		switch s.Kind {
		case params.BiasList:
			txt = formatBiasList(pp.O.Advanced.LogitBias)
		case params.WordList:
			txt = formatWordList(pp.O.Advanced.BadWords)
		}
		if txt == "" {
			body = st.Slider.Special.Render("none")
		} else {
			body = st.Slider.Value.Render(ansi.Truncate(sanitize.Line(txt), rest, "…"))
		}
	case s.Key == "seed":
		lock := "auto"
		lockSt := st.Slider.Unlocked
		if pp.SeedLocked {
			lock, lockSt = "lock", st.Slider.Locked
		}
		v := pp.Value(i)
		txt, word := s.Describe(v)
		if word != "" && txt == "" {
			txt = word
		}
		if !pp.SeedLocked && seedNote != "" {
			txt = seedNote
		}
		tag := "[" + lock + "] "
		if room := rest - len(tag); ansi.StringWidth(txt) > room && seedNote != "" && txt == seedNote {
			// A seed is typed back in whole or not at all: the word goes before a digit.
			txt = strings.TrimPrefix(txt, "last ")
		}
		body = lockSt.Render(tag[:len(tag)-1]) + " " + st.Slider.Value.Render(ansi.Truncate(txt, max(1, rest-len(tag)), "…"))
	case s.Kind == params.Bool:
		// On/off is a box, not a bar: space (or a click) flips it.
		v := pp.Value(i)
		box := "[ ]"
		switch {
		case s.Nullable && !v.Set:
			box = "[·]"
		case v.V != 0:
			box = "[x]"
		}
		body = st.Slider.Value.Render(box) + " " + describeValue(st, s, v, max(1, rest-4))
	default:
		_, bw := barGeometry(w)
		v := pp.Value(i)
		body = renderBar(st, s.Pos(v), bw, problem && !warned, focused) + " " + describeValue(st, s, v, sliderValueW)
	}
	line := head + body
	if pad := w - ansi.StringWidth(line); pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	return line
}

// describeValue renders "0.70", "0.00 greedy", "off", "server default".
func describeValue(st *themes.Styles, s params.Spec, v params.Value, width int) string {
	text, word := s.Describe(v)
	if word != "" && (word == s.Floor || s.Kind == params.Choice || s.Kind == params.Bool) {
		// A named value reads as its name alone: "high", not "2 high".
		// top_k's -1 reads as "off", not "-1 off".
		text = ""
	}
	var out string
	switch {
	case text == "":
		out = st.Slider.Special.Render(fitLeft(word, width))
	case word != "":
		n := fitLeft(text, min(width, len(text)))
		out = st.Slider.Value.Render(n) + " " + st.Slider.Special.Render(fitLeft(word, max(0, width-len(n)-1)))
	default:
		out = st.Slider.Value.Render(fitLeft(text, width))
	}
	return out
}

// renderBar draws a bar of width cells with the knob at pos (0..1).
func renderBar(st *themes.Styles, pos float64, width int, invalid, focused bool) string {
	if width < 2 {
		return ""
	}
	k := int(math.Round(pos * float64(width-1)))
	k = max(0, min(width-1, k))
	filled := st.Slider.BarFilled
	if invalid {
		filled = st.Slider.Invalid
	}
	knob := st.Slider.Knob
	if focused {
		knob = st.Slider.KnobFocused
	}
	return filled.Render(strings.Repeat("━", k)) + knob.Render("●") + st.Slider.BarEmpty.Render(strings.Repeat("─", width-1-k))
}

// fitRight pads or truncates s to exactly w cells, text on the left.
func fitRight(s string, w int) string {
	s = ansi.Truncate(s, w, "…")
	if d := w - ansi.StringWidth(s); d > 0 {
		s += strings.Repeat(" ", d)
	}
	return s
}

// fitLeft is fitRight (kept apart so call sites read as intent: values).
func fitLeft(s string, w int) string { return fitRight(s, w) }

// wrapStyled hard-wraps plain text to w cells and styles each line. text is
// display-safe already: constant, or untrusted text the caller passed through
// sanitize.Line (one line, so a message never breaks where its source did).
func wrapStyled(style interface{ Render(...string) string }, text string, w int) []string {
	wr := newWrapper(max(1, w))
	wr.appendDisplay(text)
	out := make([]string, 0, wr.Len())
	for i := 0; i < wr.Len(); i++ {
		t := wr.Text(i)
		out = append(out, style.Render(t)+strings.Repeat(" ", max(0, w-wr.lines[i].width)))
	}
	return out
}

func (pp *paramPanel) helpID() string { return "params" }

func (pp *paramPanel) ShortHelp() []key.Binding {
	g, p := &pp.c.Keys.Global, &pp.c.Keys.Params
	return []key.Binding{g.Run, p.Down, p.Right, p.Edit, p.Reset, g.Next, g.Help}
}

func (pp *paramPanel) FullHelp() [][]key.Binding {
	p := &pp.c.Keys.Params
	return [][]key.Binding{{p.Up, p.Down, p.Left, p.Right, p.CoarseLeft, p.CoarseRight},
		{p.Edit, p.Reset, p.ResetAll, p.Lock, p.Advanced}}
}

// renderHeader draws the advanced group's header row.
func (pp *paramPanel) renderHeader(st *themes.Styles, w int, focused bool) string {
	mark, label := "  ", st.Slider.Label
	if focused {
		mark, label = "▸ ", st.Slider.LabelFocused
	}
	return padTo(st.Slider.Focused.Render(mark)+label.Render(pp.headerText(max(1, w-sliderMarkW))), w)
}
