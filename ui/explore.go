package ui

import (
	"encoding/json"
	"fmt"
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// exploreState is the branch tree of the samples on screen (explore.Tree:
// the run's samples as roots, every fork and step made since) and which
// column shows which of its nodes.
type exploreState struct {
	tree  *explore.Tree
	nodes map[*column]int
}

// nodeOf is the tree node column c shows; false when it shows none (a run
// still streaming, a run without logprobs).
func (e *exploreState) nodeOf(c *column) (int, bool) {
	id, ok := e.nodes[c]
	return id, ok && e.tree != nil
}

// exploreRunMsg is a fork's or a step's run, read to its end. The root puts
// it in the tree (ids: the nodes it made or grew) before the dialogs see it.
type exploreRunMsg struct {
	tree *explore.Tree
	plan *explore.Plan
	req  backend.Request
	resp backend.SampleResponse
	err  error
	step bool
	ids  []int
}

// showNode asks the root to show a tree node as a column (once).
type showNode struct{ id int }

func (showNode) isAction() {}

// treeFromRun makes the finished run's samples the roots of a new tree, when
// they carry tokens (a fork needs the alternatives of the logprobs).
func (m *Model) treeFromRun(r *runState) {
	if r != m.run {
		return
	}
	m.explore = exploreState{} // the samples it held are gone
	if r.asm == nil || !r.logprobs {
		return
	}
	t := explore.NewTree(r.req)
	roots, err := t.AddRun(r.req, r.asm.Response())
	if err != nil {
		return
	}
	m.explore = exploreState{tree: t, nodes: map[*column]int{}}
	for i, id := range roots {
		if i < len(m.samples.cols) {
			m.explore.nodes[m.samples.cols[i]] = id
		}
	}
}

// exploreBase is the request a fork or a step starts from: the current
// parameters, asking for token ids so that later forks can send exact ids.
func (m *Model) exploreBase() backend.Request {
	req := m.buildRequest()
	req.TokenIDs = true
	req.Options.PromptLogprobs = nil
	return req
}

// exploreRun runs plan (a step of n tokens when step, else its fork) to the
// end in a command: /tokenize where the plan lacks ids, then the request.
func (m *Model) exploreRun(plan *explore.Plan, n int, step bool) tea.Cmd {
	tree, s, ctx, base := m.explore.tree, m.c.Sampler, m.c.Ctx, m.exploreBase()
	if s == nil {
		return func() tea.Msg {
			return exploreRunMsg{tree: tree, plan: plan, step: step, err: fmt.Errorf("no server: this session is read-only")}
		}
	}
	return func() tea.Msg {
		out := exploreRunMsg{tree: tree, plan: plan, step: step}
		tok, _ := s.(backend.Tokenizer)
		if out.err = plan.Resolve(ctx, tok); out.err != nil {
			return out
		}
		if step {
			out.req, out.err = plan.StepRequest(base, n)
		} else {
			out.req, out.err = plan.Request(base)
		}
		if out.err != nil {
			return out
		}
		ch, err := s.Start(ctx, out.req)
		if err != nil {
			out.err = err
			return out
		}
		asm := backend.NewAssembler(out.req)
		for ev := range ch {
			asm.Apply(ev)
		}
		out.resp, out.err = asm.Response(), asm.Err()
		return out
	}
}

// onExploreRun puts a fork's or a step's run in the tree: a fork's samples
// become columns; step mode's dialog follows its node.
func (m *Model) onExploreRun(msg exploreRunMsg) tea.Cmd {
	if msg.tree == nil || msg.tree != m.explore.tree {
		m.setStatus("a branch finished for samples no longer on screen; not kept", true)
		return nil
	}
	failed := msg.err != nil && len(msg.resp.StopReason) == 0
	if failed || (msg.step && msg.err != nil) {
		// A failed step leaves the node as it was.
		what := "fork"
		if msg.step {
			what = "step"
		}
		m.setStatus(what+" failed: "+errString(msg.err), true)
		return m.toDialogs(msg)
	}
	ids, err := msg.tree.Apply(msg.plan, msg.req, msg.resp)
	if err != nil {
		m.setStatus("branch not kept: "+err.Error(), true)
		return m.toDialogs(msg)
	}
	msg.ids = ids
	if !msg.step {
		for _, id := range ids {
			m.showNode(id)
		}
		p := msg.plan
		how := "sent as token ids"
		if !p.Exact() {
			how = "sent as text"
			if p.Why != "" {
				how += ": " + p.Why
			}
		}
		m.setStatus(fmt.Sprintf("fork @%d %q → %q: %d new sample%s (%s)", p.Pos, p.Sampled.Text, p.Chosen.Text, len(ids), plural(len(ids)), how), msg.err != nil)
	}
	for c, id := range m.explore.nodes {
		if slices.Contains(ids, id) {
			m.refreshColumn(c, id)
		}
	}
	return m.toDialogs(msg)
}

func errString(err error) string {
	if err == nil {
		return "no sample"
	}
	return err.Error()
}

// showNode puts tree node id on screen as a new column, or focuses the
// column that shows it.
func (m *Model) showNode(id int) {
	t := m.explore.tree
	if t == nil || t.Node(id) == nil {
		return
	}
	for i, c := range m.samples.cols {
		if n, ok := m.explore.nodes[c]; ok && n == id {
			m.samples.focusColumn(i)
			return
		}
	}
	c := newColumn(len(m.samples.cols), nil, m.c.Now())
	m.fillColumn(c, id)
	m.explore.nodes[c] = id
	m.samples.setColumns(append(m.samples.cols, c))
	m.samples.focus = len(m.samples.cols) - 1
	m.relayout()
	m.samples.refreshInspector()
}

// refreshColumn redraws column c from node id after a step grew it.
func (m *Model) refreshColumn(c *column, id int) {
	i := slices.Index(m.samples.cols, c)
	if i < 0 {
		return
	}
	nc := newColumn(c.Index, nil, m.c.Now())
	m.fillColumn(nc, id)
	delete(m.explore.nodes, c)
	m.explore.nodes[nc] = id
	m.samples.cols[i] = nc
	m.relayout()
	m.samples.refreshInspector()
}

// fillColumn writes node id's whole sample into c, as a saved session's
// sample is written.
func (m *Model) fillColumn(c *column, id int) {
	t := m.explore.tree
	s := t.Sample(id)
	now := m.c.Now()
	if n := len(s.Seeds); n > 0 {
		c.Seed = s.Seeds[n-1]
	}
	c.Fork = forkLabel(t, id)
	if s.Tokens != nil {
		c.AppendTokens(s.Tokens, now)
		c.AppendStream(nil, s.Content, now)
	} else {
		c.AppendText(s.Content, now)
	}
	reason := s.Reason
	if reason == "" {
		reason = backend.StopInterrupted
	}
	c.Finish(reason, s.StoppedBy, s.Err)
}

// forkLabel names a branch in its column's header: where it forked and on
// which token; a root (drawn by step mode) says so.
func forkLabel(t *explore.Tree, id int) string {
	n := t.Node(id)
	switch {
	case n == nil:
		return ""
	case n.Parent == explore.NoParent:
		// Only step mode's roots get a column made from the tree.
		return "stepped"
	}
	return fmt.Sprintf("fork @%d %s", n.Fork, sanitize.Line(fmt.Sprintf("%q", n.Chosen.Text)))
}

// exploreKey opens what the explore keys open from the samples pane; false
// when msg is none of them.
func (m *Model) exploreKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := &m.c.Keys.Explore
	switch {
	case key.Matches(msg, k.Fork) && m.samples.inspecting:
		return m.openFork(), true
	case key.Matches(msg, k.Step):
		return m.openStep(), true
	case key.Matches(msg, k.Tree):
		if m.explore.tree == nil || m.explore.tree.Len() == 0 {
			m.setStatus("no branch tree yet: run with logprobs on, then fork (i, then a) or step (s)", true)
			return nil, true
		}
		return m.open(newTreeDialog(m.c, m.explore.tree, m.focusedNode())), true
	case key.Matches(msg, k.Merged):
		return m.openMerged(), true
	case key.Matches(msg, k.Determinism):
		return m.openDeterminism(), true
	case key.Matches(msg, k.Diff):
		if len(m.samples.cols) < 2 {
			m.setStatus("the diff needs two samples", true)
			return nil, true
		}
		return m.open(newDiffDialog(m.c, m.columnSeqs(), m.samples.focus)), true
	}
	return nil, false
}

