package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// Client is a backend.Sampler for an OpenAI-compatible server. Safe for concurrent use.
type Client struct {
	cfg  Config
	base string

	mu    sync.Mutex
	model string // first listed model, cached once known

	// linger is the run Emitter's linger (0: backend.DefaultLinger); tests shorten it.
	linger time.Duration

	// The watchdog's causes, one per bound, carrying its value for the message.
	errFirstToken, errIdle error
}

var _ backend.Sampler = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, &backend.Error{Kind: backend.KindConfig, Message: err.Error()}
	}
	cfg = cfg.withDefaults()
	return &Client{cfg: cfg, base: base,
		errFirstToken: &timeoutCause{firstToken: true, d: cfg.FirstTokenTimeout},
		errIdle:       &timeoutCause{d: cfg.IdleTimeout},
	}, nil
}

// BaseURL is the normalized endpoint.
func (c *Client) BaseURL() string { return c.base }

// Models lists /v1/models (retrying like any request before its first byte).
func (c *Client) Models(ctx context.Context) ([]backend.Model, error) {
	return c.models(ctx, nil)
}

func (c *Client) models(ctx context.Context, retrying retryFunc) ([]backend.Model, error) {
	resp, err := c.do(ctx, http.MethodGet, "/models", nil, c.cfg.FirstTokenTimeout, retrying)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list wire.ModelList
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return nil, &backend.Error{Kind: backend.KindProtocol, Message: "the model list (/v1/models) is not valid JSON: " + err.Error(), Err: err}
	}
	out := make([]backend.Model, 0, len(list.Data))
	for _, m := range list.Data {
		out = append(out, backend.Model{ID: m.ID, MaxModelLen: m.MaxModelLen})
	}
	return out, nil
}

// resolveModel returns the request's model, the configured one, or the server's first.
func (c *Client) resolveModel(ctx context.Context, m string, retrying retryFunc) (string, error) {
	if m != "" {
		return m, nil
	}
	if c.cfg.Model != "" {
		return c.cfg.Model, nil
	}
	c.mu.Lock()
	cached := c.model
	c.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	models, err := c.models(ctx, retrying)
	if err != nil {
		return "", err
	}
	if len(models) == 0 {
		return "", &backend.Error{Kind: backend.KindConfig, Message: "the server lists no models (/v1/models is empty); pass --model"}
	}
	c.mu.Lock()
	c.model = models[0].ID
	c.mu.Unlock()
	return models[0].ID, nil
}

// plan is one request of a run.
type plan struct {
	variant   int
	first     int
	count     int
	requested int
	params    params.SamplingParams
	body      []byte
	path      string
	chat      bool
	logprobs  bool
	promptK   *int
	note      string
	advanced  params.Advanced
	// tokens collects each sample's tokens as they stream, for backend.CheckLogprobs.
	tokens [][]backend.Token
}

// Body builds the JSON body for one request: model, messages or prompt, every sampling
// field from params.ToVLLM, then stream and stream_options. Exported for the CLI's
// --dry-run and for tests.
func Body(api params.API, model string, messages []backend.Message, prompt string, p params.SamplingParams, o params.Options, stream bool) ([]byte, error) {
	body, err := bodyFields(api, model, messages, prompt, p, o, stream)
	if err != nil {
		return nil, err
	}
	return json.Marshal(body)
}

// bodyFields is Body before marshalling, for a caller that adds fields of its own.
func bodyFields(api params.API, model string, messages []backend.Message, prompt string, p params.SamplingParams, o params.Options, stream bool) (params.Fields, error) {
	fields, err := p.ToVLLM(api, o)
	if err != nil {
		return nil, err
	}
	body := params.Fields{{Key: "model", Value: model}}
	if api == params.Chat {
		msgs := make([]wire.Message, len(messages))
		for i, m := range messages {
			msgs[i] = wire.Message{Role: m.Role, Content: m.Content}
		}
		body = append(body, params.Field{Key: "messages", Value: msgs})
	} else {
		body = append(body, params.Field{Key: "prompt", Value: prompt})
	}
	body = append(body, fields...)
	body = append(body, params.Field{Key: "stream", Value: stream})
	if stream {
		body = append(body, params.Field{Key: "stream_options", Value: wire.StreamOptions{IncludeUsage: true}})
	}
	return body, nil
}

