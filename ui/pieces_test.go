package ui

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// splitStream is a text cut into byte tokens, reported as vLLM reports them, with the
// text a vLLM detokenizer releases after each token (whole characters only, hold bytes
// held back for a stop string).
type splitStream struct {
	toks  []backend.Token
	texts []string
}

func newSplitStream(text string, cuts []int, hold int) splitStream {
	var s splitStream
	bounds := []int{0}
	for _, c := range cuts {
		if c > bounds[len(bounds)-1] && c < len(text) {
			bounds = append(bounds, c)
		}
	}
	bounds = append(bounds, len(text))
	sent := 0
	for i := 1; i < len(bounds); i++ {
		raw := text[bounds[i-1]:bounds[i]]
		s.toks = append(s.toks, backend.Token{Text: wire.Lossy([]byte(raw)), Logprob: backend.Logprob(-0.1 * float64(i%9)), ID: backend.NoTokenID})
		rel := max(sent, wire.CompletePrefix([]byte(text[:bounds[i]]))-hold)
		for rel > sent && rel < len(text) && !utf8.RuneStart(text[rel]) {
			rel--
		}
		if i == len(bounds)-1 {
			rel = len(text)
		}
		s.texts = append(s.texts, text[sent:rel])
		sent = rel
	}
	return s
}

func (s splitStream) feed(c *column, upto int) {
	for i := 0; i < upto && i < len(s.toks); i++ {
		c.AppendStream(s.toks[i:i+1], s.texts[i], time.Unix(1, 0))
	}
}

func plainLines(c *column) []string { return wrapperLines(c.wrap) }

// wrapperLines is each line's text with its layout (where it starts and ends, its width,
// whether a newline ends it).
func wrapperLines(w *wrapper) []string {
	var out []string
	for i := 0; i < w.Len(); i++ {
		out = append(out, fmt.Sprintf("%s%v", w.Text(i), w.lines[i]))
	}
	return out
}

// freshLines lays the column's pieces out from scratch, as a resize does.
func freshLines(c *column) []string {
	w := newWrapper(c.width)
	for _, t := range c.texts {
		w.Append(t)
	}
	return wrapperLines(w)
}

// shown is what the column shows, line by line.
func shown(c *column) string {
	var out []string
	for i := 0; i < c.wrap.Len(); i++ {
		out = append(out, c.wrap.Text(i))
	}
	return strings.Join(out, "\n")
}

func TestColumnDrawsSplitCharacters(t *testing.T) {
	t.Parallel()
	// 好 as [e5 a5][bd], é as [c3][a9], 🙂 as [f0 9f 99][82]: vLLM reports each piece as
	// "\ufffd" and holds the text back until a character is whole.
	text := " park好 underé 🙂!"
	s := newSplitStream(text, []int{5, 7, 8, 14, 15, 16, 17, 20, 21}, 0)
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(40, 5)
	for i := range s.toks {
		c.AppendStream(s.toks[i:i+1], s.texts[i], time.Unix(1, 0))
		c.toks(t, i+1)
		if screen := shown(c); strings.Contains(screen, "\ufffd") {
			t.Fatalf("after token %d the column shows U+FFFD: %q", i, screen)
		}
	}
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if got := shown(c); got != text {
		t.Fatalf("column shows %q, want %q", got, text)
	}
	// Each split character is drawn by its first token, in the look of the less likely
	// of its two tokens; the second draws nothing of its own.
	for k, want := range map[int]string{1: "好", 4: "é", 7: "🙂"} {
		sh := c.shared[k]
		if sh.raw != want || sh.first != k || sh.last != k+1 || c.hostOf(k+1) != k || c.texts[k+1] != "" {
			t.Errorf("token %d: shared %+v, host of next %d, pieces %q", k, sh, c.hostOf(k+1), c.texts)
		}
		lp0, lp1 := c.tokens[k].Logprob, c.tokens[k+1].Logprob
		if w := c.tokens[sh.worst].Logprob; w != min(lp0, lp1) {
			t.Errorf("token %d: drawn in the look of logprob %v, not the least likely (%v, %v)", k, w, lp0, lp1)
		}
	}
}

// toks checks the column holds n tokens (the stream added them one by one).
func (c *column) toks(t *testing.T, n int) {
	t.Helper()
	if len(c.tokens) != n || c.al.Len() != n {
		t.Fatalf("column has %d tokens, aligner %d, want %d", len(c.tokens), c.al.Len(), n)
	}
}

var pieceAlphabet = []string{"a", "b", " ", "  ", "\n", "é", "e\u0301", "好", "日", "世界", "🙂", "👍🏽", "👨\u200d👩\u200d👧", "\t", "🇯🇵", "x\u200d"}

