// Package sanitize turns untrusted text (model output, token strings, stop strings, server
// errors, model names) into text that is safe to write to a terminal: nothing in the result
// can start an escape sequence, reorder text (bidi overrides) or hide itself. It is the one
// place that decision is made (reliability items 1-2); every other package calls it.
//
// It must never import bubbletea, lipgloss or anything of twinkle's: it is a leaf used by
// the UI, the SSH server and logging alike.
//
// What is shown, and how:
//   - '\n' is kept by Text; Line (one-line contexts: title, header, badges) shows it as ␤.
//   - '\t' is expanded to spaces up to the next tab stop, every 4 columns. Columns count from
//     the start of the string or its last '\n' (TextAt takes the starting column when the
//     caller knows it). Four, not eight: token-sized pieces of code stay narrow in a column.
//   - other C0 controls (0x00-0x1F) become their Control Picture (U+2400 + byte, so ESC is
//     ␛ U+241B), DEL becomes ␡ U+2421.
//   - C1 controls (U+0080-U+009F, e.g. the 8-bit CSI U+009B) become the four characters
//     `\x9b`.
//   - bidi and invisible format characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
//     U+061C, and the line/paragraph separators U+2028, U+2029 that some terminals treat as
//     line breaks) become `<U+202E>` and so on.
//   - invalid UTF-8 becomes U+FFFD, one per bad byte.
//
// Zero-width joiners and variation selectors are left alone: emoji sequences need them and
// they cannot reorder or hide text.
package sanitize

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// TabWidth is the distance between tab stops.
const TabWidth = 4

// Text returns s made safe for display, keeping '\n'. When s needs no change it is returned
// as is, without allocating: it runs once per streamed token.
func Text(s string) string {
	if clean(s, false) {
		return s
	}
	return rewrite(s, 0, false)
}

// TextAt is Text for a string that starts at display column col, so tabs land on the same
// stops as they would in the whole line.
func TextAt(s string, col int) string {
	if clean(s, false) {
		return s
	}
	return rewrite(s, col, false)
}

// Line is Text for one-line contexts (window title, header, badges, pickers): '\n' and '\r'
// are shown as glyphs too, so the result never breaks a line.
func Line(s string) string {
	if clean(s, true) {
		return s
	}
	return rewrite(s, 0, true)
}

// clean reports whether s is already displayable as is. The ASCII loop is the hot path.
func clean(s string, oneLine bool) bool {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 || b == 0x7f {
				if b != '\n' || oneLine {
					return false
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if special(r) {
			return false
		}
		i += size
	}
	return true
}

// special reports runes above ASCII that must not reach the terminal raw.
func special(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x2028 && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

const (
	hexDigits = "0123456789abcdef"
	upperHex  = "0123456789ABCDEF"
)

func rewrite(s string, col int, oneLine bool) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	// segStart is where in b the text since the last tab stop or newline begins, and segCol
	// the column it began at: tab expansion measures only that segment, so it stays linear.
	segStart, segCol := 0, col
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' && !oneLine:
				b.WriteByte('\n')
				segStart, segCol = b.Len(), 0
			case c == '\t':
				at := segCol + ansi.StringWidth(b.String()[segStart:])
				n := TabWidth - at%TabWidth
				for range n {
					b.WriteByte(' ')
				}
				segStart, segCol = b.Len(), at+n
			case c == '\n':
				b.WriteRune(0x2424) // ␤ symbol for newline
			case c < 0x20:
				b.WriteRune(0x2400 + rune(c))
			case c == 0x7f:
				b.WriteRune(0x2421)
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r >= 0x80 && r <= 0x9f:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		case special(r):
			writeCodePoint(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Visible is for showing one token on its own (the inspector): like Line, and every kind of
// whitespace is made visible too, so a token of two spaces and one of a tab look different.
// Space is ·, tab ⇥, newline ⏎, and the other Unicode spaces, zero-width and invisible
// characters (including the tag characters U+E0000-U+E007F that can smuggle hidden text)
// are shown as <U+XXXX>.
func Visible(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ':
			b.WriteRune('·')
		case r == '\t':
			b.WriteRune('⇥')
		case r == '\n':
			b.WriteRune('⏎')
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0xa0, r == 0xad, r == 0x1680, r >= 0x2000 && r <= 0x200d, r == 0x202f, r == 0x205f,
			r >= 0x2060 && r <= 0x2064, r == 0x3000, r == 0xfeff, r >= 0xfff9 && r <= 0xfffb,
			r >= 0xe0000 && r <= 0xe007f:
			writeCodePoint(&b, r)
		default:
			b.WriteString(Line(s[i : i+size]))
		}
		i += size
	}
	return b.String()
}

// writeCodePoint writes r as <U+XXXX>, or <U+XXXXX> beyond the BMP.
func writeCodePoint(b *strings.Builder, r rune) {
	b.WriteString("<U+")
	top := 12
	if r > 0xffff {
		top = 16
	}
	for shift := top; shift >= 0; shift -= 4 {
		b.WriteByte(upperHex[(r>>shift)&0xf])
	}
	b.WriteByte('>')
}
