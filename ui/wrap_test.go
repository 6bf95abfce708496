package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func wrapAll(width int, toks ...string) []string {
	w := newWrapper(width)
	for _, t := range toks {
		w.Append(t)
	}
	out := make([]string, w.Len())
	for i := range out {
		out[i] = w.Text(i)
	}
	return out
}

func TestWrapWords(t *testing.T) {
	t.Parallel()
	got := wrapAll(10, "The", " quick", " brown", " fox", " jumps")
	want := []string{"The quick ", "brown fox ", "jumps"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestWrapNewlinesAndLongWords(t *testing.T) {
	t.Parallel()
	got := wrapAll(4, "ab\n", "abcdefghij", "\n\nx")
	want := []string{"ab", "abcd", "efgh", "ij", "", "x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestWrapWideRunesNeverStraddle(t *testing.T) {
	t.Parallel()
	// 5 cells: "a" + two wide runes = 5, the third wide rune must move down.
	got := wrapAll(5, "a", "日本", "語", "x")
	want := []string{"a日本", "語x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", got, want)
	}
	for _, l := range got {
		if ansi.StringWidth(l) > 5 {
			t.Fatalf("line %q is %d cells", l, ansi.StringWidth(l))
		}
	}
}

func TestWrapCombiningMarkStaysWithBase(t *testing.T) {
	t.Parallel()
	// "e" + U+0301 arrives split across tokens exactly at the line edge: the
	// mark has no width and must not start a new line.
	got := wrapAll(3, "abe", "\u0301", "z")
	if len(got) != 2 || got[0] != "abe\u0301" || got[1] != "z" {
		t.Fatalf("got %q", got)
	}
	// Within one token the cluster e+U+0301 is one cell.
	got = wrapAll(3, "abe\u0301z")
	if got[0] != "abe\u0301" || ansi.StringWidth(got[0]) != 3 {
		t.Fatalf("got %q", got)
	}
}

func TestWrapWidthsAreExact(t *testing.T) {
	t.Parallel()
	toks := []string{"Hello", ",", " 世界", "! ", "café", " \u00e9\u0301", "🙂", " tab\there", " end"}
	for width := 1; width <= 12; width++ {
		w := newWrapper(width)
		for _, tk := range toks {
			w.Append(tk)
		}
		for i := 0; i < w.Len(); i++ {
			txt := w.Text(i)
			if got := ansi.StringWidth(txt); got != w.lines[i].width {
				t.Fatalf("width %d line %d %q: recorded %d, measured %d", width, i, txt, w.lines[i].width, got)
			}
			if w.lines[i].width > width && ansi.StringWidth(txt) > 2 {
				t.Fatalf("width %d line %d %q overflows", width, i, txt)
			}
		}
	}
}

func TestWrapSanitizes(t *testing.T) {
	t.Parallel()
	got := wrapAll(40, "a\x1b]0;pwn\x07b", "\u202e")
	joined := strings.Join(got, "")
	if strings.ContainsAny(joined, "\x1b\x07\u202e") {
		t.Fatalf("raw control reached a line: %q", joined)
	}
}

// Appending token by token gives the same lines as appending the whole text.
func TestWrapIncrementalMatchesWhole(t *testing.T) {
	t.Parallel()
	text := "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\nSed do eiusmod tempor incididunt ut labore"
	var toks []string
	for i := 0; i < len(text); i += 3 {
		toks = append(toks, text[i:min(len(text), i+3)])
	}
	a := wrapAll(17, toks...)
	b := wrapAll(17, text)
	if strings.Join(a, "|") != strings.Join(b, "|") {
		t.Fatalf("incremental %q\nwhole %q", a, b)
	}
}
