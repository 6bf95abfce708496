// Package vllmtest is a scriptable test server that speaks vLLM's OpenAI-compatible wire
// format byte for byte as shared/vllm-protocol.md describes: a role chunk per choice,
// token chunks interleaved across choices with one or several logprob entries, chat
// top_logprobs unsorted (the sampled token first), stop_reason as string, int or null, a
// usage chunk with "choices":[], keep-alive comments, and "data: [DONE]". It records every
// request body it receives and can inject faults: a dropped connection, a clean close
// without [DONE], a stall, slow bytes, a keep-alive flood, 429 with Retry-After, 400 in
// both error shapes, and in-band errors in all three shapes, first or mid-stream.
//
// Requests are validated as a vLLM server validates them, in vLLM's words, by
// backend/vllmcheck (the same validator the built-in model's server uses): the test
// models are chat models with a 4096-token context, and a prompt counts one token per
// word. /tokenize and return_token_ids use the test models' tokenizer (TokenIDs).
//
// The client, the CLI and the TUI are tested against it over real HTTP; `twinkle
// testserver` runs it by hand for demos (ListenAndServe). It imports backend/wire,
// backend/vllmcheck and the standard library; never ui or themes.
package vllmtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Recorded is one request the server received.
type Recorded struct {
	Method string
	Path   string
	Header http.Header
	// Body is the raw body, for checking fields against the exact JSON sent.
	Body []byte
	// Request is Body decoded (zero for GET).
	Request wire.Request
}

// Fields decodes Body into a map for field-by-field checks.
func (r Recorded) Fields() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Server is the test server. Its zero value is not usable; use New or NewHandler.
type Server struct {
	// URL is the OpenAI base URL, ".../v1" (set by New).
	URL string
	// Models is what /v1/models lists.
	Models []string

	httpSrv *httptest.Server

	mu          sync.Mutex
	scripts     []Script
	def         Script
	failWhen    func(body []byte) *Fault
	requests    []Recorded
	disconnects int
	notify      chan struct{}
	created     int64
	pace        Pace
}

// New starts a test server on a loopback port; Close it when done.
func New() *Server {
	s := NewHandler()
	s.httpSrv = httptest.NewServer(s)
	s.URL = s.httpSrv.URL + "/v1"
	return s
}

// NewHandler returns a Server that is only an http.Handler (for ListenAndServe or a
// custom listener); URL is left empty.
func NewHandler() *Server {
	return &Server{Models: []string{"twinkle-test/tiny-chat"}, notify: make(chan struct{}, 1), created: 1767225600}
}

// Close shuts the server down, closing client connections.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.CloseClientConnections()
		s.httpSrv.Close()
	}
}

// ListenAndServe serves the test server on addr until it fails, for manual runs and
// demos (`twinkle testserver`).
func ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(context.Background(), ln)
}

// Serve serves a new test server on ln until ctx ends (then it returns nil) or serving
// fails.
func Serve(ctx context.Context, ln net.Listener) error { return serve(ctx, ln, NewHandler()) }

func serve(ctx context.Context, ln net.Listener, h *Server) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Streams may be stalled on purpose: close rather than wait for them.
	err := srv.Close()
	<-errc
	return err
}

// Push queues scripts: each request (except /v1/models) takes the next one; when the
// queue is empty the default applies.
func (s *Server) Push(sc ...Script) {
	s.mu.Lock()
	s.scripts = append(s.scripts, sc...)
	s.mu.Unlock()
}

// SetDefault sets the script used when the queue is empty.
func (s *Server) SetDefault(sc Script) {
	s.mu.Lock()
	s.def = sc
	s.mu.Unlock()
}

// FailWhen installs a hook consulted before the script queue: when it returns a Fault for
// a request body, that request gets the default script with that fault. Useful when
// requests run concurrently and their order is not fixed.
func (s *Server) FailWhen(fn func(body []byte) *Fault) {
	s.mu.Lock()
	s.failWhen = fn
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// Disconnects is how many streams ended because the client went away.
func (s *Server) Disconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disconnects
}

// WaitDisconnect waits until at least n client disconnects were seen, or ctx ends.
func (s *Server) WaitDisconnect(ctx context.Context, n int) error {
	for {
		if s.Disconnects() >= n {
			return nil
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return fmt.Errorf("saw %d disconnects, want %d: %w", s.Disconnects(), n, ctx.Err())
		}
	}
}

