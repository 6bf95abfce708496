package ui

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/inspector"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

type focusArea int

const (
	focusSystem focusArea = iota
	focusPrompt
	focusParams
	focusSamples
)

type modalKind int

const (
	modalNone modalKind = iota
	modalExport
	modalModels
	modalPresets
	modalFile
)

type fileAction int

const (
	fileSaveSession fileAction = iota
	fileOpenSession
	fileWriteExport
	fileSavePreset
)

type connState int

const (
	connUnknown connState = iota
	connOK
	connFailed
	connOffline
)

const noFilesMsg = "files are off in this session (sessions, presets and exports to file); x then c copies an export"

// Minimum screen the playground draws; below it says so.
const (
	minScreenW = 60
	minScreenH = 16
	minColumnW = 24
	minColumnH = 6
)

// runState is one run: its context, bridge and assembled response.
type runState struct {
	id     int
	ctx    context.Context
	cancel context.CancelFunc
	req    backend.Request
	bridge *backend.Bridge
	ch     <-chan backend.Event
	// finished is closed when the UI has read the run's channel to the end;
	// abandoned when the UI stops reading it first (quitting mid-stream).
	finished, abandoned chan struct{}
	asm                 *backend.Assembler
	started             time.Time
	done                bool
	canceled            bool
	logprobs            bool
	// problem is a failure that ended no sample (the prompt logprobs
	// request), kept for the run's summary.
	problem string
	// before is what the screen showed when the run began, put back if the
	// run cannot start (a loaded session is not wiped by a 404).
	before shownSamples
}

// shownSamples is what the sample area shows and where it came from.
type shownSamples struct {
	run            *runState
	cols           []*Column
	loaded         *Session
	loadedPath     string
	promptTokens   []backend.Token
	promptAt       string
	colFocus, zoom int
	seedRun        *int64
}

// Messages. Each command reports with one of these; Update applies them.
type (
	runStartedMsg struct {
		run *runState
		ch  <-chan backend.Event
		err error
	}
	runUpdateMsg struct {
		run *runState
		u   backend.Update
		ok  bool
		at  time.Time
	}
	modelsMsg struct {
		models []backend.Model
		err    error
	}
	statusMsg struct {
		text string
		err  bool
	}
	sessionLoadedMsg struct {
		s    *Session
		path string
		err  error
	}
	sessionsListedMsg struct {
		dir     string
		entries []sessionEntry
		err     error
	}
	presetsListedMsg struct {
		dir   string
		names []string
		err   error
	}
	themeLoadedMsg struct {
		name string
		p    themes.Palette
		err  error
	}
	presetLoadedMsg struct {
		name string
		p    Preset
		err  error
	}
)

// Model is the playground's root model, the only tea.Model in ui.
type Model struct {
	c   *Common
	cfg Config

	focus     focusArea
	modal     modalKind
	api       params.API
	modelName string
	conn      connState
	connErr   string
	models    []backend.Model

	system, prompt         textarea.Model
	systemView, promptView editorView
	panel                  *ParamPanel

	cols       []*Column
	colFocus   int
	inspecting bool
	insp       *inspector.Inspector
	// divergence: while inspecting, the first token index where samples
	// differ, marked in every column; -1 otherwise.
	divergence int
	divPrefix  string
	zoom       int
	grid       GridLayout

	// Prompt logprobs: asked for when promptHeat is on; the prompt pane shows
	// them as a heatmap while the prompt is unchanged since the run.
	promptHeat     bool
	promptTokens   []backend.Token
	promptAt       string
	promptHeatKey  string
	promptHeatRows []string

	run     *runState
	runSeq  int
	seedRun *int64 // the seed the last unlocked run drew, shown on the seed row

	status    string
	statusErr bool
	help      help.Model
	fullHelp  bool
	// drawn-once caches for lines that change rarely
	helpKey, helpText     string
	legendKey, legendLine string
	headKey               headerInputs
	headLine              string
	frames                map[frameKey]frameLines
	styler                lineStyler
	stylerIn              stylerInputs
	stylerOK              bool
	spin                  spinner.Model
	spinning              bool
	pace                  framePacer
	stagger               frameStagger

	rects    layoutRects
	dragging int // panel row being dragged, or -1

	// dialogs
	exportTab      int
	pickIdx        int
	presets        []string
	presetDirShown string
	fileInput      textinput.Model
	fileAct        fileAction
	fileReturn     modalKind
	fileInitial    string // what the file dialog opened with, to tell typing from it
	// the open dialog's list of session files, newest first
	sessions    []sessionEntry
	sessionsDir string
	sessionsErr string
	loaded      *Session // the session shown when the run came from a file
	loadedPath  string
}

type layoutRects struct {
	header, panel, system, prompt, samples, status, help Rect
	summary, legend                                      Rect // a compact screen's parameter and legend lines
	panelOuter, systemOuter, promptOuter, samplesOuter   Rect
	inspOuter                                            Rect
}