func seedsFor(p params.SamplingParams, n int) []*int64 {
	out := make([]*int64, n)
	if p.Seed == nil || *p.Seed == -1 {
		return out
	}
	for i := range out {
		s := *p.Seed + int64(i)
		out[i] = &s
	}
	return out
}

// Start validates req and streams it; see backend.Sampler.
func (c *Client) Start(ctx context.Context, req backend.Request) (<-chan backend.Event, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	em, ch := backend.NewRunEmitter(ctx, c.linger)
	go c.run(ctx, req, em)
	return ch, nil
}

func (c *Client) run(ctx context.Context, req backend.Request, em *backend.Emitter) {
	defer em.Close()
	model, err := c.resolveModel(ctx, req.Model, func(r backend.RetryInfo, e *backend.Error) {
		em.Emit(backend.Event{Kind: backend.EventRetry, Retry: &r, Err: e})
	})
	if err != nil {
		em.Emit(backend.Event{Kind: backend.EventDone, Err: toError(ctx, err)})
		return
	}
	chat := req.API == params.Chat
	path := "/completions"
	if chat {
		path = "/chat/completions"
	}
	var plans []plan
	first := 0
	for v, p := range req.AllParams() {
		o := req.Options
		requested := o.Samples()
		note := ""
		if p.IsGreedy() && requested > 1 {
			o.N = 1
			note = fmt.Sprintf("temperature %g is greedy: sent as 1 sample, since the other %d would be identical", p.Temperature, requested-1)
		}
		o.PromptLogprobs = nil // fetched by a separate request: vLLM refuses them on a stream
		fields, err := requestFields(req, model, p, o, true)
		var body []byte
		if err == nil {
			body, err = json.Marshal(fields)
		}
		if err != nil {
			em.Emit(backend.Event{Kind: backend.EventDone, Err: &backend.Error{Kind: backend.KindConfig, Message: err.Error(), Err: err}})
			return
		}
		pl := plan{variant: v, first: first, count: o.Samples(), requested: requested, params: p, body: body, path: path, chat: chat, logprobs: o.Logprobs != nil, promptK: req.Options.PromptLogprobs, note: note, advanced: o.Advanced}
		if pl.logprobs {
			pl.tokens = make([][]backend.Token, pl.count)
		}
		plans = append(plans, pl)
		first += pl.count
	}
	mode := req.LogprobsMode
	if mode == "" {
		mode = c.cfg.LogprobsMode
	}
	mode = mode.OrDefault()
	// Starts go out only once every body is built, so a run that fails here has no
	// samples left without a finish.
	for _, pl := range plans {
		em.Emit(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{
			Variant: pl.variant, First: pl.first, Count: pl.count, Requested: pl.requested, Model: model, Params: pl.params,
			Seeds: seedsFor(pl.params, pl.count), Note: pl.note, LogprobsMode: mode,
		}})
	}
	var wg sync.WaitGroup
	for i := range plans {
		pl := &plans[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stream(ctx, pl, em)
		}()
		if pl.promptK != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.promptLogprobs(ctx, req, model, *pl, em)
			}()
		}
	}
	wg.Wait()
	var checks []backend.LogprobsCheck
	for _, pl := range plans {
		if pl.logprobs {
			checks = append(checks, backend.LogprobsCheck{Params: pl.params, Advanced: pl.advanced, Samples: pl.tokens})
		}
	}
	for _, note := range backend.CheckLogprobs(mode, checks) {
		em.Emit(backend.Event{Kind: backend.EventNote, Text: note})
	}
	em.Emit(backend.Event{Kind: backend.EventDone})
}

// ---------------------------------------------------------------------------------------
// HTTP with retries and the first-token watchdog
// ---------------------------------------------------------------------------------------

// timeoutCause is what the watchdog cancels a request with: which bound was crossed,
// and its value, which the message names.
type timeoutCause struct {
	firstToken bool
	d          time.Duration
}

func (t *timeoutCause) Error() string {
	if t.firstToken {
		return "first-token timeout (" + backend.ShortDuration(t.d) + ")"
	}
	return "idle timeout (" + backend.ShortDuration(t.d) + ")"
}