func (s *Server) sawDisconnect() {
	s.mu.Lock()
	s.disconnects++
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Server) next(body []byte) Script {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWhen != nil {
		if f := s.failWhen(body); f != nil {
			sc := s.def
			sc.Fault = f
			return sc
		}
	}
	if len(s.scripts) > 0 {
		sc := s.scripts[0]
		s.scripts = s.scripts[1:]
		return sc
	}
	return s.def
}

// ServeHTTP routes /v1/models, /v1/chat/completions, /v1/completions and /tokenize.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, tooLarge := vllmcheck.ReadBody(r.Body)
	rec := Recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	parsed, bad := vllmcheck.Decode(body)
	if bad == nil {
		rec.Request = parsed.Request
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if tooLarge != nil {
		tooLarge.Write(w)
		return
	}

	switch {
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		list := wire.ModelList{Object: "list"}
		for _, m := range s.Models {
			list.Data = append(list.Data, wire.ModelCard{ID: m, Object: "model", Created: s.created, OwnedBy: "vllm", Root: m, MaxModelLen: maxModelLen})
		}
		writeJSON(w, http.StatusOK, list)
	case r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost:
		s.complete(w, r, rec, parsed, bad, true)
	case r.URL.Path == "/v1/completions" && r.Method == http.MethodPost:
		s.complete(w, r, rec, parsed, bad, false)
	case r.URL.Path == "/tokenize" && r.Method == http.MethodPost:
		s.tokenize(w, rec)
	default:
		writeError(w, http.StatusNotFound, ShapeNested, "NotFoundError", "Not Found", nil)
	}
}

// maxModelLen is the context length the test models report and requests are held to.
const maxModelLen = 4096

// rules are the test models' side of vLLM's checks: chat models (they have a chat
// template) of maxModelLen tokens, with vLLM's default logprob and n caps, serving
// whatever model name a request gives.
func rules() vllmcheck.Model { return vllmcheck.Model{MaxModelLen: maxModelLen, ChatTemplate: true} }

