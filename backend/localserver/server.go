package localserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

// Options tune the HTTP server. The zero value is usable.
type Options struct {
	// MaxConcurrent is how many generations run at once; more wait their
	// turn (0: 1, since one generation already uses every core).
	MaxConcurrent int
	// MaxN caps n (0: params.MaxSamples).
	MaxN int
	// LogprobsMode is vLLM's --logprobs-mode: which values logprobs carry ("":
	// raw_logprobs, vLLM's default).
	LogprobsMode local.LogprobsMode
	// Processed adds, wherever logprobs are asked for, the same tokens' processed
	// logprobs in twinkle's own field (wire.ProcessedLogprobs), so one draw shows both
	// distributions. Only for the in-process client: a served API stays vLLM's.
	Processed bool
}

type server struct {
	m     *local.Model
	opts  Options
	rules vllmcheck.Model
	sem   chan struct{}
	mux   *http.ServeMux
	born  int64
}

// NewServer serves m over vLLM's OpenAI-compatible API: /v1/models,
// /v1/completions, /v1/chat/completions, /tokenize, /detokenize and
// /health. The model was trained on Go source, not chats, and defines no
// chat template, so chat requests get vLLM's answer for such a model: a 400
// saying so.
func NewServer(m *local.Model, opts Options) http.Handler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.MaxN <= 0 {
		opts.MaxN = params.MaxSamples
	}
	s := &server{m: m, opts: opts, sem: make(chan struct{}, opts.MaxConcurrent), mux: http.NewServeMux(), born: time.Now().Unix()}
	s.rules = vllmcheck.Model{Names: []string{m.Name}, MaxModelLen: m.Config.MaxSeqLen, VocabSize: m.Config.VocabSize,
		MaxLogprobs: params.MaxLogprobs, MaxN: opts.MaxN}
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
		(&vllmcheck.Error{Status: status, Type: typ, Message: fmt.Sprintf("%s %s is not served here", r.Method, r.URL.Path)}).Write(w)
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
		(&vllmcheck.Error{Status: http.StatusInternalServerError, Type: "InternalServerError", Message: err.Error()}).Write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.ModelList{Object: "list", Data: []wire.ModelCard{{
		ID: s.m.Name, Object: "model", Created: s.born, OwnedBy: "twinkle", Root: s.m.Name, MaxModelLen: s.m.Config.MaxSeqLen,
	}}})
}

// plan is a request the model will run.
type plan struct {
	*vllmcheck.Request
	promptText string // the prompt as text, for echo
	req        local.Request
	model      string
}

// parse reads a generation request and decides it the way vLLM would (see
// vllmcheck), then builds the engine's request. It is the whole of what the
// server does with untrusted bytes before generating.
func (s *server) parse(body []byte, chat bool) (*plan, *vllmcheck.Error) {
	parsed, e := vllmcheck.Decode(body)
	if e != nil {
		return nil, e
	}
	r, e := vllmcheck.Check(parsed, chat, s.rules)
	if e != nil {
		return nil, e
	}
	// Chat never gets here: the model has no chat template.
	p := &plan{Request: r, model: s.m.Name}
	if r.Model != "" {
		p.model = r.Model
	}
	ids := r.PromptIDs
	if ids == nil {
		if e := r.TextTooLong(len(r.Prompt), s.m.Tok.MaxTokenLen(), s.rules); e != nil {
			return nil, e
		}
		ids = s.m.Tok.Encode(r.Prompt)
	}
	if e := r.Tokens(ids, s.rules); e != nil {
		return nil, e
	}
	sp := r.Sampling
	if len(sp.BadWords) > 0 {
		// vLLM tokenizes bad words last, once the prompt has passed.
		if _, err := s.m.BadWordIDs(sp.BadWords); err != nil {
			return nil, vllmcheck.BadWords(err.Error(), sp.BadWords)
		}
	}
	p.promptText = r.Prompt
	if r.PromptIDs != nil {
		// Checked against the vocabulary above, so decoding cannot fail.
		p.promptText, _ = s.m.Tok.DecodeText(ids, false)
	}
	p.req = local.Request{
		Prompt: ids,
		N:      sp.N,
		Sampling: local.Sampling{
			Temperature: sp.Temperature, TopK: sp.TopK, TopP: sp.TopP, MinP: sp.MinP,
			RepetitionPenalty: sp.RepetitionPenalty, PresencePenalty: sp.PresencePenalty, FrequencyPenalty: sp.FrequencyPenalty,
			LogitBias: sp.LogitBiasIDs(), BadWords: sp.BadWords, Seed: r.Seed,
		},
		MinTokens:      sp.MinTokens,
		Stop:           sp.Stop,
		StopTokenIDs:   sp.StopTokenIDs,
		IncludeStopStr: r.IncludeStopStr,
		IgnoreEOS:      r.IgnoreEOS,
		Logprobs:       r.Logprobs,
		LogprobsMode:   s.opts.LogprobsMode,
		AlsoProcessed:  s.opts.Processed && r.Logprobs >= 0,
		PromptLogprobs: -1,
	}
	if sp.PromptLogprobs != nil {
		// Asked for, or computed at the sample logprobs' k for echo; -1 (the whole
		// vocabulary) was refused by the logprob cap.
		p.req.PromptLogprobs = *sp.PromptLogprobs
	}
	if sp.MaxTokens != nil {
		p.req.MaxTokens = *sp.MaxTokens
	}
	return p, nil
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }

