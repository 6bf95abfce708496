package ui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// tokenRenderer styles one fragment of one token of a sample column: the
// seam where the logprob heatmap plugs in (heatmap.Painter.Render). tok is nil when the column holds
// plain text (logprobs off). It runs once per fragment when a line enters the
// column's styled cache, never per frame. A nil tokenRenderer means plain text.
type tokenRenderer func(tok *backend.Token, index int, fragment string) string

// lineStyler is everything a column needs to style its lines.
type lineStyler struct {
	key     string        // changes when anything below changes
	render  tokenRenderer // nil: plain
	cursor  tokenRenderer // the token under the inspector's cursor
	newline func(tok *backend.Token, index int) string
	plain   func(string) string
	// divergence is the first token index where the samples differ (-1:
	// none shown); divPrefix turns its mark on over the token's own look.
	divergence int
	divPrefix  string
	// split turns on the mark of a grapheme made of several tokens, over the
	// look of the least likely of them.
	split string
	// stop draws the tokens of a matched stop string, which are not part of
	// the output (cursor: under the inspector's cursor); nil draws them as
	// any token.
	stop func(frag string, cursor bool) string
	// A reasoning model's thinking (see thinking.go): thinking turns its look on over a
	// thinking token's heatmap look, thinkPlain draws it with the heatmap off; label
	// draws the label line; boundary the end-of-thinking rule (cursor: under the
	// inspector's cursor) unless ruleHeat draws it in the heatmap's look.
	ruleHeat   bool
	thinking   string
	thinkPlain func(string) string
	label      func(string) string
	// labelCursor draws a folded label whose thinking holds the inspector's cursor.
	labelCursor func(string) string
	boundary    func(frag string, cursor bool) string
}

// column is one sample: its streamed text, wrapped and cached for its width,
// and its stop reason and timings.
type column struct {
	Index int
	Seed  *int64
	// Label names what sets the column apart from the others beyond its
	// number: a sweep's values ("temperature=0.5"); "" for a plain run.
	Label string
	// extra is the column's added lines under its body (sparkline, stats).
	extra columnExtra

	tokens   []backend.Token // when the run asked for logprobs
	texts    []string        // one raw piece per token (or per text chunk): what it draws
	textOnly bool            // logprobs asked for but the server sent text alone
	// textLen is how many bytes of output text the server sent. It can be
	// less than the tokens hold: vLLM leaves a matched stop string out of
	// the text but not out of the logprobs.
	textLen int
	// stopTok and stopOff: where the matched stop string begins in the
	// tokens (a token index and a byte offset in its raw text); stopTok is
	// -1 when none is shown.
	stopTok, stopOff int

	// al places the tokens in the streamed text, whose graphemes the pieces
	// draw (see pieces.go); chunks is the text of a column without tokens.
	al     *backend.Aligner
	chunks []string
	// stableTok and stableOff: pieces before stableTok are final (the
	// wrapper's mark follows them), and so is the start of stableTok's share
	// of the text up to stableOff bytes.
	stableTok, stableOff int
	shared               []shareLook // per token: a grapheme ending its piece that later tokens share
	host                 []int       // per token: the token whose piece draws its first character

	// Cursor is the inspector's token cursor (an index into Tokens), -1 for none.
	Cursor int

	Streaming bool
	Reason    backend.StopReason
	StoppedBy backend.StoppedBy
	Err       *backend.Error
	// Fork names the branch the column shows ("fork @5 \" that\""), "" for a
	// run's sample; display-safe.
	Fork string

	started, firstTok, lastTok time.Time
	ttft                       time.Duration
	// retry: the request waits to be sent again (nil when it does not).
	retry *retryNote
	// think: a reasoning model's thinking (see thinking.go).
	think thinkingView

	// layout and caches
	width, height int
	wrap          *wrapper
	styled        []string // styled line cache, "" when not built
	styledOK      []bool
	cacheKey      string // theme, heatmap mode, version: a change drops styled lines
	offset        int
	follow        bool
	smooth        bool // follow the tail line by line (see followOffset)
	shownTo       int  // lines before this one have been on screen (see followOffset)

	// version counts changes to what the footer shows; the footer and header
	// lines are cached against it (they are drawn every frame).
	version           int
	footShown         int       // the version the footer shows (footStamp)
	footAt            time.Time // when it was refreshed
	footKey, footLine string
	headKey           columnHeadKey
	headLine          string
}

