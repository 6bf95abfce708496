package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// ServerOptions tune the HTTP server. The zero value is usable.
type ServerOptions struct {
	// MaxConcurrent is how many generations run at once; more wait their
	// turn (0: 1, since one generation already uses every core).
	MaxConcurrent int
	// MaxN caps n (0: params.MaxSamples).
	MaxN int
}

// ChatTemplate documents how /v1/chat/completions turns messages into a
// prompt: every message as "<|role|>\ncontent\n", then "<|assistant|>\n"
// for the reply. The markers are ordinary text to this model (it was
// trained on Go source, not chats), so chat mode is a way to see the same
// sampling knobs behind the chat API rather than a chat model.
const ChatTemplate = `{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}<|assistant|>\n`

// RenderChat applies ChatTemplate.
func RenderChat(msgs []wire.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|" + m.Role + "|>\n" + m.Content + "\n")
	}
	b.WriteString("<|assistant|>\n")
	return b.String()
}

type server struct {
	m    *Model
	opts ServerOptions
	sem  chan struct{}
	mux  *http.ServeMux
	born int64
}

// NewServer serves m over vLLM's OpenAI-compatible API: /v1/models,
// /v1/completions, /v1/chat/completions, /tokenize, /detokenize and
// /health.
func NewServer(m *Model, opts ServerOptions) http.Handler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.MaxN <= 0 {
		opts.MaxN = params.MaxSamples
	}
	s := &server{m: m, opts: opts, sem: make(chan struct{}, opts.MaxConcurrent), mux: http.NewServeMux(), born: time.Now().Unix()}
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, false) })
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, true) })
	s.mux.HandleFunc("POST /tokenize", s.tokenize)
	s.mux.HandleFunc("POST /detokenize", s.detokenize)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Unknown routes and methods get vLLM-shaped JSON errors, not Go's text.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		status, typ := http.StatusNotFound, "NotFoundError"
		if s.servesPath(r) {
			status, typ = http.StatusMethodNotAllowed, "MethodNotAllowed"
		}
		writeError(w, status, typ, fmt.Sprintf("%s %s is not served here", r.Method, r.URL.Path), nil)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// servesPath reports whether r's path is routed for another method (every
// route is a GET or a POST).
func (s *server) servesPath(r *http.Request) bool {
	probe := *r
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := wire.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = wire.Marshal(wire.NewErrorBody(status, "InternalServerError", err.Error(), nil))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, msg string, param *string) {
	writeJSON(w, status, wire.NewErrorBody(status, typ, msg, param))
}

func badRequest(w http.ResponseWriter, msg, param string) {
	var p *string
	if param != "" {
		p = &param
	}
	writeError(w, http.StatusBadRequest, "BadRequestError", msg, p)
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.ModelList{Object: "list", Data: []wire.ModelCard{{
		ID: s.m.Name, Object: "model", Created: s.born, OwnedBy: "twinkle", Root: s.m.Name, MaxModelLen: s.m.Config.MaxSeqLen,
	}}})
}

// readBody decodes a JSON request body; a body that is not JSON is a 400.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		badRequest(w, "could not read the request body: "+err.Error(), "")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		badRequest(w, "request body is not valid JSON for this endpoint: "+err.Error(), "")
		return false
	}
	return true
}

func (s *server) checkModel(w http.ResponseWriter, name string) bool {
	if name != "" && name != s.m.Name {
		p := "model"
		writeError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("The model `%s` does not exist.", name), &p)
		return false
	}
	return true
}

// plan is a validated request.
type plan struct {
	chat       bool
	stream     bool
	usage      bool
	tokenIDs   bool
	echo       bool
	promptText string
	promptIDs  []int
	req        Request
	logprobsK  int // -1: none
	// promptLogprobsK is prompt_logprobs as asked (-1: none); the engine
	// may compute more for echo.
	promptLogprobsK int
	model           string
}

