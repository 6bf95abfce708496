package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

func panelRow(t *testing.T, pp *paramPanel, key string) int {
	t.Helper()
	for i, s := range pp.specs {
		if s.Key == key {
			return i
		}
	}
	t.Fatalf("no row %s", key)
	return -1
}

func TestPanelStepsFollowTheSpec(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	pp.Select(panelRow(t, pp, "temperature"))
	pp.Step(-1, false)
	if pp.P.Temperature != 0.95 {
		t.Fatalf("fine step: %v", pp.P.Temperature)
	}
	pp.Step(-1, true)
	if pp.P.Temperature != 0.75 {
		t.Fatalf("coarse step: %v", pp.P.Temperature)
	}
	for i := 0; i < 100; i++ {
		pp.Step(-1, true)
	}
	if pp.P.Temperature != 0 || !pp.P.IsGreedy() {
		t.Fatalf("bottom: %v", pp.P.Temperature)
	}
	// top_k: left of 1 is "off" (-1), and stepping right from off gives 1.
	pp.Select(panelRow(t, pp, "top_k"))
	pp.Step(1, false)
	if pp.P.TopK != 1 {
		t.Fatalf("top_k from off: %d", pp.P.TopK)
	}
	pp.Step(-1, false)
	if pp.P.TopK != -1 {
		t.Fatalf("top_k back to off: %d", pp.P.TopK)
	}
	// max_tokens: unset is "server default".
	pp.Select(panelRow(t, pp, "max_tokens"))
	pp.Step(1, true)
	if pp.P.MaxTokens == nil || *pp.P.MaxTokens != 1 {
		t.Fatalf("max_tokens from unset: %v", pp.P.MaxTokens)
	}
	pp.Step(1, true)
	if *pp.P.MaxTokens != 2 {
		t.Fatalf("max_tokens coarse log step: %d", *pp.P.MaxTokens)
	}
}

func TestPanelBarClicksMapToValues(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	w := 42
	bx, bw := barGeometry(w)
	row := panelRow(t, pp, "temperature")
	for _, c := range []struct {
		x    int
		want float64
	}{{bx, 0}, {bx + bw - 1, 2}, {bx + (bw-1)/2, 1}} {
		pos, ok := pp.PosFromX(w, c.x)
		if !ok {
			t.Fatalf("x=%d outside the bar", c.x)
		}
		pp.SetFromPos(row, pos)
		if d := pp.P.Temperature - c.want; d > 0.1 || d < -0.1 {
			t.Errorf("click at %d: temperature %v, want about %v", c.x, pp.P.Temperature, c.want)
		}
	}
	if _, ok := pp.PosFromX(w, 0); ok {
		t.Error("a click on the label counted as the bar")
	}
	// The knob is drawn where a click puts it.
	st := mustTheme(t)
	for _, v := range []float64{0, 0.5, 1.3, 2} {
		pp.P.Temperature = v
		line := ansi.Strip(pp.renderRow(st, row, pp.specs[row], w, false, ""))
		k := strings.Index(line, "●")
		knobX := ansi.StringWidth(line[:k])
		pos, _ := pp.PosFromX(w, knobX)
		pp.SetFromPos(row, pos)
		if d := pp.P.Temperature - v; d > 0.2 || d < -0.2 {
			t.Errorf("value %v drawn at x=%d reads back as %v", v, knobX, pp.P.Temperature)
		}
	}
}

func TestPanelInvalidComboShownBeforeSending(t *testing.T) {
	t.Parallel()
	p := params.Default()
	p.Temperature = 0
	pp := newParamPanel(nil, p, params.Options{N: 3})
	// vLLM refuses n > 1 with greedy sampling; twinkle draws one sample
	// instead, and says so on both sliders before anything is sent.
	if !pp.Warned("n") || !pp.Warned("temperature") {
		t.Fatalf("greedy with n=3 not marked on both sliders: %v", pp.warnings)
	}
	pp.Select(panelRow(t, pp, "n"))
	pp.Step(-1, true)
	pp.Step(-1, true)
	if pp.O.N != 1 || pp.Problem("n") != "" || pp.Problem("temperature") != "" {
		t.Fatalf("n=%d still marked", pp.O.N)
	}
	// A real problem blocks the run.
	pp.P.TopP = 0
	pp.revalidate()
	if pp.Invalid() == nil || pp.Problem("top_p") == "" {
		t.Fatal("top_p 0 would be sent")
	}
}