// New builds a playground program model from cfg.
func New(cfg Config) *Model {
	c := &Common{
		Keys:     DefaultKeyMap(),
		Sampler:  cfg.Sampler,
		IsDark:   cfg.IsDark,
		Now:      cfg.Now,
		NewSeed:  cfg.NewSeed,
		Ctx:      cfg.Context,
		Endpoint: cfg.Endpoint,
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewSeed == nil {
		c.NewSeed = func() int64 { return rand.Int64N(1 << 31) }
	}
	if c.Ctx == nil {
		c.Ctx = context.Background()
	}
	m := &Model{c: c, cfg: cfg, zoom: -1, dragging: -1, focus: focusPrompt, divergence: -1}
	m.api = cfg.API
	if m.api == "" {
		m.api = params.Chat
	}
	m.modelName = cfg.Model
	m.system = textarea.New()
	m.system.Placeholder = "optional system message"
	m.system.ShowLineNumbers = false
	m.system.SetValue(cfg.System)
	m.prompt = textarea.New()
	m.prompt.Placeholder = "write a prompt, then ctrl+r to run"
	m.prompt.ShowLineNumbers = false
	m.prompt.SetValue(cfg.Prompt)
	m.help = help.New()
	m.c.Profile = colorprofile.TrueColor
	m.c.HeatMode = heatmap.Probability
	if cfg.Heatmap != "" {
		if hm, ok := heatmap.ParseMode(cfg.Heatmap); ok {
			m.c.HeatMode = hm
		}
	}
	m.setTheme(cfg.IsDark)
	m.insp = inspector.New(m.c.Theme, m.c.Painter)
	m.prompt.Focus()
	m.panel = NewParamPanel(cfg.Params, cfg.Options)
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m.pace.meter, m.pace.bytesPerSec = cfg.Output, float64(cfg.OutputRate)
	if cfg.OutputRate == 0 {
		m.pace.bytesPerSec = DefaultOutputRate
	}
	m.fileInput = textinput.New()
	m.fileInput.Prompt = ""
	if cfg.Sampler == nil {
		m.conn = connOffline
	}
	m.status = "ready"
	if cfg.Session != nil {
		m.showSession(cfg.Session, cfg.SessionPath)
	}
	if cfg.Notice != "" {
		st := cfg.Notice
		if cfg.Session != nil {
			st += "; " + m.status
		}
		m.setStatus(st, false)
	}
	return m
}

// setTheme rebuilds every style for a background. A built-in palette is
// re-chosen for the background (the default follows the terminal); a palette
// given in Config (a user theme, loaded by the caller) is kept.
func (m *Model) setTheme(isDark bool) {
	m.c.IsDark = isDark
	var pal *themes.Palette
	if p := m.cfg.Palette; p != nil && !slices.Contains(themes.BuiltinNames(), p.Name) {
		pal = p
	} else {
		p, ok := themes.Builtin(m.cfg.Theme, isDark)
		if !ok {
			p, _ = themes.Builtin(themes.DefaultName, isDark)
		}
		pal = &p
	}
	t := themes.NewStyles(*pal, isDark)
	m.c.Theme = &t
	m.c.Styles = newStyleSet(&t)
	m.c.border = newBorderPieces(m.c.Styles.App.Border)
	m.c.borderFocused = newBorderPieces(m.c.Styles.App.BorderFocused)
	m.c.ThemeKey = fmt.Sprintf("%s/%v", pal.Name, isDark)
	m.divPrefix = stylePrefix(t.Column.Divergence)
	m.help.Styles = m.c.Styles.Help
	m.applyTextareaStyles()
	m.rebuildPainter()
}

// rebuildPainter makes the heatmap painter for the current mode, theme and
// colour profile; its key drops the columns' styled lines.
func (m *Model) rebuildPainter() {
	p := heatmap.NewPainter(m.c.Theme, m.c.HeatMode, m.c.Profile)
	m.c.Painter = p
	if m.insp != nil {
		m.insp.SetStyles(m.c.Theme)
		m.insp.SetPainter(p)
	}
}

// lineStyler is how columns style their lines right now. It is asked for by
// every column every frame, so it is rebuilt only when what it is made of
// changes (painter, styles, the divergence mark).
func (m *Model) lineStyler() lineStyler {
	in := stylerInputs{m.c.Painter, m.c.Styles, m.c.ThemeKey, m.divergence}
	if m.stylerOK && in == m.stylerIn {
		return m.styler
	}
	st := m.c.Styles.Sample
	ls := lineStyler{
		plain:      func(s string) string { return st.Text.Render(s) },
		divergence: m.divergence,
		divPrefix:  m.divPrefix,
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
	heatKey := ""
	if p := m.c.Painter; p != nil {
		heatKey = p.Key()
		ls.render, ls.cursor, ls.newline = p.Render, p.RenderCursor, p.NewlineMark
	}
	ls.key = fmt.Sprint(m.c.ThemeKey, "|", heatKey, "|div", m.divergence)
	m.styler, m.stylerIn, m.stylerOK = ls, in, true
	return ls
}

// stylerInputs is everything lineStyler is built from.
type stylerInputs struct {
	painter    *heatmap.Painter
	styles     *styleSet
	themeKey   string
	divergence int
}

func (m *Model) applyTextareaStyles() {
	st := m.c.Styles.TextArea
	m.system.SetStyles(st)
	m.prompt.SetStyles(st)
}

// Panel returns the parameter panel (tests, main).
func (m *Model) Panel() *ParamPanel { return m.panel }

// Columns returns the sample columns of the current run.
func (m *Model) Columns() []*Column { return m.cols }

// Init asks the terminal for its background and the server for its models.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.c.Sampler != nil {
		cmds = append(cmds, m.listModels())
	}
	return tea.Batch(cmds...)
}