// columnSeqs are the columns' samples token by token: a tree node's as the
// tree holds it, else as the column drew it.
func (m *Model) columnSeqs() []explore.Seq {
	out := make([]explore.Seq, len(m.samples.cols))
	for i, c := range m.samples.cols {
		if id, ok := m.explore.nodeOf(c); ok {
			out[i] = m.explore.tree.Sample(id).Seq()
			continue
		}
		out[i] = explore.Seq{Tokens: c.Tokens(), Text: c.Text()}
	}
	return out
}

// focusedNode is the node the focused column shows, -1 for none.
func (m *Model) focusedNode() int {
	if len(m.samples.cols) == 0 {
		return -1
	}
	if id, ok := m.explore.nodeOf(m.samples.cols[m.samples.focus]); ok {
		return id
	}
	return -1
}

// openFork lists the alternatives at the inspector's cursor to fork on.
func (m *Model) openFork() tea.Cmd {
	if m.streaming() {
		m.setStatus("wait for the run to finish before forking", true)
		return nil
	}
	if len(m.samples.cols) == 0 {
		return nil
	}
	c := m.samples.cols[m.samples.focus]
	id, ok := m.explore.nodeOf(c)
	if !ok || c.Cursor < 0 || c.Cursor >= len(c.Tokens()) {
		m.setStatus("nothing to fork here: forks need a finished run with logprobs on", true)
		return nil
	}
	pos := c.Cursor
	tree := m.explore.tree
	return m.open(newForkDialog(m.c, c.Tokens(), pos, func(alt backend.Alt) action {
		plan, err := tree.PlanFork(id, pos, alt)
		if err != nil {
			return sayStatus{err.Error(), true}
		}
		return actions{closeDialog{}, sayStatus{fmt.Sprintf("forking at token %d on %q…", pos, alt.Text), false}, runCmd{m.exploreRun(plan, 0, false)}}
	}))
}