// promptTokens stands in for tokenizing the prompt: one token per word (at least one for
// text that is not empty), plus one for a chat template's generation prompt.
func promptTokens(r *vllmcheck.Request) []int {
	if r.PromptIDs != nil {
		return r.PromptIDs
	}
	text := r.Prompt
	if r.Chat {
		var parts []string
		for _, m := range r.Messages {
			parts = append(parts, m.Content)
		}
		text = strings.Join(parts, " ")
	}
	n := len(strings.Fields(text))
	if n == 0 && text != "" {
		n = 1
	}
	if r.Chat {
		n++
	}
	return make([]int, n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := wire.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func errorJSON(shape Shape, status int, typ, msg string, param *string) []byte {
	body := wire.NewErrorBody(status, typ, msg, param)
	var b []byte
	if shape == ShapeFlat {
		b, _ = wire.Marshal(wire.FlatErrorBody{Object: "error", ErrorInfo: body.Error})
	} else {
		b, _ = wire.Marshal(body)
	}
	return b
}

func writeError(w http.ResponseWriter, status int, shape Shape, typ, msg string, param *string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorJSON(shape, status, typ, msg, param))
}

// complete answers a completion request: the scripted fault if any, else vLLM's refusal
// of an invalid request (bad says why the body did not decode), else the samples.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, rec Recorded, parsed *vllmcheck.Parsed, bad *vllmcheck.Error, chat bool) {
	sc := s.next(rec.Body)
	f := NoFault()
	if sc.Fault != nil {
		f = *sc.Fault
	}
	if f.HeaderDelay > 0 {
		select {
		case <-time.After(f.HeaderDelay):
		case <-r.Context().Done():
			s.sawDisconnect()
			return
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Status != 0 && f.Status != http.StatusOK {
		typ := f.Type
		if typ == "" {
			typ = http.StatusText(f.Status)
		}
		writeError(w, f.Status, f.ErrorShape, typ, f.Message, f.Param)
		return
	}
	if bad != nil {
		bad.Write(w)
		return
	}
	req := rec.Request
	checked, bad := vllmcheck.Check(parsed, chat, rules())
	if bad == nil {
		bad = checked.Tokens(promptTokens(checked), rules())
	}
	if bad != nil {
		bad.Write(w)
		return
	}
	model := req.Model
	if model == "" && len(s.Models) > 0 {
		model = s.Models[0]
	}
	samples := sc.Samples
	switch {
	case samples != nil:
	case IsReasoningModel(model):
		samples = GenerateReasoning(checked.Sampling.N, checked.Seed, checked.Sampling.MaxTokens, thinkingAsked(&req))
	default:
		samples = s.currentPace().generate(checked.Sampling.N, checked.Seed, checked.Sampling.MaxTokens, checked.Sampling.Stop, checked.Sampling.StopTokenIDs)
	}
	if sc.Samples == nil && req.Model == SplitModel {
		samples = splitSamples(samples)
	}
	var k *int
	if checked.Logprobs >= 0 {
		k = &checked.Logprobs
	}
	g := &gen{chat: chat, model: model, created: s.created, k: k, tokenIDs: req.ReturnTokenIDs, samples: samples, sc: sc, parser: chat && servedWithParser(model, samples)}
	// usage.prompt_tokens is the prompt's length in tokens, as /tokenize counts it.
	g.promptLen = len(promptIDs(checked, &req))
	if req.ReturnTokenIDs {
		g.promptIDs, g.promptSent = promptIDs(checked, &req), make([]bool, len(samples))
	}
	if chat {
		g.id = "chatcmpl-twinkletest"
	} else {
		g.id = "cmpl-twinkletest"
	}
	if !req.Stream {
		s.nonStream(w, g, &req)
		return
	}
	s.stream(w, r, g, f, checked.IncludeUsage)
}

// gen renders chunks for one request.
type gen struct {
	chat     bool
	id       string
	model    string
	created  int64
	k        *int
	tokenIDs bool
	// promptLen is the prompt's length in tokens, for usage.
	promptLen int
	samples   []Sample
	sc        Script
	// parser: the model is served with a reasoning parser (see reasoning.go).
	parser bool
	// promptIDs go out once per choice with return_token_ids (promptSent says where).
	promptIDs  []int
	promptSent []bool
}

// promptOnce is the prompt ids for choice i's first chunk that carries them, then absent.
func (g *gen) promptOnce(i int) wire.Opt[[]int] {
	if g.promptIDs == nil || g.promptSent[i] {
		return wire.Opt[[]int]{}
	}
	g.promptSent[i] = true
	return wire.Some(g.promptIDs)
}

func (g *gen) chatTop(t Tok) []wire.ChatTopLogprob {
	if g.k == nil || *g.k == 0 {
		return []wire.ChatTopLogprob{}
	}
	out := []wire.ChatTopLogprob{{Token: reported(t.Text), Logprob: t.Logprob, Bytes: utf8Bytes(reported(t.Text))}}
	for _, a := range t.Alts {
		if len(out) >= *g.k {
			break
		}
		if a.Text == t.Text {
			continue
		}
		out = append(out, wire.ChatTopLogprob{Token: reported(a.Text), Logprob: a.Logprob, Bytes: utf8Bytes(reported(a.Text))})
	}
	return out
}

func (g *gen) completionTop(t Tok) wire.TopMap {
	out := wire.TopMap{{Token: reported(t.Text), Logprob: t.Logprob}}
	for _, a := range t.Alts {
		if len(out) > *g.k {
			break
		}
		if a.Text == t.Text {
			continue
		}
		out = appendKey(out, reported(a.Text), a.Logprob)
	}
	return out
}

func utf8Bytes(s string) []int {
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return b
}

// visible is how many of a sample's tokens make up its content.
func visible(s Sample) int { return max(0, len(s.Tokens)-s.Hidden) }

// event is one thing to send.
type event struct {
	data  []byte
	token bool // counts as a token chunk for fault positions
}

// events renders the whole stream (before faults are applied).
func (g *gen) events(includeUsage bool) []event {
	per := max(1, g.sc.TokensPerChunk)
	var evs []event
	add := func(v any, token bool) {
		b, _ := wire.Marshal(v)
		evs = append(evs, event{data: b, token: token})
	}
	if g.chat {
		for i := range g.samples {
			add(wire.ChatChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.model,
				Choices:        []wire.ChatChunkChoice{{Index: i, Delta: wire.Delta{Role: "assistant", Content: wire.Some("")}}},
				PromptTokenIDs: g.chatPromptIDs(i)}, false)
		}
	}
	// Interleave: round-robin over choices, per tokens at a time.
	pos := make([]int, len(g.samples))       // tokens sent
	textPos := make([]int, len(g.samples))   // tokens whose text was sent
	offsets := make([]int, len(g.samples))   // completions text_offset
	finished := make([]bool, len(g.samples)) // finish chunk sent
	for {
		progress := false
		for i, s := range g.samples {
			if finished[i] {
				continue
			}
			progress = true
			if pos[i] >= len(s.Tokens) {
				finished[i] = true
				// Flush held-back text with the final chunk, as vLLM does at the end.
				rest := textBetween(s.Tokens, textPos[i], visible(s))
				if textPos[i] > visible(s) {
					rest = ""
				}
				restDelta := g.delta(s, len(s.Tokens), len(s.Tokens), min(textPos[i], visible(s)), visible(s))
				if s.Finish == "" {
					if rest != "" {
						evs = append(evs, g.tokenChunk(i, nil, rest, restDelta, &offsets[i]))
					}
					continue
				}
				fr := s.Finish
				if g.chat {
					add(wire.ChatChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.model,
						Choices: []wire.ChatChunkChoice{{Index: i, Delta: restDelta, FinishReason: &fr,
							StopReason: orNull(s.StopReason), TokenIDs: wire.Null[[]int]()}}}, true)
				} else {
					add(wire.CompletionChunk{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model,
						Choices: []wire.CompletionChunkChoice{{Index: i, Text: rest, FinishReason: &fr, StopReason: orNull(s.StopReason)}}}, true)
				}
				continue
			}
			start, textStart := pos[i], textPos[i]
			end := min(pos[i]+per, len(s.Tokens))
			toks := s.Tokens[pos[i]:end]
			pos[i] = end
			upto := textUpTo(s, start, end, min(visible(s), max(textPos[i], end-g.sc.TextLag)))
			text := ""
			if upto > textPos[i] {
				text = textBetween(s.Tokens, textPos[i], upto)
				textPos[i] = upto
			}
			evs = append(evs, g.tokenChunk(i, toks, text, g.delta(s, start, end, textStart, textPos[i]), &offsets[i]))
		}
		if !progress {
			break
		}
	}
	if includeUsage {
		total := 0
		for _, s := range g.samples {
			total += len(s.Tokens)
		}
		if g.chat {
			add(wire.ChatChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.model, Choices: []wire.ChatChunkChoice{}, Usage: g.usage(g.promptLen, total)}, false)
		} else {
			add(wire.CompletionChunk{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model, Choices: []wire.CompletionChunkChoice{}, Usage: &wire.Usage{PromptTokens: g.promptLen, TotalTokens: g.promptLen + total, CompletionTokens: total}}, false)
		}
	}
	return evs
}

