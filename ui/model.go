package ui

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

type focusArea int

const (
	focusPrompt focusArea = iota
	focusParams
	focusSamples
)

type connState int

const (
	connUnknown connState = iota
	connOK
	connFailed
	connOffline
)

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
	// promptTokens is usage.prompt_tokens of one of the run's requests
	// (each sends the same prompt; the response's usage sums them).
	promptTokens int
	// convoVer is the conversation's version the run sent; sent and turnOf
	// are its messages' contents and the turn each came from.
	convoVer int
	sent     []string
	turnOf   []int
	// sweep is the sweep the run is, nil for a plain run.
	sweep *sweepPlan
	// labels head each variant's columns (a sweep's values, a compare's
	// targets), nil for a plain run.
	labels []string
	// sweepStarted counts the variants that have started; sweepEnd is one
	// past the last sample they number.
	sweepStarted, sweepEnd int
	// note is what the backend said of the run's values (EventNote).
	note string
	// before is what the screen showed when the run began, put back if the
	// run cannot start (a loaded session is not wiped by a 404).
	before shownSamples
}

// shownSamples is what the sample area shows and where it came from.
type shownSamples struct {
	run            *runState
	cols           []*column
	loaded         *Session
	loadedPath     string
	promptHeat     promptHeat
	convoHeat      convoHeat
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
	themeLoadedMsg struct {
		name string
		p    themes.Palette
		err  error
	}
)

// Model is the playground's root model, the only tea.Model in ui.
type Model struct {
	c   *Common
	cfg Config

	// Routing and layout: what has focus, the dialogs open over the body,
	// the rectangles relayout computed.
	focus   focusArea
	overlay overlay
	rects   layoutRects

	// The components: the panes, the header and help lines.
	prompt  *editorPane
	convo   *convoPane
	panel   *paramPanel
	samples *samplesPane
	header  header
	help    *helpBar

	// Where runs go: the request's mode and model, the server's state.
	api       params.API
	modelName string
	conn      connState
	connErr   string
	models    []backend.Model
	// promptHeat asks runs for the prompt's logprobs too (the prompt pane
	// shows them as a heatmap).
	promptHeat bool

	// The run, and what the samples came from.
	run     *runState
	runSeq  int
	seedRun *int64 // the seed the last unlocked run drew, shown on the seed row
	// quit is closed when the program quits: runs that were replaced but are
	// still being read (their channels drain through Update) are then drained
	// by their own goroutines, since Update reads no more.
	quit       chan struct{}
	loaded     *Session // the session shown when the run came from a file
	loadedPath string
	spin       spinner.Model
	spinning   bool
	// lastSweep is the sweep run last, offered again when the dialog opens.
	lastSweep *sweepPlan
	// compare holds every target the program was given (--compare), nil
	// without; targetsOn says which the runs go to.
	compare   *backend.Multi
	targetsOn []bool
	pace      framePacer

	// explore is the branch tree of the samples on screen.
	explore exploreState

	// The status line.
	status    string
	statusErr bool
}

