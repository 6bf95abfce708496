package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

func TestModelPickerChoosesTheRequestModel(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"hi"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	drive(t, m, m.Init())
	m.setFocus(focusParams)
	drive(t, m, press(m, "ctrl+l"))
	if !inFront[*modelsDialog](m) || !strings.Contains(plainScreen(m), "other-model") {
		t.Fatalf("picker not shown:\n%s", plainScreen(m))
	}
	drive(t, m, press(m, "down", "enter"))
	if m.modelName != "other-model" {
		t.Fatalf("model %q", m.modelName)
	}
	drive(t, m, m.startRun())
	if got := f.requests[0].Model; got != "other-model" {
		t.Fatalf("request model %q", got)
	}
	if !strings.Contains(m.windowTitle(), "other-model") {
		t.Fatalf("title %q", m.windowTitle())
	}
}

func TestModeSwitchSendsChatMessages(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"hi"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.prompt.SetValue("question")
	drive(t, m, press(m, "ctrl+t"))
	if m.api != params.Chat || !strings.Contains(plainScreen(m), "system") {
		t.Fatalf("not in chat mode:\n%s", plainScreen(m))
	}
	m.system.SetValue("be brief")
	drive(t, m, m.startRun())
	req := f.requests[0]
	if req.API != params.Chat || len(req.Messages) != 2 || req.Messages[0].Role != "system" ||
		req.Messages[0].Content != "be brief" || req.Messages[1].Content != "question" {
		t.Fatalf("request %+v", req)
	}
	// Focus cycles through the system message in chat mode only.
	seen := map[focusArea]bool{}
	for i := 0; i < 4; i++ {
		m.cycleFocus(1)
		seen[m.focus] = true
	}
	if !seen[focusSystem] || len(seen) != 4 {
		t.Fatalf("focus order %v", seen)
	}
}

func TestExportWritesTheShownFormat(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.panel.P.Temperature = 0.42
	m.setFocus(focusParams)
	drive(t, m, press(m, "x"))
	if !inFront[*exportDialog](m) {
		t.Fatal("x did not open the export view")
	}
	drive(t, m, press(m, "right", "right", "right")) // openai
	want, err := params.Export("openai", m.exportParams(), m.exportTarget())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plainScreen(m), `"temperature": 0.42`) {
		t.Fatalf("export view:\n%s", plainScreen(m))
	}
	// c copies through OSC 52, and only then.
	_, cmd := m.Update(keyMsg("c"))
	if cmd == nil {
		t.Fatal("c returned no clipboard command")
	}
	if msg := cmd(); msg == nil || !strings.Contains(strings.ToLower(typeString(msg)), "clipboard") {
		t.Fatalf("copy produced %T", msg)
	}
	path := filepath.Join(t.TempDir(), "req.json")
	drive(t, m, press(m, "w"))
	front[*fileDialog](t, m).input.SetValue(path)
	drive(t, m, press(m, "enter"))
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("written %q (%v), want %q", got, err, want)
	}
}

func TestThemeCycleLoadsNextTheme(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.c.Store = store.New(t.TempDir(), "")
	os.MkdirAll(m.c.Store.ThemesDir(), 0o755)
	os.WriteFile(filepath.Join(m.c.Store.ThemesDir(), "zz-broken.toml"), []byte("primary = 12\n"), 0o644)
	m.setFocus(focusParams)
	before := m.c.ThemeKey
	drive(t, m, press(m, "T"))
	if m.c.ThemeKey == before || m.cfg.Theme != "dark" {
		t.Fatalf("theme %q key %q", m.cfg.Theme, m.c.ThemeKey)
	}
	for i := 0; i < 3; i++ { // light, high-contrast, zz-broken
		drive(t, m, press(m, "T"))
	}
	if m.cfg.Theme != "zz-broken" || !m.statusErr || !strings.Contains(m.status, "zz-broken.toml") {
		t.Fatalf("broken theme: theme %q status %q", m.cfg.Theme, m.status)
	}
	// The screen still draws, with the default palette.
	if !strings.Contains(plainScreen(m), "parameters") {
		t.Fatal("no screen after a broken theme")
	}
}

func TestPasteGoesToThePrompt(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.Update(tea.PasteMsg{Content: "line one\nline two"})
	if m.prompt.Value() != "line one\nline two" {
		t.Fatalf("prompt %q", m.prompt.Value())
	}
}

