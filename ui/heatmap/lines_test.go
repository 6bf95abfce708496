package heatmap

import (
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
)

func TestLines(t *testing.T) {
	st := styles("dark", true)
	p := NewPainter(st, Surprisal, colorprofile.TrueColor)
	off := NewPainter(st, Off, colorprofile.TrueColor)
	mk := func(texts ...string) []backend.Token {
		var out []backend.Token
		for _, s := range texts {
			out = append(out, tok(s, .5))
		}
		return out
	}
	cases := []struct {
		name  string
		toks  []backend.Token
		width int
		want  []string // stripped, for the painter with the heatmap on
	}{
		{"fits", mk("Hello", " world"), 12, []string{"Hello world "}},
		{"breaks a long token", mk("abcdefgh"), 3, []string{"abc", "def", "gh "}},
		{"newline token marks and ends the line", mk("a", "\n", "b"), 4, []string{"a⏎  ", "b   "}},
		{"newline inside a token", mk("x\ny"), 3, []string{"x⏎ ", "y  "}},
		{"wide runes never split", mk("日本語"), 5, []string{"日本 ", "語   "}},
		{"wider than the line", mk("日"), 1, []string{"日"}},
		{"escape sequences are shown, not run", mk("\x1b[2J"), 10, []string{"␛[2J      "}},
		{"tab expands", mk("a\tb"), 8, []string{"a   b   "}},
		{"blank token shows", mk("a", "  ", "b"), 6, []string{"a··b  "}},
		{"empty", nil, 4, []string{"    "}},
	}
	for _, c := range cases {
		got := Lines(p, c.toks, c.width)
		var plain []string
		for _, l := range got {
			plain = append(plain, ansi.Strip(l))
			if w := ansi.StringWidth(l); w != c.width && !(c.width == 1 && w == 2) {
				t.Errorf("%s: line %q is %d cells, want %d", c.name, ansi.Strip(l), w, c.width)
			}
		}
		if strings.Join(plain, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, plain, c.want)
		}
	}
	if got := ansi.Strip(strings.Join(Lines(off, mk("a", "\n", "  "), 4), "|")); got != "a   |    " {
		t.Errorf("heatmap off: %q", got)
	}
	if Lines(p, mk("a"), 0) != nil {
		t.Error("width 0 drew lines")
	}
}

// Any tokens at any width: lines are exactly width cells (a lone wide grapheme on a
// one-cell line excepted) and no control character from the tokens reaches the terminal.
func FuzzLines(f *testing.F) {
	f.Add("Hello", " world\n", "\x1b]52;c;AA==\x07", uint8(10))
	f.Add("日本", "\t", "\u202e\x9b", uint8(1))
	st := styles("dark", true)
	p := NewPainter(st, Surprisal, colorprofile.TrueColor)
	f.Fuzz(func(t *testing.T, a, b, c string, w uint8) {
		width := int(w%80) + 1
		toks := []backend.Token{tok(a, .5), {Text: b, Logprob: backend.Unknown()}, tok(c, .01)}
		for _, l := range Lines(p, toks, width) {
			if lw := ansi.StringWidth(l); lw != width && !(width == 1 && lw == 2) {
				t.Fatalf("line %q is %d cells, want %d", ansi.Strip(l), lw, width)
			}
			if plain := ansi.Strip(l); strings.ContainsAny(plain, "\x1b\x07\u009b\u202e\n") {
				t.Fatalf("control character reached the screen: %q", plain)
			}
		}
	})
}
