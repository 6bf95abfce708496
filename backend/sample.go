package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// RunSample is `twinkle sample`: it runs req on s to the end and writes the SampleResponse
// to out as one line of JSON (pipe it to jq to read it), or, with stream, one JSON line
// per event as it arrives (see Event.MarshalJSON). The response is returned either way.
//
// The error is non-nil when the request is invalid (nothing is written), when the run
// failed as a whole, or when any sample failed (error, interrupted, cancelled, abort);
// the output is still written then, so partial results are not lost. The caller prints
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
			werr = writeJSONLine(out, ev, false)
		}
	}
	resp := a.Response()
	if !stream && werr == nil {
		werr = writeJSONLine(out, resp, false)
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
	var lines []string
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
		lines = append(lines, fmt.Sprintf("sample %d: %s", i, msg))
	}
	if len(lines) == 0 {
		return nil
	}
	// Identical messages (one request failing for all its samples) are said once.
	if len(lines) > 1 {
		first := lines[0][strings.Index(lines[0], ":")+2:]
		all := true
		for _, l := range lines[1:] {
			if l[strings.Index(l, ":")+2:] != first {
				all = false
				break
			}
		}
		if all {
			return fmt.Errorf("%d samples failed: %s", len(lines), first)
		}
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}

func writeJSONLine(w io.Writer, v any, indent bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
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
