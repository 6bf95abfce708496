package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"syscall"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// stream runs one streamed request and emits its samples' events. Every sample of the
// plan gets exactly one EventFinish.
func (c *Client) stream(ctx context.Context, pl *plan, em *backend.Emitter) {
	finished := make([]bool, pl.count) // per choice: its EventFinish was emitted
	finishAll := func(reason backend.StopReason, err *backend.Error) {
		for i := range finished {
			if !finished[i] {
				finished[i] = true
				em.Emit(backend.Event{Kind: backend.EventFinish, Sample: pl.first + i, Reason: reason, Err: err})
			}
		}
	}
	a, err := c.open(ctx, http.MethodPost, pl.path, pl.body, c.cfg.FirstTokenTimeout, func(r backend.RetryInfo, e *backend.Error) {
		em.Emit(backend.Event{Kind: backend.EventRetry, Sample: pl.first, Count: pl.count, Retry: &r, Err: e})
	})
	if err != nil {
		// Nothing was streamed: an error, not an interruption (unless cancelled).
		e := toError(ctx, err)
		reason := backend.StopError
		if e.Kind == backend.KindCancelled {
			reason = backend.StopCancelled
		}
		finishAll(reason, e)
		return
	}
	defer a.close()
	d := newDecoder(pl.chat, pl.logprobs)
	witness := newStopWitness(pl.params.Stop, pl.count)
	parts := newPartAttributors(pl.chat, pl.params.Stop, pl.count)
	sse := wire.NewSSEReader(a.resp.Body)
	done := false
	var streamErr *backend.Error
	for {
		ev, err := sse.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
			case errors.Is(err, wire.ErrEventTooLarge):
				streamErr = &backend.Error{Kind: backend.KindProtocol, Message: err.Error(), Err: err}
			default:
				streamErr = midStream(toError(a.ctx, err))
			}
			break
		}
		// Any event is content (keep-alive comments never reach here): from the first one
		// on, the idle bound applies instead of the first-token bound.
		a.dog.rearm(c.cfg.IdleTimeout, c.errIdle)
		data := bytes.TrimSpace(ev.Data)
		if ev.Event == "error" {
			e := inBandError(data)
			finishAll(backend.StopError, e)
			continue
		}
		if string(data) == "[DONE]" {
			done = true
			break
		}
		if bytes.Contains(data, []byte(`"error"`)) {
			if info, ok := wire.ParseError(data); ok {
				finishAll(backend.StopError, fromInfo(backend.KindServer, 0, info))
				continue
			}
		}
		if err := d.decode(data); err != nil {
			streamErr = &backend.Error{Kind: backend.KindProtocol, Message: err.Error(), Err: err}
			break
		}
		if d.usage != nil {
			em.Emit(backend.Event{Kind: backend.EventUsage, Sample: pl.first, Count: pl.count, Usage: *d.usage})
		}
		for k := range d.choices {
			ch := &d.choices[k]
			if ch.index < 0 || ch.index >= pl.count || finished[ch.index] {
				continue // a choice we did not ask for, or one already ended: lenient
			}
			if ch.text != "" || ch.delta.reasoning != "" || len(ch.tokens) > 0 || ch.promptIDs != nil {
				parts.assign(ch.index, ch.delta, ch.text, ch.tokens)
				em.Emit(backend.Event{Kind: backend.EventTokens, Sample: pl.first + ch.index, Text: ch.text, Reasoning: ch.delta.reasoning, Tokens: ch.tokens, PromptIDs: ch.promptIDs})
				witness.add(ch.index, ch.text, ch.tokens)
				if pl.tokens != nil {
					pl.tokens[ch.index] = append(pl.tokens[ch.index], ch.tokens...)
				}
			}
			if ch.finish != "" {
				finished[ch.index] = true
				em.Emit(backend.Event{Kind: backend.EventFinish, Sample: pl.first + ch.index,
					Reason: backend.StopReason(ch.finish), StoppedBy: stoppedBy(ch.finish, ch.stop, witness, ch.index)})
			}
		}
	}
	switch {
	case done:
		// [DONE] makes the stream complete; a choice the server never finished is taken
		// as stopped (lenient with servers that send no finish_reason).
		finishAll(backend.StopStop, nil)
	case streamErr != nil:
		finishAll(reasonFor(streamErr), streamErr)
	default:
		e := &backend.Error{Kind: backend.KindInterrupted, Message: "the stream ended without [DONE] or a finish_reason; the text so far is kept"}
		if sse.Partial() {
			e.Message = "the stream was cut off in the middle of an event; the text so far is kept"
		}
		finishAll(backend.StopInterrupted, e)
	}
}

