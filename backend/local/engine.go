package local

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Request is one generation: a tokenized prompt and N samples of it.
type Request struct {
	Prompt   []int
	N        int
	Sampling Sampling
	// MaxTokens caps generated tokens per sample; 0 means up to the end of
	// the context. Either way a sample ends at the context length.
	MaxTokens int
	// MinTokens blocks EOS and stop ids until this many tokens exist.
	MinTokens      int
	Stop           []string
	StopTokenIDs   []int
	IncludeStopStr bool
	IgnoreEOS      bool
	// Logprobs is the number of top alternatives per generated token, or -1
	// for no logprobs at all. 0 still reports the sampled token's logprob.
	Logprobs int
	// LogprobsMode is vLLM's --logprobs-mode for Logprobs: which values they
	// are. Prompt tokens are never sampled, so their scores are raw whatever
	// the mode: raw logits in the two logits modes, raw logprobs otherwise, as
	// vLLM's model runner gives them.
	LogprobsMode LogprobsMode
	// AlsoProcessed asks, with Logprobs, for each generated token's processed
	// logprobs beside the values LogprobsMode gives (TokenLogprob.Processed):
	// both distributions from one draw, which a remote vLLM cannot return.
	AlsoProcessed bool
	// PromptLogprobs is the same for prompt tokens, -1 for none.
	PromptLogprobs int
	// OnPrefill, if set, is called once the prompt is processed, with the
	// prompt logprobs (nil unless asked for), before any token is emitted.
	OnPrefill func(promptLogprobs []*TokenLogprob)
}

// LogprobsMode is one of vLLM's --logprobs-mode values.
type LogprobsMode string

// vLLM's logprobs modes. Raw values come from the model's logits as they are;
// processed ones from the logits the token was drawn from: after bad words,
// min_tokens, logit bias and the penalties, and, unless greedy, after
// temperature, min-p, top-k and top-p (-inf where a token was cut).
const (
	RawLogprobs       LogprobsMode = "raw_logprobs" // the default ("" reads as it)
	RawLogits         LogprobsMode = "raw_logits"
	ProcessedLogprobs LogprobsMode = "processed_logprobs"
	ProcessedLogits   LogprobsMode = "processed_logits"
)

// logits reports whether m gives logits rather than logprobs.
func (m LogprobsMode) logits() bool { return m == RawLogits || m == ProcessedLogits }

// ParseLogprobsMode checks a --logprobs-mode value.
func ParseLogprobsMode(s string) (LogprobsMode, error) {
	switch m := LogprobsMode(s); m {
	case "", RawLogprobs:
		return RawLogprobs, nil
	case RawLogits, ProcessedLogprobs, ProcessedLogits:
		return m, nil
	}
	return "", fmt.Errorf("logprobs mode must be raw_logprobs, raw_logits, processed_logprobs or processed_logits, got %q", s)
}

// TokenLogprob is the log-probability of one token, with its rank and the
// top alternatives, best first: raw (before temperature, penalties and
// truncation, as vLLM reports by default) or as Request.LogprobsMode says.
type TokenLogprob struct {
	ID      int
	Logprob float32
	Rank    int
	Top     []TopLogprob
	// Processed is set when Request.AlsoProcessed asked for it.
	Processed *Processed
}

// Processed holds a generated token's processed logprobs (vLLM's
// processed_logprobs: log-softmax of the logits it was drawn from), for the
// token and for each of TokenLogprob.Top in the same order; -inf where the
// sampler cut the token (bad words, min_tokens, min-p, top-k, top-p).
type Processed struct {
	Logprob float32
	Top     []float32
}

// TopLogprob is one alternative.
type TopLogprob struct {
	ID      int
	Logprob float32
}

// Finish reasons, as vLLM names them.
const (
	FinishStop   = "stop"
	FinishLength = "length"
)

// Delta is what one generated token adds to one sample.
type Delta struct {
	Index   int
	TokenID int
	// Logprob is nil unless the request asked for logprobs.
	Logprob *TokenLogprob
	// Text is newly released text. It lags the tokens while it could still
	// be the start of a stop string or ends inside a UTF-8 character.
	Text string
	// Finish is "" until the sample ends.
	Finish string
	// StopReason is vLLM's stop_reason: the stop string (string) or stop
	// token id (int) that ended the sample; nil for EOS, length or running.
	StopReason any
}

// Sample is one finished sample.
type Sample struct {
	Text       string
	TokenIDs   []int
	Logprobs   []TokenLogprob // nil unless asked for
	Finish     string
	StopReason any
}

