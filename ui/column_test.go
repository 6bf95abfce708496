package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// countingRenderer counts how often the token renderer runs, to prove that
// lines are styled once and then served from the cache.
type countingRenderer struct{ calls int }

func (r *countingRenderer) render(tok *backend.Token, i int, frag string) string {
	r.calls++
	return "<" + frag + ">"
}

func TestColumnStylesOnlyNewLines(t *testing.T) {
	t.Parallel()
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(10, 3)
	var toks []backend.Token
	for i := 0; i < 200; i++ {
		toks = append(toks, tok(fmt.Sprintf("w%d ", i%10), -1))
	}
	c.AppendTokens(toks, time.Unix(1, 0))
	r := &countingRenderer{}
	plain := func(s string) string { return s }
	c.BodyLines(lineStyler{key: "k", render: r.render, plain: plain})
	first := r.calls
	if first == 0 || first > 20 {
		t.Fatalf("first view styled %d fragments; only the 3 visible lines should be", first)
	}
	c.BodyLines(lineStyler{key: "k", render: r.render, plain: plain})
	if r.calls != first {
		t.Fatalf("a second view restyled %d fragments", r.calls-first)
	}
	// One more token restyles only the open last line.
	c.AppendTokens([]backend.Token{tok("x", -1)}, time.Unix(2, 0))
	before := r.calls
	c.BodyLines(lineStyler{key: "k", render: r.render, plain: plain})
	if d := r.calls - before; d == 0 || d > 4 {
		t.Fatalf("appending a token restyled %d fragments", d)
	}
	// A new key (theme or heatmap mode) restyles the visible window only.
	before = r.calls
	c.BodyLines(lineStyler{key: "k2", render: r.render, plain: plain})
	if d := r.calls - before; d == 0 || d > 12 {
		t.Fatalf("a new key restyled %d fragments", d)
	}
}

func TestColumnFollowsTailUnlessScrolledUp(t *testing.T) {
	t.Parallel()
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(20, 4)
	add := func(n int) {
		for i := 0; i < n; i++ {
			c.AppendText("line\n", time.Unix(1, 0))
			c.BodyLines(lineStyler{key: "k", plain: func(s string) string { return s }}) // a frame
		}
	}
	add(10)
	// 11 lines (the last one empty) in a body of 4: jumps of 4 lines, the last to line 8.
	if !c.Following() || c.Offset() != 8 {
		t.Fatalf("not at tail: offset %d of %d", c.Offset(), c.Lines())
	}
	c.SetSmoothScroll(true)
	if !c.Following() || c.Offset() != c.Lines()-4 {
		t.Fatalf("smooth: not at tail: offset %d of %d", c.Offset(), c.Lines())
	}
	c.Scroll(-3)
	off := c.Offset()
	add(5)
	if c.Following() || c.Offset() != off {
		t.Fatalf("scrolled-up view moved: %d -> %d", off, c.Offset())
	}
	c.ScrollTo(true)
	add(2)
	if c.Offset() != c.Lines()-4 {
		t.Fatal("tail not followed again")
	}
}

func TestColumnLinesExactWidthAfterResize(t *testing.T) {
	t.Parallel()
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(30, 50)
	for _, s := range []string{"日本語の", "テキスト", " and e\u0301 combining ", "🙂🙂", " long words here"} {
		c.AppendText(s, time.Unix(1, 0))
	}
	for _, w := range []int{30, 7, 13, 2} {
		c.SetSize(w, 50)
		for i, l := range c.BodyLines(lineStyler{key: "k", plain: func(s string) string { return s }}) {
			if got := ansi.StringWidth(l); got != w && !(w < 2 && got == 2) {
				t.Errorf("width %d line %d %q is %d cells", w, i, l, got)
			}
		}
	}
}

