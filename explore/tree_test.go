package explore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ip(v int) *int      { return &v }
func i64(v int64) *int64 { return &v }

func testServer(t *testing.T) (*vllmtest.Server, *openai.Client) {
	t.Helper()
	srv := vllmtest.New()
	t.Cleanup(srv.Close)
	c, err := openai.New(openai.Config{BaseURL: srv.URL, FirstTokenTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func draw(t *testing.T, s backend.Sampler, req backend.Request) backend.SampleResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := s.Start(ctx, req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	a := backend.NewAssembler(req)
	for ev := range ch {
		a.Apply(ev)
	}
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
	return a.Response()
}

// lastBody is the last generation request the test server received.
func lastBody(t *testing.T, srv *vllmtest.Server) map[string]any {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasSuffix(reqs[i].Path, "completions") {
			return reqs[i].Fields()
		}
	}
	t.Fatal("no generation request")
	return nil
}

func intsOf(t *testing.T, v any) []backend.TokenID {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list of token ids, got %#v", v)
	}
	out := make([]backend.TokenID, len(list))
	for i, x := range list {
		out[i] = backend.TokenID(x.(float64))
	}
	return out
}

func idsOf(toks []backend.Token) []backend.TokenID {
	out := make([]backend.TokenID, len(toks))
	for i, tok := range toks {
		out[i] = tok.ID
	}
	return out
}

// secondChoice is the best alternative at a token other than the token itself.
func secondChoice(t *testing.T, tok backend.Token) backend.Alt {
	t.Helper()
	for _, a := range tok.Top {
		if a.Text != tok.Text && !backend.Partial(a.Text) {
			return a
		}
	}
	t.Fatalf("no alternative at %q", tok.Text)
	return backend.Alt{}
}

func completionRun(ids bool) backend.Request {
	p := params.Default()
	p.Seed, p.MaxTokens = i64(3), ip(12)
	return backend.Request{API: params.Completion, Prompt: "Once upon", Params: p, Options: params.Options{N: 2, Logprobs: ip(4)}, TokenIDs: ids}
}

// A fork in completion mode goes as token ids: the prompt's (the server's own), the kept
// tokens', and the chosen token's from /tokenize; with the current parameters.
func TestForkSendsIDs(t *testing.T) {
	t.Parallel()
	srv, c := testServer(t)
	req := completionRun(true)
	resp := draw(t, c, req)
	tree := NewTree(req)
	roots, err := tree.AddRun(req, resp)
	if err != nil || len(roots) != 2 {
		t.Fatalf("AddRun: %v %v", roots, err)
	}
	if tree.PromptIDsFrom != IDsFromResponse || !slices.Equal(tree.PromptIDs, resp.PromptTokenIDs[0]) {
		t.Fatalf("prompt ids %v from %q", tree.PromptIDs, tree.PromptIDsFrom)
	}
	parent := tree.Sample(1)
	alt := secondChoice(t, parent.Tokens[3])
	plan, err := tree.PlanFork(1, 3, alt)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Exact() || !plan.NeedsTokenize() {
		t.Fatalf("before /tokenize the chosen id is unknown: exact %v, needs %v", plan.Exact(), plan.NeedsTokenize())
	}
	if err := plan.Resolve(context.Background(), c); err != nil || !plan.Exact() || plan.Why != "" {
		t.Fatalf("Resolve: %v, exact %v, why %q", err, plan.Exact(), plan.Why)
	}
	cur := completionRun(false)
	cur.Prompt = "something else in the prompt box now"
	cur.Params.Temperature, cur.Params.MaxTokens, cur.Options.N = 0.5, ip(16), 1
	br, err := plan.Request(cur)
	if err != nil {
		t.Fatal(err)
	}
	got := draw(t, c, br)
	f := lastBody(t, srv)
	want := slices.Concat(tree.PromptIDs, idsOf(parent.Tokens[:3]), []backend.TokenID{backend.TokenID(vllmtest.TokenIDs(alt.Text)[0])})
	if sent := intsOf(t, f["prompt"]); !slices.Equal(sent, want) {
		t.Fatalf("prompt %v, want %v", sent, want)
	}
	if f["temperature"] != 0.5 || f["max_tokens"] != 12.0 || f["n"] != 1.0 || f["seed"] != 3.0 || f["logprobs"] != 4.0 {
		t.Errorf("body %v: want the current parameters, max_tokens 16 less the 4 kept", f)
	}
	kids, err := tree.Apply(plan, br, got)
	if err != nil || len(kids) != 1 {
		t.Fatalf("Apply: %v %v", kids, err)
	}
	child := tree.Sample(kids[0])
	if child.Fork != 3 || len(child.Tokens) != 4+len(got.Tokens[0]) {
		t.Fatalf("child: fork %d, %d tokens", child.Fork, len(child.Tokens))
	}
	for k := range 3 {
		if child.Tokens[k].Text != parent.Tokens[k].Text {
			t.Errorf("token %d: %q, the parent's is %q", k, child.Tokens[k].Text, parent.Tokens[k].Text)
		}
	}
	ch := child.Tokens[3]
	if ch.Text != alt.Text || ch.Logprob != alt.Logprob || len(ch.Top) == 0 {
		t.Errorf("chosen token %+v: want %q with its logprob and the position's alternatives", ch, alt.Text)
	}
	wantText := parent.Content[:parent.Tokens[3].Place.Start] + alt.Text + got.Trajectories[0].Messages[1].Content
	if child.Content != wantText {
		t.Errorf("content %q, want %q", child.Content, wantText)
	}
	for k, tok := range child.Tokens {
		if tok.Place == nil || !tok.Place.In() {
			t.Errorf("token %d %q not placed in %q", k, tok.Text, child.Text())
		}
	}
	n := tree.Node(kids[0])
	if n.Chosen.Text != alt.Text || n.Sampled.Text != parent.Tokens[3].Text || n.Sampled.Logprob != parent.Tokens[3].Logprob || n.Chosen.ID == backend.NoTokenID {
		t.Errorf("node picks: chosen %+v sampled %+v", n.Chosen, n.Sampled)
	}
	if bp := tree.BranchPrompt(kids[0]); !slices.Equal(bp.IDs, want) || bp.Text != "Once upon"+parent.Content[:parent.Tokens[3].Place.Start]+alt.Text {
		t.Errorf("branch prompt %+v", bp)
	}
}

// Without the sampled tokens' ids, a fork goes as text, and says why.
func TestForkFallsBackToText(t *testing.T) {
	t.Parallel()
	srv, c := testServer(t)
	req := completionRun(false)
	resp := draw(t, c, req)
	tree := NewTree(req)
	tree.AddRun(req, resp)
	s := tree.Sample(0)
	plan, err := tree.PlanFork(0, 2, secondChoice(t, s.Tokens[2]))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Exact() || plan.NeedsTokenize() || !strings.Contains(plan.Why, "return_token_ids") {
		t.Fatalf("exact %v needs %v why %q", plan.Exact(), plan.NeedsTokenize(), plan.Why)
	}
	if err := plan.Resolve(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/tokenize" {
			t.Fatal("tokenized although the prefix cannot be exact")
		}
	}
	br, err := plan.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	draw(t, c, br)
	f := lastBody(t, srv)
	want := "Once upon" + s.Content[:s.Tokens[2].Place.Start] + plan.Chosen.Text
	if f["prompt"] != want {
		t.Fatalf("prompt %#v, want %q", f["prompt"], want)
	}
}

