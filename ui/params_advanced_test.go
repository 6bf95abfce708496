package ui

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// panelLines is the panel's rows as plain text, one per visible row.
func panelLines(pp *paramPanel) []string {
	var out []string
	for _, i := range pp.visible() {
		if i == headerRow {
			out = append(out, "header")
			continue
		}
		out = append(out, pp.specs[i].Key)
	}
	return out
}

func TestAdvancedGroupShowsUsedRowsWhenCollapsed(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	main := len(params.MainSpecs())
	if got := panelLines(pp); len(got) != main+1 || got[main] != "header" {
		t.Fatalf("collapsed at start: %v", got)
	}
	pp.ToggleAdvanced()
	if got := len(panelLines(pp)); got != len(pp.specs)+1 {
		t.Fatalf("open: %d rows, want %d", got, len(pp.specs)+1)
	}
	pp.Select(panelRow(t, pp, "frequency_penalty"))
	pp.Step(1, false)
	pp.Select(panelRow(t, pp, "bad_words"))
	pp.ToggleAdvanced()
	// The cursor sat on a row that hides: it goes to the header.
	if !pp.OnHeader() {
		t.Fatalf("cursor %d after closing, want the header", pp.Row())
	}
	if got := panelLines(pp)[main:]; !reflect.DeepEqual(got, []string{"header", "frequency_penalty"}) {
		t.Fatalf("collapsed with one used: %v", got)
	}
	if h := pp.headerText(80); !strings.Contains(h, "1 set") {
		t.Fatalf("header %q does not count the used row", h)
	}
	// Moving down from the header reaches the used row, then wraps to the top.
	pp.Move(1)
	if pp.Focused().Key != "frequency_penalty" {
		t.Fatalf("down from header: %s", pp.Focused().Key)
	}
	pp.Move(1)
	if pp.Focused().Key != "temperature" {
		t.Fatalf("wrap: %s", pp.Focused().Key)
	}
	// Stepping it back to its default keeps it shown while focused only.
	pp.Select(panelRow(t, pp, "frequency_penalty"))
	pp.Step(-1, false)
	if !slicesContains(panelLines(pp), "frequency_penalty") {
		t.Fatal("the focused row hid under the cursor")
	}
	pp.Move(-1)
	if slicesContains(panelLines(pp), "frequency_penalty") {
		t.Fatal("a row back at its default stays shown when collapsed")
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestAdvancedTogglesFlipBools(t *testing.T) {
	t.Parallel()
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	pp.ToggleAdvanced()
	pp.Select(panelRow(t, pp, "ignore_eos"))
	pp.Toggle()
	if !pp.O.Advanced.IgnoreEOS {
		t.Fatal("ignore_eos not on after a toggle")
	}
	pp.Toggle()
	if pp.O.Advanced.IgnoreEOS {
		t.Fatal("ignore_eos not off after two toggles")
	}
	// A nullable bool goes unset → on → off → unset.
	pp.Select(panelRow(t, pp, "enable_thinking"))
	var seen []string
	for range 3 {
		pp.Toggle()
		switch e := pp.O.Advanced.EnableThinking; {
		case e == nil:
			seen = append(seen, "unset")
		case *e:
			seen = append(seen, "on")
		default:
			seen = append(seen, "off")
		}
	}
	if !reflect.DeepEqual(seen, []string{"on", "off", "unset"}) {
		t.Fatalf("enable_thinking toggles through %v", seen)
	}
	// Not a bool: nothing toggles.
	pp.Select(panelRow(t, pp, "min_p"))
	if pp.Toggle() {
		t.Fatal("min_p toggled")
	}
}

func TestBiasListEditor(t *testing.T) {
	t.Parallel()
	in := `13=-100 "hello world"=5.5, "a\"b"=1 "=x"=-2`
	got, err := parseBiasList(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []params.LogitBias{{ID: 13, Bias: -100}, {Text: "hello world", Bias: 5.5}, {Text: `a"b`, Bias: 1}, {Text: "=x", Bias: -2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	again, err := parseBiasList(formatBiasList(got))
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("round trip %q: %+v %v", formatBiasList(got), again, err)
	}
	// Every bad entry at once, each by column.
	_, err = parseBiasList(`13=-1 x 7=big`)
	if err == nil || !strings.Contains(err.Error(), `"x" at column 7`) || !strings.Contains(err.Error(), `"7=big" at column 9`) {
		t.Fatalf("errors: %v", err)
	}
	if _, err := parseBiasList(`"open=3`); err == nil || !strings.Contains(err.Error(), "column 1 has no closing quote") {
		t.Fatalf("unclosed quote: %v", err)
	}
	if bs, err := parseBiasList("  "); err != nil || len(bs) != 0 {
		t.Fatalf("empty: %v %v", bs, err)
	}
}

func TestWordListEditor(t *testing.T) {
	t.Parallel()
	got, err := parseWordList(`"foo" "two words" "tab\there"`)
	if err != nil || !reflect.DeepEqual(got, []string{"foo", "two words", "tab\there"}) {
		t.Fatalf("%q %v", got, err)
	}
	if again, err := parseWordList(formatWordList(got)); err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("round trip: %q %v", again, err)
	}
	if _, err := parseWordList(`"ok" 42`); err == nil || !strings.Contains(err.Error(), "bad_words: 42 is a token id") {
		t.Fatalf("token id: %v", err)
	}
	if _, err := parseWordList(`"ok" ""`); err == nil || !strings.HasPrefix(err.Error(), "bad_words: empty string") {
		t.Fatalf("empty: %v", err)
	}
}

// A list typed in the panel: enter saves it; a bad one keeps the editor
// open with its text and says why.
func TestListEditorsInThePanel(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.setFocus(focusParams)
	m.panel.ToggleAdvanced()
	m.panel.Select(panelRow(t, m.panel, "bad_words"))
	press(m, "enter")
	m.panel.input.SetValue(`"foo" 3`)
	press(m, "enter")
	if !m.panel.Editing() || m.panel.input.Value() != `"foo" 3` || !strings.Contains(plainScreen(m), "is a token id") {
		t.Fatalf("bad list: editing %v value %q\n%s", m.panel.Editing(), m.panel.input.Value(), plainScreen(m))
	}
	m.panel.input.SetValue(`"foo" "bar"`)
	press(m, "enter")
	if m.panel.Editing() || !reflect.DeepEqual(m.panel.O.Advanced.BadWords, []string{"foo", "bar"}) {
		t.Fatalf("saved %q", m.panel.O.Advanced.BadWords)
	}
	if !strings.Contains(plainScreen(m), `bad_words    "foo" "bar"`) {
		t.Fatalf("row not drawn:\n%s", plainScreen(m))
	}
}

// Text biases go through the server's /tokenize; the run then carries ids.
func TestBiasTextResolvedThroughTokenize(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 120, 40, nil)
	m.setFocus(focusParams)
	m.panel.ToggleAdvanced()
	m.panel.Select(panelRow(t, m.panel, "logit_bias"))
	press(m, "enter")
	m.panel.input.SetValue(`"the"=-50 7=2`)
	drive(t, m, press(m, "enter"))
	want := vllmtest.TokenIDs("the")
	if len(want) != 1 {
		t.Fatalf("the test tokenizer gives %v for \"the\"", want)
	}
	got := m.panel.O.Advanced.LogitBias
	if !reflect.DeepEqual(got, []params.LogitBias{{ID: want[0], Bias: -50}, {ID: 7, Bias: 2}}) {
		t.Fatalf("resolved %+v", got)
	}
	if m.panel.Invalid() != nil || !strings.Contains(m.status, `"the" is token`) {
		t.Fatalf("invalid %v, status %q", m.panel.Invalid(), m.status)
	}
	// Text of several tokens is a problem on the row, the text kept.
	press(m, "enter")
	m.panel.input.SetValue(`"once upon"=3`)
	drive(t, m, press(m, "enter"))
	if m.panel.O.Advanced.LogitBias[0].Text != "once upon" || m.panel.Invalid() == nil ||
		!strings.Contains(m.panel.Problem("logit_bias"), "not one") {
		t.Fatalf("multi-token text: %+v %q", m.panel.O.Advanced.LogitBias, m.panel.Problem("logit_bias"))
	}
}

// A sampler with no /tokenize: the row says so and nothing is sent.
func TestBiasTextWithoutTokenizer(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.Advanced.LogitBias = []params.LogitBias{{Text: "hi", Bias: 1}}
	m.panel.revalidate()
	if p := m.panel.Problem("logit_bias"); !strings.Contains(p, "does not offer") {
		t.Fatalf("problem %q", p)
	}
	drive(t, m, m.startRun())
	if len(f.requests) != 0 || !strings.Contains(m.status, "not sent: logit_bias") {
		t.Fatalf("sent %d, status %q", len(f.requests), m.status)
	}
}

// Every advanced problem shows at once, each on its row, and blocks the run.
func TestAdvancedValidationInPlace(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	n := 10
	m.panel.P.MaxTokens = &n
	m.panel.O.Advanced.MinTokens = 20
	m.panel.O.Advanced.PresencePenalty = 3
	m.panel.O.Advanced.BadWords = []string{" "}
	m.panel.revalidate()
	for _, k := range []string{"min_tokens", "presence_penalty", "bad_words"} {
		if m.panel.Problem(k) == "" {
			t.Errorf("no problem on %s", k)
		}
	}
	screen := plainScreen(m)
	for _, row := range []string{"✗ min_tokens", "✗ presence", "✗ bad_words"} {
		if !strings.Contains(screen, row) {
			t.Errorf("%q not on screen (used rows show when collapsed):\n%s", row, screen)
		}
	}
	if err := m.panel.Invalid(); err == nil {
		t.Fatal("runs with problems")
	}
}

// The run carries the advanced fields and the logprobs mode claimed.
func TestRunCarriesAdvancedAndMode(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{"a"}, []backend.Event{{Reason: backend.StopLength}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.Advanced.MinP = 0.1
	m.panel.ToggleAdvanced()
	m.panel.Select(panelRow(t, m.panel, logprobsModeKey))
	m.panel.Step(1, false)
	m.panel.Step(1, false)
	m.panel.Step(1, false)
	if m.panel.Mode() != backend.ProcessedLogprobs {
		t.Fatalf("three steps right: %q", m.panel.Mode())
	}
	drive(t, m, m.startRun())
	if len(f.requests) != 1 {
		t.Fatalf("%d requests", len(f.requests))
	}
	r := f.requests[0]
	if r.Options.Advanced.MinP != 0.1 || r.LogprobsMode != backend.ProcessedLogprobs {
		t.Fatalf("request min_p %v mode %q", r.Options.Advanced.MinP, r.LogprobsMode)
	}
}

func TestSessionKeepsAdvancedAndMode(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	on := false
	adv := params.Advanced{MinP: 0.05, PresencePenalty: 0.5, FrequencyPenalty: -0.25, MinTokens: 3, IgnoreEOS: true, IncludeStopStrInOutput: true,
		LogitBias: []params.LogitBias{{ID: 13, Bias: -100}, {Text: "x y", Bias: 2}}, BadWords: []string{"bad", "a\nb"},
		EnableThinking: &on, ReasoningEffort: "high"}
	m.panel.O.Advanced = adv.Clone()
	m.panel.SetMode(backend.ProcessedLogits)
	s := m.snapshot()
	path := filepath.Join(t.TempDir(), "s.json")
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	back, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newTestModel(t, &fakeSampler{}, 120, 40)
	m2.showSession(back, path)
	if !reflect.DeepEqual(m2.panel.O.Advanced, adv) || m2.panel.Mode() != backend.ProcessedLogits {
		t.Fatalf("restored %+v mode %q, want %+v", m2.panel.O.Advanced, m2.panel.Mode(), adv)
	}
	// A session without them restores the defaults.
	m.panel.O.Advanced, m.panel.mode = params.Advanced{}, ""
	s = m.snapshot()
	if s.Advanced != nil || s.LogprobsMode != "" {
		t.Fatalf("defaults written: %+v %q", s.Advanced, s.LogprobsMode)
	}
}

func TestSessionRefusesABadMode(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	s := m.snapshot()
	s.LogprobsMode = "processed"
	path := filepath.Join(t.TempDir(), "s.json")
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	_, err := store.LoadSession[backend.SampleResponse](path)
	if err == nil || !strings.Contains(err.Error(), "field logprobs_mode") {
		t.Fatalf("%v", err)
	}
	s.LogprobsMode, s.Advanced = "", &store.Advanced{MinP: 2}
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	_, err = store.LoadSession[backend.SampleResponse](path)
	var es params.Errors
	if err == nil || !strings.Contains(err.Error(), "field advanced") || !strings.Contains(err.Error(), "min_p") || errors.As(err, &es) && len(es) == 0 {
		t.Fatalf("%v", err)
	}
}

// The advanced group, collapsed with two rows in use and opened, at a
// roomy and a small size (where the panel scrolls to the focused row).
func TestGoldenAdvanced(t *testing.T) {
	t.Parallel()
	for _, sz := range []struct{ w, h int }{{120, 40}, {80, 24}} {
		for _, open := range []bool{false, true} {
			name := "collapsed"
			if open {
				name = "expanded"
			}
			t.Run(fmt.Sprintf("%s_%dx%d", name, sz.w, sz.h), func(t *testing.T) {
				m, _ := serverModel(t, sz.w, sz.h, nil)
				m.setFocus(focusParams)
				m.panel.O.Advanced.MinP = 0.05
				m.panel.O.Advanced.LogitBias = []params.LogitBias{{ID: 13, Bias: -100}}
				m.panel.revalidate()
				if open {
					press(m, "a")
				}
				m.panel.Select(panelRow(t, m.panel, "min_p"))
				if open {
					m.panel.Select(panelRow(t, m.panel, "ignore_eos"))
					press(m, "space")
				}
				checkGolden(t, m)
			})
		}
	}
}

// R puts the advanced fields and the mode back too; the compact summary names
// the advanced rows in use, and only those.
func TestAdvancedResetAndSummary(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 80, 24)
	m.panel.O.Advanced.MinP = 0.05
	m.panel.O.Advanced.BadWords = []string{"x"}
	m.panel.SetMode(backend.ProcessedLogprobs)
	m.panel.revalidate()
	sum := ansi.Strip(m.panel.Summary(200))
	for _, want := range []string{"min_p 0.05", `bad_words "x"`, "lp_mode processed"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	if strings.Contains(sum, "ignore_eos") || strings.Contains(sum, "presence") {
		t.Errorf("summary names unused rows: %q", sum)
	}
	m.panel.ResetAll()
	if !m.panel.O.Advanced.IsZero() || m.panel.Mode() != "" {
		t.Fatalf("after R: %+v %q", m.panel.O.Advanced, m.panel.Mode())
	}
}

// In completion mode a reasoning switch is not sent: its row says so, and the
// run still goes.
func TestChatOnlyRowsWarnInCompletion(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.panel.O.Advanced.ReasoningEffort = "high"
	m.panel.revalidate()
	if !m.panel.Warned("reasoning_effort") || m.panel.Invalid() != nil {
		t.Fatalf("warned %v, invalid %v", m.panel.Warned("reasoning_effort"), m.panel.Invalid())
	}
	if !strings.Contains(plainScreen(m), "! effort") {
		t.Fatalf("row not marked:\n%s", plainScreen(m))
	}
	m.toggleMode()
	if m.panel.Problem("reasoning_effort") != "" {
		t.Fatalf("chat still warns: %q", m.panel.Problem("reasoning_effort"))
	}
}

// The group's header drops the key's hint, then the count, before it cuts a word: at the
// panel's width on an 80-column screen it reads "advanced ▿ · 3 set · a: hide", never
// "a: hide unus…".
func TestAdvancedHeaderShortensByWords(t *testing.T) {
	t.Parallel()
	st := mustTheme(t)
	pp := newParamPanel(nil, params.Default(), params.Options{N: 1})
	pp.ToggleAdvanced()
	for _, k := range []string{"min_p", "presence_penalty", "frequency_penalty"} {
		pp.Select(panelRow(t, pp, k))
		pp.Step(1, false)
	}
	for w := panelMinW; w <= 50; w++ {
		if got := ansi.Strip(pp.renderHeader(st, w, false)); strings.Contains(got, "…") {
			t.Errorf("width %d: header %q is cut", w, got)
		}
	}
	m, _ := serverModel(t, 80, 24, nil)
	m.setFocus(focusParams)
	m.panel.O.Advanced.MinP = 0.05
	m.panel.O.Advanced.LogitBias = []params.LogitBias{{ID: 13, Bias: -100}}
	m.panel.O.Advanced.IgnoreEOS = true
	m.panel.revalidate()
	press(m, "a")
	for _, line := range strings.Split(plainScreen(m), "\n") {
		if strings.Contains(line, "advanced ▿") && (strings.Contains(line, "…") || !strings.Contains(line, "3 set · a: hide") || ansi.StringWidth(line) > 80) {
			t.Errorf("at 80x24 the header reads %q", line)
		}
	}
}