func (m *Model) listModels() tea.Cmd {
	s, ctx := m.c.Sampler, m.c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ms, err := s.Models(ctx)
		return modelsMsg{ms, err}
	}
}

// typing reports whether printable keys belong to a text field.
func (m *Model) typing() bool {
	if m.modal == modalFile {
		return true
	}
	if m.modal != modalNone {
		return false
	}
	return m.focus == focusPrompt || m.focus == focusSystem || (m.focus == focusParams && m.panel.Editing())
}

// Update routes every message in one switch.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.stagger.on = false // a stream update or the spinner turns it back on
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.setTheme(msg.IsDark())
		return m, nil
	case tea.ColorProfileMsg:
		m.c.Profile = msg.Profile
		m.rebuildPainter()
		return m, nil
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.PasteMsg:
		return m, m.handlePaste(msg)
	case tea.MouseClickMsg, tea.MouseMotionMsg, tea.MouseReleaseMsg, tea.MouseWheelMsg:
		return m, m.handleMouse(msg.(tea.MouseMsg))
	case spinner.TickMsg:
		return m, m.onSpinnerTick()
	case runStartedMsg:
		return m, m.onRunStarted(msg)
	case runUpdateMsg:
		return m, m.onRunUpdate(msg)
	case modelsMsg:
		if msg.err != nil {
			m.conn, m.connErr = connFailed, sanitize.Line(msg.err.Error())
			return m, nil
		}
		m.conn, m.connErr, m.models = connOK, "", msg.models
		if m.modelName == "" && len(msg.models) > 0 {
			m.modelName = msg.models[0].ID
		}
		return m, nil
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case sessionLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		m.modal = modalNone
		m.showSession(msg.s, msg.path)
		return m, nil
	case sessionsListedMsg:
		m.sessions, m.sessionsDir, m.sessionsErr = msg.entries, msg.dir, ""
		if msg.err != nil {
			m.sessionsErr = msg.err.Error()
		}
		m.pickIdx = 0
		for i, e := range m.sessions {
			if e.path == m.loadedPath {
				m.pickIdx = i
			}
		}
		// The newest (or the open) session is offered, unless a path is
		// being typed already.
		if m.modal == modalFile && m.fileAct == fileOpenSession && m.fileInput.Value() == m.fileInitial && len(m.sessions) > 0 {
			m.setFileInput(m.sessions[m.pickIdx].path)
		}
		return m, nil
	case presetsListedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		}
		m.presets, m.presetDirShown = msg.names, msg.dir
		m.pickIdx = min(m.pickIdx, max(0, len(m.presets)-1))
		return m, nil
	case themeLoadedMsg:
		if msg.err != nil {
			// A malformed user theme is refused with its file, line and
			// field; the default palette came back with the error.
			m.setStatus("theme "+msg.name+": "+msg.err.Error(), true)
		} else {
			m.setStatus("theme: "+msg.name, false)
		}
		p := msg.p
		m.cfg.Theme, m.cfg.Palette = msg.name, &p
		m.setTheme(m.c.IsDark)
		return m, nil
	case presetLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		m.applyPreset(msg.p)
		m.modal = modalNone
		m.setStatus("preset "+msg.name+" loaded", false)
		return m, nil
	}
	// Everything else (cursor blink and the like) goes to the focused editor.
	return m, m.updateEditors(msg)
}

func (m *Model) updateEditors(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case m.modal == modalFile:
		m.fileInput, cmd = m.fileInput.Update(msg)
	case m.focus == focusPrompt:
		m.prompt, cmd = m.prompt.Update(msg)
	case m.focus == focusSystem:
		m.system, cmd = m.system.Update(msg)
	case m.focus == focusParams && m.panel.Editing():
		cmd = m.panel.UpdateInput(msg)
	}
	return cmd
}

// setStatus is where status text is sanitized, once: callers pass raw text
// (server errors, model and file names) and never sanitize it themselves.
func (m *Model) setStatus(s string, isErr bool) {
	m.status, m.statusErr = sanitize.Line(s), isErr
}

func (m *Model) streaming() bool { return m.run != nil && !m.run.done }