func orNull(s wire.StopReason) wire.StopReason {
	if !s.Present {
		return wire.StopNull()
	}
	return s
}

// tokenChunk renders one token chunk: text is a completion's, delta a chat chunk's.
func (g *gen) tokenChunk(i int, toks []Tok, text string, delta wire.Delta, offset *int) event {
	var ids wire.Opt[[]int]
	if g.tokenIDs {
		list := []int{}
		for _, t := range toks {
			list = append(list, t.ID)
		}
		ids = wire.Some(list)
	} else if g.chat {
		ids = wire.Null[[]int]() // vLLM's chat chunks carry "token_ids":null; completions omit it
	}
	var b []byte
	if g.chat {
		var lp *wire.ChatLogprobs
		if g.k != nil && len(toks) > 0 {
			lp = &wire.ChatLogprobs{}
			for _, t := range toks {
				lp.Content = append(lp.Content, wire.ChatLogprob{Token: reported(t.Text), Logprob: t.Logprob, Bytes: utf8Bytes(reported(t.Text)), TopLogprobs: g.chatTop(t)})
			}
		}
		b, _ = wire.Marshal(wire.ChatChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.model,
			Choices: []wire.ChatChunkChoice{{Index: i, Delta: delta, Logprobs: lp, TokenIDs: ids}}})
	} else {
		var lp *wire.CompletionLogprobs
		if g.k != nil && len(toks) > 0 {
			lp = &wire.CompletionLogprobs{}
			for _, t := range toks {
				v := t.Logprob
				lp.TextOffset = append(lp.TextOffset, *offset)
				*offset += utf8.RuneCountInString(reported(t.Text)) // Python's len: code points
				lp.TokenLogprobs = append(lp.TokenLogprobs, &v)
				lp.Tokens = append(lp.Tokens, reported(t.Text))
				lp.TopLogprobs = append(lp.TopLogprobs, g.completionTop(t))
			}
		}
		b, _ = wire.Marshal(wire.CompletionChunk{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model,
			Choices: []wire.CompletionChunkChoice{{Index: i, Text: text, Logprobs: lp, StopReason: wire.StopNull(), TokenIDs: ids, PromptTokenIDs: g.promptOnce(i)}}})
	}
	return event{data: b, token: true}
}