// Over SSH the disk is the server's: with no store nothing reads or writes it.
func TestNoStoreKeepsTheDiskOutOfReach(t *testing.T) {
	t.Parallel()
	m := New(Config{Sampler: &fakeSampler{}, Params: params.Default(), IsDark: true})
	m.Update(windowSize(120, 40))
	m.setFocus(focusParams)
	// What cannot work is not offered: the keys are not in the help.
	m.Update(keyMsg("?"))
	for _, word := range []string{"save session", "open session", "presets"} {
		if screen := plainScreen(m); strings.Contains(screen, word) {
			t.Fatalf("%q offered with no store:\n%s", word, screen)
		}
	}
	m.Update(keyMsg("?"))
	for _, k := range []string{"ctrl+s", "ctrl+o", "ctrl+p"} {
		_, cmd := m.Update(keyMsg(k))
		if cmd != nil || !m.overlay.empty() || !m.statusErr {
			t.Fatalf("%s: dialog %T cmd %v status %q", k, m.overlay.front(), cmd != nil, m.status)
		}
	}
	m.Update(keyMsg("x"))
	_, cmd := m.Update(keyMsg("w"))
	if cmd != nil || !inFront[*exportDialog](m) || !strings.Contains(m.status, "files are off") {
		t.Fatal("export could be written to the server's disk")
	}
	if screen := plainScreen(m); strings.Contains(screen, "write to file") {
		t.Fatalf("write offered with no store:\n%s", screen)
	}
}

// ctrl+s then ctrl+o: the session reopens in place, exactly as saved, and a
// malformed file is refused without touching the screen.
func TestSaveThenOpenWithKeys(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"alpha beta gamma", "delta"},
		[]backend.Event{{Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByEOS}}, {Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.N = 2
	drive(t, m, m.startRun())
	before := samplesBlock(plainScreen(m))
	path := filepath.Join(t.TempDir(), "s.json")
	m.Update(keyMsg("ctrl+s"))
	front[*fileDialog](t, m).input.SetValue(path)
	drive(t, m, press(m, "enter"))
	if m.statusErr {
		t.Fatal(m.status)
	}
	m.prompt.SetValue("something else")
	m.Update(keyMsg("ctrl+o"))
	front[*sessionsDialog](t, m).input.SetValue(path)
	drive(t, m, press(m, "enter"))
	if m.loaded == nil || m.prompt.Value() != "" {
		t.Fatalf("not reopened: loaded=%v prompt %q", m.loaded != nil, m.prompt.Value())
	}
	if after := samplesBlock(plainScreen(m)); after != before {
		t.Fatalf("reopened samples differ:\n%s\n---\n%s", before, after)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\n  \"version\": 1,\n  \"n\": 2,\n  \"api\": \"chat\",\n  \"params\": {\"temperature\": -1}\n}\n"), 0o644)
	m.Update(keyMsg("ctrl+o"))
	front[*sessionsDialog](t, m).input.SetValue(bad)
	drive(t, m, press(m, "enter"))
	if !m.statusErr || !strings.Contains(m.status, "bad.json:5") || m.loadedPath != path {
		t.Fatalf("bad session: status %q, shown %q", m.status, m.loadedPath)
	}
}

func TestDragAcrossABarSetsTheValue(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	r := m.rects.panel
	bx, bw := barGeometry(r.W)
	row := r.Y + panelRow(t, m.panel, "top_p")
	m.Update(tea.MouseClickMsg{X: r.X + bx, Y: row, Button: tea.MouseLeft})
	low := m.panel.P.TopP
	m.Update(tea.MouseMotionMsg{X: r.X + bx + bw/2, Y: row + 3, Button: tea.MouseLeft}) // drifting off the row keeps dragging
	mid := m.panel.P.TopP
	m.Update(tea.MouseReleaseMsg{X: r.X + bx + bw/2, Y: row + 3, Button: tea.MouseLeft})
	m.Update(tea.MouseMotionMsg{X: r.X + bx + bw - 1, Y: row, Button: tea.MouseLeft})
	if !(low < mid) || m.panel.P.TopP != mid || m.focus != focusParams {
		t.Fatalf("drag: low %v mid %v after release %v", low, mid, m.panel.P.TopP)
	}
}

func TestZoomAndColumnKeys(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{strings.Repeat("word ", 400)}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.N = 6
	drive(t, m, m.startRun())
	m.setFocus(focusSamples)
	m.Update(keyMsg("right"))
	m.Update(keyMsg("z"))
	if m.samples.zoom != 1 || m.samples.grid.Cells[1] != m.rects.samples.withoutLegend() {
		t.Fatalf("zoom %d cell %+v area %+v", m.samples.zoom, m.samples.grid.Cells[1], m.rects.samples)
	}
	c := m.samples.cols[1]
	if !c.Following() {
		t.Fatal("not following the tail")
	}
	m.Update(keyMsg("g"))
	if c.Offset() != 0 || c.Following() {
		t.Fatal("g did not go to the top")
	}
	m.Update(keyMsg("pgdown"))
	if c.Offset() == 0 {
		t.Fatal("pgdown did not scroll")
	}
	if !strings.Contains(plainScreen(m), "zoomed on #2") {
		t.Fatalf("zoom not shown:\n%s", plainScreen(m))
	}
	m.Update(keyMsg("z"))
	if m.samples.zoom != -1 || m.samples.grid.PerRow < 2 {
		t.Fatalf("unzoom: %d, %d per row", m.samples.zoom, m.samples.grid.PerRow)
	}
}

