package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// reasoningModel is the playground in chat mode against the test server's reasoning
// model (sample i thinks for 6+i%3 tokens, writes </think>, answers in 6 tokens).
func reasoningModel(t *testing.T, n, maxTokens int) *Model {
	t.Helper()
	m, _ := serverModel(t, 120, 40, func(c *Config) {
		c.API = params.Chat
		c.Model = vllmtest.ReasoningModel
		c.Options.N = n
		c.Params.MaxTokens = &maxTokens
		c.Prompt = "Tell me a story"
	})
	driveUntil(t, m, m.startRun(), allDone(m))
	return m
}

// Two columns with their thinking shown, then folded by the key; a third screen with one
// sample stopped while thinking.
func TestGoldenThinking(t *testing.T) {
	t.Parallel()
	t.Run("shown", func(t *testing.T) {
		t.Parallel()
		m := reasoningModel(t, 2, 256)
		screen := plainScreen(m)
		for _, want := range []string{"▾ thinking", boundaryRule, "eos · think 6 tok · answer 6 tok", "eos · think 7 tok"} {
			if !strings.Contains(screen, want) {
				t.Errorf("screen lacks %q:\n%s", want, screen)
			}
		}
		if strings.Contains(screen, "</think>") {
			t.Errorf("the end-of-thinking token drawn as raw text:\n%s", screen)
		}
		checkGolden(t, m)
	})
	t.Run("folded", func(t *testing.T) {
		t.Parallel()
		m := reasoningModel(t, 2, 256)
		m.setFocus(focusSamples)
		m.Update(keyMsg("t"))
		screen := plainScreen(m)
		for _, want := range []string{"▸ thought for 6 tokens", "▸ thought for 7 tokens"} {
			if !strings.Contains(screen, want) {
				t.Errorf("screen lacks %q:\n%s", want, screen)
			}
		}
		if strings.Contains(screen, "Okay") || strings.Contains(screen, boundaryRule) {
			t.Errorf("folded thinking still drawn:\n%s", screen)
		}
		checkGolden(t, m)
		// The key shows it again, as it was.
		m.Update(keyMsg("t"))
		if !strings.Contains(plainScreen(m), "▾ thinking") {
			t.Errorf("t did not unfold:\n%s", plainScreen(m))
		}
	})
	t.Run("stopped", func(t *testing.T) {
		t.Parallel()
		// max_tokens 7: sample 1 thinks for 6 and writes </think>; sample 2 thinks for 7.
		m := reasoningModel(t, 2, 7)
		if b := m.samples.cols[0].Badge(); b != "length" {
			t.Errorf("sample 1 badge %q, want length (its thinking ended)", b)
		}
		if b := m.samples.cols[1].Badge(); b != "length, still thinking" {
			t.Errorf("sample 2 badge %q, want length, still thinking", b)
		}
		if msg := m.panel.Problem("max_tokens"); !strings.Contains(msg, "1 of 2 samples ran out of tokens while still thinking") || !m.panel.Warned("max_tokens") {
			t.Errorf("max_tokens row says %q", msg)
		}
		checkGolden(t, m)
		// A run that answers takes the note away.
		mt := 256
		m.panel.P.MaxTokens = &mt
		driveUntil(t, m, m.startRun(), allDone(m))
		if msg := m.panel.Problem("max_tokens"); msg != "" {
			t.Errorf("max_tokens still says %q", msg)
		}
	})
}