// A chat fork continues the partial assistant message.
func TestForkChat(t *testing.T) {
	t.Parallel()
	srv, c := testServer(t)
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "Tell a story"}}, Params: params.Default(),
		Options: params.Options{Logprobs: ip(3)}}
	req.Params.MaxTokens = ip(10)
	tree := NewTree(req)
	tree.AddRun(req, draw(t, c, req))
	s := tree.Sample(0)
	alt := secondChoice(t, s.Tokens[4])
	plan, err := tree.PlanFork(0, 4, alt)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Why != "" || plan.NeedsTokenize() {
		t.Errorf("chat continues text: why %q", plan.Why)
	}
	br, err := plan.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	got := draw(t, c, br)
	f := lastBody(t, srv)
	msgs := f["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	prefix := s.Content[:s.Tokens[4].Place.Start] + alt.Text
	if f["continue_final_message"] != true || f["add_generation_prompt"] != false || last["role"] != "assistant" || last["content"] != prefix || len(msgs) != 2 {
		t.Fatalf("chat fork body %v", f)
	}
	kids, _ := tree.Apply(plan, br, got)
	if bp := tree.BranchPrompt(kids[0]); !bp.Continue || bp.Messages[1].Content != prefix {
		t.Errorf("branch prompt %+v", bp)
	}
}