// message is what the user reads.
func (t *timeoutCause) message() string {
	if t.firstToken {
		return "no response from the server within the first-token timeout (" + backend.ShortDuration(t.d) + ")"
	}
	return "no tokens for " + backend.ShortDuration(t.d) + ": the stream went quiet for longer than the idle timeout"
}

// retryFunc is told of each retry of a request before its wait, with what failed.
type retryFunc func(backend.RetryInfo, *backend.Error)

// watchdog cancels a request when the server goes quiet for too long. One timer is
// reset per content chunk; the cause it cancels with says which bound was crossed.
type watchdog struct {
	timer *time.Timer
	cause atomic.Pointer[error]
}

func newWatchdog(cancel context.CancelCauseFunc, d time.Duration, cause error) *watchdog {
	w := &watchdog{}
	w.cause.Store(&cause)
	w.timer = time.AfterFunc(d, func() { cancel(*w.cause.Load()) })
	return w
}

// rearm restarts the countdown with a new cause. If the timer already fired, the request
// is cancelled and the read in progress fails with that cause. It runs once per chunk, so
// the cause is stored (an allocation) only when it changes: once, from first-token to idle.
func (w *watchdog) rearm(d time.Duration, cause error) {
	if *w.cause.Load() != cause {
		c := cause
		w.cause.Store(&c)
	}
	w.timer.Reset(d)
}

func (w *watchdog) stop() { w.timer.Stop() }

// attempt is one HTTP exchange whose response is 200.
type attempt struct {
	resp   *http.Response
	ctx    context.Context
	cancel context.CancelCauseFunc
	dog    *watchdog
}

func (a *attempt) close() {
	a.dog.stop()
	a.resp.Body.Close()
	a.cancel(nil)
}

// open sends the request, retrying before the response as Config says (telling retrying,
// when not nil, of each retry), and returns a 200 response with the first-token watchdog
// running.
func (c *Client) open(ctx context.Context, method, path string, body []byte, firstToken time.Duration, retrying retryFunc) (*attempt, error) {
	for try := 0; ; try++ {
		actx, cancel := context.WithCancelCause(ctx)
		dog := newWatchdog(cancel, firstToken, c.errFirstToken)
		resp, err := c.send(actx, method, path, body)
		if err == nil && resp.StatusCode == http.StatusOK {
			return &attempt{resp: resp, ctx: actx, cancel: cancel, dog: dog}, nil
		}
		dog.stop()
		var berr *backend.Error
		retryable := false
		if err != nil {
			berr = toError(actx, err)
			retryable = berr.Kind == backend.KindTransport
		} else {
			berr = httpError(resp)
			resp.Body.Close()
			s := resp.StatusCode
			retryable = s == http.StatusTooManyRequests || (s >= 500 && s != http.StatusNotImplemented && s != http.StatusHTTPVersionNotSupported)
		}
		cancel(nil)
		if !retryable || try >= c.cfg.MaxRetries {
			return nil, berr
		}
		wait := c.backoff(try)
		if berr.RetryAfter > 0 {
			if berr.RetryAfter > c.cfg.MaxRetryAfter {
				berr.Message += fmt.Sprintf(" (the server asks to retry after %s, longer than the %s allowed)", berr.RetryAfter, c.cfg.MaxRetryAfter)
				return nil, berr
			}
			wait = berr.RetryAfter
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(try+1, wait, berr)
		}
		if retrying != nil {
			status := 0
			if berr.Kind == backend.KindHTTP {
				status = berr.Status
			}
			retrying(backend.RetryInfo{Status: status, Wait: wait, FromServer: berr.RetryAfter > 0,
				Attempt: try + 2, MaxAttempts: c.cfg.MaxRetries + 1}, berr)
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, toError(ctx, err)
		}
	}
}

// do is open for whole-body requests (models, prompt logprobs).
func (c *Client) do(ctx context.Context, method, path string, body []byte, timeout time.Duration, retrying retryFunc) (*http.Response, error) {
	a, err := c.open(ctx, method, path, body, timeout, retrying)
	if err != nil {
		return nil, err
	}
	// The watchdog keeps bounding the body read; release everything with the body.
	a.resp.Body = &closeFunc{ReadCloser: a.resp.Body, fn: func() { a.dog.stop(); a.cancel(nil) }}
	return a.resp, nil
}