// parse validates a generation request the way vLLM does and returns the
// engine request. On failure it writes the 400 and returns nil.
func (s *server) parse(w http.ResponseWriter, wr *wire.Request, chat bool) *plan {
	p := &plan{chat: chat, stream: wr.Stream, echo: wr.Echo && !chat, tokenIDs: wr.ReturnTokenIDs, model: s.m.Name}
	if chat {
		if len(wr.Messages) == 0 {
			badRequest(w, "messages must hold at least one message", "messages")
			return nil
		}
		p.promptText = RenderChat(wr.Messages)
	} else if ids, ok := promptIDs(wr.Prompt); ok {
		// vLLM also takes a prompt as token ids.
		p.promptIDs = ids
		b, err := s.m.Tok.Decode(ids, false)
		if err != nil {
			badRequest(w, err.Error(), "prompt")
			return nil
		}
		p.promptText = lossyUTF8(b)
	} else {
		t, err := wr.PromptText()
		if err != nil {
			badRequest(w, err.Error(), "prompt")
			return nil
		}
		p.promptText = t
	}
	sp := params.Default()
	sp.TopK = 0 // vLLM's default when generation_config says nothing
	if wr.Temperature != nil {
		sp.Temperature = *wr.Temperature
	}
	if wr.TopP != nil {
		sp.TopP = *wr.TopP
	}
	if wr.TopK != nil {
		sp.TopK = *wr.TopK
	}
	if wr.RepetitionPenalty != nil {
		sp.RepetitionPenalty = *wr.RepetitionPenalty
	}
	sp.MaxTokens = wr.MaxTokens
	sp.Seed = wr.Seed
	stops, err := wr.StopStrings()
	if err != nil {
		badRequest(w, err.Error(), "stop")
		return nil
	}
	sp.Stop.Strings = stops
	sp.Stop.TokenIDs = wr.StopTokenIDs
	if err := sp.Validate(); err != nil {
		var es params.Errors
		if errors.As(err, &es) && len(es) > 0 {
			badRequest(w, es[0].Field+" "+es[0].Msg, es[0].Field)
		} else {
			badRequest(w, err.Error(), "")
		}
		return nil
	}
	n := 1
	if wr.N != nil {
		n = *wr.N
	}
	switch {
	case n < 1:
		badRequest(w, fmt.Sprintf("n must be at least 1, got %d.", n), "n")
		return nil
	case n > s.opts.MaxN:
		badRequest(w, fmt.Sprintf("n must be at most %d on this server, got %d.", s.opts.MaxN, n), "n")
		return nil
	case n > 1 && sp.IsGreedy():
		badRequest(w, fmt.Sprintf("n must be 1 when using greedy sampling, got %d.", n), "n")
		return nil
	}
	minP, pres, freq := 0.0, 0.0, 0.0
	if wr.MinP != nil {
		minP = *wr.MinP
	}
	if wr.PresencePenalty != nil {
		pres = *wr.PresencePenalty
	}
	if wr.FrequencyPenalty != nil {
		freq = *wr.FrequencyPenalty
	}
	switch {
	case !(minP >= 0 && minP <= 1):
		badRequest(w, fmt.Sprintf("min_p must be in [0, 1], got %v.", minP), "min_p")
		return nil
	case !(pres >= -2 && pres <= 2):
		badRequest(w, fmt.Sprintf("presence_penalty must be in [-2, 2], got %v.", pres), "presence_penalty")
		return nil
	case !(freq >= -2 && freq <= 2):
		badRequest(w, fmt.Sprintf("frequency_penalty must be in [-2, 2], got %v.", freq), "frequency_penalty")
		return nil
	}
	minTokens := 0
	if wr.MinTokens != nil {
		minTokens = *wr.MinTokens
		if minTokens < 0 || (sp.MaxTokens != nil && minTokens > *sp.MaxTokens) {
			badRequest(w, fmt.Sprintf("min_tokens must be in [0, max_tokens], got %d.", minTokens), "min_tokens")
			return nil
		}
	}
	if wr.StreamOptions != nil && !wr.Stream {
		badRequest(w, "Stream options can only be defined when `stream=True`.", "stream_options")
		return nil
	}
	p.usage = wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage
	if chat && wr.TopLogprobs != nil && *wr.TopLogprobs < 0 {
		badRequest(w, "`top_logprobs` must be a positive value.", "top_logprobs")
		return nil
	}
	k, err := wr.LogprobsK(chat)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "top_logprobs") {
			msg = "when using `top_logprobs`, `logprobs` must be set to true."
		}
		badRequest(w, msg, "logprobs")
		return nil
	}
	p.logprobsK = -1
	if k != nil {
		if *k < 0 {
			badRequest(w, "`logprobs` must be a positive value.", "logprobs")
			return nil
		}
		if *k > MaxLogprobs {
			badRequest(w, fmt.Sprintf("Requested sample logprobs of %d, which is greater than max allowed: %d", *k, MaxLogprobs), "logprobs")
			return nil
		}
		p.logprobsK = *k
	}
	promptLP := -1
	if wr.PromptLogprobs != nil {
		if wr.Stream {
			badRequest(w, "`prompt_logprobs` are not available when `stream=True`.", "prompt_logprobs")
			return nil
		}
		if *wr.PromptLogprobs < 0 && *wr.PromptLogprobs != -1 {
			badRequest(w, fmt.Sprintf("`prompt_logprobs` must be a positive value or -1, got %d.", *wr.PromptLogprobs), "prompt_logprobs")
			return nil
		}
		promptLP = *wr.PromptLogprobs
		if promptLP == -1 {
			promptLP = MaxLogprobs
		}
		if promptLP > MaxLogprobs {
			badRequest(w, fmt.Sprintf("Requested prompt logprobs of %d, which is greater than max allowed: %d", promptLP, MaxLogprobs), "prompt_logprobs")
			return nil
		}
	}
	p.promptLogprobsK = promptLP
	echoLP := -1
	if p.echo && p.logprobsK >= 0 {
		echoLP = p.logprobsK
	}
	if p.promptIDs == nil {
		// A prompt this long cannot fit the context: refuse before encoding it.
		if limit := s.m.Tok.MaxTokenLen() * s.m.Config.MaxSeqLen; len(p.promptText) > limit {
			badRequest(w, fmt.Sprintf("This model's maximum context length is %d tokens. However, your request has more than %d input tokens (%d bytes). Please reduce the length of the input messages.", s.m.Config.MaxSeqLen, len(p.promptText)/s.m.Tok.MaxTokenLen(), len(p.promptText)), "prompt")
			return nil
		}
		p.promptIDs = s.m.Tok.Encode(p.promptText)
	}
	p.req = Request{
		Prompt: p.promptIDs,
		N:      n,
		Sampling: Sampling{
			Temperature: sp.Temperature, TopK: sp.TopK, TopP: sp.TopP, MinP: minP,
			RepetitionPenalty: sp.RepetitionPenalty, PresencePenalty: pres, FrequencyPenalty: freq, Seed: sp.Seed,
		},
		MinTokens:      minTokens,
		Stop:           stops,
		StopTokenIDs:   wr.StopTokenIDs,
		IncludeStopStr: wr.IncludeStopStrInOutput,
		IgnoreEOS:      wr.IgnoreEOS,
		Logprobs:       p.logprobsK,
		PromptLogprobs: max(promptLP, echoLP),
	}
	if sp.Seed != nil && *sp.Seed == -1 {
		p.req.Sampling.Seed = nil // vLLM: -1 means random
	}
	if sp.MaxTokens != nil {
		p.req.MaxTokens = *sp.MaxTokens
	} else if !chat {
		p.req.MaxTokens = 16 // vLLM's completions default
	}
	if err := s.m.Check(&p.req); err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			badRequest(w, re.Msg, re.Param)
		} else {
			badRequest(w, err.Error(), "")
		}
		return nil
	}
	if sp.MaxTokens != nil && len(p.req.Prompt)+*sp.MaxTokens > s.m.Config.MaxSeqLen {
		// vLLM refuses a max_tokens that cannot fit; here the sample simply
		// ends with "length" at the context limit, which suits a playground
		// whose slider may exceed a small model's context.
		p.req.MaxTokens = 0
	}
	// With prompt logprobs only for echo, the response must not carry them.
	if promptLP < 0 {
		p.req.PromptLogprobs = echoLP
	}
	return p
}

