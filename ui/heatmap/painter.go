package heatmap

import (
	"image/color"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
)

// Painter styles tokens for one program: one theme, one mode, one terminal colour profile.
// Its escape sequences are worked out once in NewPainter, so styling a token is a bucket
// lookup and a string concatenation; build a new Painter when the mode, theme or profile
// changes (and drop the columns' styled lines: Key says when).
type Painter struct {
	mode Mode
	// processed: probability and surprisal come from the token's processed logprob
	// (the distribution it was drawn from), where the token has one.
	processed bool
	// raw is the same painter colouring by raw values (itself when not processed).
	raw *Painter
	key string
	// pre[odd][bucket] opens a token's style; odd tokens carry the boundary mark.
	pre [2][numBuckets]string
	// reversed[bucket]: the look is already in reverse video, so the cursor turns it off.
	reversed [numBuckets]bool
	unknown  [2]string
	plain    string
	mono     bool
	newline  string // the newline glyph, one cell
}

const (
	reset      = "\x1b[m"
	reverseOn  = "\x1b[7m"
	reverseOff = "\x1b[27m"
)

// NewPainter prepares the looks of mode m under st for a terminal of profile prof (Bubble
// Tea's tea.ColorProfileMsg). Without colour (ASCII: NO_COLOR, or a dumb terminal through
// themes.TerminalProfile; NoTTY) the scale becomes faint / normal / bold / bold-reverse and
// boundaries an underline; at 16 colours it uses the theme's 16-colour steps.
func NewPainter(st *themes.Styles, m Mode, prof colorprofile.Profile) *Painter {
	return NewPainterBy(st, m, prof, false)
}

// NewPainterBy is NewPainter colouring probability and surprisal by the processed
// logprobs when processed is set: the probability each token was really drawn with. A
// token without processed values then has the unknown look, never its raw one.
func NewPainterBy(st *themes.Styles, m Mode, prof colorprofile.Profile, processed bool) *Painter {
	p := &Painter{mode: m, mono: prof <= colorprofile.ASCII, processed: processed}
	p.key = m.String() + "/" + prof.String() + "/" + st.Palette.Name + "/" + strconv.FormatBool(st.IsDark)
	p.raw = p
	if processed {
		p.key += "/processed"
		p.raw = NewPainterBy(st, m, prof, false)
	}
	h := st.Heat
	scale := h.Scale
	unknown := h.Unknown
	switch {
	case p.mono:
		scale, unknown = h.Mono, h.MonoUnknown
	case prof == colorprofile.ANSI:
		scale = h.Scale16
	case prof == colorprofile.TrueColor:
		// The heatmap's steps are drawn in the 256-colour palette in true colour too:
		// nearly every token changes colour, and "38;5;n" is half the bytes of
		// "38;2;r;g;b", so a streaming heatmap costs the terminal the same in both. The
		// 256-colour terminal already shows these very colours.
		for b := range scale {
			scale[b] = paletteStep(scale[b])
		}
		unknown = paletteStep(unknown)
	}
	alt := h.Alt
	switch {
	case p.mono:
		alt = h.MonoAlt
	case prof < colorprofile.TrueColor && h.Boundary == themes.BoundaryUnderline:
		// Dotted, coloured underlines (SGR 4:4 and 58) are for modern true-colour
		// terminals; an older one may read "58;5;n" as blink, so it gets the plain underline
		// the theme marks boundaries with when there is no colour.
		alt = h.MonoAlt
	}
	// Even tokens carry the boundary's underline colour too, unseen without an underline:
	// a terminal then gets only the underline turned on or off at a boundary, not its
	// colour set and reset every token.
	even := func(st lipgloss.Style) lipgloss.Style { return st }
	if ul := alt.GetUnderlineColor(); isColor(ul) {
		if prof == colorprofile.TrueColor {
			// Set again after every cursor move to another row: the palette's "58;5;n"
			// rather than "58;2;r;g;b" (a true-colour terminal reads both).
			ul = colorprofile.ANSI256.Convert(ul)
			alt = alt.UnderlineColor(ul)
		}
		even = func(st lipgloss.Style) lipgloss.Style { return st.UnderlineColor(ul) }
	}
	for b := range numBuckets {
		p.reversed[b] = scale[b].GetReverse()
		p.pre[0][b] = prefixOf(even(scale[b]))
		p.pre[1][b] = prefixOf(scale[b].Inherit(alt))
	}
	p.unknown[0] = prefixOf(even(unknown))
	p.unknown[1] = prefixOf(unknown.Inherit(alt))
	p.plain = prefixOf(st.Column.Body)
	p.newline = h.Newline
	if p.newline == "" || ansi.StringWidth(p.newline) != 1 {
		p.newline = "⏎"
	}
	return p
}