func TestColumnBadges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reason backend.StopReason
		by     backend.StoppedBy
		err    *backend.Error
		want   string
	}{
		{backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByString, String: "###"}, nil, `stop "###"`},
		{backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByString, String: "\n\x1b"}, nil, `stop "\n\x1b"`},
		{backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByToken, TokenID: 2}, nil, "stop token 2"},
		{backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByEOS}, nil, "eos"},
		{backend.StopLength, backend.StoppedBy{}, nil, "length"},
		{backend.StopInterrupted, backend.StoppedBy{}, nil, "interrupted"},
		{backend.StopCancelled, backend.StoppedBy{}, nil, "cancelled"},
		{backend.StopError, backend.StoppedBy{}, &backend.Error{Kind: backend.KindServer, Message: "boom\x1b[2J"}, "error: server error: boom␛[2J"},
	}
	for _, tc := range cases {
		c := newColumn(0, nil, time.Unix(0, 0))
		c.Finish(tc.reason, tc.by, tc.err)
		if got := c.Badge(); got != tc.want {
			t.Errorf("%s: badge %q, want %q", tc.reason, got, tc.want)
		}
	}
}

func TestPresetsLiveInXDGConfig(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	f := &fakeSampler{}
	m := New(Config{Sampler: f, Params: params.Default(), IsDark: true, Store: store.Open("")})
	m.Update(windowSize(120, 40))
	m.panel.P.Temperature = 0.3
	drive(t, m, m.savePresetCmd("cold"))
	path := filepath.Join(xdg, "twinkle", "presets", "cold.json")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("preset not in XDG_CONFIG_HOME: %v", err)
	}
	m.panel.P.Temperature = 1.7
	m.setFocus(focusParams)
	drive(t, m, press(m, "ctrl+p"))
	if names := front[*presetsDialog](t, m).names; len(names) != 1 || names[0] != "cold" {
		t.Fatalf("presets %v", names)
	}
	drive(t, m, press(m, "enter"))
	if m.panel.P.Temperature != 0.3 {
		t.Fatalf("preset not applied: %v", m.panel.P.Temperature)
	}
	// A malformed preset is refused with file:line: field, and nothing changes.
	os.WriteFile(filepath.Join(xdg, "twinkle", "presets", "bad.json"), []byte("{\n  \"params\": {\"temperature\": \"hot\"}\n}"), 0o644)
	drive(t, m, loadPresetCmd(m.c.Store, "bad"))
	if !m.statusErr || !strings.Contains(m.status, "bad.json:2") || !strings.Contains(m.status, "temperature") {
		t.Fatalf("status %q", m.status)
	}
	if m.panel.P.Temperature != 0.3 {
		t.Fatal("a bad preset changed the parameters")
	}
	drive(t, m, m.savePresetCmd("../escape"))
	if !m.statusErr {
		t.Fatal("a preset name with a path was accepted")
	}
}

// A column that follows the tail hides its first lines: its header says how
// many, and how many are below once scrolled up, even in a narrow column.
func TestColumnHeaderCountsHiddenLines(t *testing.T) {
	t.Parallel()
	f := &fakeSampler{script: wordsScript([]string{strings.Repeat("word ", 300)}, []backend.Event{{Reason: backend.StopLength}})}
	for _, w := range []int{120, 60} {
		m := newTestModel(t, f, w, 30)
		drive(t, m, m.startRun())
		c := m.samples.cols[0]
		if !c.Following() || c.Offset() == 0 {
			t.Fatalf("%d: following %v offset %d", w, c.Following(), c.Offset())
		}
		want := fmt.Sprintf("↑ %d lines", c.Offset())
		if !strings.Contains(plainScreen(m), want) {
			t.Fatalf("%d wide: no %q while following the tail:\n%s", w, want, plainScreen(m))
		}
		m.setFocus(focusSamples)
		m.Update(keyMsg("up"))
		m.Update(keyMsg("up"))
		below := c.Lines() - c.Offset() - c.height
		want = fmt.Sprintf("↑ %d lines · ↓ %d lines", c.Offset(), below)
		if below != 2 || !strings.Contains(plainScreen(m), want) {
			t.Fatalf("%d wide, scrolled up: want %q:\n%s", w, want, plainScreen(m))
		}
	}
	// A column too narrow for both keeps the first whole and drops the other: no count
	// without its unit.
	c := newColumn(0, nil, time.Unix(0, 0))
	c.AppendText(strings.Repeat("word ", 300), time.Unix(0, 0))
	c.Streaming = false
	c.SetSize(16, 5)
	c.Scroll(-2)
	if c.Offset() == 0 || c.Lines()-c.Offset()-c.height <= 0 {
		t.Fatalf("offset %d of %d lines", c.Offset(), c.Lines())
	}
	want := fmt.Sprintf("  #1 · ↑ %d lines", c.Offset())
	if got := columnHead(c, "", 22); got != want {
		t.Fatalf("22 cells: %q, want %q", got, want)
	}
}