// TestColumnPiecesProperty: for any text split into byte tokens and streamed as vLLM
// streams it, the column shows exactly the text when done, never a U+FFFD the text does
// not have, and its incremental layout is the one a fresh layout of its pieces gives, at
// every step and width.
func TestColumnPiecesProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 16))
	for iter := range 400 {
		var b strings.Builder
		for range 1 + r.IntN(14) {
			b.WriteString(pieceAlphabet[r.IntN(len(pieceAlphabet))])
		}
		text := b.String()
		var cuts []int
		for i := 1; i < len(text); i++ {
			if r.IntN(3) == 0 {
				cuts = append(cuts, i)
			}
		}
		s := newSplitStream(text, cuts, iter%3)
		c := newColumn(0, nil, time.Unix(0, 0))
		width := 3 + r.IntN(12)
		c.SetSize(width, 4)
		for i := range s.toks {
			c.AppendStream(s.toks[i:i+1], s.texts[i], time.Unix(1, 0))
			got, fresh := plainLines(c), freshLines(c)
			if strings.Join(got, "|") != strings.Join(fresh, "|") {
				t.Fatalf("%q width %d after token %d: incremental layout %q, fresh %q", text, width, i, got, fresh)
			}
			if strings.Contains(shown(c), "\ufffd") {
				t.Fatalf("%q after token %d shows U+FFFD: %q", text, i, got)
			}
			for li, l := range c.BodyLines(lineStyler{key: "k", plain: func(s string) string { return s }}) {
				if w := ansi.StringWidth(l); w != width {
					t.Fatalf("%q line %d is %d cells, want %d", text, li, w, width)
				}
			}
		}
		c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
		if got := strings.Join(c.texts, ""); got != text {
			t.Fatalf("%q: pieces join to %q", text, got)
		}
		if got, fresh := plainLines(c), freshLines(c); strings.Join(got, "|") != strings.Join(fresh, "|") {
			t.Fatalf("%q finished: incremental layout %q, fresh %q", text, got, fresh)
		}
		// Every token with something to show is reachable by a click on some cell.
		seen := map[int]bool{}
		for y := 0; y < c.Lines(); y++ {
			c.offset = y
			for x := 0; x < width; x++ {
				if k := c.TokenAt(x, 0); k >= 0 {
					seen[k] = true
				}
			}
		}
		for k := range s.toks {
			if wholeIn(text, c, k) && !seen[k] {
				t.Fatalf("%q width %d: token %d (%q) is shown but no cell selects it", text, width, k, c.tokens[k].Text)
			}
		}
	}
}

// wholeIn reports a token that begins a grapheme or a piece of its own, which a click must
// reach: a grapheme's later tokens share its cells only when it is wide enough.
func wholeIn(text string, c *column, k int) bool {
	if c.texts[k] != "" && strings.TrimSpace(c.texts[k]) != "" && !strings.Contains(c.texts[k], "\n") {
		return true
	}
	return false
}

func TestColumnSharedGraphemeCursorAndClicks(t *testing.T) {
	t.Parallel()
	// 好 in two tokens: a wide grapheme, so its two cells go to its two tokens.
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(20, 3)
	s := newSplitStream("a好b", []int{1, 3, 4}, 0)
	s.feed(c, len(s.toks))
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if got := []int{c.TokenAt(0, 0), c.TokenAt(1, 0), c.TokenAt(2, 0), c.TokenAt(3, 0)}; got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 3 {
		t.Fatalf("cells select tokens %v, want [0 1 2 3]", got)
	}
	if c.LineOf(2) != 0 || !c.lineHas(0, 2) {
		t.Fatal("the second token of 好 is not found on its line")
	}
	// The cursor on either token of 好 highlights the whole grapheme.
	r := func(tok *backend.Token, i int, frag string) string { return frag }
	cur := func(tok *backend.Token, i int, frag string) string { return "[" + frag + "]" }
	for _, k := range []int{1, 2} {
		c.Cursor = k
		lines := c.BodyLines(lineStyler{key: "k", render: r, cursor: cur, plain: func(s string) string { return s }, split: "~"})
		if !strings.HasPrefix(lines[0], "a~[好]\x1b[m") {
			t.Fatalf("cursor on token %d: line %q", k, lines[0])
		}
	}
	// An emoji and its skin tone, two whole tokens: one grapheme of two cells.
	c = newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(6, 3)
	c.AppendStream([]backend.Token{{Text: "👍", Logprob: -1}, {Text: "🏽", Logprob: -2}, {Text: "ok", Logprob: -1}}, "👍🏽ok", time.Unix(1, 0))
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if got := c.wrap.Text(0); got != "👍🏽ok" || c.wrap.lines[0].width != 4 {
		t.Fatalf("line %q of %d cells, want 👍🏽ok in 4", got, c.wrap.lines[0].width)
	}
	if sh := c.shared[0]; sh.worst != 1 || c.TokenAt(0, 0) != 0 || c.TokenAt(1, 0) != 1 || c.TokenAt(2, 0) != 2 {
		t.Fatalf("shared %+v, cells %d %d %d", sh, c.TokenAt(0, 0), c.TokenAt(1, 0), c.TokenAt(2, 0))
	}
}