// paletteStep is st with its foreground moved to the nearest colour of the 256-colour
// palette (what colorprofile.ANSI256 makes of it).
func paletteStep(st lipgloss.Style) lipgloss.Style {
	if fg := st.GetForeground(); isColor(fg) {
		return st.Foreground(colorprofile.ANSI256.Convert(fg))
	}
	return st
}

// isColor reports a colour that is set (lipgloss reports an unset one as NoColor).
func isColor(c color.Color) bool {
	_, none := c.(lipgloss.NoColor)
	return c != nil && !none
}

// prefixOf is the escape sequence that turns st on: lipgloss renders a one-cell sample, and
// everything before the sample is the prefix (heat styles carry no padding or borders).
func prefixOf(st lipgloss.Style) string {
	out := st.Render("X")
	i := strings.IndexByte(out, 'X')
	if i <= 0 {
		return ""
	}
	return out[:i]
}

// Mode is the painter's mode.
func (p *Painter) Mode() Mode { return p.mode }

// Raw is the painter colouring by raw values: for prompt tokens, which are never drawn
// and so have no processed values. Nil for a nil painter.
func (p *Painter) Raw() *Painter {
	if p == nil {
		return nil
	}
	return p.raw
}

// ByProcessed reports whether probability and surprisal come from processed logprobs.
func (p *Painter) ByProcessed() bool { return p.processed }

// bucket is tok's bucket under the painter's mode and source.
func (p *Painter) bucket(tok *backend.Token) (int, bool) {
	if p.processed && (p.mode == Probability || p.mode == Surprisal) {
		if tok == nil || tok.Processed == nil {
			return 0, false
		}
		return p.mode.Bucket(&backend.Token{Logprob: tok.Processed.Logprob})
	}
	return p.mode.Bucket(tok)
}

// Key identifies everything the painter's output depends on; a column whose cached lines
// were styled under another key must restyle them.
func (p *Painter) Key() string { return p.key }

// Render styles one fragment of token index (fragments are sanitized display text without
// newlines; tok is nil for text without logprobs). It is the function a sample column
// calls, with the signature of the ui columns' token renderer.
func (p *Painter) Render(tok *backend.Token, index int, frag string) string {
	return p.paint(tok, index, frag, false)
}

// RenderCursor is Render for the token under the inspector's cursor: the same look, reversed.
func (p *Painter) RenderCursor(tok *backend.Token, index int, frag string) string {
	return p.paint(tok, index, frag, true)
}

func (p *Painter) paint(tok *backend.Token, index int, frag string, cursor bool) string {
	if frag == "" {
		return ""
	}
	pre, reversed := p.plain, false
	if p.mode != Off && tok != nil {
		pre = p.prefix(tok, index)
		if b, ok := p.bucket(tok); ok {
			reversed = p.reversed[b]
		}
		if blank(tok.Text) {
			frag = dots(frag)
		}
	}
	if cursor {
		// The cursor flips the look, so it shows on a look already in reverse video too.
		if reversed {
			pre += reverseOff
		} else {
			pre += reverseOn
		}
	}
	if pre == "" {
		return frag
	}
	return pre + frag + reset
}

func (p *Painter) prefix(tok *backend.Token, index int) string {
	odd := index & 1
	b, ok := p.bucket(tok)
	if !ok {
		return p.unknown[odd]
	}
	return p.pre[odd][b]
}