// midStream puts a connection that failed during a stream in plain words, keeping Go's
// text ("read tcp 127.0.0.1:39670->...: connection reset by peer") as the Detail.
func midStream(e *backend.Error) *backend.Error {
	if e.Kind != backend.KindTransport {
		return e
	}
	plain := *e
	plain.Detail = e.Message
	plain.Message = "the connection to the server failed mid-stream"
	if closedByPeer(e.Err) {
		plain.Message = "the server closed the connection mid-stream"
	}
	return &plain
}

// closedByPeer reports whether err is the other end going away: a reset, or the
// connection ending inside the chunked body.
func closedByPeer(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// reasonFor maps an error that ended a sample to its StopReason.
func reasonFor(e *backend.Error) backend.StopReason {
	switch e.Kind {
	case backend.KindCancelled:
		return backend.StopCancelled
	case backend.KindTimeout, backend.KindTransport, backend.KindInterrupted, backend.KindProtocol:
		return backend.StopInterrupted
	}
	return backend.StopError
}

// inBandError reads the data of an "event: error" event in whatever shape it comes.
func inBandError(data []byte) *backend.Error {
	if info, ok := wire.ParseError(data); ok {
		return fromInfo(backend.KindServer, 0, info)
	}
	var info wire.ErrorInfo
	if json.Unmarshal(data, &info) == nil && info.Message != "" {
		return fromInfo(backend.KindServer, 0, info)
	}
	return fromInfo(backend.KindServer, 0, wire.ErrorInfo{Message: clip(string(data))})
}

// stoppedBy maps finish_reason and vLLM's stop_reason to what stopped sample i. vLLM
// always sends stop_reason with a finish: null then means the model's EOS. A server that
// sends none says nothing, so nothing is claimed unless the sample itself shows a
// requested stop (see stopWitness).
func stoppedBy(finish string, s wire.StopReason, w *stopWitness, i int) backend.StoppedBy {
	switch s.Kind {
	case wire.StopReasonString:
		return backend.StoppedBy{Kind: backend.StoppedByString, String: s.String}
	case wire.StopReasonToken:
		return backend.StoppedBy{Kind: backend.StoppedByToken, TokenID: s.TokenID}
	}
	switch {
	case finish != "stop":
		return backend.StoppedBy{}
	case s.Present:
		return backend.StoppedBy{Kind: backend.StoppedByEOS}
	}
	return w.evidence(i)
}

// stopWitness keeps, per choice, what can show which requested stop ended a sample when
// the server does not say: the last bytes of its text and of its tokens' text (as many
// as the longest stop string) and its last token id. A server that keeps the stop string
// in the text ends the text with it; one that strips it, as vLLM does, still sends its
// tokens in the logprobs. A nil *stopWitness (no stop requested) keeps nothing.
type stopWitness struct {
	stop   params.Stop
	keep   int
	text   [][]byte
	toks   [][]byte
	lastID []backend.TokenID
}

func newStopWitness(stop params.Stop, n int) *stopWitness {
	if stop.IsZero() {
		return nil
	}
	w := &stopWitness{stop: stop, text: make([][]byte, n), toks: make([][]byte, n), lastID: make([]backend.TokenID, n)}
	for _, s := range stop.Strings {
		w.keep = max(w.keep, len(s))
	}
	for i := range w.lastID {
		w.lastID[i] = backend.NoTokenID
	}
	return w
}

func (w *stopWitness) add(i int, text string, toks []backend.Token) {
	if w == nil {
		return
	}
	w.text[i] = keepTail(w.text[i], text, w.keep)
	for _, t := range toks {
		w.toks[i] = keepTail(w.toks[i], t.Text, w.keep)
		w.lastID[i] = t.ID
	}
}

// keepTail appends s to buf and keeps the last n bytes.
func keepTail(buf []byte, s string, n int) []byte {
	if n == 0 {
		return buf
	}
	buf = append(buf, s...)
	if len(buf) > n {
		copy(buf, buf[len(buf)-n:])
		buf = buf[:n]
	}
	return buf
}

// evidence is the one requested stop that sample i ends with, or nothing (unknown) when
// none does or more than one could have (stop strings "##" and "###" both end "a###").
func (w *stopWitness) evidence(i int) backend.StoppedBy {
	if w == nil {
		return backend.StoppedBy{}
	}
	var found []backend.StoppedBy
	for _, s := range w.stop.Strings {
		if s != "" && (bytes.HasSuffix(w.text[i], []byte(s)) || bytes.HasSuffix(w.toks[i], []byte(s))) {
			found = append(found, backend.StoppedBy{Kind: backend.StoppedByString, String: s})
		}
	}
	if id := w.lastID[i]; id != backend.NoTokenID && slices.Contains(w.stop.TokenIDs, int(id)) {
		found = append(found, backend.StoppedBy{Kind: backend.StoppedByToken, TokenID: int(id)})
	}
	if len(found) != 1 {
		return backend.StoppedBy{}
	}
	return found[0]
}

// ---------------------------------------------------------------------------------------
// Prompt logprobs
// ---------------------------------------------------------------------------------------

// promptLogprobs fetches the prompt's logprobs with a non-streamed request (vLLM refuses
// prompt_logprobs on a stream): max_tokens 1, n 1, return_token_ids so the prompt token
// can be told from its alternatives.
func (c *Client) promptLogprobs(ctx context.Context, req backend.Request, model string, pl plan, em *backend.Emitter) {
	fail := func(err error) {
		e := toError(ctx, err)
		if e.Kind == backend.KindCancelled {
			return
		}
		e2 := *e
		e2.Message = "prompt logprobs: " + e.Message
		em.Emit(backend.Event{Kind: backend.EventError, Sample: pl.first, Count: pl.count, Err: &e2})
	}
	p := pl.params
	one := 1
	p.MaxTokens = &one
	o := params.Options{N: 1, PromptLogprobs: pl.promptK}
	fields, err := requestFields(req, model, p, o, false)
	if err != nil {
		fail(err)
		return
	}
	body, err := json.Marshal(fields.Set("return_token_ids", true))
	if err != nil {
		fail(err)
		return
	}
	resp, err := c.do(ctx, http.MethodPost, pl.path, body, c.cfg.FirstTokenTimeout, nil)
	if err != nil {
		fail(err)
		return
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		fail(err)
		return
	}
	var positions []wire.PromptPosition
	var ids []int
	if pl.chat {
		var r wire.ChatResponse
		if err := json.Unmarshal(raw, &r); err != nil {
			fail(&backend.Error{Kind: backend.KindProtocol, Message: "response is not a chat completion: " + err.Error()})
			return
		}
		positions, ids = r.PromptLogprobs, r.PromptTokenIDs
	} else {
		var r wire.CompletionResponse
		if err := json.Unmarshal(raw, &r); err != nil || len(r.Choices) == 0 {
			fail(&backend.Error{Kind: backend.KindProtocol, Message: "response is not a completion with choices"})
			return
		}
		positions, ids = r.Choices[0].PromptLogprobs, r.Choices[0].PromptTokenIDs
	}
	if positions == nil {
		fail(&backend.Error{Kind: backend.KindProtocol, Message: "the server returned no prompt_logprobs (is it vLLM?)"})
		return
	}
	var prompt *string
	if !pl.chat {
		// The chat template's text is the server's; only a raw prompt can be matched.
		sent := req.SentPrompt()
		prompt = &sent
	}
	toks, align := promptTokens(positions, ids, *pl.promptK, prompt)
	em.Emit(backend.Event{Kind: backend.EventPromptLogprobs, Sample: pl.first, Count: pl.count, PromptTokens: toks, PromptAlignment: align})
}

// ---------------------------------------------------------------------------------------
// Chunk decoding
// ---------------------------------------------------------------------------------------

// decodedChoice is what one choice of a chunk contributes.
type decodedChoice struct {
	index  int
	text   string
	delta  deltaKeys // chat: the thinking, and which text keys the delta set
	tokens []backend.Token
	finish string
	stop   wire.StopReason
	// promptIDs: the prompt's token ids, which return_token_ids sends once per choice.
	promptIDs []backend.TokenID
}

// The decoder reads chunks into these rather than the wire types: they leave out what
// the client does not use (ids, timestamps, the "bytes" arrays, text_offset), which
// encoding/json then skips without allocating. Logprobs are read as logprobIn so a null
// or missing value reads as unknown rather than as 0 (certainty); content and
// finish_reason as plain strings, since null, missing and "" all mean none to the client.
type chatChunkIn struct {
	Choices        []chatChoiceIn `json:"choices"`
	Usage          *wire.Usage    `json:"usage"`
	PromptTokenIDs []int          `json:"prompt_token_ids"`
}

type chatChoiceIn struct {
	Index int `json:"index"`
	Delta struct {
		Content          textIn `json:"content"`
		Reasoning        textIn `json:"reasoning"`
		ReasoningContent textIn `json:"reasoning_content"`
	} `json:"delta"`
	Logprobs *struct {
		Content []chatLogprobIn `json:"content"`
	} `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
	StopReason   wire.StopReason `json:"stop_reason"`
	TokenIDs     []int           `json:"token_ids"`
}

type chatLogprobIn struct {
	Token       string    `json:"token"`
	Logprob     logprobIn `json:"logprob"`
	TopLogprobs []topLPIn `json:"top_logprobs"`
}

type topLPIn struct {
	Token   string    `json:"token"`
	Logprob logprobIn `json:"logprob"`
}

type completionChunkIn struct {
	Choices []completionChoiceIn `json:"choices"`
	Usage   *wire.Usage          `json:"usage"`
}

type completionChoiceIn struct {
	Index    int    `json:"index"`
	Text     string `json:"text"`
	Logprobs *struct {
		TokenLogprobs []logprobIn   `json:"token_logprobs"`
		Tokens        []string      `json:"tokens"`
		TopLogprobs   []wire.TopMap `json:"top_logprobs"`
	} `json:"logprobs"`
	FinishReason   string          `json:"finish_reason"`
	StopReason     wire.StopReason `json:"stop_reason"`
	TokenIDs       []int           `json:"token_ids"`
	PromptTokenIDs []int           `json:"prompt_token_ids"`
	// Processed is the built-in model's extension (wire.ProcessedLogprobs).
	Processed *struct {
		TokenLogprobs []json.RawMessage `json:"token_logprobs"`
		TopLogprobs   []wire.TopMap     `json:"top_logprobs"`
	} `json:"twinkle_processed_logprobs"`
}

// logprobIn is a logprob as a chunk carries it. Unlike a *float64 it costs no allocation
// per value (a chat chunk holds 1+K of them per token); the zero value, a missing field,
// reads as unknown, as does null.
type logprobIn struct {
	v   backend.Logprob
	set bool
}

func (l *logprobIn) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = logprobIn{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("logprob: want a number, got %.40s", b)
	}
	*l = logprobIn{backend.LogprobFromWire(v), true}
	return nil
}

func (l logprobIn) logprob() backend.Logprob {
	if !l.set {
		return backend.Unknown()
	}
	return l.v
}

// decoder turns chunks into choices, interning token strings so a long stream retains
// one copy of each distinct token text, and cutting alternatives from a shared slab.
type decoder struct {
	chat     bool
	logprobs bool
	choices  []decodedChoice
	usage    *backend.Usage
	strs     map[string]string
	alts     []backend.Alt // slab the Top slices are cut from
}

func newDecoder(chat, logprobs bool) *decoder {
	return &decoder{chat: chat, logprobs: logprobs, strs: make(map[string]string, 1024)}
}

// maxInterned caps the intern table against a hostile stream of unique strings.
const maxInterned = 1 << 17

func (d *decoder) intern(s string) string {
	if v, ok := d.strs[s]; ok {
		return v
	}
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// topSlab returns a slice of n Alts cut from a shared slab, so a token's alternatives cost
// no allocation of their own.
func (d *decoder) topSlab(n int) []backend.Alt {
	if n == 0 {
		return nil
	}
	if cap(d.alts)-len(d.alts) < n {
		d.alts = make([]backend.Alt, 0, max(1024, n))
	}
	s := d.alts[len(d.alts) : len(d.alts)+n : len(d.alts)+n]
	d.alts = d.alts[:len(d.alts)+n]
	return s
}

func toUsage(u *wire.Usage) *backend.Usage {
	if u == nil {
		return nil
	}
	return &backend.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

func (d *decoder) decode(data []byte) error {
	d.choices = d.choices[:0]
	if d.chat {
		// A fresh value each chunk: encoding/json does not zero reused slice elements, so a
		// field missing from this chunk would keep the last chunk's value.
		var c chatChunkIn
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("a chunk is not a chat completion chunk: %w", err)
		}
		d.usage = toUsage(c.Usage)
		for i := range c.Choices {
			ch := &c.Choices[i]
			dc := decodedChoice{index: ch.Index, text: ch.Delta.Content.s, finish: ch.FinishReason, stop: ch.StopReason, promptIDs: tokenIDs(c.PromptTokenIDs),
				delta: keysOf(ch.Delta.Content, ch.Delta.Reasoning, ch.Delta.ReasoningContent)}
			if d.logprobs && ch.Logprobs != nil {
				entries := ch.Logprobs.Content
				dc.tokens = make([]backend.Token, len(entries))
				for j := range entries {
					e := &entries[j]
					t := backend.Token{Text: d.intern(e.Token), Logprob: e.Logprob.logprob(), ID: backend.NoTokenID}
					if len(ch.TokenIDs) == len(entries) {
						t.ID = backend.TokenID(ch.TokenIDs[j])
					}
					t.Top = d.topSlab(len(e.TopLogprobs))
					for k := range e.TopLogprobs {
						t.Top[k] = backend.Alt{Text: d.intern(e.TopLogprobs[k].Token), Logprob: e.TopLogprobs[k].Logprob.logprob()}
					}
					sortAlts(t.Top)
					dc.tokens[j] = t
				}
			}
			d.choices = append(d.choices, dc)
		}
		return nil
	}
	var c completionChunkIn
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("a chunk is not a completion chunk: %w", err)
	}
	d.usage = toUsage(c.Usage)
	for i := range c.Choices {
		ch := &c.Choices[i]
		dc := decodedChoice{index: ch.Index, text: ch.Text, finish: ch.FinishReason, stop: ch.StopReason, promptIDs: tokenIDs(ch.PromptTokenIDs)}
		if d.logprobs && ch.Logprobs != nil {
			l := ch.Logprobs
			dc.tokens = make([]backend.Token, len(l.Tokens))
			for j, text := range l.Tokens {
				t := backend.Token{Text: d.intern(text), Logprob: backend.Unknown(), ID: backend.NoTokenID}
				if j < len(l.TokenLogprobs) {
					t.Logprob = l.TokenLogprobs[j].logprob()
				}
				if len(ch.TokenIDs) == len(l.Tokens) {
					t.ID = backend.TokenID(ch.TokenIDs[j])
				}
				if j < len(l.TopLogprobs) {
					top := l.TopLogprobs[j]
					t.Top = d.topSlab(len(top))
					for k, e := range top {
						t.Top[k] = backend.Alt{Text: d.intern(e.Token), Logprob: backend.LogprobFromWire(e.Logprob)}
					}
					sortAlts(t.Top)
				}
				if pr := ch.Processed; pr != nil && j < len(pr.TokenLogprobs) {
					var top wire.TopMap
					if j < len(pr.TopLogprobs) {
						top = pr.TopLogprobs[j]
					}
					p, err := processedOf(pr.TokenLogprobs[j], top, t.Top)
					if err != nil {
						return err
					}
					t.Processed = p
				}
				dc.tokens[j] = t
			}
		}
		d.choices = append(d.choices, dc)
	}
	return nil
}

// tokenIDs converts a chunk's ids; nil stays nil (not sent, or null).
func tokenIDs(ids []int) []backend.TokenID {
	if ids == nil {
		return nil
	}
	out := make([]backend.TokenID, len(ids))
	for i, id := range ids {
		out[i] = backend.TokenID(id)
	}
	return out
}

// processedOf reads one token's entry of the built-in model's processed logprobs: its
// value, and each alternative's by its text (the server keys them as it keys the raw
// ones). An entry with no value (an echoed prompt token) gives none.
func processedOf(raw json.RawMessage, top wire.TopMap, alts []backend.Alt) (*backend.Processed, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	lp, err := backend.ProcessedFromJSON(raw)
	if err != nil {
		return nil, err
	}
	p := &backend.Processed{Logprob: lp}
	if len(alts) > 0 {
		p.Top = make([]backend.Logprob, len(alts))
		for i, a := range alts {
			p.Top[i] = backend.Unknown()
			for _, e := range top {
				if e.Token == a.Text {
					p.Top[i] = backend.ProcessedFromWire(e.Logprob)
					break
				}
			}
		}
	}
	return p, nil
}

// sortAlts sorts by logprob, highest first, unknown last; stable, so equal values keep the
// server's order. Insertion sort: K is at most 20 and usually nearly sorted.
func sortAlts(a []backend.Alt) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && altLess(x, a[j-1]) {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}

func altLess(x, y backend.Alt) bool {
	if !x.Logprob.Known() {
		return false
	}
	if !y.Logprob.Known() {
		return true
	}
	return x.Logprob > y.Logprob
}
