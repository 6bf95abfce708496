package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// SSEEvent is one dispatched server-sent event.
type SSEEvent struct {
	// Event is the "event:" field, empty for the default ("message").
	Event string
	// Data is the "data:" lines joined with "\n". It aliases the reader's buffer and is
	// valid only until the next call to Next.
	Data []byte
}

// MaxEventSize bounds one event (and one line), so a hostile server cannot make the
// client buffer without limit.
const MaxEventSize = 16 << 20

// ErrEventTooLarge is returned when an event or line exceeds MaxEventSize.
var ErrEventTooLarge = errors.New("server-sent event larger than 16 MiB")

// SSEReader decodes a text/event-stream as the HTML standard says: lines end in "\n",
// "\r\n" or "\r"; a blank line dispatches the event; lines starting with ':' are comments
// (keep-alives); "data" lines accumulate; an event left unfinished at EOF is dropped.
// Feeding the same bytes whole or one at a time yields the same events.
type SSEReader struct {
	r       *bufio.Reader
	pending []byte // unprocessed, complete lines of the last read (aliases r or long)
	long    []byte // a line longer than the bufio buffer, being assembled
	data    []byte
	event   []byte
	hasData bool
	skipLF  bool // the previous line ended in '\r': a '\n' right after belongs to it
	eof     bool // the reader is exhausted; pending holds the last lines
	started bool // the first line was read (a BOM is stripped before it)
	err     error
	partial bool
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Partial reports, after Next returned an error, whether the stream ended in the middle
// of an event or line.
func (s *SSEReader) Partial() bool { return s.partial }

// Next returns the next event; io.EOF at the end of the stream; another error when the
// underlying reader fails or an event is too large.
func (s *SSEReader) Next() (SSEEvent, error) {
	for {
		line, err := s.nextLine()
		if err != nil {
			if s.hasData || len(s.event) > 0 {
				s.partial = true
			}
			return SSEEvent{}, err
		}
		ev, ok, err := s.line(line)
		if err != nil {
			s.err = err
			return SSEEvent{}, err
		}
		if ok {
			return ev, nil
		}
	}
}

// nextLine returns the next complete line without its terminator.
func (s *SSEReader) nextLine() ([]byte, error) {
	for {
		if len(s.pending) > 0 {
			p := s.pending
			if s.skipLF {
				s.skipLF = false
				if p[0] == '\n' {
					s.pending = p[1:]
					continue
				}
			}
			i := bytes.IndexAny(p, "\r\n")
			if i < 0 { // only at EOF: an unterminated last line
				s.pending = nil
				s.partial = true
				continue
			}
			line := p[:i]
			switch {
			case p[i] == '\n':
				s.pending = p[i+1:]
			case i+1 < len(p) && p[i+1] == '\n':
				s.pending = p[i+2:]
			default:
				s.pending = p[i+1:]
				s.skipLF = i+1 == len(p)
			}
			return line, nil
		}
		if s.err != nil {
			return nil, s.err
		}
		if s.eof {
			s.err = io.EOF
			return nil, s.err
		}
		s.long = s.long[:0]
		chunk, err := s.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(s.long)+len(chunk) > MaxEventSize {
				s.err = ErrEventTooLarge
				return nil, s.err
			}
			s.long = append(s.long, chunk...)
			chunk, err = s.r.ReadSlice('\n')
		}
		if len(s.long) > 0 {
			s.long = append(s.long, chunk...)
			chunk = s.long
		}
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = err
				if len(chunk) > 0 {
					s.partial = true
				}
				return nil, err
			}
		}
		if !s.started {
			// A byte-order mark at the very start is not part of the first line.
			s.started = true
			chunk = bytes.TrimPrefix(chunk, []byte("\xef\xbb\xbf"))
		}
		s.pending = chunk
	}
}

func (s *SSEReader) line(line []byte) (SSEEvent, bool, error) {
	if len(line) == 0 {
		if !s.hasData {
			s.event = s.event[:0]
			return SSEEvent{}, false, nil
		}
		data := s.data
		if n := len(data); n > 0 && data[n-1] == '\n' {
			data = data[:n-1]
		}
		ev := SSEEvent{Event: string(s.event), Data: data}
		s.data, s.hasData, s.event = s.data[:0], false, s.event[:0]
		return ev, true, nil
	}
	if line[0] == ':' { // a comment (keep-alive): nothing to dispatch
		return SSEEvent{}, false, nil
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if len(s.data)+len(value) > MaxEventSize {
			return SSEEvent{}, false, ErrEventTooLarge
		}
		s.data = append(s.data, value...)
		s.data = append(s.data, '\n')
		s.hasData = true
	case "event":
		s.event = append(s.event[:0], value...)
	}
	return SSEEvent{}, false, nil
}

// SSEWriter writes a text/event-stream the way vLLM does ("data: <json>\n\n"), flushing
// after every event so each reaches the client at once.
type SSEWriter struct {
	w io.Writer
	f http.Flusher
}

// NewSSEWriter wraps w; when w is an http.ResponseWriter it also sets the headers vLLM
// sends (call before writing anything else).
func NewSSEWriter(w io.Writer) *SSEWriter {
	s := &SSEWriter{w: w}
	if f, ok := w.(http.Flusher); ok {
		s.f = f
	}
	if rw, ok := w.(http.ResponseWriter); ok {
		h := rw.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
	}
	return s
}

func (s *SSEWriter) flush() {
	if s.f != nil {
		s.f.Flush()
	}
}

// Data writes one event whose data is b (which must not contain newlines: JSON does not).
func (s *SSEWriter) Data(b []byte) error {
	if bytes.ContainsAny(b, "\r\n") {
		return fmt.Errorf("sse: data holds a line break")
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	_, err := s.w.Write(buf)
	s.flush()
	return err
}

// JSON marshals v and writes it as one event.
func (s *SSEWriter) JSON(v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	return s.Data(b)
}

// Event writes an event with a name ("event: <name>\ndata: <b>\n\n").
func (s *SSEWriter) Event(name string, b []byte) error {
	_, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b)
	s.flush()
	return err
}

// Comment writes a comment line, as keep-alives are sent (": <text>\n\n").
func (s *SSEWriter) Comment(text string) error {
	_, err := fmt.Fprintf(s.w, ": %s\n\n", text)
	s.flush()
	return err
}

// Done writes vLLM's end marker, "data: [DONE]\n\n".
func (s *SSEWriter) Done() error { return s.Data([]byte("[DONE]")) }
