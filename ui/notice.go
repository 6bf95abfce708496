package ui

import (
	"github.com/twinkle-sh/twinkle/backend"
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
	return e.Error()
}

// failureText is why a sample did not end on the model's own terms.
func (c *Column) failureText() string {
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
