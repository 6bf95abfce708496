package localserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/twinkle-sh/twinkle/backend/local"
)

// Transport is an http.RoundTripper that calls a handler in-process, so a
// normal HTTP client (the backend's OpenAI client) can talk to the built-in
// model with no port. The response body streams: it is readable as soon as
// the handler writes or flushes. Closing the body, or cancelling the
// request's context, cancels the context the handler sees, so generation
// stops.
type Transport struct {
	Handler http.Handler
}

// NewClient is an *http.Client whose requests (to any host) go to m's
// server in-process.
func NewClient(m *local.Model, opts Options) *http.Client {
	return &http.Client{Transport: &Transport{Handler: NewServer(m, opts)}}
}

// RoundTrip runs the handler on its own goroutine and returns once the
// handler has started the response.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RemoteAddr = "127.0.0.1:0"
	sreq.RequestURI = req.URL.RequestURI()
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, started: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sreq.Body.Close() // a RoundTripper must close the request body
		defer func() {
			if p := recover(); p != nil {
				rw.start()
				pw.CloseWithError(&net.OpError{Op: "read", Net: "local", Err: panicError{p}})
				return
			}
			rw.start()
			pw.Close()
		}()
		t.Handler.ServeHTTP(rw, sreq)
	}()
	select {
	case <-rw.started:
	case <-ctx.Done():
		cancel()
		pr.CloseWithError(ctx.Err())
		<-done
		return nil, ctx.Err()
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.snapshot,
		ContentLength: -1,
		Request:       req,
		Body:          &pipeBody{pr: pr, cancel: cancel, done: done},
	}
	return resp, nil
}

type panicError struct{ v any }

func (p panicError) Error() string { return "local model server panicked" }

// pipeWriter is the handler's ResponseWriter: headers are frozen at the
// first write, flush or WriteHeader; the body goes into a pipe.
type pipeWriter struct {
	header   http.Header
	snapshot http.Header
	status   int
	pw       *io.PipeWriter
	once     sync.Once
	started  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.start()
}

func (w *pipeWriter) start() {
	w.once.Do(func() {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.snapshot = w.header.Clone()
		close(w.started)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.start()
	return w.pw.Write(b)
}

// Flush is a no-op beyond starting the response: pipe writes are
// unbuffered, so the reader already has every byte.
func (w *pipeWriter) Flush() { w.start() }

// pipeBody cancels the handler when the client closes the body, then waits
// for it to finish, so nothing outlives the request.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.once.Do(func() {
		b.cancel()
		b.pr.CloseWithError(io.ErrClosedPipe)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
		}
	})
	return nil
}
