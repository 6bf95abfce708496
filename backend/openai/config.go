// Package openai is twinkle's Sampler for vLLM and other OpenAI-compatible servers: it
// streams N samples per request from /v1/chat/completions or /v1/completions with vLLM's
// extras (every sampling field explicit, stop_reason, token ids, both logprobs formats),
// fetches prompt logprobs with a separate non-streamed request, and turns the stream into
// backend Events, with timeouts, retries before the first token, and cancellation.
//
// It speaks the wire format through backend/wire rather than go-openai's stream reader,
// because that reader cannot tell "data: [DONE]" from a cut connection (both are io.EOF),
// counts keep-alive comments toward an error limit, drops "event: error" lines, and its
// request structs cannot express vLLM's fields or temperature 0. go-openai's HTTPDoer
// contract is kept: any Do(*http.Request) can carry the requests (the built-in model is
// reached in-process that way).
//
// It never imports ui, themes, bubbletea or lipgloss, and never prints or logs the API key.
package openai

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// Doer sends one HTTP request; *http.Client and go-openai's HTTPDoer fit.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Config configures a Client. Zero durations take the defaults below.
type Config struct {
	// BaseURL is the OpenAI base URL, e.g. http://localhost:8000/v1 ("/v1" is added when
	// the URL has no path).
	BaseURL string
	// Model to use when a Request names none; empty: the first model the server lists.
	Model string
	// APIKey is sent as "Authorization: Bearer ..." when set. Never printed or logged.
	APIKey string
	// HTTPClient carries the requests; nil: a client of its own with ConnectTimeout.
	HTTPClient Doer
	// LogprobsMode is the --logprobs-mode the server runs with, which the API does not
	// report: what its logprobs are read as, and held to (backend.CheckLogprobs). Empty:
	// vLLM's default, raw_logprobs. A Request's own LogprobsMode overrides it.
	LogprobsMode backend.LogprobsMode

	// ConnectTimeout bounds dialing and the TLS handshake (default 10s).
	ConnectTimeout time.Duration
	// FirstTokenTimeout bounds the time from sending a request to its first content chunk,
	// response headers included (default 120s: long prompts and queues take a while).
	FirstTokenTimeout time.Duration
	// IdleTimeout bounds the time between content chunks; keep-alive comments do not
	// count (default 60s). There is no cap on a stream's total length.
	IdleTimeout time.Duration

	// MaxRetries is how many times a request is retried before its first token on a
	// connection error, 429, 503 or another 5xx (default 3; negative: never).
	MaxRetries int
	// BackoffBase and BackoffMax shape the capped, jittered exponential backoff
	// (defaults 500ms and 8s). A Retry-After from the server is honoured instead.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter: a Retry-After longer than this is not waited for; the error is
	// reported instead (default 60s).
	MaxRetryAfter time.Duration

	// Sleep waits between retries (tests replace it); nil: a timer that ctx can cut short.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told of each retry before its wait.
	OnRetry func(attempt int, wait time.Duration, err error)
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.FirstTokenTimeout, 120*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.BackoffBase, 500*time.Millisecond)
	def(&c.BackoffMax, 8*time.Second)
	def(&c.MaxRetryAfter, 60*time.Second)
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
	if c.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = c.ConnectTimeout
		c.HTTPClient = &http.Client{Transport: tr}
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// normalizeBaseURL checks u and adds "/v1" when it has no path.
func normalizeBaseURL(u string) (string, error) {
	if u == "" {
		return "", fmt.Errorf("no endpoint: pass --endpoint or set OPENAI_BASE_URL (e.g. http://localhost:8000/v1)")
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", fmt.Errorf("endpoint %q is not an http(s) URL such as http://localhost:8000/v1", redact(u))
	}
	if p.User != nil {
		return "", fmt.Errorf("endpoint must not carry credentials in the URL; use --api-key")
	}
	s := strings.TrimRight(u, "/")
	if p.Path == "" || p.Path == "/" {
		s += "/v1"
	}
	return s, nil
}

// redact drops anything after the host, so a URL with a key in its query is not echoed.
func redact(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Scheme + "://" + p.Host + p.Path
	}
	if len(u) > 40 {
		return u[:40] + "…"
	}
	return u
}