// Step mode: one token at a time from the prompt, accepting, then choosing.
func TestStepMode(t *testing.T) {
	t.Parallel()
	srv, c := testServer(t)
	base := completionRun(true)
	base.Options.N = 3
	tree := NewTree(base)
	node := tree.AddEmpty()
	for step := range 3 {
		plan, err := tree.PlanStep(node)
		if err != nil {
			t.Fatal(err)
		}
		req, err := plan.StepRequest(base, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := draw(t, c, req)
		f := lastBody(t, srv)
		if f["max_tokens"] != 1.0 || f["logprobs"] != 4.0 || f["n"] != 1.0 || f["seed"] != float64(3+step) {
			t.Fatalf("step %d body %v", step, f)
		}
		if step > 0 {
			// The prompt's ids came with the first step; the sample so far follows.
			want := slices.Concat(tree.PromptIDs, idsOf(tree.Tokens(node)))
			if sent := intsOf(t, f["prompt"]); !slices.Equal(sent, want) {
				t.Fatalf("step %d prompt %v, want %v", step, sent, want)
			}
		}
		if _, err := tree.Apply(plan, req, got); err != nil {
			t.Fatal(err)
		}
		if n := len(tree.Tokens(node)); n != step+1 {
			t.Fatalf("after step %d: %d tokens", step, n)
		}
	}
	// "Next 10" asks for 10 tokens at once, "to the end" for what max_tokens leaves.
	plan, _ := tree.PlanStep(node)
	if req, _ := plan.StepRequest(base, 10); *req.Params.MaxTokens != 9 {
		t.Errorf("next 10 with 9 left: max_tokens %d", *req.Params.MaxTokens)
	}
	// Choosing the second-best token at the last step forks there.
	s := tree.Sample(node)
	fork, err := tree.PlanFork(node, 2, secondChoice(t, s.Tokens[2]))
	if err != nil {
		t.Fatal(err)
	}
	if err := fork.Resolve(context.Background(), c); err != nil || !fork.Exact() {
		t.Fatalf("resolve: %v %q", err, fork.Why)
	}
	req, _ := fork.StepRequest(base, 1)
	kids, err := tree.Apply(fork, req, draw(t, c, req))
	if err != nil || tree.Depth(kids[0]) != 1 || len(tree.Tokens(kids[0])) != 4 {
		t.Fatalf("fork in step mode: %v, depth %d", err, tree.Depth(kids[0]))
	}
	// A step planned on a node that grew since is refused.
	stale, _ := tree.PlanStep(node)
	r1, _ := stale.StepRequest(base, 1)
	tree.Apply(stale, r1, draw(t, c, r1))
	if _, err := tree.Apply(stale, r1, draw(t, c, r1)); err == nil {
		t.Error("a stale step was applied")
	}
}

func TestPlanRefusals(t *testing.T) {
	t.Parallel()
	_, c := testServer(t)
	req := completionRun(true)
	tree := NewTree(req)
	tree.AddRun(req, draw(t, c, req))
	tok := tree.Sample(0).Tokens[1]
	for _, tc := range []struct {
		node, pos int
		alt       backend.Alt
		want      string
	}{
		{9, 0, backend.Alt{Text: "x"}, "does not exist"},
		{0, 99, backend.Alt{Text: "x"}, "outside"},
		{0, 1, backend.Alt{Text: tok.Text}, "is the token sampled"},
		{0, 1, backend.Alt{Text: " nowhere"}, "not among the alternatives"},
	} {
		if _, err := tree.PlanFork(tc.node, tc.pos, tc.alt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PlanFork(%d, %d, %q): %v, want %q", tc.node, tc.pos, tc.alt.Text, err, tc.want)
		}
	}
	other := req
	other.Prompt = "another"
	if _, err := tree.AddRun(other, backend.SampleResponse{}); err == nil {
		t.Error("a run of another prompt joined the tree")
	}
}

// A tree of depth 3 saves and reloads identically: the same JSON, the same samples.
func TestTreeRoundTrip(t *testing.T) {
	t.Parallel()
	_, c := testServer(t)
	tree := deepTree(t, c)
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	var back Tree
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("reload: %v\n%s", err, b)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b, b2) {
		t.Fatalf("saved again, the tree differs:\n%s\n%s", b, b2)
	}
	// Held by value in a session, it saves the same.
	inSession, _ := json.Marshal(struct {
		Tree Tree `json:"tree"`
	}{back})
	if !bytes.Equal(inSession, append(append([]byte(`{"tree":`), b...), '}')) {
		t.Fatalf("by value: %s", inSession)
	}
	if back.Len() != tree.Len() || back.PromptIDsFrom != tree.PromptIDsFrom {
		t.Fatalf("%d nodes, want %d", back.Len(), tree.Len())
	}
	for id := range tree.Len() {
		want, _ := json.Marshal(tree.Sample(id))
		got, _ := json.Marshal(back.Sample(id))
		if !bytes.Equal(want, got) {
			t.Errorf("node %d: sample differs after reload", id)
		}
		if !slices.Equal(tree.Children(id), back.Children(id)) || tree.Depth(id) != back.Depth(id) {
			t.Errorf("node %d: children or depth differ", id)
		}
	}
	if d := tree.Depth(tree.Len() - 1); d != 3 {
		t.Fatalf("deepest node at depth %d, want 3", d)
	}
}