// newColumn starts an empty column for sample index.
func newColumn(index int, seed *int64, started time.Time) *column {
	return &column{Index: index, Seed: seed, started: started, follow: true, Streaming: true, Cursor: -1, stopTok: -1, think: thinkingView{labelAt: -1}}
}

// Tokens returns the sample's tokens (nil when the run had no logprobs).
func (c *column) Tokens() []backend.Token { return c.tokens }

// Text returns the whole raw text of the sample.
func (c *column) Text() string { return strings.Join(c.texts, "") }

// TokenCount is the number of tokens received; -1 when unknown (no logprobs).
func (c *column) TokenCount() int {
	if c.tokens == nil {
		return -1
	}
	return len(c.tokens)
}

// AppendTokens adds tokens that arrived at time now.
func (c *column) AppendTokens(toks []backend.Token, now time.Time) { c.AppendStream(toks, "", now) }

// AppendStream adds tokens and the streamed text that came with them (either may
// be empty) at time now. The column draws the text, its tokens placed in it:
// the text is right where a token reads "\ufffd" (part of a character), and
// tokens can run ahead of it (vLLM holds text back).
func (c *column) AppendStream(toks []backend.Token, text string, now time.Time) {
	c.AppendParts(toks, "", text, now)
}

// AppendText adds streamed text (runs without logprobs) that arrived at now.
func (c *column) AppendText(s string, now time.Time) { c.AppendTextParts("", s, now) }

func (c *column) mark(now time.Time) {
	c.version++
	c.retry = nil
	if c.firstTok.IsZero() {
		c.firstTok = now
		c.ttft = now.Sub(c.started)
	}
	c.lastTok = now
}

// Finish records how the sample ended.
func (c *column) Finish(reason backend.StopReason, by backend.StoppedBy, err *backend.Error) {
	c.Streaming, c.retry = false, nil
	c.Reason, c.StoppedBy, c.Err = reason, by, err
	c.version++
	if c.al != nil && !c.al.Finished() {
		c.flushBoundaries(false)
		c.al.Finish(backend.StopTail(c.al.Slice(0, c.al.ContentLen()), by))
	}
	c.syncPieces()
	c.syncLabel()
	if reason == backend.StopStop && by.Kind == backend.StoppedByString && c.tokens != nil {
		c.markStop(by.String)
	}
}

// markStop finds where the matched stop string s begins in the tokens: past
// the end of the output text when the tokens there spell it (vLLM's case),
// else its first place in the tokens (the output cannot hold it before the
// match: generation stops there). Tokens from there on are drawn as the stop.
func (c *column) markStop(s string) {
	joined := strings.Join(c.texts, "")
	at := -1
	if c.textLen <= len(joined) && strings.HasPrefix(joined[c.textLen:], s) {
		at = c.textLen
	} else if i := strings.Index(joined, s); i >= 0 && s != "" {
		at = i
	}
	if at < 0 {
		return
	}
	off := 0
	for t, raw := range c.texts {
		if off+len(raw) > at {
			c.stopTok, c.stopOff = t, at-off
			break
		}
		off += len(raw)
	}
	for i := range c.styledOK {
		c.styledOK[i] = false
	}
}

// stopStart is where the stop is drawn from: a token index and a byte offset
// in its display text; -1 for none. The display text differs from the raw
// one only where sanitize made something visible; the stop's part is then
// found from the end, or the whole token is drawn as the stop.
func (c *column) stopStart() (tok, off int) {
	if c.stopTok < 0 || c.wrap == nil || c.stopTok >= len(c.wrap.disp) {
		return -1, 0
	}
	raw, disp := c.texts[c.stopTok], c.wrap.disp[c.stopTok]
	if raw == disp {
		return c.stopTok, c.stopOff
	}
	if tail := sanitize.Text(raw[c.stopOff:]); strings.HasSuffix(disp, tail) {
		return c.stopTok, len(disp) - len(tail)
	}
	return c.stopTok, 0
}