// The heatmap and the inspector reach every part: thinking tokens, the boundary (the rule
// is the end-of-thinking token, with its logprob) and the answer; the label is no token.
func TestThinkingTokensAtCells(t *testing.T) {
	t.Parallel()
	m := reasoningModel(t, 1, 256)
	c := m.samples.cols[0]
	for k, pl := range c.al.Places() {
		if !pl.In() {
			t.Errorf("token %d (%s %q) not in the text", k, c.tokens[k].Part, c.tokens[k].Text)
		}
	}
	lines := make([]string, c.Lines())
	for i := range lines {
		lines[i] = c.wrap.Text(i)
	}
	if lines[0] != "▾ thinking" || lines[2] != boundaryRule {
		t.Fatalf("lines %q", lines)
	}
	if got := c.TokenAt(2, 0); got != -1 {
		t.Errorf("the label is token %d", got)
	}
	if got := c.TokenAt(0, 1); got != 0 || c.partOf(got) != backend.PartThinking {
		t.Errorf("first thinking cell is token %d", got)
	}
	b := c.TokenAt(3, 2)
	if b < 0 || c.tokens[b].Part != backend.PartBoundary || c.tokens[b].Text != vllmtest.EndOfThinking {
		t.Fatalf("the rule is token %d", b)
	}
	if !c.tokens[b].Logprob.Known() {
		t.Error("the boundary token has no logprob")
	}
	last := len(c.tokens) - 1
	if got := c.TokenAt(1, c.LineOf(last)); got <= b || c.partOf(got) != backend.PartAnswer {
		t.Errorf("answer cell is token %d (%s)", got, c.partOf(got))
	}
	// The inspector steps onto the boundary like onto any token.
	m.setFocus(focusSamples)
	m.Update(keyMsg("i"))
	for c.Cursor < b {
		m.Update(keyMsg("right"))
	}
	if c.Cursor != b || !strings.Contains(plainScreen(m), "</think>") {
		t.Errorf("inspector on the boundary (cursor %d):\n%s", c.Cursor, plainScreen(m))
	}
}

// A saved session keeps the thinking apart: reloaded, the columns show the same sections
// and footers (no rates: a session keeps only the first and last token's times).
func TestThinkingSessionRoundTrip(t *testing.T) {
	t.Parallel()
	m := reasoningModel(t, 2, 7)
	s := m.snapshot()
	path := filepath.Join(t.TempDir(), "run.json")
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	back, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range back.Response.Tokens[1] {
		if tk.Part != backend.PartThinking {
			t.Fatalf("a reloaded token of sample 2 is %s, want thinking", tk.Part)
		}
	}
	if r := back.Response.Trajectories[0].Messages; r[len(r)-1].Reasoning == "" {
		t.Fatalf("the trajectory lost the thinking: %+v", r)
	}
	m2 := New(Config{Session: back, SessionPath: "run.json", IsDark: true, Store: store.New(t.TempDir(), t.TempDir())})
	m2.Update(windowSize(120, 40))
	a, b := samplesBlock(plainScreen(m)), samplesBlock(plainScreen(m2))
	if a != b {
		t.Errorf("reloaded samples differ:\n--- run\n%s\n--- reloaded\n%s", a, b)
	}
	if !strings.Contains(b, "▾ thinking") || !strings.Contains(b, "length, still thinking") {
		t.Errorf("reloaded:\n%s", b)
	}
	if msg := m2.panel.Problem("max_tokens"); msg == "" {
		t.Error("the reloaded session's max_tokens row says nothing of the cut")
	}
	for _, c := range m2.samples.cols {
		// Placed in the saved texts (the inspector's bytes, split characters): the
		// thinking in the thinking, the boundary's own text between, the answer after.
		for k, pl := range c.al.Places() {
			if !pl.In() {
				t.Errorf("sample %d: reloaded token %d (%s %q) not in the text", c.Index+1, k, c.tokens[k].Part, c.tokens[k].Text)
			}
		}
		for _, p := range c.StatParts() {
			if strings.HasSuffix(p, "tok/s") {
				t.Errorf("a reloaded column shows a rate per part: %q", p)
			}
		}
	}
}

// Without logprobs the column has text chunks only: the thinking is still apart, the
// boundary drawn where the answer begins.
func TestThinkingWithoutLogprobs(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 120, 40, func(c *Config) {
		c.API = params.Chat
		c.Model = vllmtest.ReasoningModel
		c.Options.N = 1
	})
	m.panel.O.Logprobs = nil
	driveUntil(t, m, m.startRun(), allDone(m))
	c := m.samples.cols[0]
	if c.tokens != nil {
		t.Fatal("tokens without logprobs")
	}
	if c.Lines() < 3 || c.wrap.Text(0) != "▾ thinking" || c.wrap.Text(2) != boundaryRule || !strings.HasPrefix(c.wrap.Text(1), "Okay") {
		t.Errorf("screen:\n%s", plainScreen(m))
	}
	m.setFocus(focusSamples)
	m.Update(keyMsg("t"))
	if c.wrap.Text(0) != "▸ thought (folded)" {
		t.Errorf("folded: %q", c.wrap.Text(0))
	}
}