// promptIDs reads a prompt given as token ids ([1,2,3] or [[1,2,3]]).
func promptIDs(raw json.RawMessage) ([]int, bool) {
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return ids, true
	}
	var nested [][]int
	if json.Unmarshal(raw, &nested) == nil && len(nested) == 1 && len(nested[0]) > 0 {
		return nested[0], true
	}
	return nil, false
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }

func (s *server) generate(w http.ResponseWriter, r *http.Request, chat bool) {
	var wr wire.Request
	if !readBody(w, r, &wr) || !s.checkModel(w, wr.Model) {
		return
	}
	p := s.parse(w, &wr, chat)
	if p == nil {
		return
	}
	if wr.Model != "" {
		p.model = wr.Model
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return
	}
	if p.stream {
		s.stream(ctx, cancel, w, p)
		return
	}
	res, err := s.m.Generate(ctx, p.req, func(Delta) {})
	if err != nil {
		if ctx.Err() == nil {
			writeError(w, http.StatusInternalServerError, "InternalServerError", err.Error(), nil)
		}
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	usage := &wire.Usage{PromptTokens: len(p.req.Prompt)}
	for _, smp := range res.Samples {
		usage.CompletionTokens += len(smp.TokenIDs)
	}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	var promptLPs []wire.PromptPosition
	if wr.PromptLogprobs != nil {
		promptLPs = s.promptPositions(res.PromptLogprobs, p.promptLogprobsK)
	}
	if chat {
		resp := wire.ChatResponse{ID: "chat" + id, Object: "chat.completion", Created: created, Model: p.model, Usage: usage, PromptLogprobs: promptLPs}
		if p.tokenIDs {
			resp.PromptTokenIDs = p.req.Prompt
		}
		for i, smp := range res.Samples {
			c := wire.ChatChoice{Index: i, Message: wire.Message{Role: "assistant", Content: smp.Text}, FinishReason: ptr(smp.Finish), StopReason: stopReason(smp.StopReason)}
			if p.logprobsK >= 0 {
				c.Logprobs = &wire.ChatLogprobs{Content: []wire.ChatLogprob{}}
				for _, tl := range smp.Logprobs {
					c.Logprobs.Content = append(c.Logprobs.Content, s.chatLogprob(tl, p.logprobsK))
				}
			}
			if p.tokenIDs {
				c.TokenIDs = wire.Some(smp.TokenIDs)
			} else {
				c.TokenIDs = wire.Null[[]int]()
			}
			resp.Choices = append(resp.Choices, c)
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	resp := wire.CompletionResponse{ID: id, Object: "text_completion", Created: created, Model: p.model, Usage: usage}
	for i, smp := range res.Samples {
		c := wire.CompletionChoice{Index: i, Text: smp.Text, FinishReason: ptr(smp.Finish), StopReason: stopReason(smp.StopReason), PromptLogprobs: promptLPs}
		if p.echo {
			c.Text = p.promptText + c.Text
		}
		if p.logprobsK >= 0 {
			lp := &wire.CompletionLogprobs{TextOffset: []int{}, TokenLogprobs: []*float64{}, Tokens: []string{}, TopLogprobs: []wire.TopMap{}}
			off := 0
			if p.echo {
				off = s.appendPromptCompletionLogprobs(lp, p.req.Prompt, res.PromptLogprobs, p.logprobsK)
			}
			for _, tl := range smp.Logprobs {
				off = s.appendCompletionLogprob(lp, tl, p.logprobsK, off)
			}
			c.Logprobs = lp
		}
		if p.tokenIDs {
			c.TokenIDs = wire.Some(smp.TokenIDs)
			c.PromptTokenIDs = p.req.Prompt
		} else {
			c.TokenIDs = wire.Null[[]int]()
		}
		resp.Choices = append(resp.Choices, c)
	}
	writeJSON(w, http.StatusOK, resp)
}

func stopReason(v any) wire.StopReason {
	switch x := v.(type) {
	case string:
		return wire.StopString(x)
	case int:
		return wire.StopToken(x)
	}
	return wire.StopNull()
}

// wireLogprob clamps -inf to vLLM's -9999.0.
func wireLogprob(v float32) float64 {
	return math.Max(float64(v), -9999)
}

func (s *server) tokenBytes(text string) []int {
	b := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		b[i] = int(text[i])
	}
	return b
}

// chatLogprob builds one chat entry: top_logprobs lists the sampled token
// first, then the best alternatives, k entries in all (vLLM's order).
func (s *server) chatLogprob(tl TokenLogprob, k int) wire.ChatLogprob {
	text := s.m.Tok.TokenText(tl.ID)
	e := wire.ChatLogprob{Token: text, Logprob: wireLogprob(tl.Logprob), Bytes: s.tokenBytes(text), TopLogprobs: []wire.ChatTopLogprob{}}
	if k == 0 {
		return e
	}
	e.TopLogprobs = append(e.TopLogprobs, wire.ChatTopLogprob{Token: text, Logprob: e.Logprob, Bytes: e.Bytes})
	for _, t := range tl.Top {
		if len(e.TopLogprobs) == k {
			break
		}
		if t.ID == tl.ID {
			continue
		}
		tt := s.m.Tok.TokenText(t.ID)
		e.TopLogprobs = append(e.TopLogprobs, wire.ChatTopLogprob{Token: tt, Logprob: wireLogprob(t.Logprob), Bytes: s.tokenBytes(tt)})
	}
	return e
}

// topMap is the completions top_logprobs object: the sampled token, then
// the top k, keyed by text (ids that decode alike collapse into the first
// key, holding the last value, as a Python dict does).
func (s *server) topMap(tl TokenLogprob, k int) wire.TopMap {
	m := wire.TopMap{}
	put := func(id int, lp float32) {
		key := s.m.Tok.TokenText(id)
		for i := range m {
			if m[i].Token == key {
				m[i].Logprob = wireLogprob(lp)
				return
			}
		}
		m = append(m, wire.TokenLogprob{Token: key, Logprob: wireLogprob(lp)})
	}
	put(tl.ID, tl.Logprob)
	for i, t := range tl.Top {
		if i >= k {
			break
		}
		if t.ID != tl.ID {
			put(t.ID, t.Logprob)
		}
	}
	return m
}

func (s *server) appendCompletionLogprob(lp *wire.CompletionLogprobs, tl TokenLogprob, k, off int) int {
	text := s.m.Tok.TokenText(tl.ID)
	lp.TextOffset = append(lp.TextOffset, off)
	lp.TokenLogprobs = append(lp.TokenLogprobs, ptr(wireLogprob(tl.Logprob)))
	lp.Tokens = append(lp.Tokens, text)
	lp.TopLogprobs = append(lp.TopLogprobs, s.topMap(tl, k))
	return off + utf8.RuneCountInString(text)
}

// appendPromptCompletionLogprobs adds the prompt's tokens for echo: the
// first has a null logprob and null top_logprobs.
func (s *server) appendPromptCompletionLogprobs(lp *wire.CompletionLogprobs, prompt []int, plp []*TokenLogprob, k int) int {
	off := 0
	for i, id := range prompt {
		if i == 0 || i >= len(plp) || plp[i] == nil {
			text := s.m.Tok.TokenText(id)
			lp.TextOffset = append(lp.TextOffset, off)
			lp.TokenLogprobs = append(lp.TokenLogprobs, nil)
			lp.Tokens = append(lp.Tokens, text)
			lp.TopLogprobs = append(lp.TopLogprobs, nil)
			off += utf8.RuneCountInString(text)
			continue
		}
		off = s.appendCompletionLogprob(lp, *plp[i], k, off)
	}
	return off
}

// promptPositions is vLLM's prompt_logprobs: null for the first token, then
// {id: {logprob, rank, decoded_token}} with the prompt token first.
func (s *server) promptPositions(plp []*TokenLogprob, k int) []wire.PromptPosition {
	out := make([]wire.PromptPosition, len(plp))
	for i, tl := range plp {
		if tl == nil {
			continue
		}
		pos := wire.PromptPosition{{TokenID: tl.ID, Logprob: wireLogprob(tl.Logprob), Rank: ptr(tl.Rank), DecodedToken: ptr(s.m.Tok.TokenText(tl.ID))}}
		for r, t := range tl.Top {
			if r >= k {
				break
			}
			if t.ID == tl.ID {
				continue
			}
			pos = append(pos, wire.PromptLogprob{TokenID: t.ID, Logprob: wireLogprob(t.Logprob), Rank: ptr(r + 1), DecodedToken: ptr(s.m.Tok.TokenText(t.ID))})
		}
		out[i] = pos
	}
	return out
}

// stream answers with server-sent events, one chunk per generated token.
func (s *server) stream(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, p *plan) {
	sse := wire.NewSSEWriter(w)
	w.WriteHeader(http.StatusOK)
	created := time.Now().Unix()
	id := newID("cmpl-")
	if p.chat {
		id = "chat" + id
	}
	var werr error
	send := func(v any) {
		if werr != nil {
			return
		}
		if werr = sse.JSON(v); werr != nil {
			cancel() // the client is gone: stop generating
		}
	}
	completion := 0
	offsets := make([]int, p.req.N)
	if p.chat {
		for i := 0; i < p.req.N; i++ {
			c := wire.ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: p.model,
				Choices: []wire.ChatChunkChoice{{Index: i, Delta: wire.Delta{Role: "assistant", Content: wire.Some("")}}}}
			if p.tokenIDs {
				c.PromptTokenIDs = wire.Some(p.req.Prompt)
			} else {
				c.PromptTokenIDs = wire.Null[[]int]()
			}
			send(c)
		}
	}
	first := make([]bool, p.req.N)
	var promptLP []*TokenLogprob
	p.req.OnPrefill = func(plp []*TokenLogprob) { promptLP = plp }
	emit := func(d Delta) {
		completion++
		var finish *string
		if d.Finish != "" {
			finish = ptr(d.Finish)
		}
		if p.chat {
			ch := wire.ChatChunkChoice{Index: d.Index, Delta: wire.Delta{Content: wire.Some(d.Text)}, FinishReason: finish}
			if d.Logprob != nil {
				ch.Logprobs = &wire.ChatLogprobs{Content: []wire.ChatLogprob{s.chatLogprob(*d.Logprob, p.logprobsK)}}
			}
			if finish != nil {
				ch.StopReason = stopReason(d.StopReason)
			}
			if p.tokenIDs {
				ch.TokenIDs = wire.Some([]int{d.TokenID})
			} else {
				ch.TokenIDs = wire.Null[[]int]()
			}
			send(wire.ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: p.model, Choices: []wire.ChatChunkChoice{ch}})
			return
		}
		ch := wire.CompletionChunkChoice{Index: d.Index, Text: d.Text, FinishReason: finish, StopReason: stopReason(d.StopReason)}
		var lp *wire.CompletionLogprobs
		if d.Logprob != nil {
			lp = &wire.CompletionLogprobs{TextOffset: []int{}, TokenLogprobs: []*float64{}, Tokens: []string{}, TopLogprobs: []wire.TopMap{}}
			ch.Logprobs = lp
		}
		ids := []int{d.TokenID}
		if !first[d.Index] {
			// vLLM folds the echoed prompt into each choice's first chunk.
			first[d.Index] = true
			if p.echo {
				ch.Text = p.promptText + ch.Text
				ids = append(append([]int(nil), p.req.Prompt...), d.TokenID)
				if lp != nil {
					s.appendPromptCompletionLogprobs(lp, p.req.Prompt, promptLP, p.logprobsK)
				}
			}
			if p.tokenIDs {
				ch.PromptTokenIDs = wire.Some(p.req.Prompt)
			}
		}
		if lp != nil {
			// As vLLM: the chunk's first offset is the length (in characters)
			// of the text already sent, then each token's length.
			off := offsets[d.Index]
			if n := len(lp.TextOffset); n > 0 {
				off = lp.TextOffset[n-1] + utf8.RuneCountInString(lp.Tokens[n-1])
			}
			s.appendCompletionLogprob(lp, *d.Logprob, p.logprobsK, off)
		}
		offsets[d.Index] += utf8.RuneCountInString(ch.Text)
		if p.tokenIDs {
			ch.TokenIDs = wire.Some(ids)
		} else {
			ch.TokenIDs = wire.Null[[]int]()
		}
		send(wire.CompletionChunk{ID: id, Object: "text_completion", Created: created, Model: p.model, Choices: []wire.CompletionChunkChoice{ch}})
	}
	_, err := s.m.Generate(ctx, p.req, emit)
	if werr != nil || ctx.Err() != nil {
		return
	}
	if err != nil {
		sse.JSON(wire.NewErrorBody(http.StatusInternalServerError, "InternalServerError", err.Error(), nil))
		sse.Done()
		return
	}
	if p.usage {
		u := &wire.Usage{PromptTokens: len(p.req.Prompt), CompletionTokens: completion, TotalTokens: len(p.req.Prompt) + completion}
		if p.chat {
			send(wire.ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: p.model, Choices: []wire.ChatChunkChoice{}, Usage: u})
		} else {
			send(wire.CompletionChunk{ID: id, Object: "text_completion", Created: created, Model: p.model, Choices: []wire.CompletionChunkChoice{}, Usage: u})
		}
	}
	if werr == nil {
		sse.Done()
	}
}

