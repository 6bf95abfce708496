package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// RunSample is `twinkle sample`: it runs req on s to the end and writes the SampleResponse
// to out as one line of JSON (pipe it to jq to read it), or, with stream, one JSON line
// per event as it arrives (see Event.MarshalJSON). The response is returned either way.
//
// The error is non-nil when the request is invalid or the run failed before any sample
// started (nothing is written then), when the run failed as a whole, or when any sample
// failed (error, interrupted, cancelled, abort); the output is still written in those
// last two cases, so partial results are not lost. The caller prints
// the error (sanitized) on stderr and exits non-zero.
//
// Output is terminal-safe as well as valid JSON: besides the C0 controls JSON always
// escapes, C1 controls and bidi overrides from model text are written as \u escapes.
func RunSample(ctx context.Context, s Sampler, req Request, stream bool, out io.Writer) (SampleResponse, error) {
	ch, err := s.Start(ctx, req)
	if err != nil {
		return SampleResponse{}, err
	}
	a := NewAssembler(req)
	var werr error
	for ev := range ch {
		a.Apply(ev)
		if stream && werr == nil {
			werr = writeJSONLine(out, ev)
		}
	}
	resp := a.Response()
	// A run that failed before any sample started has nothing to print: its error is
	// the whole answer, as a refused request's is.
	if !stream && werr == nil && (a.Err() == nil || a.Len() > 0) {
		werr = writeJSONLine(out, resp)
	}
	if err := a.Err(); err != nil {
		return resp, err
	}
	if werr != nil {
		return resp, fmt.Errorf("writing the output: %w", werr)
	}
	return resp, failures(resp)
}

// failures summarizes the samples that did not end on the model's own terms.
func failures(r SampleResponse) error {
	var failed []int
	var msgs []string
	same := true
	for i, reason := range r.StopReason {
		if !reason.Failed() {
			continue
		}
		msg := string(reason)
		if i < len(r.Errors) && r.Errors[i] != nil {
			msg = r.Errors[i].Error()
			if p := r.Errors[i].Param; p != "" && !strings.Contains(msg, p) {
				msg += " (parameter " + p + ")"
			}
		}
		same = same && (len(msgs) == 0 || msg == msgs[0])
		failed, msgs = append(failed, i), append(msgs, msg)
	}
	switch {
	case len(msgs) == 0:
		return nil
	case len(msgs) > 1 && same:
		// One request failing for all its samples is said once.
		return fmt.Errorf("%d samples failed: %s", len(msgs), msgs[0])
	}
	lines := make([]string, len(msgs))
	for k, msg := range msgs {
		lines[k] = fmt.Sprintf("sample %d: %s", failed[k], msg)
	}
	return errors.New(strings.Join(lines, "\n"))
}

func writeJSONLine(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(EscapeUnsafeJSON(buf.Bytes()))
	return err
}

// EscapeUnsafeJSON rewrites C1 controls (U+0080-U+009F), bidi controls and U+FEFF in
// JSON text as \u escapes. Such runes can only occur inside JSON strings, so the result
// decodes to the same value, and printing it cannot drive a terminal.
func EscapeUnsafeJSON(b []byte) []byte {
	unsafe := false
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if isUnsafeRune(r) {
			unsafe = true
			break
		}
		i += n
	}
	if !unsafe {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if isUnsafeRune(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func isUnsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c, r == 0xfeff:
		return true
	}
	return false
}