func (m *Model) handlePaste(msg tea.PasteMsg) tea.Cmd {
	if m.modal == modalNone && m.focus == focusParams && !m.panel.Editing() {
		// Pasting a number onto a slider edits it exactly.
		cmd := m.panel.StartEdit("")
		m.panel.input.SetValue("")
		return tea.Batch(cmd, m.panel.UpdateInput(msg))
	}
	return m.updateEditors(msg)
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.c.Keys
	if key.Matches(msg, k.Global.Quit) {
		if m.streaming() {
			m.run.canceled = true
			m.run.cancel()
			m.run.abandon()
		}
		return tea.Quit
	}
	if m.modal != modalNone {
		return m.handleModalKey(msg)
	}
	if m.focus == focusParams && m.panel.Editing() {
		switch {
		case key.Matches(msg, k.Dialog.Accept):
			m.panel.CommitEdit()
			return nil
		case key.Matches(msg, k.Dialog.Close):
			m.panel.CancelEdit()
			return nil
		case key.Matches(msg, k.Global.Run):
			m.panel.CommitEdit()
			if m.panel.Editing() {
				return nil
			}
			return m.startRun()
		}
		return m.panel.UpdateInput(msg)
	}
	printable := msg.Text != "" && msg.Mod&^(tea.ModShift) == 0
	textual := m.typing() && printable
	if !textual {
		switch {
		case key.Matches(msg, k.Global.Run):
			return m.startRun()
		case key.Matches(msg, k.Global.Cancel):
			m.cancelRun()
			return nil
		case key.Matches(msg, k.Global.Next):
			m.cycleFocus(1)
			return nil
		case key.Matches(msg, k.Global.Prev):
			m.cycleFocus(-1)
			return nil
		case key.Matches(msg, k.Global.Mode):
			m.toggleMode()
			return nil
		case key.Matches(msg, k.Global.Models):
			m.modal, m.pickIdx = modalModels, 0
			for i, mo := range m.models {
				if mo.ID == m.modelName {
					m.pickIdx = i
				}
			}
			if m.c.Sampler != nil {
				return m.listModels()
			}
			return nil
		case key.Matches(msg, k.Global.Export):
			m.modal = modalExport
			return nil
		case m.cfg.NoFiles && (key.Matches(msg, k.Global.Save) || key.Matches(msg, k.Global.Open) || key.Matches(msg, k.Global.Presets)):
			m.setStatus(noFilesMsg, true)
			return nil
		case key.Matches(msg, k.Global.Save):
			m.openFileDialog(fileSaveSession, m.defaultSessionPath(), modalNone)
			return m.fileInput.Focus()
		case key.Matches(msg, k.Global.Open):
			m.openFileDialog(fileOpenSession, "", modalNone)
			m.sessions, m.sessionsDir, m.sessionsErr, m.pickIdx = nil, "", "", 0
			return tea.Batch(m.fileInput.Focus(), listSessionsCmd(m.cfg.Dir))
		case key.Matches(msg, k.Global.Presets):
			m.modal, m.pickIdx = modalPresets, 0
			return m.listPresets()
		case key.Matches(msg, k.Global.Heatmap):
			m.c.HeatMode = m.c.HeatMode.Next()
			m.rebuildPainter()
			m.setStatus("heatmap: "+m.c.HeatMode.Title(), false)
			return nil
		case key.Matches(msg, k.Global.PromptHeat):
			m.promptHeat = !m.promptHeat
			if m.promptHeat {
				m.setStatus("prompt logprobs on: the next run colours the prompt (fetched with a separate request)", false)
			} else {
				m.setStatus("prompt logprobs off", false)
			}
			return nil
		case key.Matches(msg, k.Global.Theme):
			return m.nextTheme()
		case key.Matches(msg, k.Global.Help):
			m.fullHelp = !m.fullHelp
			m.relayout()
			return nil
		}
	}
	switch m.focus {
	case focusParams:
		return m.handleParamKey(msg)
	case focusSamples:
		m.handleSampleKey(msg)
		return nil
	}
	return m.updateEditors(msg)
}

func (m *Model) handleParamKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.c.Keys.Params
	switch {
	case key.Matches(msg, k.Up):
		m.panel.Move(-1)
	case key.Matches(msg, k.Down):
		m.panel.Move(1)
	case key.Matches(msg, k.CoarseLeft):
		m.panel.Step(-1, true)
	case key.Matches(msg, k.CoarseRight):
		m.panel.Step(1, true)
	case key.Matches(msg, k.Left):
		m.panel.Step(-1, false)
	case key.Matches(msg, k.Right):
		m.panel.Step(1, false)
	case key.Matches(msg, k.Edit):
		return m.panel.StartEdit("")
	case key.Matches(msg, k.ResetAll):
		m.panel.ResetAll()
		m.seedRun = nil
		dp, do := PlaygroundDefaults()
		m.setStatus(fmt.Sprintf("all parameters reset to the playground defaults (max_tokens %d, samples %d, logprobs %d)",
			*dp.MaxTokens, do.N, *do.Logprobs), false)
	case key.Matches(msg, k.Reset):
		m.panel.Reset()
		s := m.panel.Focused()
		if s.Key == "seed" {
			m.seedRun = nil
		}
		m.setStatus(s.Label+" reset to "+DefaultText(s), false)
	case key.Matches(msg, k.Lock) && m.panel.Focused().Key == "seed":
		m.panel.ToggleSeedLock()
		if m.panel.SeedLocked && m.panel.P.Seed == nil && m.seedRun != nil {
			// Locking right after a run keeps the seed that run drew.
			s := *m.seedRun
			m.panel.P.Seed = &s
		}
	default:
		if t := msg.Text; len(t) == 1 && (t[0] >= '0' && t[0] <= '9' || t[0] == '-' || t[0] == '.' || t[0] == '"') {
			return m.panel.StartEdit(t)
		}
	}
	return nil
}