// A server that ignores logprobs still shows its text; several tokens per
// chunk and text held back (vLLM's stop-string lookahead) show every token.
func TestColumnsShowTextWhateverTheServerSends(t *testing.T) {
	t.Parallel()
	t.Run("no logprobs from the server", func(t *testing.T) {
		f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
			e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
			e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "plain text "})
			e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: "only"})
			e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopLength})
			e.Emit(backend.Event{Kind: backend.EventDone})
		}}
		m := newTestModel(t, f, 120, 40)
		drive(t, m, m.startRun())
		if got := m.samples.cols[0].Text(); got != "plain text only" {
			t.Fatalf("column text %q", got)
		}
	})
	t.Run("grouped tokens and lagging text", func(t *testing.T) {
		m, srv := serverModel(t, 120, 40, nil)
		srv.Push(vllmtest.Script{TokensPerChunk: 3, TextLag: 2})
		driveUntil(t, m, m.startRun(), allDone(m))
		resp, _ := m.Response()
		for i, c := range m.samples.cols {
			if c.TokenCount() != len(resp.Tokens[i]) || c.TokenCount() == 0 {
				t.Fatalf("sample %d: %d tokens shown, %d in the response", i, c.TokenCount(), len(resp.Tokens[i]))
			}
		}
	})
}

// Reliability item 1 through the whole screen: escape payloads in model
// output, split across tokens at every offset, never reach the terminal raw.
func TestScreenNeverCarriesRawPayloads(t *testing.T) {
	t.Parallel()
	payloads := []string{"\x1b]52;c;cHduZWQ=\x07", "\x1b]0;title\x07", "\x1b]8;;http://x\x1b\\", "\x1bP+q\x1b\\", "\x1b_apc\x1b\\",
		"\x1b[6n", "\x1bc", "\x1b]unterminated", "\u009b31m", "\u202e"}
	for _, p := range payloads {
		for cut := 0; cut <= len(p); cut++ {
			toks := []string{"ok " + p[:cut], p[cut:] + " end"}
			f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
				e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1, Model: "m\x1b]0;x\x07"}})
				e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Tokens: []backend.Token{tok(toks[0], -1), tok(toks[1], -2)}})
				e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopStop,
					StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: p}})
				e.Emit(backend.Event{Kind: backend.EventDone})
			}}
			m := newTestModel(t, f, 100, 30)
			m.modelName = ""
			m.panel.O.N = 1
			drive(t, m, m.startRun())
			v := m.View()
			for _, bad := range []string{"\x1b]52", "\x1b]0;", "\x1b]8;", "\x1bP", "\x1b_", "\x1b[6n", "\x1bc", "\x1b]u", "\u009b", "\u202e"} {
				if strings.Contains(v.Content, bad) || strings.Contains(v.WindowTitle, bad) {
					t.Fatalf("payload %q cut at %d: %q reached the screen", p, cut, bad)
				}
			}
		}
	}
}

// A click on a token opens the inspector there; hovering moves it.
func TestClickAndHoverInspectTokens(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"alpha beta gamma delta"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.N = 2
	drive(t, m, m.startRun())
	cell := m.samples.grid.Cells[1]
	m.Update(tea.MouseClickMsg{X: cell.X + 8, Y: cell.Y + 1, Button: tea.MouseLeft}) // "beta" in sample 2
	if !m.samples.inspecting || m.samples.focus != 1 || m.samples.cols[1].Cursor != 1 {
		t.Fatalf("click: inspecting %v focus %d cursor %d", m.samples.inspecting, m.samples.focus, m.samples.cols[1].Cursor)
	}
	if m.View().MouseMode != tea.MouseModeAllMotion {
		t.Fatal("hover needs all-motion mouse mode while inspecting")
	}
	cell = m.samples.grid.Cells[1]                              // the inspector pane narrowed the samples
	m.Update(tea.MouseMotionMsg{X: cell.X + 13, Y: cell.Y + 1}) // "gamma"
	if m.samples.cols[1].Cursor != 2 || !strings.Contains(plainScreen(m), "gamma") {
		t.Fatalf("hover: cursor %d", m.samples.cols[1].Cursor)
	}
}