type layoutRects struct {
	header, panel, prompt, samples, status, help rect
	summary, legend                              rect // a compact screen's parameter and legend lines
	panelOuter, promptOuter, samplesOuter        rect
	inspOuter                                    rect
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
		Store:    cfg.Store,
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
	if c.Store == nil {
		c.Keys.withoutFiles()
	}
	m := &Model{c: c, cfg: cfg, focus: focusPrompt, quit: make(chan struct{})}
	m.api = cfg.API
	if mt, ok := cfg.Sampler.(*backend.Multi); ok {
		m.compare = mt
		m.targetsOn = make([]bool, len(mt.Targets))
		for i := range m.targetsOn {
			m.targetsOn[i] = true
		}
	}
	if m.api == "" {
		m.api = params.Chat
	}
	m.modelName = cfg.Model
	m.prompt = newEditorPane(c, "write a prompt, then ctrl+r to run", cfg.Prompt)
	m.convo = newConvoPane(c, cfg.System, cfg.Prompt, cfg.Messages)
	m.help = newHelpBar(c)
	m.c.Profile = colorprofile.TrueColor
	m.c.HeatMode = heatmap.Probability
	if cfg.Heatmap != "" {
		if hm, ok := heatmap.ParseMode(cfg.Heatmap); ok {
			m.c.HeatMode = hm
		}
	}
	m.setTheme(cfg.IsDark)
	m.samples = newSamplesPane(c)
	m.samples.smooth = cfg.SmoothScroll
	m.prompt.Focus()
	m.convo.Focus()
	m.panel = newParamPanel(c, cfg.Params, cfg.Options)
	m.panel.applyCaps(cfg.Caps)
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m.pace.meter, m.pace.bytesPerSec = cfg.Output, float64(cfg.OutputRate)
	if cfg.OutputRate == 0 {
		m.pace.bytesPerSec = DefaultOutputRate
	}
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
	var t *themes.Styles
	if p := m.cfg.Palette; p != nil && !slices.Contains(themes.BuiltinNames(), p.Name) {
		pal = p
		st := themes.NewStyles(*pal, isDark)
		t = &st
	} else {
		p, ok := themes.Builtin(m.cfg.Theme, isDark)
		if !ok {
			p, _ = themes.Builtin(themes.DefaultName, isDark)
		}
		pal = &p
		t = m.cfg.SharedStyles.builtin(p, isDark)
	}
	m.c.Styles = t
	m.c.frames = newFrames(t)
	m.c.ThemeKey = fmt.Sprintf("%s/%v", pal.Name, isDark)
	m.help.setStyles(t.Help)
	m.prompt.SetStyles(t.TextArea)
	if m.convo != nil {
		m.convo.ed.SetStyles(t.TextArea)
	}
	m.rebuildPainter()
	if m.samples != nil {
		m.samples.setTheme()
	}
}

// rebuildPainter makes the heatmap painter for the current mode, theme and
// colour profile; its key drops the columns' styled lines.
func (m *Model) rebuildPainter() {
	p := heatmap.NewPainterBy(m.c.Styles, m.painterMode(), m.c.Profile, m.c.HeatProcessed)
	m.c.Painter = p
	if m.samples != nil {
		m.samples.setPainter()
	}
}

// Init asks the terminal for its background and the server for its models.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.c.Sampler != nil {
		cmds = append(cmds, m.listModels(), m.countSoon())
	}
	return tea.Batch(cmds...)
}

func (m *Model) listModels() tea.Cmd {
	s, ctx := m.c.Sampler, m.c.Ctx
	if s == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ms, err := s.Models(ctx)
		return modelsMsg{ms, err}
	}
}

// connFailure is why the server could not list its models, "" when it could.
func (m *Model) connFailure() string {
	if m.conn == connFailed {
		return m.connErr
	}
	return ""
}

// typing reports whether printable keys belong to a text field.
func (m *Model) typing() bool {
	return m.focus == focusPrompt || (m.focus == focusParams && m.panel.Editing())
}

// Update routes every message in one switch.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.samples.stagger.on = false // a stream update or the spinner turns it back on
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
	case exploreRunMsg:
		return m, m.onExploreRun(msg)
	case modelsMsg:
		if msg.err != nil {
			m.conn, m.connErr = connFailed, sanitize.Line(msg.err.Error())
			return m, m.toDialogs(msg)
		}
		m.conn, m.connErr, m.models = connOK, "", msg.models
		if m.modelName == "" && len(msg.models) > 0 {
			m.modelName = msg.models[0].ID
		}
		return m, m.toDialogs(msg)
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case NoticeMsg:
		m.setStatus(string(msg), false)
		return m, nil
	case biasResolvedMsg:
		m.onBiasResolved(msg)
		return m, nil
	case sessionLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		m.overlay.clear()
		m.showSession(msg.s, msg.path)
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
	case convoCountTickMsg:
		return m, m.countNow(msg.ver)
	case convoCountMsg:
		if msg.err == nil && msg.ver == m.convo.ver {
			m.convo.count = convoCount{n: msg.n, max: msg.max, ver: msg.ver, ok: true}
		}
		return m, nil
	case conversationLoadedMsg:
		m.overlay.clear()
		m.openConversation(msg.msgs, msg.path)
		return m, m.countSoon()
	case presetLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		m.applyPreset(msg.p)
		m.setStatus("preset "+msg.name+" loaded", false)
		return m, m.toDialogs(msg)
	}
	if !m.overlay.empty() {
		// A listing a dialog asked for, its cursor's blink.
		return m, m.toDialogs(msg)
	}
	// Everything else (cursor blink and the like) goes to the focused editor.
	return m, m.updateEditors(msg)
}