// slowWriter writes one byte at a time, flushing and pausing after each.
type slowWriter struct {
	w     http.ResponseWriter
	pause time.Duration
	ctx   context.Context
}

func (s slowWriter) Write(b []byte) (int, error) {
	for i := range b {
		if _, err := s.w.Write(b[i : i+1]); err != nil {
			return i, err
		}
		http.NewResponseController(s.w).Flush()
		select {
		case <-time.After(s.pause):
		case <-s.ctx.Done():
			return i + 1, s.ctx.Err()
		}
	}
	return len(b), nil
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, g *gen, f Fault, includeUsage bool) {
	ctx := r.Context()
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	var out io.Writer = w
	if f.SlowBytes > 0 {
		out = slowWriter{w: w, pause: f.SlowBytes, ctx: ctx}
	}
	// Events are framed by wire's SSE writer into a buffer, so a keep-alive flood and the
	// event after it leave in one flush (through slowWriter when bytes are slowed).
	bw := bufio.NewWriter(out)
	sse := wire.NewSSEWriter(bw)
	send := func(write func() error) bool {
		for k := 0; k < f.KeepAlives; k++ {
			_ = sse.Comment("keep-alive")
		}
		_ = write()
		if err := bw.Flush(); err != nil {
			return false
		}
		_ = rc.Flush()
		return ctx.Err() == nil
	}
	data := func(b []byte) func() error { return func() error { return sse.Data(b) } }
	inBand := func() {
		msg := f.Message
		if msg == "" {
			msg = "scripted in-band error"
		}
		code := f.InBandCode
		if code == 0 {
			code = 500
		}
		typ := f.Type
		if typ == "" {
			typ = "InternalServerError"
		}
		switch f.InBandShape {
		case ShapeEvent:
			b, _ := wire.Marshal(wire.NewErrorBody(code, typ, msg, f.Param).Error)
			send(func() error { return sse.Event("error", b) })
		default:
			send(data(errorJSON(f.InBandShape, code, typ, msg, f.Param)))
		}
		send(sse.Done)
	}
	tokenIdx := 0
	pc := s.currentPace().newPacer(len(g.samples), max(1, g.sc.TokensPerChunk))
	for _, ev := range g.events(includeUsage) {
		if ev.token {
			if !pc.wait(ctx, tokenIdx) {
				s.sawDisconnect()
				return
			}
			switch tokenIdx {
			case f.InBandAt:
				inBand()
				return
			case f.DropAt:
				s.drop(w)
				return
			case f.CloseAt:
				return
			case f.StallAt:
				if !s.stall(ctx, sse, bw, rc, f) {
					s.sawDisconnect()
					return
				}
			}
			tokenIdx++
		}
		if !send(data(ev.data)) {
			s.sawDisconnect()
			return
		}
	}
	if f.InBandAt >= tokenIdx {
		inBand()
		return
	}
	if !f.NoDone && !send(sse.Done) {
		s.sawDisconnect()
	}
}