// Completion mode has no reasoning parser: the text is everything, </think> included,
// drawn as it is, and the column and its footer are as for any model.
func TestThinkingCompletionModeUnchanged(t *testing.T) {
	t.Parallel()
	m, _ := serverModel(t, 120, 40, func(c *Config) {
		c.Model = vllmtest.ReasoningModel
		c.Options.N = 1
	})
	driveUntil(t, m, m.startRun(), allDone(m))
	c := m.samples.cols[0]
	if c.hasThinking() {
		t.Fatal("completion mode shows a thinking section")
	}
	screen := plainScreen(m)
	if strings.Contains(screen, "▾ thinking") || strings.Contains(screen, boundaryRule) || !strings.Contains(c.Text(), vllmtest.EndOfThinking) || strings.HasPrefix(c.StatParts()[0], "think") {
		t.Errorf("screen:\n%s", screen)
	}
}

// Text can come after the tokens (vLLM holds it back): the end-of-thinking token's text
// goes into the column's text only when the answer's text begins, so the rest of the
// thinking's text still lands before it; a start-of-thinking token's, before the thinking.
func TestThinkingHeldBackText(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	th := func(s string) backend.Token { t := tok(s, -0.5); t.Part = backend.PartThinking; return t }
	bd := func(s string) backend.Token { t := tok(s, -0.1); t.Part = backend.PartBoundary; return t }
	an := func(s string) backend.Token { return tok(s, -1) }

	c := newColumn(0, nil, now)
	c.SetSize(40, 10)
	c.AppendParts([]backend.Token{bd("<think>"), th("Hmm"), th(" ok")}, "", "", now)
	c.AppendParts([]backend.Token{bd("</think>"), an("Hi")}, "Hmm", "", now)
	c.AppendParts(nil, " ok", "", now)
	c.AppendParts([]backend.Token{an("!")}, "", "Hi!", now)
	c.Finish(backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByEOS}, nil)
	for k, p := range c.al.Places() {
		if !p.In() {
			t.Errorf("token %d (%q) not placed", k, c.tokens[k].Text)
		}
	}
	var lines []string
	for i := 0; i < c.Lines(); i++ {
		lines = append(lines, c.wrap.Text(i))
	}
	want := []string{"▾ thinking", "Hmm ok", boundaryRule, "Hi!"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
	if !c.think.state.Ended || c.StoppedWhileThinking() {
		t.Errorf("thinking state %+v", c.think.state)
	}
	parts := strings.Join(c.StatParts(), " · ")
	if !strings.Contains(parts, "think 2 tok · answer 2 tok") || !strings.Contains(parts, "think 0.72 bits/tok") || !strings.Contains(parts, "answer 1.44 bits/tok") {
		t.Errorf("footer numbers %q", parts)
	}
}

// A click on a column's label line folds that column's thinking only, and shows it again.
func TestThinkingLabelClickFoldsOneColumn(t *testing.T) {
	t.Parallel()
	m := reasoningModel(t, 2, 256)
	cell := m.samples.grid.Cells[1]
	click := func() { m.Update(tea.MouseClickMsg{X: cell.X + 2, Y: cell.Y + 1, Button: tea.MouseLeft}) }
	click()
	a, b := m.samples.cols[0], m.samples.cols[1]
	if a.think.folded || !b.think.folded || m.samples.inspecting {
		t.Fatalf("folded %v %v, inspecting %v", a.think.folded, b.think.folded, m.samples.inspecting)
	}
	if b.wrap.Text(0) != "▸ thought for 7 tokens" {
		t.Errorf("label %q", b.wrap.Text(0))
	}
	click()
	if b.think.folded || b.wrap.Text(0) != "▾ thinking" {
		t.Errorf("a second click left %q", b.wrap.Text(0))
	}
	// A click on the thinking's text opens the inspector, as on any token.
	m.Update(tea.MouseClickMsg{X: cell.X + 1, Y: cell.Y + 2, Button: tea.MouseLeft})
	if !m.samples.inspecting || b.Cursor != 0 {
		t.Errorf("inspecting %v cursor %d", m.samples.inspecting, b.Cursor)
	}
}