func TestPanelServerErrorHighlightsUntilChanged(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	pp.SetServerError("top_p", "top_p must be in (0, 1]")
	if pp.Problem("top_p") == "" {
		t.Fatal("not highlighted")
	}
	pp.Select(panelRow(t, pp, "top_p"))
	pp.Step(-1, false)
	if pp.Problem("top_p") != "" {
		t.Fatal("still highlighted after the user changed it")
	}
}

func TestPanelExactEditKeepsInputOnError(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	pp.Select(panelRow(t, pp, "top_p"))
	pp.StartEdit("0.x")
	pp.CommitEdit()
	if !pp.Editing() || pp.editErr == "" || pp.input.Value() != "0.x" {
		t.Fatalf("bad input lost or accepted: editing=%v err=%q value=%q", pp.Editing(), pp.editErr, pp.input.Value())
	}
	pp.input.SetValue("0.5")
	pp.CommitEdit()
	if pp.Editing() || pp.P.TopP != 0.5 {
		t.Fatalf("top_p %v", pp.P.TopP)
	}
	// A value vLLM refuses is kept and marked, not silently clamped.
	pp.StartEdit("")
	pp.input.SetValue("1.5")
	pp.CommitEdit()
	if pp.P.TopP != 1.5 || pp.Problem("top_p") == "" {
		t.Fatalf("top_p 1.5: value %v problem %q", pp.P.TopP, pp.Problem("top_p"))
	}
}