func (m *Model) updateEditors(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case m.focus == focusPrompt && m.api == params.Chat:
		var changed bool
		if cmd, changed = m.convo.update(msg); changed {
			cmd = tea.Batch(cmd, m.countSoon())
		}
	case m.focus == focusPrompt:
		cmd = m.prompt.update(msg)
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
	if !m.overlay.empty() {
		return m.toFront(msg)
	}
	if m.focus == focusParams && !m.panel.Editing() {
		// Pasting a number onto a slider edits it exactly.
		return m.panel.Paste(msg)
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
		m.quitOnce() // replaced runs still being read are let go too
		return tea.Quit
	}
	if !m.overlay.empty() {
		return m.toFront(msg)
	}
	if m.focus == focusParams && m.panel.Editing() {
		switch {
		case key.Matches(msg, k.Dialog.Accept):
			m.panel.CommitEdit()
			return m.resolveBiasCmd()
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
			return tea.Batch(m.open(newModelsDialog(m.c, m.models, m.modelName, m.connFailure())), m.listModels())
		case key.Matches(msg, k.Global.Sweep):
			return m.open(m.sweepDialog())
		case key.Matches(msg, k.Global.Batch):
			return m.startBatch()
		case key.Matches(msg, k.Global.Targets):
			if m.compare == nil {
				m.setStatus("one endpoint: start twinkle with --compare NAME=URL,MODEL (up to 3 times) to run endpoints side by side", true)
				return nil
			}
			return m.open(newTargetsDialog(m.c, m.compare.Targets, m.targetsOn))
		case key.Matches(msg, k.Global.Export):
			return m.open(newExportDialog(m.c, m.exportText))
		case m.c.Store == nil && (pressed(msg, k.Global.Save) || pressed(msg, k.Global.Open) || pressed(msg, k.Global.Presets)):
			m.setStatus(noFilesMsg, true)
			return nil
		case key.Matches(msg, k.Global.Save):
			return m.open(newFileDialog(m.c, "save session to", "", m.defaultSessionPath(), func(path string) action {
				return runCmd{saveSessionCmd(m.snapshot(), path)}
			}))
		case key.Matches(msg, k.Global.Open):
			return m.open(newSessionsDialog(m.c, m.loadedPath))
		case key.Matches(msg, k.Global.Presets):
			return m.open(newPresetsDialog(m.c, m.savePresetCmd))
		case key.Matches(msg, k.Global.Heatmap):
			m.c.HeatMode = m.c.HeatMode.Next()
			m.rebuildPainter()
			m.setStatus("heatmap: "+m.c.HeatMode.Title(), false)
			return nil
		case key.Matches(msg, k.Global.HeatSource):
			m.toggleHeatProcessed()
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
			m.help.toggle(m.focused(), m.c.Width)
			m.relayout()
			return nil
		}
	}
	switch m.focus {
	case focusParams:
		return m.handleParamKey(msg)
	case focusSamples:
		if cmd, ok := m.exploreKey(msg); ok {
			return cmd
		}
		if key.Matches(msg, k.Samples.Keep) {
			return m.keepSample()
		}
		if m.samples.handleKey(msg) {
			m.relayout() // the inspector or the stats opened or closed
		}
		if key.Matches(msg, m.c.Keys.Samples.Rank) && len(m.samples.cols) > 0 {
			m.setStatus(m.samples.rankSummary(), false)
		}
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
	case key.Matches(msg, k.Advanced):
		m.panel.ToggleAdvanced()
	case (key.Matches(msg, k.Edit) || key.Matches(msg, k.Lock)) && m.panel.Toggle():
	case key.Matches(msg, k.Edit):
		return m.panel.StartEdit("")
	case key.Matches(msg, k.ResetAll):
		m.panel.ResetAll()
		m.seedRun = nil
		dp, do := params.PlaygroundDefaults()
		m.setStatus(fmt.Sprintf("all parameters reset to the playground defaults (max_tokens %d, samples %d, logprobs %d)",
			*dp.MaxTokens, do.N, *do.Logprobs), false)
	case key.Matches(msg, k.Reset):
		m.panel.Reset()
		s := m.panel.Focused()
		if s.Key == "seed" {
			m.seedRun = nil
		}
		m.setStatus(s.Label+" reset to "+defaultText(s), false)
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

func (m *Model) cycleFocus(d int) {
	order := []focusArea{focusPrompt, focusParams, focusSamples}
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
	m.convo.Blur()
	if f == focusPrompt {
		m.prompt.Focus()
		m.convo.Focus()
	}
	if m.compact() {
		m.relayout() // the panel opens and closes with focus
	}
}

func (m *Model) toggleMode() {
	// A conversation of one user turn and the raw prompt stand for each
	// other: the text goes across. A longer conversation stays as it is.
	if m.api == params.Chat {
		m.api = params.Completion
		if m.convo.single() {
			m.prompt.SetValue(m.convo.lastUser())
		}
	} else {
		m.api = params.Chat
		if m.convo.single() && m.convo.lastUser() != m.prompt.Value() {
			m.convo.turns[1].Content = m.prompt.Value()
			m.convo.reshaped()
			m.convo.load(1)
		}
	}
	st := "mode: " + string(m.api)
	if m.api == params.Completion && !m.convo.single() {
		st += " (one raw prompt; the conversation stays for chat mode, ctrl+t)"
	}
	m.setStatus(st, false)
	m.relayout()
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

// buildRequest turns the screen's state into a backend request.
func (m *Model) buildRequest() backend.Request {
	req := backend.Request{API: m.api, Model: m.modelName, Params: m.panel.P.Clone(), Options: m.panel.O, LogprobsMode: m.panel.Mode()}
	req.Options.Advanced = m.panel.O.Advanced.Clone()
	if m.promptHeat {
		k := 5
		if lp := m.panel.O.Logprobs; lp != nil && *lp > 0 {
			k = *lp
		}
		req.Options.PromptLogprobs = &k
	}
	if m.api == params.Chat {
		req.Messages = m.convo.messages()
	} else {
		req.Prompt = m.prompt.Value()
	}
	return req
}

func (m *Model) startRun() tea.Cmd { return m.launch(nil, nil) }

// launch starts a run: the request on screen, or with sw one variant of it
// per cell of the sweep, all in one run (backend.Request.Variants), or with
// batch the request once per prompt.
func (m *Model) launch(sw *sweepPlan, batch []string) tea.Cmd {
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
	m.panel.SetThinkingCut("")
	seedBefore := m.seedRun
	if !m.panel.SeedLocked {
		s := m.c.NewSeed()
		drawn := s
		m.panel.P.Seed, m.seedRun = &s, &drawn
	}
	req := m.buildRequest()
	// The ids of the prompt and the tokens let a fork send its prefix exactly.
	req.TokenIDs = req.Options.Logprobs != nil
	if !m.panel.SeedLocked {
		// The drawn seed goes out with this run but the slider stays
		// "auto", so the next run draws again.
		m.panel.P.Seed = nil
	}
	sampler := m.runSampler()
	if batch != nil {
		if _, ok := sampler.(*backend.Multi); ok || sw != nil {
			m.seedRun = seedBefore
			m.setStatus("batch not sent: a batch runs on one target, without a sweep", true)
			return nil
		}
		sampler = &backend.Batch{Sampler: sampler, Prompts: batch}
		req.Options.PromptLogprobs = nil // the prompt pane shows one prompt
	}
	if _, ok := sampler.(*backend.Multi); ok && sw != nil {
		m.seedRun = seedBefore
		m.setStatus("sweep not sent: a sweep runs on one target, and this playground compares several", true)
		return nil
	}
	if sw != nil {
		var err error
		if sw, err = m.planRun(&req, sw); err != nil {
			m.seedRun = seedBefore
			m.setStatus("sweep not sent: "+err.Error(), true)
			return nil
		}
	}
	m.runSeq++
	if m.run != nil {
		// Only the newest run may be undone: older screens are let go.
		m.run.before = shownSamples{}
	}
	ctx, cancel := context.WithCancel(m.c.Ctx)
	r := &runState{id: m.runSeq, ctx: ctx, cancel: cancel, req: req, started: m.c.Now(), finished: make(chan struct{}), abandoned: make(chan struct{}),
		asm: backend.NewAssembler(req), logprobs: req.Options.Logprobs != nil,
		before: shownSamples{run: m.run, cols: m.samples.cols, loaded: m.loaded, loadedPath: m.loadedPath, promptHeat: m.prompt.heat,
			convoHeat: m.convo.heat, colFocus: m.samples.focus, zoom: m.samples.zoom, seedRun: seedBefore}}
	if req.API == params.Chat {
		r.convoVer, r.turnOf = m.convo.ver, m.convo.sentTurns()
		for _, msg := range req.Messages {
			r.sent = append(r.sent, msg.Content)
		}
		m.convo.heat = convoHeat{ver: m.convo.heat.ver + 1}
	}
	m.run = r
	m.loaded, m.loadedPath = nil, ""
	m.prompt.heat = promptHeat{at: m.prompt.Value()}
	r.sweep = sw
	if sw == nil {
		m.samples.perRow = 0
	}
	r.labels = runLabels(req, sw, sampler)
	n := req.Options.Samples()
	if sw == nil && r.labels != nil && (n > 1 || batch != nil) {
		m.samples.perRow = n // a row per target or prompt
	}
	m.samples.setColumns(runColumns(req, r.labels, r.started))
	m.samples.topAsked = topAsked(r)
	m.relayout()
	m.samples.refreshInspector()
	if batch != nil {
		m.setStatus(fmt.Sprintf("sampling a batch: %d prompts × %d sample%s…", len(batch), n, plural(n)), false)
	} else if mt, ok := sampler.(*backend.Multi); ok && sw == nil {
		m.setStatus(fmt.Sprintf("comparing %d targets × %d sample%s…", len(mt.Targets), n, plural(n)), false)
	} else if sw != nil {
		m.setStatus(fmt.Sprintf("sweeping %s: %d variants × %d sample%s…", sw.title(), len(sw.variants), n, plural(n)), false)
	} else {
		m.setStatus(fmt.Sprintf("running %d sample%s…", n, plural(n)), false)
	}
	program, quit := m.c.Ctx, m.quit
	start := func() tea.Msg {
		ch, err := sampler.Start(ctx, req)
		if err == nil {
			// The sampler's producer waits until its channel is read to the
			// end. If the program goes away first (an SSH session closing),
			// nothing would read it: this does, so no goroutine is left.
			go func() {
				select {
				case <-program.Done():
				case <-quit:
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
		for _, c := range m.samples.cols {
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

// quitOnce closes the quit channel once.
func (m *Model) quitOnce() {
	select {
	case <-m.quit:
	default:
		close(m.quit)
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
	m.samples.refreshInspector()
	m.paceUpdate(msg.u, msg.at, msg.ok && !msg.u.Closed)
	if !msg.ok || msg.u.Closed {
		r.endRun()
		m.finishRun(r, msg.at)
		return nil
	}
	return m.nextUpdate(r)
}

// column is sample i's column: a sweep or a server may number more samples
// than asked for, and gets the columns.
func (m *Model) column(i int) *column {
	c, grew := m.samples.column(i, m.run.started)
	if grew {
		m.relayout()
	}
	return c
}

func (m *Model) applyEvent(r *runState, ev backend.Event, at time.Time) {
	switch ev.Kind {
	case backend.EventStart:
		if s := ev.Start; s != nil && r.labels == nil && s.Count < len(m.samples.cols)-s.First && s.Count >= 1 {
			// The sampler drew fewer samples than asked (greedy): drop the
			// columns that will never fill.
			m.samples.setColumns(m.samples.cols[:s.First+s.Count])
			m.relayout()
		}
		if s := ev.Start; s != nil && r.labels != nil {
			m.startVariant(r, s)
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
			m.setShownMode(s.LogprobsMode)
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
		case r.logprobs && !c.textOnly && (len(ev.Tokens) > 0 || c.tokens != nil):
			// Tokens come from the logprobs entries and can run ahead of
			// the text (vLLM holds text back); the column draws the text
			// with its tokens placed in it.
			c.AppendParts(ev.Tokens, ev.Reasoning, ev.Text, at)
		case r.logprobs && !c.textOnly && c.tokens == nil && (ev.Text != "" || ev.Reasoning != ""):
			// Text before any token: the server does not send logprobs
			// (not every OpenAI-compatible server does); show the text.
			c.textOnly = true
			c.AppendTextParts(ev.Reasoning, ev.Text, at)
		case !r.logprobs || c.textOnly:
			c.AppendTextParts(ev.Reasoning, ev.Text, at)
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
	case backend.EventUsage:
		r.promptTokens = max(r.promptTokens, ev.Usage.PromptTokens)
	case backend.EventPromptLogprobs:
		if r.req.API == params.Chat {
			if ev.PromptAlignment == backend.PromptUnaligned && m.convo.heat.turns == nil {
				m.convo.setHeatNote("prompt logprobs did not match the prompt sent: nothing coloured")
			}
			if m.convo.heat.turns == nil && len(ev.PromptTokens) > 0 && r.convoVer == m.convo.ver {
				m.convo.setPromptHeat(ev.PromptTokens, r.sent, r.turnOf)
			}
			return
		}
		if ev.PromptAlignment == backend.PromptUnaligned && m.prompt.heat.tokens == nil {
			m.prompt.heat.note = "prompt logprobs did not match the prompt sent: nothing coloured"
		}
		if m.prompt.heat.tokens == nil && len(ev.PromptTokens) > 0 {
			m.prompt.heat.tokens = fillFirstPromptToken(ev.PromptTokens, r.req)
		}
	case backend.EventRetry:
		if ev.Retry != nil {
			note := retryNote{attempt: ev.Retry.Attempt, of: ev.Retry.MaxAttempts, until: at.Add(ev.Retry.Wait), status: ev.Retry.Status}
			lo, hi := ev.Sample, ev.Sample+ev.Count
			if ev.Count == 0 {
				lo, hi = 0, len(m.samples.cols)
			}
			for i := max(lo, 0); i < min(hi, len(m.samples.cols)); i++ {
				m.samples.cols[i].Retrying(note)
			}
		}
	case backend.EventNote:
		// Said once, in the run's summary: the values do not fit the
		// mode claimed, or are all 0.0.
		if ev.Text != "" && !strings.Contains(r.note, ev.Text) {
			r.note = strings.TrimPrefix(r.note+"; "+ev.Text, "; ")
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
			for _, c := range m.samples.cols {
				if c.Streaming {
					c.Finish(backend.StopError, backend.StoppedBy{}, ev.Err)
				}
			}
		}
	}
}

func (m *Model) finishRun(r *runState, at time.Time) {
	for _, c := range m.samples.cols {
		if c.Streaming {
			// The channel closed without this sample's finish: say so.
			reason := backend.StopInterrupted
			if r.canceled {
				reason = backend.StopCancelled
			}
			c.Finish(reason, backend.StoppedBy{}, nil)
		}
	}
	text, isErr := runSummary(m.samples.cols, r.canceled, formatDuration(at.Sub(r.started)))
	if r.problem != "" {
		text, isErr = text+"; "+r.problem, true
	}
	if r.note != "" {
		text += "; note: " + r.note
	}
	m.setStatus(text, isErr)
	m.noteThinkingCut()
	defer m.treeFromRun(r) // after a run that never started has put the screen back
	if c := m.convo.count; r.req.API == params.Chat && r.promptTokens > 0 && !r.canceled && (r.convoVer == m.convo.ver || !c.ok || c.ver != m.convo.ver) {
		// A count of the conversation as it now reads, tokenized while the
		// run streamed, is newer than the run's.
		m.convo.count = convoCount{n: r.promptTokens, ver: r.convoVer, run: true, ok: true}
	}
	if m.switchToCompletion(r) {
		return
	}
	if len(m.samples.cols) > 0 {
		m.restoreIfNotStarted(r, "could not run: "+m.samples.cols[0].failureText())
	}
}

// switchToCompletion handles a chat run that the server refused because the
// model has no chat template (vLLM's 400, read from the answer, never from the
// model's name): in automatic mode the playground moves to completion mode and
// says so, keeping what was on screen. A mode the user chose is left alone.
func (m *Model) switchToCompletion(r *runState) bool {
	if m.cfg.API != "" || r.req.API != params.Chat || m.api != params.Chat || r.canceled || len(m.samples.cols) == 0 {
		return false
	}
	for _, c := range m.samples.cols {
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
	for _, c := range m.samples.cols {
		if c.Reason != backend.StopError || c.TokenCount() > 0 || c.Text() != "" {
			return
		}
	}
	m.run, m.loaded, m.loadedPath = b.run, b.loaded, b.loadedPath
	m.samples.cols, m.samples.focus, m.samples.zoom, m.samples.topAsked = b.cols, b.colFocus, b.zoom, topAsked(b.run)
	m.samples.perRow = 0 // the grid a failed sweep asked for is not the restored screen's
	m.prompt.heat, m.convo.heat, m.seedRun = b.promptHeat, b.convoHeat, b.seedRun
	m.relayout()
	m.samples.refreshInspector()
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
func runSummary(cols []*column, canceled bool, took string) (string, bool) {
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
	// Without a store the built-in themes go round: user themes are files.
	dir := ""
	if m.c.Store != nil {
		dir = m.c.Store.ThemesDir()
	}
	return func() tea.Msg {
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