func (m *Model) handleSampleKey(msg tea.KeyPressMsg) {
	k := &m.c.Keys.Samples
	if len(m.cols) == 0 {
		return
	}
	if key.Matches(msg, k.Inspect) {
		m.toggleInspector()
		return
	}
	if m.inspecting && m.handleInspectKey(msg) {
		return
	}
	col := m.cols[m.colFocus]
	page := max(1, col.height-1)
	switch {
	case key.Matches(msg, k.Left):
		m.focusColumn(m.colFocus - 1)
	case key.Matches(msg, k.Right):
		m.focusColumn(m.colFocus + 1)
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
	case key.Matches(msg, k.Zoom):
		if m.zoom >= 0 {
			m.zoom = -1
		} else {
			m.zoom = m.colFocus
		}
		m.relayout()
	}
}

func (m *Model) focusColumn(i int) {
	if len(m.cols) == 0 {
		return
	}
	m.colFocus = (i%len(m.cols) + len(m.cols)) % len(m.cols)
	if m.zoom >= 0 {
		m.zoom = m.colFocus
	}
	m.relayout()
}

func (m *Model) cycleFocus(d int) {
	order := []focusArea{focusPrompt, focusParams, focusSamples}
	if m.api == params.Chat {
		order = []focusArea{focusSystem, focusPrompt, focusParams, focusSamples}
	}
	cur := 0
	for i, f := range order {
		if f == m.focus {
			cur = i
		}
	}
	m.setFocus(order[((cur+d)%len(order)+len(order))%len(order)])
}

func (m *Model) setFocus(f focusArea) {
	if m.panel.Editing() && f != focusParams {
		m.panel.CancelEdit()
	}
	m.focus = f
	m.prompt.Blur()
	m.system.Blur()
	switch f {
	case focusPrompt:
		m.prompt.Focus()
	case focusSystem:
		m.system.Focus()
	}
	if m.compact() {
		m.relayout() // the panel opens and closes with focus
	}
}