type closeFunc struct {
	io.ReadCloser
	fn func()
}

func (c *closeFunc) Close() error {
	err := c.ReadCloser.Close()
	c.fn()
	return err
}

func (c *Client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := c.base + path
	if strings.Contains(path, "://") {
		u = path // outside /v1, such as /tokenize
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Accept", "application/json, text/event-stream")
	if c.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	return c.cfg.HTTPClient.Do(hreq)
}

// backoff is capped exponential backoff with equal jitter.
func (c *Client) backoff(try int) time.Duration {
	d := c.cfg.BackoffBase << min(try, 20)
	if d > c.cfg.BackoffMax || d <= 0 {
		d = c.cfg.BackoffMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

// toError classifies a transport-level failure of a request made under ctx.
func toError(ctx context.Context, err error) *backend.Error {
	if e, ok := backend.AsError(err); ok {
		return e
	}
	cause := context.Cause(ctx)
	var timeout *timeoutCause
	switch {
	case errors.As(cause, &timeout):
		return &backend.Error{Kind: backend.KindTimeout, Message: timeout.message(), Err: cause}
	case ctx.Err() != nil:
		return &backend.Error{Kind: backend.KindCancelled, Message: "cancelled", Err: ctx.Err()}
	}
	return &backend.Error{Kind: backend.KindTransport, Message: scrub(err.Error()), Err: err}
}

// scrub removes URL queries from net/http's error text ("Post \"...\": ..."), in case a
// key was put there.
var urlQuery = regexp.MustCompile(`\?[^"\s]*`)

func scrub(s string) string { return urlQuery.ReplaceAllString(s, "") }

var paramInMessage = regexp.MustCompile(`\(parameter=([A-Za-z_]+)`)

// knownParams are request fields a message may start with ("top_k must be ...").
var knownParams = []string{"temperature", "top_p", "top_k", "min_p", "repetition_penalty", "presence_penalty",
	"frequency_penalty", "seed", "n", "max_tokens", "min_tokens", "stop", "stop_token_ids", "logprobs",
	"top_logprobs", "prompt_logprobs", "stream_options", "model", "messages", "prompt"}

// guessParam finds the parameter an error message blames when "param" is null.
func guessParam(msg string) string {
	if m := paramInMessage.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	word := msg
	if i := strings.IndexAny(word, " :"); i >= 0 {
		word = word[:i]
	}
	word = strings.Trim(word, "`'\"")
	for _, k := range knownParams {
		if word == k {
			return k
		}
	}
	if strings.HasPrefix(msg, "Requested sample logprobs") {
		return "logprobs"
	}
	return ""
}

func fromInfo(kind backend.ErrorKind, status int, info wire.ErrorInfo) *backend.Error {
	e := &backend.Error{Kind: kind, Status: status, Message: info.Message, Type: info.Type}
	if e.Status == 0 {
		e.Status = info.StatusCode()
	}
	if info.Param != nil && *info.Param != "" {
		e.Param = *info.Param
	} else {
		e.Param = guessParam(info.Message)
	}
	if e.Message == "" {
		e.Message = "(the server gave no message)"
	}
	return e
}

// httpError reads a non-200 response into an Error (body in either shape, or text).
func httpError(resp *http.Response) *backend.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	info, ok := wire.ParseError(b)
	if !ok {
		info = wire.ErrorInfo{Message: strings.TrimSpace(string(b))}
		if info.Message == "" {
			info.Message = http.StatusText(resp.StatusCode)
		}
		info.Message = clip(info.Message)
	}
	e := fromInfo(backend.KindHTTP, resp.StatusCode, info)
	e.Status = resp.StatusCode
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// clip bounds a server's text that is not an error body (an HTML page, a proxy's
// message) to 500 bytes, cut at a rune boundary so the result stays valid UTF-8.
func clip(s string) string {
	const most = 500
	if len(s) <= most {
		return s
	}
	i := most
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 || n > 1e6 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