func (s *server) generate(w http.ResponseWriter, r *http.Request, chat bool) {
	body, e := vllmcheck.ReadBody(r.Body)
	if e != nil {
		e.Write(w)
		return
	}
	p, e := s.parse(body, chat)
	if e != nil {
		e.Write(w)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return
	}
	if p.Stream {
		s.stream(ctx, cancel, w, p)
		return
	}
	res, err := s.m.Generate(ctx, p.req, func(local.Delta) {})
	if err != nil {
		if ctx.Err() == nil {
			(&vllmcheck.Error{Status: http.StatusInternalServerError, Type: "InternalServerError", Message: err.Error()}).Write(w)
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
	if p.PromptLogprobs >= 0 {
		promptLPs = s.promptPositions(res.PromptLogprobs, p.PromptLogprobs)
	}
	resp := wire.CompletionResponse{ID: id, Object: "text_completion", Created: created, Model: p.model, Usage: usage}
	for i, smp := range res.Samples {
		c := wire.CompletionChoice{Index: i, Text: smp.Text, FinishReason: ptr(smp.Finish), StopReason: stopReason(smp.StopReason), PromptLogprobs: promptLPs}
		if p.Echo {
			c.Text = p.promptText + c.Text
		}
		if p.Logprobs >= 0 {
			lp := &wire.CompletionLogprobs{TextOffset: []int{}, TokenLogprobs: []*float64{}, Tokens: []string{}, TopLogprobs: []wire.TopMap{}}
			proc := newProcessed(p)
			off := 0
			if p.Echo {
				off = s.appendPromptCompletionLogprobs(lp, proc, p.req.Prompt, res.PromptLogprobs, p.Logprobs)
			}
			for _, tl := range smp.Logprobs {
				off = s.appendCompletionLogprob(lp, proc, tl, p.Logprobs, off)
			}
			c.Logprobs, c.Processed = lp, proc
		}
		if p.ReturnTokenIDs {
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

// tokenText is how a token id is shown wherever a token's text goes out
// (logprobs, top_logprobs keys, prompt_logprobs' decoded_token, /tokenize's
// token_strs): the id decoded alone, as vLLM decodes it, so a piece of a
// multibyte character shows as U+FFFD. Every such path goes through here.
func (s *server) tokenText(id int) string { return s.m.Tok.TokenText(id) }

// topMaps is the completions top_logprobs object: the sampled token, then
// the top k, keyed by text (ids that decode alike collapse into the first
// key, holding the last value, as a Python dict does); and, when tl has
// processed values, their object under the same keys (nil otherwise).
func (s *server) topMaps(tl local.TokenLogprob, k int) (raw, proc wire.TopMap) {
	n := min(k, len(tl.Top)) + 1
	raw = make(wire.TopMap, 0, n)
	pr := tl.Processed
	if pr != nil {
		proc = make(wire.TopMap, 0, n)
	}
	put := func(id int, lp, plp float32) {
		key := s.tokenText(id)
		for i := range raw {
			if raw[i].Token == key {
				raw[i].Logprob = wireLogprob(lp)
				if pr != nil {
					proc[i].Logprob = wireLogprob(plp)
				}
				return
			}
		}
		raw = append(raw, wire.TokenLogprob{Token: key, Logprob: wireLogprob(lp)})
		if pr != nil {
			proc = append(proc, wire.TokenLogprob{Token: key, Logprob: wireLogprob(plp)})
		}
	}
	var plp float32
	if pr != nil {
		plp = pr.Logprob
	}
	put(tl.ID, tl.Logprob, plp)
	for i, t := range tl.Top {
		if i >= k {
			break
		}
		if t.ID != tl.ID {
			if pr != nil {
				plp = pr.Top[i]
			}
			put(t.ID, t.Logprob, plp)
		}
	}
	return raw, proc
}

// appendCompletionLogprob adds a token to a choice's logprobs and, when proc is
// not nil, its processed values to twinkle's extension (wire.ProcessedLogprobs),
// entry for entry: null where the token has none (a prompt token).
func (s *server) appendCompletionLogprob(lp *wire.CompletionLogprobs, proc *wire.ProcessedLogprobs, tl local.TokenLogprob, k, off int) int {
	text := s.tokenText(tl.ID)
	raw, pm := s.topMaps(tl, k)
	lp.TextOffset = append(lp.TextOffset, off)
	lp.TokenLogprobs = append(lp.TokenLogprobs, ptr(wireLogprob(tl.Logprob)))
	lp.Tokens = append(lp.Tokens, text)
	lp.TopLogprobs = append(lp.TopLogprobs, raw)
	if proc != nil {
		var v *float64
		if tl.Processed != nil {
			v = ptr(wireLogprob(tl.Processed.Logprob))
		}
		proc.TokenLogprobs = append(proc.TokenLogprobs, v)
		proc.TopLogprobs = append(proc.TopLogprobs, pm)
	}
	return off + utf8.RuneCountInString(text)
}

// newProcessed is an empty extension when the request gets one, else nil.
func newProcessed(p *plan) *wire.ProcessedLogprobs {
	if !p.req.AlsoProcessed {
		return nil
	}
	return &wire.ProcessedLogprobs{TokenLogprobs: []*float64{}, TopLogprobs: []wire.TopMap{}}
}

// appendPromptCompletionLogprobs adds the prompt's tokens for echo: the
// first has a null logprob and null top_logprobs.
func (s *server) appendPromptCompletionLogprobs(lp *wire.CompletionLogprobs, proc *wire.ProcessedLogprobs, prompt []int, plp []*local.TokenLogprob, k int) int {
	off := 0
	for i, id := range prompt {
		if i == 0 || i >= len(plp) || plp[i] == nil {
			text := s.tokenText(id)
			lp.TextOffset = append(lp.TextOffset, off)
			lp.TokenLogprobs = append(lp.TokenLogprobs, nil)
			lp.Tokens = append(lp.Tokens, text)
			lp.TopLogprobs = append(lp.TopLogprobs, nil)
			if proc != nil {
				proc.TokenLogprobs = append(proc.TokenLogprobs, nil)
				proc.TopLogprobs = append(proc.TopLogprobs, nil)
			}
			off += utf8.RuneCountInString(text)
			continue
		}
		off = s.appendCompletionLogprob(lp, proc, *plp[i], k, off)
	}
	return off
}

// promptPositions is vLLM's prompt_logprobs: null for the first token, then
// {id: {logprob, rank, decoded_token}} with the prompt token first.
func (s *server) promptPositions(plp []*local.TokenLogprob, k int) []wire.PromptPosition {
	out := make([]wire.PromptPosition, len(plp))
	for i, tl := range plp {
		if tl == nil {
			continue
		}
		pos := wire.PromptPosition{{TokenID: tl.ID, Logprob: wireLogprob(tl.Logprob), Rank: ptr(tl.Rank), DecodedToken: ptr(s.tokenText(tl.ID))}}
		for r, t := range tl.Top {
			if r >= k {
				break
			}
			if t.ID == tl.ID {
				continue
			}
			pos = append(pos, wire.PromptLogprob{TokenID: t.ID, Logprob: wireLogprob(t.Logprob), Rank: ptr(r + 1), DecodedToken: ptr(s.tokenText(t.ID))})
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
	first := make([]bool, p.req.N)
	var promptLP []*local.TokenLogprob
	p.req.OnPrefill = func(plp []*local.TokenLogprob) { promptLP = plp }
	emit := func(d local.Delta) {
		completion++
		var finish *string
		if d.Finish != "" {
			finish = ptr(d.Finish)
		}
		ch := wire.CompletionChunkChoice{Index: d.Index, Text: d.Text, FinishReason: finish, StopReason: stopReason(d.StopReason)}
		var lp *wire.CompletionLogprobs
		var proc *wire.ProcessedLogprobs
		if d.Logprob != nil {
			lp = &wire.CompletionLogprobs{TextOffset: []int{}, TokenLogprobs: []*float64{}, Tokens: []string{}, TopLogprobs: []wire.TopMap{}}
			proc = newProcessed(p)
			ch.Logprobs, ch.Processed = lp, proc
		}
		ids := []int{d.TokenID}
		if !first[d.Index] {
			// vLLM folds the echoed prompt into each choice's first chunk.
			first[d.Index] = true
			if p.Echo {
				ch.Text = p.promptText + ch.Text
				ids = append(append([]int(nil), p.req.Prompt...), d.TokenID)
				if lp != nil {
					s.appendPromptCompletionLogprobs(lp, proc, p.req.Prompt, promptLP, p.Logprobs)
				}
			}
			if p.ReturnTokenIDs {
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
			s.appendCompletionLogprob(lp, proc, *d.Logprob, p.Logprobs, off)
		}
		offsets[d.Index] += utf8.RuneCountInString(ch.Text)
		if p.ReturnTokenIDs {
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
	if p.IncludeUsage {
		u := &wire.Usage{PromptTokens: len(p.req.Prompt), CompletionTokens: completion, TotalTokens: len(p.req.Prompt) + completion}
		send(wire.CompletionChunk{ID: id, Object: "text_completion", Created: created, Model: p.model, Choices: []wire.CompletionChunkChoice{}, Usage: u})
	}
	if werr == nil {
		sse.Done()
	}
}

type tokenizeRequest struct {
	Model           string          `json:"model"`
	Prompt          *string         `json:"prompt"`
	Messages        json.RawMessage `json:"messages"`
	ReturnTokenStrs bool            `json:"return_token_strs"`
}

type tokenizeResponse struct {
	Count       int      `json:"count"`
	MaxModelLen int      `json:"max_model_len"`
	Tokens      []int    `json:"tokens"`
	TokenStrs   []string `json:"token_strs"`
}

// readJSON reads a small endpoint's body: too large is a 413, not JSON a 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, e := vllmcheck.ReadBody(r.Body)
	if e == nil {
		if err := json.Unmarshal(body, v); err != nil {
			e = &vllmcheck.Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: "request body is not valid JSON for this endpoint: " + err.Error()}
		}
	}
	if e != nil {
		e.Write(w)
		return false
	}
	return true
}

func (s *server) checkModel(w http.ResponseWriter, name string) bool {
	if name != "" && name != s.m.Name {
		(&vllmcheck.Error{Status: http.StatusNotFound, Type: "NotFoundError", Message: fmt.Sprintf("The model `%s` does not exist.", name), Param: "model"}).Write(w)
		return false
	}
	return true
}

// tokenize is vLLM's /tokenize of a prompt. Messages need the chat
// template the model does not have, so they get vLLM's 400 for that.
func (s *server) tokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if !readJSON(w, r, &req) || !s.checkModel(w, req.Model) {
		return
	}
	switch {
	case req.Prompt != nil:
	case len(req.Messages) > 0 && string(req.Messages) != "null":
		vllmcheck.ErrNoChatTemplate().Write(w)
		return
	default:
		(&vllmcheck.Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: "either prompt or messages is required", Param: "prompt"}).Write(w)
		return
	}
	ids := s.m.Tok.Encode(*req.Prompt)
	resp := tokenizeResponse{Count: len(ids), MaxModelLen: s.m.Config.MaxSeqLen, Tokens: ids}
	if resp.Tokens == nil {
		resp.Tokens = []int{}
	}
	if req.ReturnTokenStrs {
		resp.TokenStrs = make([]string, len(ids))
		for i, id := range ids {
			resp.TokenStrs[i] = s.tokenText(id)
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
	if !readJSON(w, r, &req) || !s.checkModel(w, req.Model) {
		return
	}
	text, err := s.m.Tok.DecodeText(req.Tokens, false)
	if err != nil {
		(&vllmcheck.Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: err.Error(), Param: "tokens"}).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": text})
}
