package ui

// While a column follows its stream, it scrolls by jumps: when the tail runs past the
// bottom, the view advances so that the tail sits a fifth of the way down and the rest of
// the body is blank, to be filled by the next tokens. A terminal cannot scroll one column
// of several side by side, so every line a column scrolls is a line drawn again:
// scrolling line by line draws each token once per line of the column's height (100-300
// bytes per token at 160x45, TestStreamBytesPerToken), jumps of four fifths draw it about
// 1.25 times (keeping a third instead costs 10-15 % more bytes, a quarter 3-4 %). Smooth
// scrolling (the tail always on the last line) is a setting.

// jumpKeep is the part of the body (numerator over jumpKeepOf) that a jump keeps on
// screen above the tail, for context: 6 lines of a 30-line column.
const (
	jumpKeep   = 1
	jumpKeepOf = 5
)

// SetSmoothScroll chooses line-by-line scrolling (true) or jumps (false) for following
// the tail.
func (c *column) SetSmoothScroll(smooth bool) {
	if c.smooth != smooth {
		c.smooth = smooth
		c.clampOffset()
	}
}

// followOffset is the first line shown while the column follows its tail. Smooth: the
// tail on the last line. Jumps: the offset stays while the tail is on screen and no more
// than the kept lines above it are shown; otherwise it jumps to put the tail on the
// first row after the kept ones, or less far when lines that have not been on screen yet
// would be passed over (a fast stream into a short column brings several lines a
// frame): every line is shown at least once while it fits.
func (c *column) followOffset() int {
	lowest := c.maxOffset() // the tail on the last line
	if c.smooth {
		return lowest
	}
	jumped := max(lowest, min(c.Lines()-1-c.keepLines(), c.shownTo))
	if c.offset >= lowest && c.offset <= jumped {
		return c.offset
	}
	return jumped
}

// keepLines is how many lines a jump keeps on screen above the tail.
func (c *column) keepLines() int { return c.height * jumpKeep / jumpKeepOf }
