package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// The words a column and the status line use for how a stream is doing. The
// backend's own text stays in the response (and so in a saved session): a
// person reads these, a bug report reads that.

// errorText is how a sample's error reads on screen; reason is how the sample
// ended. Raw, like every message the status line and columns sanitize.
func errorText(e *backend.Error, reason backend.StopReason) string {
	if e == nil {
		return ""
	}
	// A transport failure after the stream began: Go's text ("read tcp
	// 127.0.0.1:39670->…: connection reset by peer") says the same thing less
	// plainly. Before the stream began it ends the sample as an error instead.
	if e.Kind == backend.KindTransport && reason == backend.StopInterrupted {
		return "the server closed the connection mid-stream"
	}
	// vLLM's words for it name transformers, not the model or the way on; the
	// column's error keeps them.
	return backend.ExplainNoChatTemplate(e, "this model", "ctrl+t switches to completion mode").Error()
}

// badgeText is the footer's badge in w cells: an error's message shortens
// before it is cut ("error: " goes first: the badge's colour says it), and
// a cut falls between words, never inside an address or a number (the
// column's body shows the message whole).
func (c *column) badgeText(w int) string {
	b := c.Badge()
	if ansi.StringWidth(b) <= w {
		return b
	}
	if c.Reason == backend.StopError && c.Err != nil {
		b = sanitize.Line(errorText(c.Err, c.Reason))
		if ansi.StringWidth(b) > w {
			// "HTTP 400: …" says all "server returned HTTP 400: …" does.
			b = strings.TrimPrefix(b, "server returned ")
		}
	}
	return cutWords(b, w)
}

// cutWords fits s in w cells, cut at the last space that leaves room for
// "…"; a single word too long for w is cut where it must be.
func cutWords(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	for i := strings.LastIndexByte(s, ' '); i > 0; i = strings.LastIndexByte(s[:i], ' ') {
		head := strings.TrimRight(s[:i], " ,;:")
		if head != "" && ansi.StringWidth(head)+1 <= w {
			return head + "…"
		}
	}
	return ansi.Truncate(s, w, "…")
}

// failureText is why a sample did not end on the model's own terms.
func (c *column) failureText() string {
	switch {
	case c.Err != nil:
		return errorText(c.Err, c.Reason)
	case c.Reason == backend.StopInterrupted:
		return "the stream ended before this sample finished"
	case c.Reason == backend.StopAbort:
		return "the server aborted it"
	}
	return string(c.Reason)
}

// quietAfter is how long a live stream may go without a token before its
// column says so: longer than a normal pause between tokens (a slow model,
// a busy server), much shorter than an idle timeout.
const quietAfter = 3 * time.Second

// retryNote is a sample's request waiting to be sent again before its first
// token (a 429 or 503 answer, a refused connection).
type retryNote struct {
	attempt, of int       // the attempt that comes next, of the most there will be
	until       time.Time // when it is sent
	status      int       // the HTTP status that caused the wait; 0 for a connection error
}

// text says why, when and which attempt, in at most w cells where it can:
// the words shorten before anything is cut.
func (r retryNote) text(now time.Time, w int) string {
	why, short := "rate-limited", "429"
	switch {
	case r.status == 0:
		why, short = "could not connect", "no connection"
	case r.status == 503:
		why, short = "unavailable", "503"
	case r.status != 429:
		why, short = fmt.Sprintf("server error (HTTP %d)", r.status), strconv.Itoa(r.status)
	}
	in := wholeSeconds(r.until.Sub(now))
	forms := []string{
		fmt.Sprintf("%s, retrying in %s (attempt %d of %d)", why, in, r.attempt, r.of),
		fmt.Sprintf("%s, retrying in %s (%d of %d)", why, in, r.attempt, r.of),
		fmt.Sprintf("%s, retry in %s (%d/%d)", why, in, r.attempt, r.of),
	}
	for _, f := range forms {
		if ansi.StringWidth(f) <= w {
			return f
		}
	}
	return fmt.Sprintf("%s: retry in %s (%d/%d)", short, in, r.attempt, r.of)
}

// wholeSeconds rounds a wait up to whole seconds, so a countdown never says
// 0s while there is still time to wait.
func wholeSeconds(d time.Duration) string {
	return fmt.Sprintf("%ds", max(0, int((d+time.Second-1)/time.Second)))
}

// Retrying records that the sample's request will be sent again; the footer
// counts down to it until the first token or the finish.
func (c *column) Retrying(r retryNote) {
	c.retry = &r
	c.version++
}

// waitText is what a live column is waiting for, at now, in about w cells:
// a retry, the first token, or a token after a quiet stretch; "" while
// tokens flow.
func (c *column) waitText(now time.Time, w int) string {
	if c.retry != nil {
		return c.retry.text(now, w)
	}
	last := c.lastTok
	if last.IsZero() {
		last = c.started
	}
	quiet := now.Sub(last)
	switch {
	case quiet < quietAfter:
		return ""
	case c.firstTok.IsZero():
		return "waiting for the first token: " + wholeSecondsDown(quiet)
	}
	return "no tokens for " + wholeSecondsDown(quiet)
}

// wholeSecondsDown rounds an elapsed time down: "no tokens for 3s" only once
// three seconds have passed.
func wholeSecondsDown(d time.Duration) string { return fmt.Sprintf("%ds", int(d/time.Second)) }