// BenchmarkStreamThinking is one streaming frame of a reasoning model's thinking in 8
// columns (a token and its text each), shown and folded.
func BenchmarkStreamThinking(b *testing.B) {
	for _, folded := range []bool{false, true} {
		for _, n := range []int{500, 10000} {
			b.Run(fmt.Sprintf("folded=%v/tokens=%d", folded, n), func(b *testing.B) {
				words := strings.Fields("okay so the user wants a story about a fox let me think")
				word := func(i int) backend.Token {
					t := tok(" "+words[i%len(words)], -0.5-float64(i%7)/4)
					t.Part = backend.PartThinking
					return t
				}
				m := newTestModel(b, &fakeSampler{}, 200, 60)
				m.panel.O.N = 8
				start := time.Unix(0, 0)
				m.samples.cols = make([]*column, 8)
				for c := range m.samples.cols {
					col := newColumn(c, nil, start)
					col.SetThinkingFolded(folded)
					toks := make([]backend.Token, n)
					var text strings.Builder
					for i := range toks {
						toks[i] = word(i)
						text.WriteString(toks[i].Text)
					}
					col.AppendParts(toks, text.String(), "", start)
					m.samples.cols[c] = col
				}
				m.focus = focusSamples
				m.relayout()
				m.View()
				now := time.Unix(5, 0)
				i := n
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					t := word(i)
					for _, c := range m.samples.cols {
						c.AppendParts([]backend.Token{t}, t.Text, "", now)
					}
					i++
					_ = m.View()
				}
			})
		}
	}
}

// Folded while it streams, the summary says it is thinking; once the thinking ends it
// says for how long.
func TestThinkingFoldedWhileStreaming(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	th := func(s string) backend.Token { t := tok(s, -0.5); t.Part = backend.PartThinking; return t }
	c := newColumn(0, nil, now)
	c.SetSize(40, 10)
	c.SetThinkingFolded(true)
	c.AppendParts([]backend.Token{th("Hmm"), th(" ok")}, "Hmm ok", "", now)
	if got := c.wrap.Text(0); got != "▸ thinking…" || c.Lines() != 2 {
		t.Errorf("streaming: %q, %d lines", got, c.Lines())
	}
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if got := c.wrap.Text(0); got != "▸ thought for 2 tokens" || c.Badge() != "length, still thinking" {
		t.Errorf("finished: %q, badge %q", got, c.Badge())
	}
	c.SetThinkingFolded(false)
	if got := c.wrap.Text(1); got != "Hmm ok" {
		t.Errorf("shown: %q", got)
	}
}

// With the heatmap off the rule takes the theme's boundary look; on, the heatmap's look of
// the end-of-thinking token. The thinking is dimmed either way.
func TestThinkingLooks(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"off", "probability"} {
		m, _ := serverModel(t, 120, 40, func(c *Config) {
			c.API, c.Model, c.Options.N, c.Heatmap = params.Chat, vllmtest.ReasoningModel, 1, mode
		})
		driveUntil(t, m, m.startRun(), allDone(m))
		st := &m.c.Styles.Column
		view := m.View().Content
		rule := stylePrefix(st.Boundary) + boundaryRule
		if strings.Contains(view, rule) != (mode == "off") {
			t.Errorf("heatmap %s: rule in the boundary look: %v", mode, !(mode == "off"))
		}
		at := strings.Index(view, "Okay")
		if at < 0 || !strings.Contains(view[max(0, at-48):at], stylePrefix(st.ThinkingMark)) || !strings.Contains(view, stylePrefix(st.ThinkingLabel)+"▾ thinking") {
			t.Errorf("heatmap %s: thinking not dimmed or label not in its look", mode)
		}
	}
}

// The inspector's cursor on a token the fold hides is drawn on the summary line.
func TestThinkingCursorInFold(t *testing.T) {
	t.Parallel()
	m := reasoningModel(t, 1, 256)
	m.setFocus(focusSamples)
	m.Update(keyMsg("t"))
	m.Update(keyMsg("i"))
	c := m.samples.cols[0]
	cur := stylePrefix(m.c.Styles.Column.Cursor) + "▸ thought for 6 tokens"
	if c.Cursor != 0 || !strings.Contains(m.View().Content, cur) {
		t.Fatalf("cursor %d on the folded thinking, label not in the cursor's look", c.Cursor)
	}
	m.Update(keyMsg("G")) // the last token, in the answer
	if c.partOf(c.Cursor) != backend.PartAnswer || strings.Contains(m.View().Content, cur) {
		t.Errorf("cursor %d in the answer, label still in the cursor's look", c.Cursor)
	}
}