func TestStopListRoundTrip(t *testing.T) {
	t.Parallel()
	in := params.Stop{Strings: []string{"\n\n", `say "hi"`, "tab\there", "\x1b"}, TokenIDs: []int{2, 128009}}
	text := formatStopList(in)
	if strings.ContainsAny(text, "\n\t\x1b") {
		t.Fatalf("escapes not visible: %q", text)
	}
	out, err := parseStopList(text)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in) {
		t.Fatalf("round trip: %q -> %+v", text, out)
	}
	for _, bad := range []string{`"open`, `"" 2`, `abc`, `"\q"`, `-3`} {
		if _, err := parseStopList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSeedLockAndDraw(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"a b"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.N = 2
	drive(t, m, m.startRun())
	drive(t, m, m.startRun())
	if len(f.requests) != 2 {
		t.Fatalf("%d requests", len(f.requests))
	}
	s1, s2 := f.requests[0].Params.Seed, f.requests[1].Params.Seed
	if s1 == nil || s2 == nil || *s1 == *s2 {
		t.Fatalf("unlocked seed must be drawn per run: %v %v", s1, s2)
	}
	if m.panel.P.Seed != nil || !strings.Contains(plainScreen(m), "last 43") {
		t.Fatalf("drawn seed not shown:\n%s", plainScreen(m))
	}
	// Locking keeps the seed the last run drew, and every run reuses it.
	m.setFocus(focusParams)
	m.panel.Select(panelRow(t, m.panel, "seed"))
	m.Update(keyMsg("space"))
	drive(t, m, m.startRun())
	drive(t, m, m.startRun())
	if a, b := f.requests[2].Params.Seed, f.requests[3].Params.Seed; a == nil || b == nil || *a != 43 || *b != 43 {
		t.Fatalf("locked seed not reused: %v %v", a, b)
	}
	if got := m.samples.cols[1].Seed; got == nil || *got != 44 {
		t.Fatalf("sample 2's seed should be seed+1: %v", got)
	}
}

// r and R go back to what the playground starts with (main fills unset
// flags from PlaygroundDefaults), and the focused row's help says to what.
func TestResetGoesToThePlaygroundDefaults(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.setFocus(focusParams)
	pp := m.panel
	for _, tc := range []struct {
		key, want string
		get       func() string
	}{
		{"max_tokens", "256", func() string {
			if pp.P.MaxTokens == nil {
				return "unset"
			}
			return fmt.Sprint(*pp.P.MaxTokens)
		}},
		{"n", "4", func() string { return fmt.Sprint(pp.O.N) }},
		{"logprobs", "5", func() string { return fmt.Sprint(*pp.O.Logprobs) }},
		{"temperature", "1", func() string { return fmt.Sprint(pp.P.Temperature) }},
	} {
		pp.Select(panelRow(t, pp, tc.key))
		pp.Step(-1, true)
		pp.Step(-1, true)
		if !strings.Contains(plainScreen(m), "r resets to "+defaultText(pp.Focused())) {
			t.Errorf("%s: the help does not say what r resets to:\n%s", tc.key, plainScreen(m))
		}
		m.Update(keyMsg("r"))
		if got := tc.get(); got != tc.want {
			t.Errorf("r on %s: %s, want %s", tc.key, got, tc.want)
		}
	}
	if got := defaultText(pp.specs[panelRow(t, pp, "max_tokens")]); got != "256" {
		t.Errorf("max_tokens default reads %q", got)
	}
	pp.P.Temperature, pp.O.N = 0.3, 9
	pp.P.Stop = params.Stop{Strings: []string{"x"}}
	m.Update(keyMsg("R"))
	want, wantO := params.PlaygroundDefaults()
	if !reflect.DeepEqual(pp.P, want) || pp.O.N != wantO.N || *pp.O.Logprobs != *wantO.Logprobs {
		t.Fatalf("R: %+v %+v, want %+v %+v", pp.P, pp.O, want, wantO)
	}
	if !strings.Contains(m.status, "max_tokens 256, samples 4") {
		t.Fatalf("status after R: %q", m.status)
	}
}

// An editor that refuses what was typed says why, in place, keeps the text,
// and keeps saying it until the text changes (not only until the cursor
// blinks).
func TestEditorsSayWhyTheyRefuse(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.setFocus(focusParams)
	m.panel.Select(panelRow(t, m.panel, "stop"))
	m.Update(keyMsg("enter"))
	m.Update(keyMsg(`"`))
	m.Update(keyMsg(`"`))
	m.Update(keyMsg("enter"))
	blink := struct{}{} // any message that is not a key, as the cursor's blink is
	m.Update(blink)
	screen := plainScreen(m)
	if !m.panel.Editing() || m.panel.input.Value() != `""` || !strings.Contains(screen, "stop: empty string at column 1") {
		t.Fatalf("empty stop string: editing %v value %q:\n%s", m.panel.Editing(), m.panel.input.Value(), screen)
	}
	m.Update(keyMsg("backspace"))
	if strings.Contains(plainScreen(m), "empty string") {
		t.Fatal("the refusal outlived the text it was about")
	}
	m.Update(keyMsg("esc"))

	// Letters in a number field: said as they are typed, and on enter.
	m.panel.Select(panelRow(t, m.panel, "temperature"))
	m.Update(keyMsg("0"))
	m.Update(keyMsg("."))
	m.Update(keyMsg("x"))
	if !strings.Contains(plainScreen(m), `temperature: "0.x" is not a number`) {
		t.Fatalf("letters in a number field, no word:\n%s", plainScreen(m))
	}
	m.Update(keyMsg("enter"))
	m.Update(blink)
	if !m.panel.Editing() || m.panel.input.Value() != "0.x" || !strings.Contains(plainScreen(m), `"0.x" is not a number`) {
		t.Fatalf("enter on letters: editing %v value %q:\n%s", m.panel.Editing(), m.panel.input.Value(), plainScreen(m))
	}
}