func TestColumnTokensAheadOfText(t *testing.T) {
	t.Parallel()
	// vLLM holds text back while it may start a stop string: whole tokens show their own
	// text at once; a token holding part of a character waits for it.
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(20, 3)
	c.AppendStream([]backend.Token{{Text: "Hi", Logprob: -1}, {Text: " #", Logprob: -1}}, "Hi", time.Unix(1, 0))
	if got := c.wrap.Text(0); got != "Hi #" {
		t.Fatalf("shows %q", got)
	}
	c.AppendStream([]backend.Token{{Text: "\ufffd", Logprob: -1}}, "", time.Unix(1, 0))
	if got := c.wrap.Text(0); got != "Hi #" {
		t.Fatalf("part of a character drawn before it is whole: %q", got)
	}
	c.AppendStream([]backend.Token{{Text: "\ufffd", Logprob: -1}}, " #好", time.Unix(1, 0))
	if got := c.wrap.Text(0); got != "Hi #好" {
		t.Fatalf("shows %q", got)
	}
	// Cut off inside a character: the server never sends it; the token shows as reported.
	c.AppendStream([]backend.Token{{Text: "\ufffd", Logprob: -1}}, "", time.Unix(1, 0))
	c.Finish(backend.StopLength, backend.StoppedBy{}, nil)
	if got := c.wrap.Text(0); got != "Hi #好◌" {
		t.Fatalf("finished: %q", got)
	}
}

func TestPromptDisplay(t *testing.T) {
	t.Parallel()
	prompt := `say 好 and é`
	s := newSplitStream(prompt, []int{3, 5, 7, 11, 12}, 0)
	toks := s.toks
	toks[0] = backend.Token{Logprob: backend.Unknown(), ID: backend.NoTokenID} // vLLM: nothing for the first
	var b strings.Builder
	for _, tk := range promptDisplay(toks, prompt) {
		b.WriteString(tk.Text)
	}
	if b.String() != prompt {
		t.Fatalf("prompt pane draws %q, want %q", b.String(), prompt)
	}
	// Chat: the template around the message is not known; the runs are found in it.
	chat := []backend.Token{{Text: "<|user|>\n"}, {Text: "say"}, {Text: " \ufffd"}, {Text: "\ufffd"}, {Text: " and"}, {Text: " \ufffd"}, {Text: "\ufffd"}, {Text: "<|end|>"}}
	b.Reset()
	for _, tk := range promptDisplay(chat, prompt) {
		b.WriteString(tk.Text)
	}
	if b.String() != "<|user|>\nsay 好 and é<|end|>" {
		t.Fatalf("chat prompt pane draws %q", b.String())
	}
}

// A stop string with a character split over tokens: vLLM leaves it out of the text; the
// tokens still spell it, so it is drawn whole, in the stop's look.
func TestColumnSplitStopString(t *testing.T) {
	t.Parallel()
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(20, 3)
	toks := []backend.Token{{Text: "ok", Logprob: -1}, {Text: " \ufffd", Logprob: -1}, {Text: "\ufffd", Logprob: -1}}
	c.AppendStream(toks, "ok", time.Unix(1, 0))
	c.Finish(backend.StopStop, backend.StoppedBy{Kind: backend.StoppedByString, String: " 好"}, nil)
	if got := c.wrap.Text(0); got != "ok 好" {
		t.Fatalf("shows %q", got)
	}
	if c.StopTokens() != 1 {
		t.Fatalf("stop from token %d, want 1", c.StopTokens())
	}
	line := c.BodyLines(lineStyler{key: "k", render: func(_ *backend.Token, _ int, f string) string { return f },
		cursor: func(_ *backend.Token, _ int, f string) string { return f }, plain: func(s string) string { return s },
		stop: func(f string, _ bool) string { return "<" + f + ">" }})[0]
	if !strings.HasPrefix(line, "ok< 好>") {
		t.Fatalf("line %q", line)
	}
}
