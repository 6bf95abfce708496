package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// payloads are the escape sequences a hostile model or server could try to smuggle to the
// terminal (reliability item 1).
var payloads = map[string]string{
	"osc52 clipboard":  "hi\x1b]52;c;ZWNobyBwd25lZA==\x07there",
	"osc0 title":       "\x1b]0;pwned title\x1b\\after",
	"osc8 link":        "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
	"dcs":              "a\x1bP+q544e\x1b\\b",
	"apc":              "\x1b_Gf=24;AAAA\x1b\\",
	"csi 6n":           "where am i\x1b[6n?",
	"esc c reset":      "bye\x1bc",
	"unterminated osc": "\x1b]0;never ends",
	"8-bit csi raw":    "x\x9b31mred",
	"8-bit csi utf8":   "x\u009b31mred\u009d0;t\u009c",
	"bidi override":    "abc\u202Efdp.exe\u202C",
	"bidi isolates":    "\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
	"mixed":            "\x1b[2J\x1b[H\u202e\x9b\x1b]52;c;AA==\x1b\\\r\x08\x7f",
}

// unsafe reports what a sanitized string must never contain.
func unsafe(t *testing.T, out string, oneLine bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	for _, r := range out {
		switch {
		case r == '\n' && !oneLine:
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, special(r):
			t.Fatalf("output contains %U: %q", r, out)
		}
	}
}

func TestPayloadsSplitAtEveryOffset(t *testing.T) {
	t.Parallel()
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			for i := 0; i <= len(p); i++ {
				out := Text(p[:i]) + Text(p[i:])
				unsafe(t, out, false)
				if strings.ContainsRune(out, 0x1b) || strings.ContainsRune(out, 0x9b) ||
					strings.ContainsRune(out, 0x202e) {
					t.Fatalf("split at %d leaked: %q", i, out)
				}
				unsafe(t, Line(p[:i])+Line(p[i:]), true)
			}
			// Three chunks, every pair of cut points.
			for i := 0; i <= len(p); i++ {
				for j := i; j <= len(p); j++ {
					unsafe(t, Text(p[:i])+Text(p[i:j])+Text(p[j:]), false)
				}
			}
			// One byte at a time, as the slowest stream would deliver it.
			var b strings.Builder
			for i := 0; i < len(p); i++ {
				b.WriteString(Text(p[i : i+1]))
			}
			unsafe(t, b.String(), false)
		})
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"two\nlines", "two\nlines"},
		{"héllo wörld ✨ 日本", "héllo wörld ✨ 日本"},
		{"\x1b[31m", "␛[31m"},
		{"a\x00b", "a␀b"},
		{"cr\r\n", "cr␍\n"},
		{"del\x7f", "del␡"},
		{"\u009b", `\x9b`},
		{"\u0085", `\x85`},
		{"\x9b", "\uFFFD"},
		{"\xff\xfe", "\uFFFD\uFFFD"},
		{"\xe2\x82", "\uFFFD\uFFFD"},
		{"a\u202Eb", "a<U+202E>b"},
		{"\u2066x\u2069", "<U+2066>x<U+2069>"},
		{"\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>"},
		{"line\u2028sep", "line<U+2028>sep"},
		{"\t", "    "},
		{"a\tb", "a   b"},
		{"abcd\te", "abcd    e"},
		{"ab\tc\td", "ab  c   d"},
		{"x\n\ty", "x\n    y"},
		{"日本\tx", "日本    x"}, // two wide runes fill four columns: the next stop is 8
		{"日\tx", "日  x"},
		{"\x1b\tz", "␛   z"},
	}
	for _, c := range cases {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTextAt(t *testing.T) {
	t.Parallel()
	if got := TextAt("\tx", 2); got != "  x" {
		t.Errorf("TextAt col 2 = %q", got)
	}
	if got := TextAt("\tx", 4); got != "    x" {
		t.Errorf("TextAt col 4 = %q", got)
	}
	if got := TextAt("a\n\tx", 3); got != "a\n    x" {
		t.Errorf("TextAt after newline = %q", got)
	}
	if got := TextAt("clean", 3); got != "clean" {
		t.Errorf("TextAt clean = %q", got)
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"model-7b", "model-7b"},
		{"a\nb", "a␤b"},
		{"a\r\nb", "a␍␤b"},
		{"evil\x1b]0;x\x07", "evil␛]0;x␇"},
		{"t\tab", "t   ab"},
	}
	for _, c := range cases {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", ""},
		{" the", "·the"},
		{"\n", "⏎"},
		{"\t\t", "⇥⇥"},
		{"a\u00a0b", "a<U+00A0>b"},
		{"\u200b", "<U+200B>"},
		{"\x1b[0m", "␛[0m"},
		{"\u202e", "<U+202E>"},
		{"\xff", "\uFFFD"},
		{"é", "é"},
		{"hi\U000E0041\U000E0042", "hi<U+E0041><U+E0042>"},
		{"soft\u00adhyphen", "soft<U+00AD>hyphen"},
	}
	for _, c := range cases {
		if got := Visible(c.in); got != c.want {
			t.Errorf("Visible(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCleanTextDoesNotAllocate(t *testing.T) {
	for _, s := range []string{" the", "héllo ✨", "a\nb", ""} {
		allocs := testing.AllocsPerRun(100, func() { _ = Text(s) })
		if allocs != 0 {
			t.Errorf("Text(%q) allocated %v times", s, allocs)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, p := range payloads {
		f.Add(p, 0)
	}
	f.Add("a\tb\tc", 3)
	f.Fuzz(func(t *testing.T, s string, cut int) {
		if cut < 0 {
			cut = -cut
		}
		if len(s) > 0 {
			cut %= len(s) + 1
		} else {
			cut = 0
		}
		unsafe(t, Text(s), false)
		unsafe(t, Text(s[:cut])+Text(s[cut:]), false)
		unsafe(t, Line(s), true)
		unsafe(t, Visible(s), true)
		unsafe(t, TextAt(s, cut), false)
		// Clean input comes back unchanged; anything else is rewritten idempotently.
		once := Text(s)
		if Text(once) != once {
			t.Fatalf("Text is not idempotent on %q: %q then %q", s, once, Text(once))
		}
	})
}

func BenchmarkTextClean(b *testing.B) {
	tok := " the quick"
	b.ReportAllocs()
	for b.Loop() {
		_ = Text(tok)
	}
}

func BenchmarkTextCleanUnicode(b *testing.B) {
	tok := " héllo wörld ✨"
	b.ReportAllocs()
	for b.Loop() {
		_ = Text(tok)
	}
}

func BenchmarkTextDirty(b *testing.B) {
	tok := "\x1b]52;c;ZWNobw==\x07\tx\u202e"
	b.ReportAllocs()
	for b.Loop() {
		_ = Text(tok)
	}
}