// vLLM leaves a matched stop string out of the text but not out of the
// logprobs: its tokens are drawn as the stop (struck through, dim), never as
// output, live and when a saved session reopens.
func TestStopStringTokensAreDrawnAsTheStop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		toks     []string
		text     string
		stopTok  int
		outTok   int
		out, cut string // the output's end (in token outTok) and the stop's drawn part
	}{
		{"whole tokens", []string{"Hello", " world", "###"}, "Hello world", 2, 1, " world", "###"},
		{"a token straddles", []string{"Hello", " wor", "ld##", "#x"}, "Hello world", 2, 2, "ld", "##"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSampler{script: func(req backend.Request, e *backend.Emitter, _ context.Context) {
				e.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
				var toks []backend.Token
				for _, s := range tc.toks {
					toks = append(toks, tok(s, -0.5))
				}
				e.Emit(backend.Event{Kind: backend.EventTokens, Sample: 0, Text: tc.text, Tokens: toks})
				e.Emit(backend.Event{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopStop,
					StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: "###"}})
				e.Emit(backend.Event{Kind: backend.EventDone})
			}}
			m := newTestModel(t, f, 120, 40)
			drive(t, m, m.startRun())
			check := func(when string) {
				c := m.samples.cols[0]
				if c.StopTokens() != tc.stopTok {
					t.Fatalf("%s: stop from token %d, want %d", when, c.StopTokens(), tc.stopTok)
				}
				ls := m.samples.lineStyler()
				line := c.BodyLines(ls)[0]
				if !strings.Contains(line, ls.stop(tc.cut, false)) {
					t.Errorf("%s: %q not drawn as the stop: %q", when, tc.cut, line)
				}
				if !strings.Contains(line, m.c.Painter.Render(c.token(tc.outTok), tc.outTok, tc.out)) {
					t.Errorf("%s: output drawn as the stop: %q", when, line)
				}
				if !strings.Contains(plainScreen(m), `stop "###"`) {
					t.Errorf("%s: no badge naming the stop", when)
				}
			}
			check("live")
			s := m.snapshot()
			m.showSession(&s, "s.json")
			check("reopened")
		})
	}
	// Without logprobs the text is all there is, and it holds no stop.
	f := &fakeSampler{script: wordsScript([]string{"a b"}, []backend.Event{{Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByString, String: "b"}}})}
	m := newTestModel(t, f, 120, 40)
	m.panel.O.Logprobs = nil
	drive(t, m, m.startRun())
	if m.samples.cols[0].StopTokens() != -1 {
		t.Fatal("a stop marked in text that holds none")
	}
}

