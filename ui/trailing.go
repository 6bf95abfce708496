package ui

import "strings"

// wrapSpace reports whether frag, the part of token t from byte from on line i, is the
// space a word wrap left at the end of the line (the token's word goes on to the next
// line), and the token whose look the space can take instead: the one before it on the
// line. A space shows no colour, only a boundary's underline, so it is drawn in the
// previous token's colour with its own token's boundary: the terminal gets the underline
// switched rather than a colour set for one blank cell and set again on the next line.
func (c *column) wrapSpace(i, t, from int, frag string) (prev int, ok bool) {
	ln := c.wrap.lines[i]
	if ln.newline || c.tokens == nil || t != ln.end.tok || from+len(frag) != ln.end.off || t-1 < ln.start.tok {
		return 0, false
	}
	if strings.Trim(frag, " ") != "" || blank(c.wrap.disp[t]) || blank(c.wrap.disp[t-1]) {
		return 0, false
	}
	return t - 1, true
}

// blank reports text that is only spaces (or empty): such a token is drawn as dots.
func blank(s string) bool { return strings.Trim(s, " ") == "" }