// deepTree is a completion tree with two roots and a branch of a branch of a branch.
func deepTree(t *testing.T, c *openai.Client) *Tree {
	t.Helper()
	req := completionRun(true)
	req.Options.Advanced = params.Advanced{MinP: 0.05, MinTokens: 2, LogitBias: []params.LogitBias{{ID: 7, Bias: -3}}}
	tree := NewTree(req)
	if _, err := tree.AddRun(req, draw(t, c, req)); err != nil {
		t.Fatal(err)
	}
	node := 1
	for _, pos := range []int{5, 7, 9} {
		plan, err := tree.PlanFork(node, pos, secondChoice(t, tree.Sample(node).Tokens[pos]))
		if err != nil {
			t.Fatal(err)
		}
		plan.Resolve(context.Background(), c)
		br, err := plan.Request(req)
		if err != nil {
			t.Fatal(err)
		}
		kids, err := tree.Apply(plan, br, draw(t, c, br))
		if err != nil {
			t.Fatal(err)
		}
		node = kids[0]
	}
	return tree
}

func TestTreeLoadRefusals(t *testing.T) {
	t.Parallel()
	_, c := testServer(t)
	b, _ := json.Marshal(deepTree(t, c))
	var raw map[string]any
	json.Unmarshal(b, &raw)
	edit := func(fn func(nodes []any)) []byte {
		var m map[string]any
		json.Unmarshal(b, &m)
		fn(m["nodes"].([]any))
		out, _ := json.Marshal(m)
		return out
	}
	node := func(nodes []any, i int) map[string]any { return nodes[i].(map[string]any) }
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"api", []byte(`{"api":"shell","nodes":[]}`), `api: want "chat" or "completion"`},
		{"id", edit(func(n []any) { node(n, 2)["id"] = 7.0 }), "nodes[2].id: 7, want 2"},
		{"parent", edit(func(n []any) { node(n, 2)["parent"] = 3.0 }), "nodes[2].parent: 3 is not an earlier node"},
		{"fork", edit(func(n []any) { node(n, 2)["fork"] = 400.0 }), "nodes[2].fork: 400 is outside the parent's"},
		{"sampled", edit(func(n []any) { node(n, 2)["sampled"].(map[string]any)["text"] = " nope" }), `nodes[2].sampled: " nope" is not the parent's token`},
		{"root", edit(func(n []any) { node(n, 0)["fork"] = 1.0 }), "nodes[0]: a root"},
		{"samples", edit(func(n []any) {
			r := node(n, 1)["runs"].([]any)[0].(map[string]any)["response"].(map[string]any)
			r["stop_reason"] = []any{"stop", "stop"}
		}), "nodes[1].runs[0].response: holds 2 samples"},
	} {
		tree := NewTree(completionRun(true))
		err := json.Unmarshal(tc.body, tree)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tree.Len() != 0 || tree.Prompt != "Once upon" {
			t.Errorf("%s: a refused load changed the tree", tc.name)
		}
	}
}