// stall pauses; false when the client went away meanwhile.
func (s *Server) stall(ctx context.Context, sse *wire.SSEWriter, bw *bufio.Writer, rc *http.ResponseController, f Fault) bool {
	var until <-chan time.Time
	if f.StallFor > 0 {
		t := time.NewTimer(f.StallFor)
		defer t.Stop()
		until = t.C
	}
	var tick <-chan time.Time
	if f.StallKeepAlive > 0 {
		t := time.NewTicker(f.StallKeepAlive)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-until:
			return true
		case <-tick:
			_ = sse.Comment("keep-alive")
			if bw.Flush() != nil {
				return false
			}
			_ = rc.Flush()
		}
	}
}

// drop cuts the connection without ending the chunked body.
func (s *Server) drop(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("vllmtest: cannot hijack to drop the connection: %v", err))
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST, not FIN: an abrupt close
	}
	_ = conn.Close()
}

func (s *Server) nonStream(w http.ResponseWriter, g *gen, req *wire.Request) {
	total := 0
	var promptLP []wire.PromptPosition
	var promptIDs []int
	prompt := ""
	if g.chat {
		for _, m := range req.Messages {
			prompt += m.Content
		}
	} else {
		prompt, _ = req.PromptText()
	}
	if req.PromptLogprobs != nil {
		promptLP, promptIDs = promptLogprobsFor(req.Model, prompt, *req.PromptLogprobs)
	}
	if !req.ReturnTokenIDs {
		promptIDs = nil
	}
	usage := &wire.Usage{PromptTokens: len(strings.Fields(prompt))}
	if g.chat {
		resp := wire.ChatResponse{ID: g.id, Object: "chat.completion", Created: g.created, Model: g.model, PromptLogprobs: promptLP, PromptTokenIDs: promptIDs}
		for i, s := range g.samples {
			fr := s.Finish
			c := wire.ChatChoice{Index: i, Message: g.message(s), FinishReason: &fr, StopReason: orNull(s.StopReason)}
			if g.k != nil {
				c.Logprobs = &wire.ChatLogprobs{}
				for _, t := range s.Tokens {
					c.Logprobs.Content = append(c.Logprobs.Content, wire.ChatLogprob{Token: reported(t.Text), Logprob: t.Logprob, Bytes: utf8Bytes(reported(t.Text)), TopLogprobs: g.chatTop(t)})
				}
			}
			total += len(s.Tokens)
			resp.Choices = append(resp.Choices, c)
		}
		resp.Usage = g.usage(usage.PromptTokens, total)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	resp := wire.CompletionResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model}
	for i, s := range g.samples {
		fr := s.Finish
		c := wire.CompletionChoice{Index: i, Text: textBetween(s.Tokens, 0, visible(s)), Logprobs: g.completionLogprobs(s.Tokens), FinishReason: &fr, StopReason: orNull(s.StopReason), PromptLogprobs: promptLP, PromptTokenIDs: promptIDs}
		total += len(s.Tokens)
		resp.Choices = append(resp.Choices, c)
	}
	usage.CompletionTokens, usage.TotalTokens = total, usage.PromptTokens+total
	resp.Usage = usage
	writeJSON(w, http.StatusOK, resp)
}

// promptLogprobs scripts prompt logprobs for a prompt split at spaces: the first position
// is null; each other holds the prompt token first (as vLLM orders it), then k others.
func promptLogprobs(prompt string, k int) ([]wire.PromptPosition, []int) {
	var toks []string
	for i, w := range strings.Fields(prompt) {
		if i > 0 {
			w = " " + w
		}
		toks = append(toks, w)
	}
	var out []wire.PromptPosition
	var ids []int
	for i, t := range toks {
		id := 2000 + i
		ids = append(ids, id)
		if i == 0 {
			out = append(out, nil)
			continue
		}
		dec := t
		rank := 2 + i%3
		pos := wire.PromptPosition{{TokenID: id, Logprob: -1.5 - float64(i%4), Rank: &rank, DecodedToken: &dec}}
		for a := 0; a < k; a++ {
			r := a + 1
			d := fmt.Sprintf(" alt%d", a)
			pos = append(pos, wire.PromptLogprob{TokenID: 3000 + a, Logprob: -0.2 - float64(a)*0.7, Rank: &r, DecodedToken: &d})
		}
		out = append(out, pos)
	}
	return out, ids
}