// Paint styles frag as bucket b (known false: the unknown look) for token index; for
// callers that cache buckets themselves.
func (p *Painter) Paint(b int, known bool, index int, frag string) string {
	pre := p.unknown[index&1]
	if known {
		pre = p.pre[index&1][min(max(b, 0), numBuckets-1)]
	}
	if pre == "" {
		return frag
	}
	return pre + frag + reset
}

// NewlineMark is the one-cell mark a column draws where token index ends its line with a
// newline, so a newline token is coloured like any other: a ⏎ in the token's look. Empty
// when the heatmap is off.
func (p *Painter) NewlineMark(tok *backend.Token, index int) string {
	if p.mode == Off || tok == nil {
		return ""
	}
	pre := p.prefix(tok, index)
	if p.mono {
		return pre + p.newline + reset
	}
	return pre + "\x1b[2m" + p.newline + reset
}

// blank reports a token made only of whitespace (spaces, tabs, newlines), which would be
// invisible in a foreground colour.
func blank(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// dots shows the spaces of a whitespace-only token as middle dots, one cell each, so its
// colour shows without changing the layout.
func dots(frag string) string {
	if strings.Trim(frag, " ") != "" {
		return frag
	}
	return strings.Repeat("·", len(frag))
}

// Class is a token's bucket under every mode, worked out once when the token arrives
// (Classify), so that switching modes re-colours without recomputing a logprob. 7 bytes.
type Class struct {
	// b per mode from Probability on, then probability and surprisal by the processed
	// logprob; unknownBucket when unknown.
	b     [6]uint8
	blank bool
}

const unknownBucket = 0xff

// Classify computes tok's Class.
func Classify(tok *backend.Token) Class {
	var c Class
	for i, m := range [...]Mode{Probability, Surprisal, Rank, Entropy} {
		b, ok := m.Bucket(tok)
		if !ok {
			b = unknownBucket
		}
		c.b[i] = uint8(b)
	}
	c.b[4], c.b[5] = unknownBucket, unknownBucket
	if tok != nil && tok.Processed != nil {
		pt := backend.Token{Logprob: tok.Processed.Logprob}
		for i, m := range [...]Mode{Probability, Surprisal} {
			if b, ok := m.Bucket(&pt); ok {
				c.b[4+i] = uint8(b)
			}
		}
	}
	c.blank = tok != nil && blank(tok.Text)
	return c
}

// Bucket is the class's bucket under m; ok is false when unknown (or m is Off).
func (c Class) Bucket(m Mode) (int, bool) {
	if m == Off || int(m) > 4 {
		return 0, false
	}
	b := c.b[m-1]
	return int(b), b != unknownBucket
}

// RenderClass is Render for a token already classified.
func (p *Painter) RenderClass(c Class, index int, frag string) string {
	if frag == "" {
		return ""
	}
	pre, frag := p.classLook(c, index, frag)
	if pre == "" {
		return frag
	}
	return pre + frag + reset
}

// WriteClass appends the styled fragment to b without allocating a string of its own: for a
// column that builds its lines in a strings.Builder.
func (p *Painter) WriteClass(b *strings.Builder, c Class, index int, frag string) {
	if frag == "" {
		return
	}
	pre, frag := p.classLook(c, index, frag)
	b.WriteString(pre)
	b.WriteString(frag)
	if pre != "" {
		b.WriteString(reset)
	}
}

// classLook is the style prefix of a classified token under the painter's mode, and its
// fragment as shown (a blank token's spaces as dots).
func (p *Painter) classLook(c Class, index int, frag string) (pre, shown string) {
	if p.mode == Off {
		return p.plain, frag
	}
	b, ok := c.Bucket(p.mode)
	if p.processed && (p.mode == Probability || p.mode == Surprisal) {
		b = int(c.b[4+p.mode-Probability])
		ok = b != unknownBucket
	}
	if ok {
		pre = p.pre[index&1][b]
	} else {
		pre = p.unknown[index&1]
	}
	if c.blank {
		frag = dots(frag)
	}
	return pre, frag
}