func TestTreeLines(t *testing.T) {
	t.Parallel()
	_, c := testServer(t)
	tree := deepTree(t, c)
	var got []string
	for _, l := range tree.Lines() {
		got = append(got, tree.Plain(l, nil))
	}
	want := []string{
		`sample 0 · 12 tokens · length`,
		`sample 1 · 7 tokens · eos`,
		`├─ @5 " walked" p=0.86 → " the" p=0.03 · 12 tokens · length`,
		`│  ├─ @7 " beneath" p=0.35 → " the" p=0.09 · 12 tokens · length`,
		`│  │  ├─ @9 " beneath" p=0.35 → " the" p=0.09 · 12 tokens · length`,
		`│  │  └─ @9 " beneath" p=0.35 → " the" p=0.09 · 12 tokens · eos`,
		`│  └─ @7 " beneath" p=0.35 → " the" p=0.09 · 11 tokens · eos`,
		`└─ @5 " walked" p=0.86 → " the" p=0.03 · 10 tokens · eos`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("tree view:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A branch whose prefix went as text says so.
	text := NewTree(completionRun(false))
	req := completionRun(false)
	text.AddRun(req, draw(t, c, req))
	plan, _ := text.PlanFork(0, 1, secondChoice(t, text.Sample(0).Tokens[1]))
	br, _ := plan.Request(req)
	kids, _ := text.Apply(plan, br, draw(t, c, br))
	if l := text.Plain(TreeLine{Node: kids[0]}, nil); !strings.Contains(l, " · as text · ") {
		t.Errorf("%q does not say the prefix went as text", l)
	}
}

func builtinClient(t *testing.T) *openai.Client {
	t.Helper()
	m, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := openai.New(openai.Config{BaseURL: "http://local/v1", HTTPClient: localserver.NewClient(m, localserver.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With the built-in model (completion mode: it has no chat template), a fork runs on
// exactly the prompt's, the kept tokens' and the chosen token's ids, with the current
// parameters; and stepping one token at a time from the prompt, greedily, draws the
// whole greedy sample token for token, so the ids steps send lose nothing.
func TestBuiltinForkAndSteps(t *testing.T) {
	t.Parallel()
	c := builtinClient(t)
	p := params.Default()
	p.Temperature, p.MaxTokens = 0, ip(8)
	req := backend.Request{API: params.Completion, Prompt: "func (b *Buffer) Len() int {", Params: p, Options: params.Options{Logprobs: ip(5)}, TokenIDs: true}
	tree := NewTree(req)
	roots, err := tree.AddRun(req, draw(t, c, req))
	if err != nil {
		t.Fatal(err)
	}
	whole := tree.Sample(roots[0])
	if len(whole.Tokens) != 8 || tree.PromptIDsFrom != IDsFromResponse {
		t.Fatalf("%d tokens, prompt ids from %q", len(whole.Tokens), tree.PromptIDsFrom)
	}

	alt := secondChoice(t, whole.Tokens[2])
	plan, err := tree.PlanFork(roots[0], 2, alt)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Resolve(context.Background(), c); err != nil || !plan.Exact() {
		t.Fatalf("resolve: %v, why %q", err, plan.Why)
	}
	cur := req
	cur.Params = p.Clone()
	cur.Params.Temperature, cur.Params.Seed, cur.Params.MaxTokens = 0.7, i64(9), ip(10)
	br, err := plan.Request(cur)
	if err != nil {
		t.Fatal(err)
	}
	got := draw(t, c, br)
	want := slices.Concat(tree.PromptIDs, idsOf(whole.Tokens[:2]), []backend.TokenID{plan.Chosen.ID})
	if !slices.Equal(got.PromptTokenIDs[0], want) {
		t.Fatalf("the fork ran %v, want %v", got.PromptTokenIDs[0], want)
	}
	if got.Params.Temperature != 0.7 || *got.Params.MaxTokens != 7 || got.Seeds[0] == nil || *got.Seeds[0] != 9 || len(got.Tokens[0]) > 7 {
		t.Errorf("fork params %+v seeds %v: want temperature 0.7, max_tokens 10-3, seed 9", got.Params, got.Seeds)
	}
	kids, _ := tree.Apply(plan, br, got)
	if s := tree.Sample(kids[0]); !strings.HasPrefix(s.Content, whole.Content[:whole.Tokens[2].Place.Start]+alt.Text) {
		t.Errorf("branch text %q", s.Content)
	}

	node := tree.AddEmpty()
	for range 8 {
		step, err := tree.PlanStep(node)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := step.StepRequest(req, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tree.Apply(step, sr, draw(t, c, sr)); err != nil {
			t.Fatal(err)
		}
	}
	stepped := tree.Sample(node)
	if !slices.Equal(idsOf(stepped.Tokens), idsOf(whole.Tokens)) || stepped.Content != whole.Content {
		t.Fatalf("8 greedy steps: %q, the greedy sample: %q", stepped.Content, whole.Content)
	}
	if _, err := tree.PlanStep(node); err != nil {
		t.Errorf("a sample cut by max_tokens can go on: %v", err)
	}
	if s := tree.Sample(node); len(tree.Node(node).Runs) != 8 || len(s.Seeds) != 8 {
		t.Errorf("%d runs", len(tree.Node(node).Runs))
	}
}

// A saved tree keeps every vLLM field its runs sent, the reasoning switches too: a
// reloaded branch must be re-run with what drew it.
func TestTreeKeepsTheReasoningSwitches(t *testing.T) {
	t.Parallel()
	_, c := testServer(t)
	off := false
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "Tell a story"}}, Params: params.Default(),
		Options: params.Options{Logprobs: ip(3), Advanced: params.Advanced{MinP: 0.05, EnableThinking: &off, ReasoningEffort: "low"}}}
	req.Params.MaxTokens = ip(6)
	tree := NewTree(req)
	if _, err := tree.AddRun(req, draw(t, c, req)); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	back := NewTree(req)
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("the tree did not reload identically:\n%s\n%s", b, b2)
	}
	for _, want := range []string{`"enable_thinking":false`, `"reasoning_effort":"low"`, `"min_p":0.05`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("saved tree lacks %s", want)
		}
	}
}