// Following its tail, a column scrolls by jumps: the view stays put while the tail is on
// screen, and when the tail runs past the bottom it jumps so that the tail sits just
// below the kept fifth of the body.
func TestColumnJumpScroll(t *testing.T) {
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(20, 10) // keeps 2 lines, jumps by 8
	frame := func() { c.BodyLines(lineStyler{key: "k", plain: func(s string) string { return s }}) }
	var offsets []int
	for i := 0; i < 40; i++ {
		c.AppendText("line\n", time.Unix(1, 0))
		frame()
		tail := c.Lines() - 1
		if tail < c.Offset() || tail >= c.Offset()+10 {
			t.Fatalf("after %d lines the tail (line %d) is off screen at offset %d", i+1, tail, c.Offset())
		}
		if n := len(offsets); n == 0 || offsets[n-1] != c.Offset() {
			offsets = append(offsets, c.Offset())
		}
	}
	want := []int{0, 8, 16, 24, 32}
	if fmt.Sprint(offsets) != fmt.Sprint(want) {
		t.Fatalf("offsets %v, want %v", offsets, want)
	}
	// Scrolling up from the blank lines of a jump starts from the tail on the last line.
	c.Scroll(-1)
	if c.Following() || c.Offset() != c.Lines()-10-1 {
		t.Fatalf("scrolled up: following %v, offset %d of %d lines", c.Following(), c.Offset(), c.Lines())
	}
	// Lines that have not been on screen are not jumped over: a burst in one frame (a
	// fast stream) that runs 3 lines past the bottom moves the view just enough.
	c.ScrollTo(true)
	frame()
	before, shown := c.Offset(), min(c.Lines(), c.Offset()+10) // lines before shown have been on screen
	for range before + 10 - c.Lines() + 3 {
		c.AppendText("line\n", time.Unix(1, 0))
	}
	if c.Offset() == before || c.Offset() > shown || c.Lines()-1 >= c.Offset()+10 {
		t.Errorf("after a burst to line %d: offset %d (was %d), first line not yet shown %d", c.Lines()-1, c.Offset(), before, shown)
	}
	frame()
	// Smooth scrolling keeps the tail on the last line.
	c.ScrollTo(true)
	c.SetSmoothScroll(true)
	c.AppendText("line\n", time.Unix(1, 0))
	if c.Offset() != c.Lines()-10 {
		t.Fatalf("smooth: offset %d of %d lines", c.Offset(), c.Lines())
	}
}

// An error badge that does not fit its footer shortens by words: the address it names is
// shown whole or not at all (the column's body has the message whole).
func TestErrorBadgeCutsBetweenWords(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, &fakeSampler{}, 80, 24)
	c := newColumn(0, nil, time.Unix(0, 0))
	c.Streaming = false
	c.Reason = backend.StopError
	c.Err = &backend.Error{Kind: backend.KindTransport, Message: "could not connect to 127.0.0.1:59123"}
	words := map[string]bool{}
	for _, w := range strings.Fields("error: " + c.Err.Error()) {
		words[strings.TrimRight(w, ":")] = true
	}
	for w := 8; w <= 50; w++ {
		got := strings.TrimRight(ansi.Strip(m.samples.renderFooter(c, w, "")), " ")
		if ansi.StringWidth(got) > w {
			t.Fatalf("%d cells: %q is wider", w, got)
		}
		for _, word := range strings.Fields(strings.TrimSuffix(got, "…")) {
			if !words[strings.TrimRight(word, ":")] {
				t.Errorf("%d cells: %q cuts the word %q", w, got, word)
			}
		}
	}
}

// A preset brings back the advanced fields and the logprobs mode it was saved
// with; one saved with them at their defaults resets them.
func TestPresetKeepsAdvancedAndMode(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	m := New(Config{Sampler: &fakeSampler{}, Params: params.Default(), IsDark: true, Store: store.Open("")})
	m.Update(windowSize(120, 40))
	drive(t, m, m.savePresetCmd("plain"))
	off := false
	want := params.Advanced{MinP: 0.1, PresencePenalty: 0.4, MinTokens: 3, BadWords: []string{"foo"},
		LogitBias: []params.LogitBias{{ID: 5, Bias: -2}}, EnableThinking: &off, ReasoningEffort: "high"}
	m.panel.O.Advanced = want.Clone()
	m.panel.SetMode(backend.ProcessedLogprobs)
	drive(t, m, m.savePresetCmd("tuned"))
	m.panel.O.Advanced = params.Advanced{}
	m.panel.SetMode(backend.RawLogits)
	drive(t, m, loadPresetCmd(m.c.Store, "tuned"))
	if !reflect.DeepEqual(m.panel.O.Advanced, want) || m.panel.Mode() != backend.ProcessedLogprobs {
		t.Fatalf("preset applied advanced %+v mode %q, want %+v %q (status %q)", m.panel.O.Advanced, m.panel.Mode(), want, backend.ProcessedLogprobs, m.status)
	}
	drive(t, m, loadPresetCmd(m.c.Store, "plain"))
	if !m.panel.O.Advanced.IsZero() || m.panel.Mode() != "" {
		t.Fatalf("a preset saved at the defaults left advanced %+v mode %q", m.panel.O.Advanced, m.panel.Mode())
	}
}
