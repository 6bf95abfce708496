package explore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// Plan is a fork or a step, planned on a tree: the prefix the new sample continues and
// how it will be sent. PlanFork and PlanStep make one; Resolve fills in token ids a
// server's /tokenize can give; Request (or StepRequest) builds the backend request; Apply
// puts the run's samples in the tree.
//
// A completion-mode prefix is sent as token ids when every id is known: the prompt's
// (from the response, its prompt logprobs or /tokenize), the sampled tokens' (from
// return_token_ids) and the chosen token's. No server response names an alternative's
// id, so the chosen token's comes from /tokenize of its text, and only when that text is
// exactly one token. Otherwise the prefix goes as text and Why says why.
type Plan struct {
	// From is the node the plan starts from; Pos the position of the new token: the
	// chosen token for a fork, the next token for a step (the node's length).
	From, Pos int
	// Chosen and Sampled: for a fork, the token put at Pos and the one the node had there.
	Chosen, Sampled *Pick
	// Why says why the prefix goes as text and not as ids; empty when it goes as ids or
	// the mode is chat (which continues text only).
	Why string

	api       params.API
	model     string
	prompt    string
	messages  []backend.Message
	text      string            // the prefix: the kept text, then the chosen token's
	promptIDs []backend.TokenID // nil until known
	fromIDs   IDSource
	keptIDs   []backend.TokenID // the kept tokens' ids; nil when one is unknown
	chosenID  backend.TokenID
}

// Fork reports whether the plan is a fork (a token chosen), not a step.
func (p *Plan) Fork() bool { return p.Chosen != nil }

// Exact reports whether the prefix will go as token ids.
func (p *Plan) Exact() bool {
	return p.api == params.Completion && p.promptIDs != nil && p.keptIDs != nil && (p.Chosen == nil || p.chosenID != backend.NoTokenID)
}

// NeedsTokenize reports whether Resolve can make the prefix exact: ids /tokenize would
// give are missing, and nothing else is.
func (p *Plan) NeedsTokenize() bool {
	return p.api == params.Completion && p.keptIDs != nil && !p.Exact()
}

// PlanFork plans a branch from node at token pos with alt in place of the sampled token,
// which must be one of the alternatives listed there, other than the sampled token
// itself.
func (t *Tree) PlanFork(node, pos int, alt backend.Alt) (*Plan, error) {
	if t.Node(node) == nil {
		return nil, fmt.Errorf("fork: node %d does not exist", node)
	}
	s := t.Sample(node)
	if s.Tokens == nil {
		return nil, errors.New("fork: the sample has no tokens (it was drawn without logprobs)")
	}
	if pos < 0 || pos >= len(s.Tokens) {
		return nil, fmt.Errorf("fork: position %d is outside the sample's %d tokens", pos, len(s.Tokens))
	}
	tok := s.Tokens[pos]
	if alt.Text == tok.Text {
		return nil, fmt.Errorf("fork: %q is the token sampled at position %d; choose another", alt.Text, pos)
	}
	if !slices.ContainsFunc(tok.Top, func(a backend.Alt) bool { return a.Text == alt.Text }) {
		return nil, fmt.Errorf("fork: %q is not among the alternatives listed at position %d", alt.Text, pos)
	}
	if backend.Partial(alt.Text) {
		return nil, fmt.Errorf("fork: the alternative is part of a character: the server reports it as U+FFFD, not its bytes, so it cannot be sent")
	}
	p := t.plan(node, pos, s)
	p.Chosen = &Pick{Text: alt.Text, ID: backend.NoTokenID, Logprob: alt.Logprob}
	p.Sampled = &Pick{Text: tok.Text, ID: tok.ID, Logprob: tok.Logprob}
	p.text += alt.Text
	p.explain()
	return p, nil
}

// PlanStep plans the next tokens of node (step mode, or running it to the end).
func (t *Tree) PlanStep(node int) (*Plan, error) {
	if t.Node(node) == nil {
		return nil, fmt.Errorf("step: node %d does not exist", node)
	}
	s := t.Sample(node)
	if s.Ended() {
		return nil, fmt.Errorf("step: the sample has ended (%s)", stopWords(s))
	}
	if s.Tokens == nil && s.Content != "" {
		return nil, errors.New("step: the sample has no tokens (it was drawn without logprobs)")
	}
	p := t.plan(node, len(s.Tokens), s)
	p.explain()
	return p, nil
}

