package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	events  []SSEEvent
	err     error
	partial bool
}

func readAll(r io.Reader) got {
	s := NewSSEReader(r)
	var g got
	for {
		ev, err := s.Next()
		if err != nil {
			g.err, g.partial = err, s.Partial()
			return g
		}
		ev.Data = append([]byte(nil), ev.Data...)
		g.events = append(g.events, ev)
	}
}

func same(a, b got) bool {
	if len(a.events) != len(b.events) || !errors.Is(a.err, b.err) && a.err.Error() != b.err.Error() || a.partial != b.partial {
		return false
	}
	for i := range a.events {
		if a.events[i].Event != b.events[i].Event || !bytes.Equal(a.events[i].Data, b.events[i].Data) {
			return false
		}
	}
	return true
}

func TestSSE(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []SSEEvent
		partial bool
	}{
		{"vllm", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []SSEEvent{{Data: []byte(`{"a":1}`)}, {Data: []byte("[DONE]")}}, false},
		{"no space", "data:x\n\n", []SSEEvent{{Data: []byte("x")}}, false},
		{"two spaces keep one", "data:  x\n\n", []SSEEvent{{Data: []byte(" x")}}, false},
		{"keep-alives", ": ping\n\n: keep-alive\n\ndata: x\n\n", []SSEEvent{{Data: []byte("x")}}, false},
		{"multi-line data", "data: a\ndata: b\n\n", []SSEEvent{{Data: []byte("a\nb")}}, false},
		{"event error", "event: error\ndata: {\"message\":\"m\"}\n\ndata: y\n\n", []SSEEvent{{Event: "error", Data: []byte(`{"message":"m"}`)}, {Data: []byte("y")}}, false},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []SSEEvent{{Data: []byte("x")}, {Data: []byte("y")}}, false},
		{"bare cr", "data: x\r\rdata: y\r\r", []SSEEvent{{Data: []byte("x")}, {Data: []byte("y")}}, false},
		{"unfinished event dropped", "data: x\n\ndata: {\"trunc", []SSEEvent{{Data: []byte("x")}}, true},
		{"unfinished dispatch dropped", "data: x\n\ndata: y\n", []SSEEvent{{Data: []byte("x")}}, true},
		{"event without data", "event: ping\n\ndata: z\n\n", []SSEEvent{{Data: []byte("z")}}, false},
		{"id and retry ignored", "id: 3\nretry: 10\ndata: z\n\n", []SSEEvent{{Data: []byte("z")}}, false},
		{"empty", "", nil, false},
		{"bom", "\xef\xbb\xbfdata: x\n\n", []SSEEvent{{Data: []byte("x")}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := readAll(strings.NewReader(tc.in))
			if !errors.Is(g.err, io.EOF) {
				t.Fatalf("err = %v", g.err)
			}
			if !same(g, got{events: tc.want, err: io.EOF, partial: tc.partial}) {
				t.Errorf("events = %q partial %v, want %q partial %v", g.events, g.partial, tc.want, tc.partial)
			}
			if one := readAll(iotest.OneByteReader(strings.NewReader(tc.in))); !same(g, one) {
				t.Errorf("one byte at a time gives %q, whole %q", one.events, g.events)
			}
		})
	}
}

func TestSSELongLinesAndLimit(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	g := readAll(strings.NewReader("data: " + big + "\n\n"))
	if len(g.events) != 1 || string(g.events[0].Data) != big {
		t.Fatalf("a 200 KiB line came back as %d events", len(g.events))
	}
	huge := strings.NewReader("data: " + strings.Repeat("y", MaxEventSize+10) + "\n\n")
	if g := readAll(huge); !errors.Is(g.err, ErrEventTooLarge) {
		t.Errorf("over-large event: %v", g.err)
	}
}

func TestSSEReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	g := readAll(r)
	if len(g.events) != 1 || !errors.Is(g.err, boom) || !g.partial {
		t.Errorf("events %q err %v partial %v", g.events, g.err, g.partial)
	}
}

// FuzzSSE: whatever the bytes, the decoder does not panic, and whole input and one byte
// at a time give the same events, error and partial flag.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n", ": keep-alive\n\n", "event: error\ndata: x\n\n",
		"data: a\r\n\r\n", "data: a\r\rdata: b\r", "data", "\n\n\n", "data: x\r", "data: x\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole := readAll(bytes.NewReader(in))
		one := readAll(iotest.OneByteReader(bytes.NewReader(in)))
		if !same(whole, one) {
			t.Fatalf("whole %q (%v) vs one byte %q (%v)", whole.events, whole.err, one.events, one.err)
		}
		for _, ev := range whole.events {
			if bytes.ContainsAny([]byte(ev.Event), "\r\n") {
				t.Fatalf("event name with a line break: %q", ev.Event)
			}
		}
	})
}

func TestSSEWriterRoundTrip(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewSSEWriter(rec)
	_ = w.JSON(map[string]string{"a": "<b>&"})
	_ = w.Comment("keep-alive")
	_ = w.Event("error", []byte(`{"message":"m"}`))
	_ = w.Done()
	if rec.Header().Get("Content-Type") != "text/event-stream; charset=utf-8" || !rec.Flushed {
		t.Errorf("headers %v flushed %v", rec.Header(), rec.Flushed)
	}
	want := "data: {\"a\":\"<b>&\"}\n\n: keep-alive\n\nevent: error\ndata: {\"message\":\"m\"}\n\ndata: [DONE]\n\n"
	if rec.Body.String() != want {
		t.Errorf("wrote %q, want %q", rec.Body.String(), want)
	}
	if err := w.Data([]byte("a\nb")); err == nil {
		t.Error("data with a newline was accepted")
	}
}