type tokenizeRequest struct {
	Model               string         `json:"model"`
	Prompt              *string        `json:"prompt"`
	Messages            []wire.Message `json:"messages"`
	AddGenerationPrompt *bool          `json:"add_generation_prompt"`
	ReturnTokenStrs     bool           `json:"return_token_strs"`
}

type tokenizeResponse struct {
	Count       int      `json:"count"`
	MaxModelLen int      `json:"max_model_len"`
	Tokens      []int    `json:"tokens"`
	TokenStrs   []string `json:"token_strs"`
}

// tokenize is vLLM's /tokenize: a prompt, or messages rendered with the
// chat template.
func (s *server) tokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if !readBody(w, r, &req) || !s.checkModel(w, req.Model) {
		return
	}
	var text string
	switch {
	case req.Prompt != nil:
		text = *req.Prompt
	case req.Messages != nil:
		text = RenderChat(req.Messages)
		if req.AddGenerationPrompt != nil && !*req.AddGenerationPrompt {
			text = strings.TrimSuffix(text, "<|assistant|>\n")
		}
	default:
		badRequest(w, "either prompt or messages is required", "prompt")
		return
	}
	ids := s.m.Tok.Encode(text)
	resp := tokenizeResponse{Count: len(ids), MaxModelLen: s.m.Config.MaxSeqLen, Tokens: ids}
	if resp.Tokens == nil {
		resp.Tokens = []int{}
	}
	if req.ReturnTokenStrs {
		resp.TokenStrs = make([]string, len(ids))
		for i, id := range ids {
			resp.TokenStrs[i] = s.m.Tok.TokenText(id)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// detokenize is vLLM's /detokenize (special tokens kept, as
// tokenizer.decode does by default).
func (s *server) detokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string `json:"model"`
		Tokens []int  `json:"tokens"`
	}
	if !readBody(w, r, &req) || !s.checkModel(w, req.Model) {
		return
	}
	b, err := s.m.Tok.Decode(req.Tokens, false)
	if err != nil {
		badRequest(w, err.Error(), "tokens")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": lossyUTF8(b)})
}