func (m *Model) toggleMode() {
	if m.api == params.Chat {
		m.api = params.Completion
		if m.focus == focusSystem {
			m.setFocus(focusPrompt)
		}
	} else {
		m.api = params.Chat
	}
	m.setStatus("mode: "+string(m.api), false)
	m.relayout()
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

// buildRequest turns the screen's state into a backend request.
func (m *Model) buildRequest() backend.Request {
	req := backend.Request{API: m.api, Model: m.modelName, Params: m.panel.P.Clone(), Options: m.panel.O}
	if m.promptHeat {
		k := 5
		if lp := m.panel.O.Logprobs; lp != nil && *lp > 0 {
			k = *lp
		}
		req.Options.PromptLogprobs = &k
	}
	if m.api == params.Chat {
		if s := m.system.Value(); strings.TrimSpace(s) != "" {
			req.Messages = append(req.Messages, backend.Message{Role: "system", Content: s})
		}
		req.Messages = append(req.Messages, backend.Message{Role: "user", Content: m.prompt.Value()})
	} else {
		req.Prompt = m.prompt.Value()
	}
	return req
}

func (m *Model) startRun() tea.Cmd {
	if m.c.Sampler == nil {
		m.setStatus("no server: this session is read-only (start twinkle with --endpoint to run)", true)
		return nil
	}
	if err := m.panel.Invalid(); err != nil {
		m.setStatus("not sent: "+err.Error(), true)
		m.setFocus(focusParams)
		return nil
	}
	// Running while streaming cancels the old run first; its channel is
	// still drained (onRunUpdate) so nothing leaks.
	if m.streaming() {
		m.run.canceled = true
		m.run.cancel()
	}
	m.panel.ClearServerErrors()
	seedBefore := m.seedRun
	if !m.panel.SeedLocked {
		s := m.c.NewSeed()
		drawn := s
		m.panel.P.Seed, m.seedRun = &s, &drawn
	}
	req := m.buildRequest()
	if !m.panel.SeedLocked {
		// The drawn seed goes out with this run but the slider stays
		// "auto", so the next run draws again.
		m.panel.P.Seed = nil
	}
	m.runSeq++
	if m.run != nil {
		// Only the newest run may be undone: older screens are let go.
		m.run.before = shownSamples{}
	}
	ctx, cancel := context.WithCancel(m.c.Ctx)
	r := &runState{id: m.runSeq, ctx: ctx, cancel: cancel, req: req, started: m.c.Now(), finished: make(chan struct{}), abandoned: make(chan struct{}),
		asm: backend.NewAssembler(req), logprobs: req.Options.Logprobs != nil,
		before: shownSamples{run: m.run, cols: m.cols, loaded: m.loaded, loadedPath: m.loadedPath, promptTokens: m.promptTokens,
			promptAt: m.promptAt, colFocus: m.colFocus, zoom: m.zoom, seedRun: seedBefore}}
	m.run = r
	m.loaded, m.loadedPath = nil, ""
	m.promptTokens, m.promptAt = nil, m.prompt.Value()
	n := req.Options.Samples()
	m.cols = make([]*Column, n)
	for i := range m.cols {
		var seed *int64
		if req.Params.Seed != nil {
			s := *req.Params.Seed + int64(i)
			seed = &s
		}
		m.cols[i] = NewColumn(i, seed, r.started)
	}
	m.colFocus = min(m.colFocus, n-1)
	if m.zoom >= n {
		m.zoom = -1
	}
	m.relayout()
	m.refreshInspector()
	m.setStatus(fmt.Sprintf("running %d sample%s…", n, plural(n)), false)
	sampler, program := m.c.Sampler, m.c.Ctx
	start := func() tea.Msg {
		ch, err := sampler.Start(ctx, req)
		if err == nil {
			// The sampler's producer waits until its channel is read to the
			// end. If the program goes away first (an SSH session closing),
			// nothing would read it: this does, so no goroutine is left.
			go func() {
				select {
				case <-program.Done():
				case <-r.abandoned:
				case <-r.finished:
					return
				}
				for range ch {
				}
			}()
		}
		return runStartedMsg{run: r, ch: ch, err: err}
	}
	cmds := []tea.Cmd{start}
	if !m.spinning {
		m.spinning = true
		cmds = append(cmds, m.spin.Tick)
	}
	return tea.Batch(cmds...)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (m *Model) cancelRun() {
	if !m.streaming() {
		return
	}
	m.run.canceled = true
	m.run.cancel()
	m.setStatus("cancelling…", false)
}

func (m *Model) nextUpdate(r *runState) tea.Cmd {
	now := m.c.Now
	r.bridge.SetInterval(m.pace.gap)
	return func() tea.Msg {
		// Not r.ctx: after a cancel the channel still carries the cancelled
		// finishes, and it must be read to the end.
		u, ok := r.bridge.Next(context.Background())
		return runUpdateMsg{run: r, u: u, ok: ok, at: now()}
	}
}

func (m *Model) onRunStarted(msg runStartedMsg) tea.Cmd {
	r := msg.run
	if msg.err != nil {
		r.done = true
		r.cancel()
		if r != m.run {
			return nil
		}
		m.showRunError(msg.err)
		for _, c := range m.cols {
			var be *backend.Error
			if e, ok := backend.AsError(msg.err); ok {
				be = e
			} else {
				be = &backend.Error{Kind: backend.KindConfig, Message: msg.err.Error()}
			}
			c.Finish(backend.StopError, backend.StoppedBy{}, be)
		}
		m.restoreIfNotStarted(r, "could not run: "+msg.err.Error())
		return nil
	}
	r.ch = msg.ch
	r.bridge = backend.NewBridge(msg.ch, 0)
	m.pace.start(m.c.Now())
	return m.nextUpdate(r)
}

// endRun records that the run's channel has been read to the end.
func (r *runState) endRun() {
	if !r.done {
		r.done = true
	}
	r.cancel() // releases the context's resources; the run is over anyway
	select {
	case <-r.finished:
	default:
		close(r.finished)
	}
}

// abandon tells the run's reader that the UI will read no more (quitting
// mid-stream), so the rest of the channel is drained and nothing waits.
func (r *runState) abandon() {
	select {
	case <-r.abandoned:
	default:
		close(r.abandoned)
	}
}

func (m *Model) showRunError(err error) {
	var es params.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			m.panel.SetServerError(e.Field, e.Msg)
		}
	}
	if be, ok := backend.AsError(err); ok && be.Param != "" {
		m.panel.SetServerError(be.Param, be.Error())
	}
	m.setStatus("error: "+err.Error(), true)
}

func (m *Model) onRunUpdate(msg runUpdateMsg) tea.Cmd {
	r := msg.run
	if r != m.run {
		// A replaced run: keep draining it until its channel closes.
		if msg.ok && !msg.u.Closed {
			return m.nextUpdate(r)
		}
		r.endRun()
		return nil
	}
	for _, ev := range msg.u.Events {
		r.asm.Apply(ev)
		m.applyEvent(r, ev, msg.at)
	}
	m.refreshInspector()
	m.paceUpdate(msg.u, msg.at, msg.ok && !msg.u.Closed)
	if !msg.ok || msg.u.Closed {
		r.endRun()
		m.finishRun(r, msg.at)
		return nil
	}
	return m.nextUpdate(r)
}