// Result is a finished request.
type Result struct {
	// PromptLogprobs has one entry per prompt token, the first nil; nil
	// unless asked for.
	PromptLogprobs []*TokenLogprob
	Samples        []Sample
}

// RequestError is a request the engine cannot run. Servers refuse bad requests before
// they get here, in vLLM's words (backend/vllmcheck); this guards direct callers of
// Generate, so that no request can index past the context or the vocabulary.
type RequestError struct {
	Param string // the request field at fault, when one is
	Msg   string
}

func (e *RequestError) Error() string { return e.Msg }

// Check reports whether the engine can run r: a prompt that leaves room in the context
// for at least one token, token ids inside the vocabulary, at least one sample.
func (m *Model) Check(r *Request) error {
	maxSeq, vocab := m.Config.MaxSeqLen, m.Config.VocabSize
	bad := func(format string, a ...any) error { return &RequestError{Msg: fmt.Sprintf(format, a...)} }
	switch {
	case len(r.Prompt) == 0:
		return bad("the prompt is empty")
	case len(r.Prompt) >= maxSeq:
		return bad("the prompt has %d tokens: the maximum context length is %d tokens, prompt and output together", len(r.Prompt), maxSeq)
	case r.N < 1:
		return bad("n must be at least 1, got %d", r.N)
	case r.Logprobs > vocab || r.PromptLogprobs > vocab:
		return bad("logprobs of %d exceed the vocabulary of %d", max(r.Logprobs, r.PromptLogprobs), vocab)
	case r.MaxTokens < 0:
		return bad("max_tokens must be at least 0 (0: up to the context), got %d", r.MaxTokens)
	case r.MinTokens < 0:
		return &RequestError{Param: "min_tokens", Msg: fmt.Sprintf("min_tokens must be greater than or equal to 0, got %d.", r.MinTokens)}
	}
	if _, err := ParseLogprobsMode(string(r.LogprobsMode)); err != nil {
		return &RequestError{Param: "logprobs_mode", Msg: err.Error()}
	}
	for i, id := range r.Prompt {
		if id < 0 || id >= vocab {
			return bad("token id %d at prompt index %d is out of the vocabulary [0, %d)", id, i, vocab)
		}
	}
	for _, id := range r.StopTokenIDs {
		if id < 0 || id >= vocab {
			return bad("stop token id %d is out of the vocabulary [0, %d)", id, vocab)
		}
	}
	for _, s := range r.Stop {
		if s == "" {
			return bad("a stop string is empty")
		}
	}
	var outOfVocab []int
	for id, b := range r.Sampling.LogitBias {
		if id < 0 || id >= m.Config.VocabSize {
			outOfVocab = append(outOfVocab, id)
		}
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return &RequestError{Param: "logit_bias", Msg: fmt.Sprintf("logit_bias for token %d must be a finite number, got %v", id, b)}
		}
	}
	if len(outOfVocab) > 0 {
		slices.Sort(outOfVocab)
		return &RequestError{Param: "logit_bias", Msg: fmt.Sprintf("token_id(s) %v in logit_bias contain out-of-vocab token ids. Vocabulary size: %d", pyList(outOfVocab), m.Config.VocabSize)}
	}
	for _, w := range r.Sampling.BadWords {
		if w == "" {
			return &RequestError{Param: "bad_words", Msg: fmt.Sprintf("bad_words cannot contain an empty string. Got bad_words=%s", pyStrings(r.Sampling.BadWords))}
		}
	}
	return nil
}