// plan fills what a fork and a step share: the kept text and ids before pos.
func (t *Tree) plan(node, pos int, s Sample) *Plan {
	p := &Plan{From: node, Pos: pos, api: t.API, model: t.Model, prompt: t.Prompt, messages: t.Messages, chosenID: backend.NoTokenID,
		promptIDs: slices.Clone(t.PromptIDs), fromIDs: t.PromptIDsFrom}
	p.text = s.Text()[:cutAt(s.Tokens, pos, len(s.Text()))]
	p.keptIDs = make([]backend.TokenID, 0, pos)
	for _, tok := range s.Tokens[:pos] {
		if tok.ID == backend.NoTokenID {
			p.keptIDs = nil
			break
		}
		p.keptIDs = append(p.keptIDs, tok.ID)
	}
	return p
}

// explain sets Why for a completion prefix that cannot yet go as ids.
func (p *Plan) explain() {
	p.Why = ""
	switch {
	case p.api != params.Completion || p.Exact():
	case p.keptIDs == nil:
		p.Why = "the server did not return the sampled tokens' ids (return_token_ids), so the prefix goes as text and is re-tokenized"
	case p.promptIDs == nil:
		p.Why = "the prompt's token ids are not known yet (/tokenize would give them), so the prefix goes as text"
	default:
		p.Why = "the chosen token's id is not known yet (/tokenize would give it), so the prefix goes as text"
	}
}

// Resolve asks tok (a server's /tokenize) for the ids the plan lacks: the prompt's, with
// special tokens as /v1/completions adds them, and the chosen token's, which must come
// back as exactly one token. What it cannot resolve leaves the prefix as text, with Why
// saying so; only a cancelled ctx is an error. It touches the plan alone, so a UI can run
// it in a command; Apply hands the prompt's ids to the tree.
func (p *Plan) Resolve(ctx context.Context, tok backend.Tokenizer) error {
	if !p.NeedsTokenize() || tok == nil {
		return nil
	}
	if p.promptIDs == nil {
		ids, err := tok.Tokenize(ctx, p.model, p.prompt, true)
		if err != nil {
			return p.failed(ctx, err, "the prompt")
		}
		p.promptIDs, p.fromIDs = ids, IDsFromTokenize
	}
	if p.Chosen != nil && p.chosenID == backend.NoTokenID {
		ids, err := tok.Tokenize(ctx, p.model, p.Chosen.Text, false)
		if err != nil {
			return p.failed(ctx, err, fmt.Sprintf("the chosen token %q", p.Chosen.Text))
		}
		if len(ids) != 1 {
			p.Why = fmt.Sprintf("the chosen token %q tokenizes as %d tokens, not one, so its id is not known and the prefix goes as text", p.Chosen.Text, len(ids))
			return nil
		}
		p.chosenID = ids[0]
		p.Chosen.ID = ids[0]
	}
	p.explain()
	return nil
}

// failed notes a tokenize failure in Why; it returns the error only when ctx ended.
// The prefix then goes as text: a server without /tokenize (most that are not vLLM)
// still continues it.
func (p *Plan) failed(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p.Why = fmt.Sprintf("tokenizing %s failed (%v), so the prefix goes as text", what, err)
	return nil
}

// Continuation is the prefix as it will be sent: ids when Exact, else text.
func (p *Plan) Continuation() backend.Continuation {
	c := backend.Continuation{Text: p.text, Generated: p.Pos}
	if p.Chosen != nil {
		c.Generated++
	}
	if p.Exact() {
		c.IDs = slices.Concat(p.promptIDs, p.keptIDs)
		if p.Chosen != nil {
			c.IDs = append(c.IDs, p.chosenID)
		}
	}
	return c
}

// Request is a fork's request: base's parameters, options (N samples make N branches)
// and model, on the tree's prompt, continued from the plan's prefix (see
// backend.ContinueRequest). base's own prompt is not used: a branch continues the
// sample it came from, whatever the prompt box holds now. For a step plan it is
// StepRequest(base, 0): the rest of the sample.
func (p *Plan) Request(base backend.Request) (backend.Request, error) {
	if p.Chosen == nil {
		return p.StepRequest(base, 0)
	}
	req, err := backend.ContinueRequest(p.onPrompt(base), p.Continuation())
	if err != nil {
		return backend.Request{}, err
	}
	return req, p.check(req)
}

