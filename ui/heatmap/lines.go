package heatmap

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// Lines lays toks out in lines of at most width cells, each token painted by p: for panes
// that show a whole token sequence at once, such as the prompt heatmap above the samples
// (prompt logprobs). Tokens are sanitized here; a newline token ends its line with its
// mark; long tokens break at grapheme boundaries, never inside a wide character. Lines are
// padded to width. It costs the length of toks: call it when the tokens, the painter or the
// width change, not per frame.
func Lines(p *Painter, toks []backend.Token, width int) []string {
	if width <= 0 {
		return nil
	}
	var (
		lines []string
		cur   strings.Builder
		curW  int
	)
	flush := func() {
		if pad := width - curW; pad > 0 {
			cur.WriteString(strings.Repeat(" ", pad))
		}
		lines = append(lines, cur.String())
		cur.Reset()
		curW = 0
	}
	for i := range toks {
		t := &toks[i]
		s := sanitize.TextAt(t.Text, curW)
		for len(s) > 0 {
			nl := strings.IndexByte(s, '\n')
			seg := s
			if nl >= 0 {
				seg = s[:nl]
			}
			// Place seg grapheme by grapheme, painting runs that fit on the current line.
			for len(seg) > 0 {
				run, runW, rest := fitPrefix(seg, width-curW)
				if run == "" {
					if curW == 0 { // a grapheme wider than the line: show it anyway
						g, gw := ansi.FirstGraphemeCluster(seg, ansi.GraphemeWidth)
						run, runW, rest = g, gw, seg[len(g):]
					} else {
						flush()
						continue
					}
				}
				cur.WriteString(p.Render(t, i, run))
				curW += runW
				seg = rest
				if len(seg) > 0 {
					flush()
				}
			}
			if nl < 0 {
				break
			}
			if mark := p.NewlineMark(t, i); mark != "" && curW < width {
				cur.WriteString(mark)
				curW++
			}
			flush()
			s = s[nl+1:]
		}
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// fitPrefix is the longest prefix of s, whole graphemes, at most room cells wide.
func fitPrefix(s string, room int) (run string, w int, rest string) {
	off := 0
	for off < len(s) {
		g, gw := ansi.FirstGraphemeCluster(s[off:], ansi.GraphemeWidth)
		if g == "" || w+gw > room {
			break
		}
		w += gw
		off += len(g)
	}
	return s[:off], w, s[off:]
}