// pyList writes ids as Python prints a list, as vLLM's messages show them.
func pyList(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyStrings writes a list of strings roughly as Python's repr does.
func pyStrings(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sampleState is one sample in flight.
type sampleState struct {
	index   int
	s       *sampler
	cache   *kvCache
	tokens  []int
	text    []byte // bytes of the generated text so far (stop/EOS tokens left out)
	sent    int    // bytes of text already released
	done    bool
	out     Sample
	lastTok int
	// per-sample scratch for logprobs, so samples can be handled in parallel
	lp        []float32
	plp       []float32 // processed logprobs, for Request.AlsoProcessed
	topBuf    []int
	pendingLP *TokenLogprob
}

// Generate runs a request, calling emit (from the calling goroutine) for
// every generated token of every sample. It stops early, returning ctx's
// error, when ctx is cancelled.
func (m *Model) Generate(ctx context.Context, r Request, emit func(Delta)) (*Result, error) {
	if err := m.Check(&r); err != nil {
		return nil, err
	}
	badWords, err := badWordIDs(m.Tok, r.Sampling.BadWords)
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	P := len(r.Prompt)
	room := cfg.MaxSeqLen - P
	maxNew := room
	if r.MaxTokens > 0 {
		maxNew = min(r.MaxTokens, room)
	}
	var baseSeed uint64
	if r.Sampling.Seed != nil {
		baseSeed = uint64(*r.Sampling.Seed)
	} else {
		baseSeed = rand.Uint64()
	}
	res := &Result{Samples: make([]Sample, r.N)}

	// One prefill of the prompt, shared by all samples.
	promptCache := newKVCache(cfg, nil, 0, P)
	logitRows := 1
	if r.PromptLogprobs >= 0 {
		logitRows = P
	}
	ws := m.newWorkspace(max(P, r.N), max(logitRows, r.N))
	steps := make([]step, P)
	for i, t := range r.Prompt {
		steps[i] = step{token: t, pos: i, cache: promptCache}
	}
	var want []int
	if r.PromptLogprobs >= 0 {
		want = make([]int, P)
		for i := range want {
			want[i] = i
		}
	} else {
		want = []int{P - 1}
	}
	logits := m.forward(ws, steps, want)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	V := cfg.VocabSize
	lp := make([]float32, V)
	var topBuf []int
	if r.PromptLogprobs >= 0 {
		res.PromptLogprobs = make([]*TokenLogprob, P)
		for i := 1; i < P; i++ {
			if row := logits[(i-1)*V : i*V]; r.LogprobsMode.logits() {
				copy(lp, row)
			} else {
				logSoftmax(lp, row)
			}
			tl := makeLogprob(lp, r.Prompt[i], r.PromptLogprobs, &topBuf)
			res.PromptLogprobs[i] = &tl
		}
	}
	if r.OnPrefill != nil {
		r.OnPrefill(res.PromptLogprobs)
	}
	last := append([]float32(nil), logits[(len(want)-1)*V:len(want)*V]...)

	stopIDs := map[int]bool{}
	for _, id := range r.StopTokenIDs {
		stopIDs[id] = true
	}
	// Before min_tokens, EOS and the stop ids are masked: vLLM's
	// all_stop_token_ids, which hold EOS even with ignore_eos.
	var banned []int
	if r.MinTokens > 0 {
		banned = append(banned, cfg.EOSID)
		banned = append(banned, r.StopTokenIDs...)
	}
	holdStops := r.Stop
	if r.IncludeStopStr {
		holdStops = nil
	}

	samples := make([]*sampleState, r.N)
	for i := range samples {
		samples[i] = &sampleState{
			index: i,
			s:     newSampler(r.Sampling, V, r.Prompt, badWords, baseSeed+uint64(i)),
			cache: newKVCache(cfg, promptCache, P, maxNew),
		}
	}
	// The first token of every sample comes from the prompt's last logits.
	rows := make([][]float32, r.N)
	for i := range rows {
		rows[i] = last
	}
	active := slices.Clone(samples) // filtered in place; samples keeps every one
	for len(active) > 0 {
		// Sampling and logprobs are per sample: spread them over the cores,
		// then apply stop rules and emit in index order.
		parallelFor(len(active), func(k int) {
			st := active[k]
			var ban []int
			if len(st.tokens) < r.MinTokens {
				ban = banned
			}
			tok := st.s.pick(rows[k], ban)
			st.s.observe(tok)
			st.lastTok = tok
			st.pendingLP = nil
			if r.Logprobs >= 0 {
				if st.lp == nil {
					st.lp = make([]float32, V)
				}
				// pick left the processed logits in st.s.work.
				switch r.LogprobsMode {
				case RawLogits:
					copy(st.lp, rows[k])
				case ProcessedLogits:
					copy(st.lp, st.s.work)
				case ProcessedLogprobs:
					logSoftmax(st.lp, st.s.work)
				default:
					logSoftmax(st.lp, rows[k])
				}
				tl := makeLogprob(st.lp, tok, r.Logprobs, &st.topBuf)
				if r.AlsoProcessed {
					if r.LogprobsMode != ProcessedLogprobs {
						if st.plp == nil {
							st.plp = make([]float32, V)
						}
						logSoftmax(st.plp, st.s.work)
					} else {
						st.plp = st.lp
					}
					tl.Processed = processedOf(st.plp, &tl)
				}
				st.pendingLP = &tl
			}
		})
		for _, st := range active {
			st.tokens = append(st.tokens, st.lastTok)
			d := Delta{Index: st.index, TokenID: st.lastTok, Logprob: st.pendingLP}
			if st.pendingLP != nil {
				st.out.Logprobs = append(st.out.Logprobs, *st.pendingLP)
			}
			m.advance(st, &d, &r, stopIDs, holdStops, maxNew)
			emit(d)
		}
		active = slices.DeleteFunc(active, func(st *sampleState) bool { return st.done })
		if len(active) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		steps = steps[:0]
		want = want[:0]
		for k, st := range active {
			steps = append(steps, step{token: st.lastTok, pos: P + len(st.tokens) - 1, cache: st.cache})
			want = append(want, k)
		}
		logits = m.forward(ws, steps, want)
		rows = rows[:len(active)]
		for k := range active {
			rows[k] = logits[k*V : (k+1)*V]
		}
	}
	for i, st := range samples {
		st.out.TokenIDs = st.tokens
		res.Samples[i] = st.out
	}
	return res, nil
}

// parallelFor runs f(0..n-1) over the cores and waits.
func parallelFor(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i += workers {
		f(i)
	}
	wg.Wait()
}

func makeLogprob(lp []float32, id, k int, buf *[]int) TokenLogprob {
	tl := TokenLogprob{ID: id, Logprob: lp[id], Rank: rankOf(lp, id)}
	*buf = topLogprobs(lp, k, *buf)
	tl.Top = make([]TopLogprob, len(*buf))
	for i, t := range *buf {
		tl.Top[i] = TopLogprob{ID: t, Logprob: lp[t]}
	}
	return tl
}

// processedOf picks tl's token and alternatives out of the processed
// logprobs plp.
func processedOf(plp []float32, tl *TokenLogprob) *Processed {
	p := &Processed{Logprob: plp[tl.ID], Top: make([]float32, len(tl.Top))}
	for i, t := range tl.Top {
		p.Top[i] = plp[t.ID]
	}
	return p
}

// advance applies the stop rules after st took a new token and fills d's
// text and finish fields.
func (m *Model) advance(st *sampleState, d *Delta, r *Request, stopIDs map[int]bool, holdStops []string, maxNew int) {
	tok := st.lastTok
	n := len(st.tokens)
	// vLLM's order: the length cap first, then EOS and stop ids (not before
	// min_tokens); a stop string found in the new text wins over both.
	capped := n >= maxNew
	if !capped && n >= r.MinTokens {
		switch {
		case tok == m.Config.EOSID && !r.IgnoreEOS:
			st.finish(d, FinishStop, nil, len(st.text))
			return
		case stopIDs[tok]:
			if r.IncludeStopStr && !m.Tok.IsSpecial(tok) {
				st.text = append(st.text, m.Tok.TokenBytes(tok)...)
			}
			st.finish(d, FinishStop, tok, len(st.text))
			return
		}
	}
	if !m.Tok.IsSpecial(tok) {
		st.text = append(st.text, m.Tok.TokenBytes(tok)...)
	}
	if len(r.Stop) > 0 && n > r.MinTokens {
		newBytes := len(m.Tok.TokenBytes(tok))
		longest := 0
		for _, s := range r.Stop {
			longest = max(longest, len(s))
		}
		from := max(0, len(st.text)-newBytes-longest+1)
		hay := string(st.text[from:])
		at, which := -1, ""
		for _, s := range r.Stop {
			if i := strings.Index(hay, s); i >= 0 && (at < 0 || i < at) {
				at, which = i, s
			}
		}
		if at >= 0 {
			end := from + at
			if r.IncludeStopStr {
				end += len(which)
			}
			st.finish(d, FinishStop, which, end)
			return
		}
	}
	if capped {
		st.finish(d, FinishLength, nil, len(st.text))
		return
	}
	upto := wire.CompletePrefix(st.text)
	upto -= heldForStop(st.text[:upto], holdStops)
	if upto > st.sent {
		d.Text = wire.Lossy(st.text[st.sent:upto])
		st.sent = upto
	}
}

func (st *sampleState) finish(d *Delta, reason string, stopReason any, end int) {
	st.done = true
	st.text = st.text[:end]
	// A character cut off by the end never completes, and vLLM's detokenizer, which held
	// it back, never releases it: the text ends before it.
	whole := wire.CompletePrefix(st.text)
	if whole > st.sent {
		d.Text = wire.Lossy(st.text[st.sent:whole])
		st.sent = whole
	}
	d.Finish, d.StopReason = reason, stopReason
	st.out.Text = wire.Lossy(st.text[:whole])
	st.out.Finish, st.out.StopReason = reason, stopReason
}

// heldForStop is how many trailing bytes of text must wait because they
// could be the start of a stop string.
func heldForStop(text []byte, stops []string) int {
	held := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(text)); k > held; k-- {
			if string(text[len(text)-k:]) == s[:k] {
				held = k
				break
			}
		}
	}
	return held
}