// StepRequest is step mode's request from the plan: the next n tokens (n < 1: to the
// end) with their alternatives (see backend.StepRequest).
func (p *Plan) StepRequest(base backend.Request, n int) (backend.Request, error) {
	base = p.onPrompt(base)
	c := p.Continuation()
	cp := &c
	if c.Generated == 0 && c.Text == "" {
		cp = nil
	}
	req, err := backend.StepRequest(base, cp, n)
	if err != nil {
		return backend.Request{}, err
	}
	return req, p.check(req)
}

func (p *Plan) onPrompt(base backend.Request) backend.Request {
	base.API, base.Prompt, base.Variants = p.api, p.prompt, nil
	if p.api == params.Chat {
		base.Messages = slices.Clone(p.messages)
	}
	if base.Model == "" {
		base.Model = p.model
	}
	return base
}

// check refuses, in words, a prefix that cannot be sent.
func (p *Plan) check(req backend.Request) error {
	if req.Continue != nil && req.Continue.IDs == nil && !utf8.ValidString(req.Continue.Text) {
		return fmt.Errorf("the prefix ends inside a character, which only token ids can carry: %s", p.Why)
	}
	return req.Validate()
}

// Apply puts the run req drew from plan p (req as p's Request or StepRequest built it)
// in the tree: a fork's samples become children of p.From, one node each, returned in
// order; a step's one sample extends p.From, returned alone. The prompt's ids p resolved
// are kept for the plans that follow. A run that failed is added all the same: its node
// shows how it ended.
func (t *Tree) Apply(p *Plan, req backend.Request, resp backend.SampleResponse) ([]int, error) {
	n := t.Node(p.From)
	if n == nil {
		return nil, fmt.Errorf("apply: node %d does not exist", p.From)
	}
	if t.API == params.Completion && t.PromptIDs == nil && p.promptIDs != nil {
		t.PromptIDs, t.PromptIDsFrom = slices.Clone(p.promptIDs), p.fromIDs
	}
	if req.Continue == nil {
		t.notePromptIDs(resp) // a first step ran the prompt alone
	}
	if p.Chosen == nil {
		if k := samplesIn(resp); k != 1 {
			return nil, fmt.Errorf("apply: a step draws one sample, the response holds %d", k)
		}
		if have := len(t.Tokens(p.From)); have != p.Pos {
			return nil, fmt.Errorf("apply: node %d has %d tokens, not the %d the step was planned on", p.From, have, p.Pos)
		}
		n.Runs = append(n.Runs, newRun(req, resp, 0))
		t.samples = nil
		return []int{p.From}, nil
	}
	var ids []int
	for i := range samplesIn(resp) {
		chosen, sampled := *p.Chosen, *p.Sampled
		ids = append(ids, t.add(&Node{Parent: p.From, Fork: p.Pos, Chosen: &chosen, Sampled: &sampled, Runs: []Run{newRun(req, resp, i)}}))
	}
	return ids, nil
}

// Prompt is what a branch was drawn from, exactly as it was sent, for export.
type Prompt struct {
	API params.API
	// Messages (chat) is the conversation sent: with Continue, it ends with the partial
	// assistant message that continue_final_message: true (and add_generation_prompt:
	// false) had the server continue.
	Messages []backend.Message
	Continue bool
	// Text (completion) is the whole prompt as text: the prompt, then the branch's prefix.
	Text string
	// IDs (completion) is the whole prompt as the token ids sent; nil when it went as
	// text. For a root, the prompt's ids when known.
	IDs []backend.TokenID
}

// BranchPrompt is node id's prompt: the tree's prompt for a root, else the prompt its
// first run continued (later runs, steps, each continued the sample so far).
func (t *Tree) BranchPrompt(id int) Prompt {
	p := Prompt{API: t.API}
	n := t.Node(id)
	var c *backend.Continuation
	if n != nil && len(n.Runs) > 0 {
		c = n.Runs[0].Continue
	}
	req := backend.Request{API: t.API, Messages: t.Messages, Prompt: t.Prompt, Continue: c}
	if t.API == params.Chat {
		p.Messages, p.Continue = slices.Clone(req.SentMessages()), req.ContinuesMessage()
		return p
	}
	p.Text, p.IDs = req.SentPrompt(), slices.Clone(req.SentPromptIDs())
	if c == nil {
		p.IDs = slices.Clone(t.PromptIDs)
	}
	return p
}