func (m *Model) column(i int) *Column {
	if i < 0 {
		return nil
	}
	for i >= len(m.cols) {
		// A sweep or a server may number more samples than asked for.
		m.cols = append(m.cols, NewColumn(len(m.cols), nil, m.run.started))
		m.relayout()
	}
	return m.cols[i]
}

func (m *Model) applyEvent(r *runState, ev backend.Event, at time.Time) {
	switch ev.Kind {
	case backend.EventStart:
		if s := ev.Start; s != nil && len(r.req.Variants) == 0 && s.Count < len(m.cols)-s.First && s.Count >= 1 {
			// The sampler drew fewer samples than asked (greedy): drop the
			// columns that will never fill.
			m.cols = m.cols[:s.First+s.Count]
			m.colFocus = min(m.colFocus, len(m.cols)-1)
			if m.zoom >= len(m.cols) {
				m.zoom = -1
			}
			m.relayout()
		}
		if s := ev.Start; s != nil {
			for i := 0; i < s.Count; i++ {
				if c := m.column(s.First + i); c != nil && i < len(s.Seeds) {
					c.Seed = s.Seeds[i]
				}
			}
			if s.Note != "" {
				m.setStatus(s.Note, false)
			}
			if m.modelName == "" {
				m.modelName = s.Model
			}
		}
	case backend.EventTokens:
		c := m.column(ev.Sample)
		if c == nil {
			return
		}
		switch {
		case r.logprobs && !c.textOnly && len(ev.Tokens) > 0:
			// Tokens come from the logprobs entries and can run ahead of
			// the text (vLLM holds text back); the column shows tokens.
			c.AppendTokens(ev.Tokens, at)
			c.NoteText(ev.Text)
		case r.logprobs && !c.textOnly && c.tokens == nil && ev.Text != "":
			// Text before any token: the server does not send logprobs
			// (not every OpenAI-compatible server does); show the text.
			c.textOnly = true
			c.AppendText(ev.Text, at)
		case !r.logprobs || c.textOnly:
			c.AppendText(ev.Text, at)
		default:
			c.NoteText(ev.Text) // text catching up with tokens shown already
		}
	case backend.EventFinish:
		if c := m.column(ev.Sample); c != nil {
			c.Finish(ev.Reason, ev.StoppedBy, ev.Err)
		}
		if ev.Err != nil && ev.Reason == backend.StopError {
			if ev.Err.Param != "" {
				m.panel.SetServerError(ev.Err.Param, ev.Err.Error())
			}
			if !m.statusErr {
				m.setStatus(fmt.Sprintf("sample %d: %s", ev.Sample+1, errorText(ev.Err, ev.Reason)), true)
			}
		}
	case backend.EventPromptLogprobs:
		if m.promptTokens == nil && len(ev.PromptTokens) > 0 {
			m.promptTokens = fillFirstPromptToken(ev.PromptTokens, r.req)
		}
	case backend.EventError:
		if ev.Err != nil {
			// It ends no sample, so the run's summary carries it on.
			r.problem = ev.Err.Error()
			m.showRunError(ev.Err)
		}
	case backend.EventDone:
		if ev.Err != nil {
			m.showRunError(ev.Err)
			for _, c := range m.cols {
				if c.Streaming {
					c.Finish(backend.StopError, backend.StoppedBy{}, ev.Err)
				}
			}
		}
	}
}

func (m *Model) finishRun(r *runState, at time.Time) {
	for _, c := range m.cols {
		if c.Streaming {
			// The channel closed without this sample's finish: say so.
			reason := backend.StopInterrupted
			if r.canceled {
				reason = backend.StopCancelled
			}
			c.Finish(reason, backend.StoppedBy{}, nil)
		}
	}
	text, isErr := runSummary(m.cols, r.canceled, formatDuration(at.Sub(r.started)))
	if r.problem != "" {
		text, isErr = text+"; "+r.problem, true
	}
	m.setStatus(text, isErr)
	if m.switchToCompletion(r) {
		return
	}
	if len(m.cols) > 0 {
		m.restoreIfNotStarted(r, "could not run: "+m.cols[0].failureText())
	}
}

// switchToCompletion handles a chat run that the server refused because the
// model has no chat template (vLLM's 400, read from the answer, never from the
// model's name): in automatic mode the playground moves to completion mode and
// says so, keeping what was on screen. A mode the user chose is left alone.
func (m *Model) switchToCompletion(r *runState) bool {
	if m.cfg.API != "" || r.req.API != params.Chat || m.api != params.Chat || r.canceled || len(m.cols) == 0 {
		return false
	}
	for _, c := range m.cols {
		if c.Err == nil || !backend.NoChatTemplate(c.Err) {
			return false
		}
	}
	m.toggleMode()
	m.restoreIfNotStarted(r, "the server has no chat template for this model, so the playground switched to completion mode (ctrl+t toggles); ctrl+r runs again")
	m.setStatus("the server has no chat template for this model: switched to completion mode (ctrl+t toggles); ctrl+r runs again", true)
	return true
}