// StopTokens is the index of the first token that belongs to the matched
// stop string rather than to the output; -1 when there is none.
func (c *column) StopTokens() int { return c.stopTok }

// Badge is the footer's stop badge: `stop "###"`, `stop token 2`, `eos`,
// `length`, `interrupted`, `error: …`, `cancelled`; sanitized.
func (c *column) Badge() string {
	switch c.Reason {
	case "":
		return ""
	case backend.StopStop:
		switch c.StoppedBy.Kind {
		case backend.StoppedByString:
			return "stop " + sanitize.Line(strconv.Quote(c.StoppedBy.String))
		case backend.StoppedByToken:
			return "stop token " + strconv.Itoa(c.StoppedBy.TokenID)
		case backend.StoppedByEOS:
			return "eos"
		}
		return "stop"
	case backend.StopLength:
		if c.StoppedWhileThinking() {
			return "length, still thinking"
		}
	case backend.StopError:
		msg := "error"
		if c.Err != nil {
			msg = "error: " + sanitize.Line(errorText(c.Err, c.Reason))
		}
		return msg
	}
	return sanitize.Line(string(c.Reason))
}

// StatParts is the footer's numbers (tokens, tokens per second, time to first
// token) as separate parts, most important first, so a narrow footer can drop
// the last ones whole instead of cutting a number.
func (c *column) StatParts() []string {
	if c.hasThinking() && c.tokens != nil {
		return c.thinkingStatParts()
	}
	var parts []string
	if n := c.TokenCount(); n >= 0 {
		parts = append(parts, fmt.Sprintf("%d tok", n))
	}
	if r := rateText(c.TokenCount(), c.firstTok, c.lastTok); r != "" {
		parts = append(parts, r)
	}
	if !c.firstTok.IsZero() {
		parts = append(parts, "ttft "+formatDuration(c.ttft))
	}
	return parts
}