// openStep starts step mode from the prompt: a new empty sample grown a few
// tokens at a time.
func (m *Model) openStep() tea.Cmd {
	if m.c.Sampler == nil {
		m.setStatus("no server: step mode needs one (start twinkle with --endpoint)", true)
		return nil
	}
	if m.streaming() {
		m.setStatus("wait for the run to finish before stepping", true)
		return nil
	}
	req := m.buildRequest()
	t := m.explore.tree
	if t == nil || t.API != req.API || t.Prompt != req.Prompt || !slices.Equal(t.Messages, req.Messages) {
		// The prompt changed since the tree was drawn: a new tree for this one.
		t = explore.NewTree(req)
		m.explore = exploreState{tree: t, nodes: map[*column]int{}}
	}
	id := t.AddEmpty()
	return m.open(newStepDialog(m.c, t, id, m.exploreRun))
}

// openMerged shows the run's samples as one prefix tree.
func (m *Model) openMerged() tea.Cmd {
	r, ok := m.Response()
	if !ok || m.streaming() {
		m.setStatus("the merged tree needs a finished run", true)
		return nil
	}
	seqs, err := explore.Seqs(r)
	if err != nil {
		m.setStatus("merged tree: "+err.Error(), true)
		return nil
	}
	return m.open(newMergedDialog(m.c, seqs))
}

// openDeterminism re-runs the last run's request, seed and all.
func (m *Model) openDeterminism() tea.Cmd {
	if m.c.Sampler == nil || m.run == nil || m.streaming() {
		m.setStatus("the determinism check re-runs the last run: run first (ctrl+r)", true)
		return nil
	}
	req := m.run.req
	req.Options.PromptLogprobs = nil
	s, ctx := m.c.Sampler, m.c.Ctx
	return m.open(newDeterminismDialog(m.c, req, func(k int) tea.Cmd {
		return func() tea.Msg { return checkDeterminism(ctx, s, req, k) }
	}))
}

// rootShows says whether column c shows the run's root id: drawn from the
// prompt in one run, with the same tokens.
func rootShows(t *explore.Tree, id int, c *column) bool {
	n := t.Node(id)
	if n == nil || len(n.Runs) != 1 || n.Runs[0].Continue != nil {
		return false
	}
	s := t.Sample(id)
	return len(s.Tokens) == len(c.Tokens()) && s.Content == c.Text()[:min(len(c.Text()), len(s.Content))]
}

// treeJSON is the tree as a session saves it; nil without one.
func (m *Model) treeJSON() json.RawMessage {
	if m.explore.tree == nil || m.explore.tree.Len() == 0 {
		return nil
	}
	b, err := json.Marshal(m.explore.tree)
	if err != nil {
		return nil
	}
	return b
}

// showTree puts a saved tree back: its roots are the session's columns, every
// other node a column after them.
func (m *Model) showTree(raw json.RawMessage) error {
	m.explore = exploreState{}
	if len(raw) == 0 {
		return nil
	}
	t := &explore.Tree{}
	if err := json.Unmarshal(raw, t); err != nil {
		return fmt.Errorf("field tree: %w", err)
	}
	m.explore = exploreState{tree: t, nodes: map[*column]int{}}
	// The run's samples are the first roots (the tree began with them); every
	// other node, branch or step mode's root, gets a column, in the order made.
	k := 0
	for _, id := range t.Roots() {
		if k < len(m.samples.cols) && rootShows(t, id, m.samples.cols[k]) {
			m.explore.nodes[m.samples.cols[k]] = id
			k++
		}
	}
	shown := map[int]bool{}
	for _, id := range m.explore.nodes {
		shown[id] = true
	}
	for id := range t.Len() {
		if !shown[id] {
			m.showNode(id)
		}
	}
	m.samples.focus = 0
	return nil
}

// exploreHelp is the explore keys' column of the samples pane's full help.
func exploreHelp(k *ExploreKeys) []key.Binding {
	return []key.Binding{k.Fork, k.Step, k.Tree, k.Merged, k.Determinism, k.Diff}
}
