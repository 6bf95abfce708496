package explore

import (
	"fmt"
	"slices"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// NoParent is the Parent of a node drawn from the prompt (a root).
const NoParent = -1

// Tree is a branch tree: the samples drawn from one prompt (its roots) and every branch
// forked from them, each a sample of its own. A node's tokens are its parent's up to the
// fork, then the token chosen there, then what its runs generated; a node grows by runs
// (step mode), and a choice at any of its positions makes a child.
//
// Not safe for concurrent use: the UI changes it in Update only (Plan.Resolve, which runs
// in a command, touches its Plan alone).
type Tree struct {
	// The prompt every sample continues.
	API      params.API
	Model    string
	Messages []backend.Message // chat
	Prompt   string            // completion
	// PromptIDs is the completion prompt as the server tokenized it, nil until known;
	// PromptIDsFrom says how it became known.
	PromptIDs     []backend.TokenID
	PromptIDsFrom IDSource

	nodes []*Node
	// samples caches Sample by node; any change to the tree clears it.
	samples map[int]Sample
}

// IDSource says where the prompt's token ids came from, most reliable first.
type IDSource string

const (
	// IDsFromResponse: the server's own prompt_token_ids (return_token_ids), the ids it
	// ran: nothing to assume.
	IDsFromResponse IDSource = "response"
	// IDsFromPromptLogprobs: the ids of the prompt logprobs, identified by
	// prompt_token_ids; the same ids, from the separate prompt-logprobs request.
	IDsFromPromptLogprobs IDSource = "prompt_logprobs"
	// IDsFromTokenize: the server's /tokenize of the prompt with special tokens, as
	// /v1/completions tokenizes it by default; the same tokenizer, one more request.
	IDsFromTokenize IDSource = "tokenize"
)

// Node is one sample of the tree.
type Node struct {
	ID     int
	Parent int // NoParent for a root
	// Fork is the position in the parent's tokens where this node departs from it: the
	// parent's tokens before Fork are kept, and Chosen takes the place of Sampled.
	Fork    int
	Chosen  *Pick // nil for a root
	Sampled *Pick // the parent's token at Fork; nil for a root
	// Runs generated the node's own tokens, in order: the fork's run, then the steps.
	Runs []Run
}

// Pick is one token at one position: the one chosen there, or the one the model sampled.
type Pick struct {
	Text    string
	ID      backend.TokenID // NoTokenID when unknown
	Logprob backend.Logprob // in the distribution at that position; Unknown when not listed
}

// Run is one request's contribution to a node: what was sent and the sample it drew.
type Run struct {
	// Continue is the prefix the run continued (nil: from the prompt).
	Continue *backend.Continuation
	Params   params.SamplingParams
	Options  params.Options
	// Sample is which of the run's Samples this node got.
	Sample, Samples int
	// Response is the run's SampleResponse narrowed to that one sample; its Usage is
	// the whole run's (all its samples).
	Response backend.SampleResponse
}

// NewTree starts an empty tree for req's prompt (a continuation in req is ignored: the
// tree's samples start from the prompt).
func NewTree(req backend.Request) *Tree {
	return &Tree{API: req.API, Model: req.Model, Messages: slices.Clone(req.Messages), Prompt: req.Prompt}
}

// Len is the number of nodes; their ids are 0..Len()-1.
func (t *Tree) Len() int { return len(t.nodes) }

// Node returns node id (not to be modified), or nil.
func (t *Tree) Node(id int) *Node {
	if id < 0 || id >= len(t.nodes) {
		return nil
	}
	return t.nodes[id]
}

// Roots are the nodes drawn from the prompt, in order.
func (t *Tree) Roots() []int { return t.Children(NoParent) }

// Children are a node's children, by fork position, then in the order they were added.
func (t *Tree) Children(id int) []int {
	var out []int
	for _, n := range t.nodes {
		if n.Parent == id {
			out = append(out, n.ID)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return t.nodes[a].Fork - t.nodes[b].Fork })
	return out
}

// Depth is how many forks lie between the node and its root (0 for a root).
func (t *Tree) Depth(id int) int {
	d := 0
	for n := t.Node(id); n != nil && n.Parent != NoParent; n = t.Node(n.Parent) {
		d++
	}
	return d
}

// samePrompt says whether req asks what the tree's prompt is.
func (t *Tree) samePrompt(req backend.Request) error {
	switch {
	case req.API != t.API:
		return fmt.Errorf("the tree holds %s samples, the run is %s", t.API, req.API)
	case req.API == params.Completion && req.Prompt != t.Prompt:
		return fmt.Errorf("the run's prompt is not the tree's: start a new tree")
	case req.API == params.Chat && !slices.Equal(req.Messages, t.Messages):
		return fmt.Errorf("the run's conversation is not the tree's: start a new tree")
	}
	return nil
}

// AddRun adds the samples of a run from the prompt as roots and returns their ids. The
// completion prompt's ids are kept when the response carries them.
func (t *Tree) AddRun(req backend.Request, resp backend.SampleResponse) ([]int, error) {
	if req.Continue != nil {
		return nil, fmt.Errorf("a continued run is a branch or a step: add it with Apply")
	}
	if err := t.samePrompt(req); err != nil {
		return nil, err
	}
	t.notePromptIDs(resp)
	n := samplesIn(resp)
	ids := make([]int, n)
	for i := range n {
		ids[i] = t.add(&Node{Parent: NoParent, Runs: []Run{newRun(req, resp, i)}})
	}
	return ids, nil
}

// AddEmpty adds a root with no tokens yet, for step mode to grow from the prompt.
func (t *Tree) AddEmpty() int {
	return t.add(&Node{Parent: NoParent})
}

func (t *Tree) add(n *Node) int {
	n.ID = len(t.nodes)
	t.nodes = append(t.nodes, n)
	t.samples = nil
	return n.ID
}

// notePromptIDs keeps the completion prompt's ids from a run from the prompt, the first
// time a response has them.
func (t *Tree) notePromptIDs(resp backend.SampleResponse) {
	if t.API != params.Completion || t.PromptIDs != nil {
		return
	}
	for _, ids := range resp.PromptTokenIDs {
		if len(ids) > 0 {
			t.PromptIDs, t.PromptIDsFrom = slices.Clone(ids), IDsFromResponse
			return
		}
	}
	for i, toks := range resp.PromptTokens {
		if i >= len(resp.PromptAlignment) || resp.PromptAlignment[i] != backend.PromptByID || len(toks) == 0 {
			continue
		}
		ids := make([]backend.TokenID, len(toks))
		for k, tok := range toks {
			if tok.ID == backend.NoTokenID {
				ids = nil
				break
			}
			ids[k] = tok.ID
		}
		if ids != nil {
			t.PromptIDs, t.PromptIDsFrom = ids, IDsFromPromptLogprobs
			return
		}
	}
}

// samplesIn is how many samples a response holds.
func samplesIn(r backend.SampleResponse) int {
	return max(len(r.StopReason), len(r.Trajectories))
}

func newRun(req backend.Request, resp backend.SampleResponse, i int) Run {
	run := Run{Params: req.Params.Clone(), Options: req.Options.Clone(), Sample: i, Samples: samplesIn(resp), Response: narrow(resp, i)}
	if c := req.Continue; c != nil {
		cc := *c
		cc.IDs = slices.Clone(c.IDs)
		run.Continue = &cc
	}
	return run
}

// narrow is r with only sample i.
func narrow(r backend.SampleResponse, i int) backend.SampleResponse {
	one := func(n int) bool { return i < n }
	out := backend.SampleResponse{Usage: r.Usage, Model: r.Model, Params: r.Params, Notes: slices.Clone(r.Notes)}
	if one(len(r.Trajectories)) {
		out.Trajectories = []backend.Trajectory{r.Trajectories[i]}
	}
	if r.Logprobs != nil && one(len(r.Logprobs)) {
		out.Logprobs = [][]backend.Logprob{r.Logprobs[i]}
	}
	if r.PromptLogprobs != nil && one(len(r.PromptLogprobs)) {
		out.PromptLogprobs = [][]backend.Logprob{r.PromptLogprobs[i]}
	}
	if one(len(r.StopReason)) {
		out.StopReason = []backend.StopReason{r.StopReason[i]}
	}
	if one(len(r.StoppedBy)) {
		out.StoppedBy = []backend.StoppedBy{r.StoppedBy[i]}
	}
	if r.Tokens != nil && one(len(r.Tokens)) {
		out.Tokens = [][]backend.Token{r.Tokens[i]}
	}
	if r.PromptTokens != nil && one(len(r.PromptTokens)) {
		out.PromptTokens = [][]backend.Token{r.PromptTokens[i]}
	}
	if r.PromptAlignment != nil && one(len(r.PromptAlignment)) {
		out.PromptAlignment = []backend.PromptAlignment{r.PromptAlignment[i]}
	}
	if r.PromptTokenIDs != nil && one(len(r.PromptTokenIDs)) {
		out.PromptTokenIDs = [][]backend.TokenID{r.PromptTokenIDs[i]}
	}
	if one(len(r.Seeds)) {
		out.Seeds = []*int64{r.Seeds[i]}
	}
	if r.Errors != nil && one(len(r.Errors)) && r.Errors[i] != nil {
		out.Errors = []*backend.Error{r.Errors[i]}
	}
	for _, v := range r.Variants {
		if i >= v.First && i < v.First+v.Count {
			out.Params = v.Params
		}
	}
	return out
}

// content is the run's generated text (the last message of its trajectory).
func (r Run) content() string {
	if len(r.Response.Trajectories) == 0 {
		return ""
	}
	msgs := r.Response.Trajectories[0].Messages
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "assistant" {
		return ""
	}
	return msgs[len(msgs)-1].Content
}

func (r Run) tokens() []backend.Token {
	if len(r.Response.Tokens) == 0 {
		return nil
	}
	return r.Response.Tokens[0]
}

func (r Run) stop() (backend.StopReason, backend.StoppedBy, *backend.Error) {
	var reason backend.StopReason
	var by backend.StoppedBy
	var err *backend.Error
	if len(r.Response.StopReason) > 0 {
		reason = r.Response.StopReason[0]
	}
	if len(r.Response.StoppedBy) > 0 {
		by = r.Response.StoppedBy[0]
	}
	if len(r.Response.Errors) > 0 {
		err = r.Response.Errors[0]
	}
	return reason, by, err
}

// Sample is a node's whole sample, from the start of the reply: its parent's part, the
// chosen token, then its runs'.
type Sample struct {
	// Content is the generated text; Tail what the server cut after it that the last
	// tokens still hold (a stop string left out of the content).
	Content, Tail string
	// Tokens are placed in Content+Tail (nil when no run asked for logprobs).
	Tokens []backend.Token
	// Fork is where the node's own tokens begin: those before it are its parent's.
	Fork int
	// Reason, StoppedBy and Err are how the last run ended ("" when the node has no run).
	Reason    backend.StopReason
	StoppedBy backend.StoppedBy
	Err       *backend.Error
	// Seeds, one per run, as each was drawn (nil where the server chose).
	Seeds []*int64
}

// Text is Content followed by Tail: the text the tokens are placed in.
func (s Sample) Text() string { return s.Content + s.Tail }

// Ended reports whether the model ended the sample itself (EOS, a stop string or a stop
// token): nothing can follow it.
func (s Sample) Ended() bool { return s.Reason == backend.StopStop }

// Sample is node id's whole sample (shared: do not modify it); the zero Sample for an
// unknown id. It is built once and kept until the tree changes.
func (t *Tree) Sample(id int) Sample {
	if s, ok := t.samples[id]; ok {
		return s
	}
	n := t.Node(id)
	if n == nil {
		return Sample{}
	}
	s := t.build(n)
	if t.samples == nil {
		t.samples = map[int]Sample{}
	}
	t.samples[id] = s
	return s
}

func (t *Tree) build(n *Node) Sample {
	var s Sample
	var content []byte
	var toks []backend.Token
	hasTokens := false
	if n.Parent != NoParent {
		p := t.Sample(n.Parent)
		cut := cutAt(p.Tokens, n.Fork, len(p.Text()))
		content = append(content, p.Text()[:cut]...)
		toks = append(toks, p.Tokens[:min(n.Fork, len(p.Tokens))]...)
		chosen := backend.Token{Text: n.Chosen.Text, Logprob: n.Chosen.Logprob, ID: n.Chosen.ID}
		if n.Fork < len(p.Tokens) {
			chosen.Top = p.Tokens[n.Fork].Top
		}
		toks = append(toks, chosen)
		content = append(content, n.Chosen.Text...)
		s.Fork = n.Fork
		hasTokens = p.Tokens != nil
	}
	for k, r := range n.Runs {
		content = append(content, r.content()...)
		toks = append(toks, r.tokens()...)
		hasTokens = hasTokens || r.Response.Tokens != nil
		s.Reason, s.StoppedBy, s.Err = r.stop()
		var seed *int64
		if len(r.Response.Seeds) > 0 {
			seed = r.Response.Seeds[0]
		}
		s.Seeds = append(s.Seeds, seed)
		if k == len(n.Runs)-1 {
			s.Tail = backend.StopTail(r.content(), s.StoppedBy)
		}
	}
	s.Content = string(content)
	if hasTokens {
		s.Tokens = placeAll(toks, s.Content, s.Tail)
	}
	return s
}

// Tokens is node id's whole token sequence (Sample(id).Tokens).
func (t *Tree) Tokens(id int) []backend.Token { return t.Sample(id).Tokens }

// cutAt is where, in a sample's text, token pos begins: its place when placed, else the
// end of the last placed token before it, else the text's end when pos is past every
// token.
func cutAt(toks []backend.Token, pos, textLen int) int {
	if pos >= len(toks) {
		return textLen
	}
	if p := toks[pos].Place; p != nil && p.In() {
		return min(p.Start, textLen)
	}
	for k := pos - 1; k >= 0; k-- {
		if p := toks[k].Place; p != nil && p.In() {
			return min(p.End, textLen)
		}
	}
	return 0
}

// placeAll places toks (copied) in content+tail.
func placeAll(toks []backend.Token, content, tail string) []backend.Token {
	out := make([]backend.Token, len(toks))
	copy(out, toks)
	places := backend.Align(out, content, tail)
	for i := range out {
		var p backend.Place
		if i < len(places) {
			p = places[i]
		}
		out[i].Place = &p
	}
	return out
}