// restoreIfNotStarted puts back what the screen showed before run r when r
// never started (every sample failed before a token): columns of errors
// must not replace a loaded session or the last run's samples.
func (m *Model) restoreIfNotStarted(r *runState, why string) {
	b := r.before
	r.before = shownSamples{} // asked once, at the run's end
	if r != m.run || r.canceled || len(b.cols) == 0 {
		return
	}
	for _, c := range m.cols {
		if c.Reason != backend.StopError || c.TokenCount() > 0 || c.Text() != "" {
			return
		}
	}
	m.run, m.cols, m.loaded, m.loadedPath = b.run, b.cols, b.loaded, b.loadedPath
	m.promptTokens, m.promptAt, m.colFocus, m.zoom, m.seedRun = b.promptTokens, b.promptAt, b.colFocus, b.zoom, b.seedRun
	m.relayout()
	m.refreshInspector()
	what := "the previous samples"
	if b.loaded != nil {
		what = "the session as loaded from " + b.loadedPath
	}
	m.setStatus(why+"; showing "+what, true)
}

// readOnly says why a loaded session cannot be run yet, "" when it can or
// when no session is loaded.
func (m *Model) readOnly() string {
	if m.loaded == nil {
		return ""
	}
	switch {
	case m.c.Sampler == nil:
		return "read-only"
	case m.conn == connFailed:
		return "read-only until the server answers"
	case m.conn == connOK && len(m.models) > 0 && m.modelName != "" &&
		!slices.ContainsFunc(m.models, func(mo backend.Model) bool { return mo.ID == m.modelName }):
		return "read-only: model not served here (ctrl+l picks one)"
	}
	return ""
}

// runSummary says how a run ended: done, done with some samples failed,
// failed, interrupted or cancelled, with the first failure's reason, so a
// run in which nothing succeeded never reads as done.
func runSummary(cols []*Column, canceled bool, took string) (string, bool) {
	failed, errored := 0, 0
	first, why, same := "", "", true
	for _, c := range cols {
		if !c.Reason.Failed() || c.Reason == backend.StopCancelled {
			continue
		}
		failed++
		if c.Reason == backend.StopError {
			errored++
		}
		w := c.failureText()
		if first == "" {
			first, why = fmt.Sprintf("sample %d: %s", c.Index+1, w), w
		}
		same = same && w == why
	}
	n := len(cols)
	if failed == n && same {
		// One reason for every sample: naming a sample would only add noise.
		first = why
	}
	all := ""
	if n > 1 {
		all = fmt.Sprintf(" (all %d samples)", n)
	}
	switch {
	case canceled:
		return "cancelled after " + took + " (text kept)", false
	case failed == 0:
		return "done in " + took, false
	case failed == n && errored == n:
		return "failed after " + took + all + ": " + first, true
	case failed == n:
		return "interrupted after " + took + all + ": " + first, true
	}
	return fmt.Sprintf("done in %s with %d of %d failed: %s", took, failed, n, first), true
}

// Response returns the SampleResponse of the last run (or loaded session).
func (m *Model) Response() (backend.SampleResponse, bool) {
	if m.run != nil && m.run.asm != nil {
		return m.run.asm.Response(), true
	}
	if m.loaded != nil {
		return m.loaded.Response, true
	}
	return backend.SampleResponse{}, false
}

// nextTheme loads the theme after the current one (built-ins, then the TOML
// themes in the config folder); reading the folder happens in the command.
func (m *Model) nextTheme() tea.Cmd {
	cur := m.cfg.Theme
	if cur == "" {
		cur = themes.DefaultName
	}
	isDark := m.c.IsDark
	dir := m.cfg.ThemeDir
	return func() tea.Msg {
		if dir == "" {
			if d, err := themes.Dir(); err == nil {
				dir = d
			}
		}
		reg := themes.NewRegistry(dir)
		name := reg.Next(cur)
		p, err := reg.Load(name, isDark)
		return themeLoadedMsg{name: name, p: p, err: err}
	}
}

// fillFirstPromptToken recovers the text of the first prompt token, which
// vLLM reports as null (nothing precedes it): in completion mode it is what
// the prompt holds before the other tokens' text. The logprob stays unknown.
func fillFirstPromptToken(toks []backend.Token, req backend.Request) []backend.Token {
	if len(toks) == 0 || toks[0].Text != "" || req.API != params.Completion {
		return toks
	}
	var rest strings.Builder
	for _, t := range toks[1:] {
		rest.WriteString(t.Text)
	}
	head, ok := strings.CutSuffix(req.Prompt, rest.String())
	if !ok || head == "" {
		return toks
	}
	out := append([]backend.Token(nil), toks...)
	out[0].Text = head
	return out
}

// stylePrefix is the escape sequence that turns st on (what lipgloss writes
// before the text), to lay a mark over text styled elsewhere.
func stylePrefix(st lipgloss.Style) string {
	s := st.Render("x")
	if i := strings.Index(s, "x"); i > 0 {
		return s[:i]
	}
	return ""
}