// rateText is n tokens' rate between the first and the last, "" when it cannot
// be told: (n-1) intervals over that time, whole numbers from 100 tok/s up.
func rateText(n int, first, last time.Time) string {
	if n < 2 || !last.After(first) {
		return ""
	}
	tps := float64(n-1) / last.Sub(first).Seconds()
	if tps >= 100 {
		return fmt.Sprintf("%.0f tok/s", tps)
	}
	return fmt.Sprintf("%.1f tok/s", tps)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// SetSize lays the column out for a body of width x height text cells.
// Rewrapping happens only when the width changes.
func (c *column) SetSize(width, height int) {
	width = max(1, width)
	c.height = max(1, height)
	if c.wrap == nil || c.width != width {
		c.width = width
		c.wrap = newWrapper(width)
		c.rewrap()
		c.shownTo = c.wrap.Len() // the lines are new: none waits to be shown
	}
	c.clampOffset()
}

// Lines is the number of wrapped lines.
func (c *column) Lines() int {
	if c.wrap == nil {
		return 0
	}
	return c.wrap.Len()
}

func (c *column) maxOffset() int { return max(0, c.Lines()-c.height) }

func (c *column) clampOffset() {
	if c.follow {
		c.offset = c.followOffset()
		return
	}
	c.offset = max(0, min(c.offset, c.maxOffset()))
}

// Scroll moves the view by delta lines; scrolling to the bottom resumes
// following the tail, scrolling up stops it.
func (c *column) Scroll(delta int) {
	// From a jump's blank lines, scrolling starts where the tail is on the last line.
	c.offset = min(c.offset, c.maxOffset()) + delta
	c.follow = false
	if c.offset >= c.maxOffset() {
		c.follow = true
	}
	c.clampOffset()
}

// ScrollTo jumps to the top (follow false) or the tail (follow true).
func (c *column) ScrollTo(tail bool) {
	c.follow = tail
	if !tail {
		c.offset = 0
	}
	c.clampOffset()
}

// Following reports whether the view sticks to the tail.
func (c *column) Following() bool { return c.follow }

// Offset is the first visible line.
func (c *column) Offset() int { return c.offset }

// BodyLines returns the visible window of styled lines, each padded to the
// column width. Only lines not yet in the cache are styled; the key holds
// everything styling depends on besides the text (theme, heatmap mode).
func (c *column) BodyLines(ls lineStyler) []string {
	if c.wrap == nil {
		return nil
	}
	if ls.key != c.cacheKey {
		c.cacheKey = ls.key
		for i := range c.styledOK {
			c.styledOK[i] = false
		}
	}
	c.clampOffset()
	end := min(c.wrap.Len(), c.offset+c.height)
	c.shownTo = max(c.shownTo, end)
	out := make([]string, 0, c.height)
	for i := c.offset; i < end; i++ {
		if c.Cursor >= 0 && ls.cursor != nil && (c.lineHas(i, c.Cursor) || c.foldHolds(i, c.Cursor)) {
			// The cursor's line is drawn fresh each frame (one line) and
			// never enters the cache.
			out = append(out, c.styleLine(i, ls, c.Cursor))
			continue
		}
		if !c.styledOK[i] {
			c.styled[i] = c.styleLine(i, ls, -1)
			c.styledOK[i] = true
		}
		out = append(out, c.styled[i])
	}
	return out
}

// lineHas reports whether token t shows on line i: its piece, or the grapheme
// it shares with the token whose piece draws it.
func (c *column) lineHas(i, t int) bool {
	if h := c.hostOf(t); h != t && c.pieceOn(i, h) {
		return true
	}
	return c.pieceOn(i, t)
}

// pieceOn reports whether token t's piece shows on line i.
func (c *column) pieceOn(i, t int) bool {
	ln := c.wrap.lines[i]
	if t < ln.start.tok || t > ln.end.tok {
		return false
	}
	return t != ln.end.tok || ln.end.off > 0 || ln.start.tok == t
}

// LineOf is the (last) line on which token t shows.
func (c *column) LineOf(t int) int {
	if c.wrap == nil {
		return 0
	}
	t = c.hostOf(t)
	ls := c.wrap.lines
	i := sort.Search(len(ls), func(i int) bool { return ls[i].start.tok > t })
	return max(0, i-1)
}

// ShowLine scrolls just enough for line i to be visible.
func (c *column) ShowLine(i int) {
	switch {
	case i < c.offset:
		c.offset, c.follow = i, false
	case i >= c.offset+c.height:
		c.offset = i - c.height + 1
		c.follow = c.offset >= c.maxOffset()
	}
	c.clampOffset()
}

// TokenAt is the token drawn at cell x of visible row y (0-based inside the
// body), or -1.
func (c *column) TokenAt(x, y int) int {
	if c.wrap == nil || c.tokens == nil {
		return -1
	}
	i := c.offset + y
	if i < 0 || i >= c.wrap.Len() {
		return -1
	}
	found, cx, done := -1, 0, false
	c.wrap.segmentsAt(i, func(t, from int, frag string) {
		if found >= 0 || done {
			return
		}
		// The label line is the column's, not a token's.
		if n, lw := c.labelPrefix(t, from, frag); n > 0 {
			if x >= cx && x < cx+lw {
				done = true
				return
			}
			cx += lw
			from, frag = from+n, frag[n:]
		}
		w := ansi.StringWidth(frag)
		if x >= cx && x < cx+w {
			found = t
			// A grapheme made of several tokens: its cells are shared out
			// among them, left to right.
			if at := c.shareAt(t); at >= 0 && from+len(frag) > at {
				pre := ansi.StringWidth(frag[:max(0, at-from)])
				if x >= cx+pre {
					sh := c.shared[t]
					gw := max(1, ansi.StringWidth(sanitize.Text(sh.raw)))
					found = sh.first + min(sh.last-sh.first, (x-cx-pre)*(sh.last-sh.first+1)/gw)
				}
			}
		}
		cx += w
	})
	return found
}

func (c *column) token(t int) *backend.Token {
	if c.tokens != nil && t < len(c.tokens) {
		return &c.tokens[t]
	}
	return nil
}

func (c *column) styleLine(i int, ls lineStyler, cursor int) string {
	var b strings.Builder
	ln := c.wrap.lines[i]
	width := ln.width
	stopTok, stopAt := -1, 0
	if ls.stop != nil {
		stopTok, stopAt = c.stopStart()
	}
	// With the heatmap off, a line's text is styled in one go.
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			b.WriteString(ls.plain(plain.String()))
			plain.Reset()
		}
	}
	// piece draws frag of token t's piece in token look's look; shared is the
	// grapheme made of several tokens it belongs to, if any.
	piece := func(t, look int, frag string, shared *shareLook) {
		thinking := ls.thinking != "" && c.partOf(t) == backend.PartThinking
		if ls.render == nil {
			if thinking && ls.thinkPlain != nil {
				flush()
				b.WriteString(ls.thinkPlain(frag))
				return
			}
			plain.WriteString(frag)
			return
		}
		on := func(k int) bool { return k == t || shared != nil && k >= shared.first && k <= shared.last }
		r := ls.render
		if on(cursor) {
			r = ls.cursor
		}
		pre := ""
		if thinking {
			pre = ls.thinking
		}
		if on(ls.divergence) && ls.divPrefix != "" {
			pre += ls.divPrefix
		}
		idx := look
		if shared != nil {
			// The split mark, over an even index's look: the token boundary
			// is inside the grapheme, not at its edges.
			pre += ls.split
			idx &^= 1
		}
		if pre == "" {
			b.WriteString(r(c.token(look), idx, frag))
			return
		}
		b.WriteString(pre)
		b.WriteString(r(c.token(look), idx, frag))
		b.WriteString("\x1b[m")
	}
	// own draws a fragment of token t's piece, which may end with a grapheme
	// it shares with later tokens.
	own := func(t, from int, frag string) {
		at := c.shareAt(t)
		if at < 0 || from+len(frag) <= at {
			piece(t, t, frag, nil)
			return
		}
		if from < at {
			piece(t, t, frag[:at-from], nil)
			frag = frag[at-from:]
		}
		sh := &c.shared[t]
		piece(sh.first, sh.worst, frag, sh)
	}
	c.wrap.segmentsAt(i, func(t, from int, frag string) {
		if n, _ := c.labelPrefix(t, from, frag); n > 0 {
			flush()
			if ls.labelCursor != nil && c.foldHolds(i, cursor) {
				b.WriteString(ls.labelCursor(frag[:n]))
			} else {
				b.WriteString(ls.label(frag[:n]))
			}
			from, frag = from+n, frag[n:]
			if frag == "" {
				return
			}
		}
		if c.hasThinking() && c.partOf(t) == backend.PartBoundary {
			// The rule is a token: in the heatmap's look when it is on.
			flush()
			switch {
			case ls.ruleHeat && t == cursor:
				b.WriteString(ls.cursor(c.token(t), t, frag))
			case ls.ruleHeat:
				b.WriteString(ls.render(c.token(t), t, frag))
			case ls.boundary != nil:
				b.WriteString(ls.boundary(frag, t == cursor))
			default:
				b.WriteString(frag)
			}
			return
		}
		if stopTok < 0 || t < stopTok || t == stopTok && from+len(frag) <= stopAt {
			if ls.render != nil && t != cursor && t != ls.divergence {
				if prev, ok := c.wrapSpace(i, t, from, frag); ok {
					b.WriteString(ls.render(c.token(prev), t, frag))
					return
				}
			}
			own(t, from, frag)
			return
		}
		if t == stopTok && from < stopAt {
			own(t, from, frag[:stopAt-from])
			frag = frag[stopAt-from:]
		}
		flush()
		b.WriteString(ls.stop(frag, t == cursor))
	})
	flush()
	// A newline token gets a visible mark in its own look, so a likely or
	// unlikely line break does not hide; within a stop, the stop's look.
	if ln.newline && ls.render != nil && width < c.width && !c.drawnNewline(ln) {
		t := ln.end.tok
		mark := ""
		if stopTok >= 0 && (t > stopTok || t == stopTok && ln.end.off >= stopAt) {
			mark = ls.stop("⏎", t == cursor)
		} else if ls.newline != nil {
			mark = ls.newline(c.token(t), t)
		}
		if mark != "" {
			b.WriteString(mark)
			width++
		}
	}
	if pad := c.width - width; pad > 0 {
		b.WriteString(strings.Repeat(" ", pad))
	}
	return b.String()
}
