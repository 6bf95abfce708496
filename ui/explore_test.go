package ui

import (
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// exploreModel is a finished run of n samples with five alternatives per
// token, the samples pane focused.
func exploreModel(t *testing.T, w, h, n int, mutate func(*Config)) (*Model, *vllmtest.Server) {
	t.Helper()
	m, srv := serverModel(t, w, h, func(c *Config) {
		five := 5
		c.Options = params.Options{N: n, Logprobs: &five}
		c.Params.MaxTokens = ptr(24)
		if mutate != nil {
			mutate(c)
		}
	})
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	return m, srv
}

func ptr[T any](v T) *T { return &v }

// forkAt forks the sample in column col at token pos on its first
// alternative, through the inspector's keys, and waits for the branch's
// column.
func forkAt(t *testing.T, m *Model, col, pos int) {
	t.Helper()
	if !m.samples.inspecting {
		m.Update(keyMsg("i"))
	}
	m.samples.focus = col
	m.samples.setCursor(pos)
	m.Update(keyMsg("a"))
	front[*forkDialog](t, m)
	n := len(m.samples.cols)
	driveUntil(t, m, press(m, "enter"), func() bool { return len(m.samples.cols) > n })
	if m.statusErr {
		t.Fatalf("fork: %s", m.status)
	}
}

// completionRequests are the completion requests the server got, in order.
func completionRequests(srv *vllmtest.Server) []vllmtest.Recorded {
	var out []vllmtest.Recorded
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") {
			out = append(out, r)
		}
	}
	return out
}

// A fork sends the prompt, the kept tokens and the chosen one as token ids,
// with the current parameters, and its sample keeps the parent's tokens
// before the fork.
func TestForkSendsThePrefixAsIDs(t *testing.T) {
	t.Parallel()
	m, srv := exploreModel(t, 120, 40, 1, nil)
	parent := m.samples.cols[0].Tokens()
	m.panel.P.Temperature = 0.5 // the fork takes the parameters as they are now
	forkAt(t, m, 0, 3)
	reqs := completionRequests(srv)
	last := reqs[len(reqs)-1]
	var ids []int
	if err := json.Unmarshal(last.Request.Prompt, &ids); err != nil {
		t.Fatalf("the fork's prompt is not token ids: %s", last.Request.Prompt)
	}
	tree := m.explore.tree
	node := tree.Node(m.explore.nodes[m.samples.cols[1]])
	if node == nil || node.Parent != 0 || node.Fork != 3 || node.Chosen.ID == backend.NoTokenID {
		t.Fatalf("node %+v", node)
	}
	want := []int{}
	for _, id := range tree.PromptIDs {
		want = append(want, int(id))
	}
	for _, tok := range parent[:3] {
		want = append(want, int(tok.ID))
	}
	want = append(want, int(node.Chosen.ID))
	if !slices.Equal(ids, want) {
		t.Fatalf("prompt ids %v, want %v", ids, want)
	}
	f := last.Fields()
	if f["temperature"] != 0.5 || f["return_token_ids"] != true {
		t.Fatalf("fork request fields: temperature %v return_token_ids %v", f["temperature"], f["return_token_ids"])
	}
	got := m.samples.cols[1].Tokens()
	for i := range 3 {
		if got[i].Text != parent[i].Text {
			t.Fatalf("token %d: %q, the parent has %q", i, got[i].Text, parent[i].Text)
		}
	}
	if got[3].Text != node.Chosen.Text || got[3].Text == parent[3].Text {
		t.Fatalf("token 3 is %q, chosen %q, sampled %q", got[3].Text, node.Chosen.Text, parent[3].Text)
	}
	if !strings.Contains(m.samples.cols[1].Fork, "fork @3") {
		t.Fatalf("the column does not say it is a fork: %q", m.samples.cols[1].Fork)
	}
	// The tree writes the branch's prompt exactly as it was sent.
	m.Update(keyMsg("i"))
	m.Update(keyMsg("B"))
	front[*treeDialog](t, m)
	m.Update(keyMsg("down"))
	m.Update(keyMsg("w"))
	path := filepath.Join(t.TempDir(), "branch.json")
	front[*fileDialog](t, m).input.SetValue(path)
	drive(t, m, press(m, "enter"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (status %q)", err, m.status)
	}
	var body struct{ Prompt []int }
	if err := json.Unmarshal(data, &body); err != nil || !slices.Equal(body.Prompt, ids) {
		t.Fatalf("written branch prompt %s, sent %v", data, ids)
	}
}

// In chat mode a fork continues the partial assistant message.
func TestForkInChatContinuesTheMessage(t *testing.T) {
	t.Parallel()
	m, srv := exploreModel(t, 120, 40, 1, func(c *Config) { c.API = params.Chat })
	forkAt(t, m, 0, 2)
	reqs := srv.Requests()
	f := reqs[len(reqs)-1].Fields()
	if f["continue_final_message"] != true || f["add_generation_prompt"] != false {
		t.Fatalf("continue_final_message %v add_generation_prompt %v", f["continue_final_message"], f["add_generation_prompt"])
	}
	msgs, _ := f["messages"].([]any)
	lastMsg, _ := msgs[len(msgs)-1].(map[string]any)
	tree := m.explore.tree
	want := tree.Sample(1).Text()[:len(lastMsg["content"].(string))]
	if lastMsg["role"] != "assistant" || lastMsg["content"] != want {
		t.Fatalf("last message %v", lastMsg)
	}
}

// The branch tree of depth 3: a fork of a fork of a fork.
func TestGoldenBranchTree(t *testing.T) {
	t.Parallel()
	m, _ := exploreModel(t, 120, 40, 1, nil)
	forkAt(t, m, 0, 2)
	forkAt(t, m, 1, 5)
	forkAt(t, m, 2, 8)
	tree := m.explore.tree
	if d := tree.Depth(3); d != 3 {
		t.Fatalf("depth %d", d)
	}
	m.Update(keyMsg("B"))
	front[*treeDialog](t, m)
	checkGolden(t, m)
}

// Step mode: five tokens by hand, each a request of max_tokens 1 with
// logprobs; choosing another token forks there.
func TestGoldenStepMode(t *testing.T) {
	t.Parallel()
	m, srv := exploreModel(t, 120, 40, 2, nil)
	before := len(completionRequests(srv))
	m.Update(keyMsg("s"))
	d := front[*stepDialog](t, m)
	for i := range 5 {
		driveUntil(t, m, press(m, "n"), func() bool { return d.busy == nil && len(m.explore.tree.Sample(d.node).Tokens) == i+1 })
	}
	reqs := completionRequests(srv)[before:]
	if len(reqs) != 5 {
		t.Fatalf("%d step requests", len(reqs))
	}
	for i, r := range reqs {
		f := r.Fields()
		if f["max_tokens"] != 1.0 || f["logprobs"] != 5.0 || f["n"] != nil && f["n"] != 1.0 {
			t.Fatalf("step %d: max_tokens %v logprobs %v n %v", i, f["max_tokens"], f["logprobs"], f["n"])
		}
	}
	checkGolden(t, m)
	// Another token at the last position: the next step forks there.
	last := m.explore.tree.Sample(d.node).Tokens[4]
	m.Update(keyMsg("down"))
	from := d.node
	driveUntil(t, m, press(m, "n"), func() bool { return d.busy == nil && d.node != from })
	n := m.explore.tree.Node(d.node)
	if n.Parent != from || n.Fork != 4 || n.Sampled.Text != last.Text || n.Chosen.Text == last.Text {
		t.Fatalf("step fork: %+v", n)
	}
	m.Update(keyMsg("esc"))
	if c := m.samples.cols[len(m.samples.cols)-1]; m.explore.nodes[c] != d.node {
		t.Fatal("closing step mode does not show the stepped sample")
	}
}

// Eight samples as one tree.
func TestGoldenMergedTree(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, func(c *Config) { c.Options = params.Options{N: 8, Logprobs: ptr(5)} })
	srv.Push(vllmtest.Script{Samples: scriptedTree()})
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	m.Update(keyMsg("M"))
	d := front[*mergedDialog](t, m)
	if d.m.N != 8 {
		t.Fatalf("merged %d samples", d.m.N)
	}
	checkGolden(t, m)
}

// Two samples aligned.
func TestGoldenDiff(t *testing.T) {
	t.Parallel()
	m, srv := serverModel(t, 120, 40, func(c *Config) { c.Options = params.Options{N: 2, Logprobs: ptr(5)} })
	srv.Push(vllmtest.Script{Samples: []vllmtest.Sample{scriptedTree()[6], scriptedTree()[5]}})
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	m.Update(keyMsg("d"))
	front[*diffDialog](t, m)
	checkGolden(t, m)
}

// A determinism report in which one re-run flipped a token: the gap is read
// from the first run's alternatives.
func TestGoldenDeterminismFlip(t *testing.T) {
	t.Parallel()
	m, _ := exploreModel(t, 120, 40, 1, nil)
	m.Update(keyMsg("D"))
	front[*determinismDialog](t, m)
	r, _ := m.Response()
	flipped := r
	flipped.Tokens = [][]backend.Token{slices.Clone(r.Tokens[0])}
	tok := &flipped.Tokens[0][4]
	alt := tok.Top[1]
	if alt.Text == tok.Text {
		alt = tok.Top[0]
	}
	tok.Text, tok.Logprob, tok.ID = alt.Text, alt.Logprob, backend.NoTokenID
	d := backend.CheckDeterminism([]backend.SampleResponse{r, r, flipped})
	m.Update(determinismMsg{d: d})
	screen := plainScreen(m)
	if !strings.Contains(screen, "1 of 2 re-runs differ") || !strings.Contains(screen, "token 4") {
		t.Fatalf("report:\n%s", screen)
	}
	checkGolden(t, m)
}

func TestDeterminismReportWords(t *testing.T) {
	t.Parallel()
	gap := func(g float64, atLeast bool) backend.Determinism {
		no := false
		return backend.Determinism{Runs: 2, Identical: &no, DifferingRuns: 1,
			FirstDifference: &backend.Divergence{Run: 1, Position: 3, Unit: "token", Tokens: [2]string{"a", "b"}, Gap: &g, GapAtLeast: atLeast, From: "run 0"}}
	}
	for _, c := range []struct {
		d    backend.Determinism
		want string
	}{
		{gap(0.01, false), "near-tie (gap ≤"},
		{gap(2, false), "points at the server"},
		{gap(2, true), "points at the server"},
		{gap(0.01, true), "not known"}, // only a bound: not known to be close
	} {
		got := strings.Join(determinismReport(c.d), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("gap %v: %s", *c.d.FirstDifference.Gap, got)
		}
	}
}

// The built-in model with a fixed seed draws the same samples every time.
func TestBuiltinModelPassesTheDeterminismCheck(t *testing.T) {
	t.Parallel()
	lm, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := openai.New(openai.Config{BaseURL: "http://twinkle.local/v1", Model: local.DefaultModelName, MaxRetries: -1,
		HTTPClient: localserver.NewClient(lm, localserver.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	m := newTestModel(t, cl, 120, 40)
	m.modelName = local.DefaultModelName
	m.prompt.SetValue("func main() {")
	m.panel.P.MaxTokens = ptr(16)
	m.panel.P.Seed = ptr(int64(7))
	m.panel.SeedLocked = true
	five := 5
	m.panel.O = params.Options{N: 2, Logprobs: &five}
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	m.Update(keyMsg("D"))
	d := front[*determinismDialog](t, m)
	m.Update(keyMsg("right")) // k = 4
	driveUntil(t, m, press(m, "enter"), func() bool { return !d.running && d.report != nil })
	if d.bad || !strings.HasPrefix(d.report[0], "identical: all 4 runs") {
		t.Fatalf("report: %q", d.report)
	}
}

// A session saves the branches and reloads them as they were.
func TestSessionKeepsTheTree(t *testing.T) {
	t.Parallel()
	m, _ := exploreModel(t, 120, 40, 2, nil)
	forkAt(t, m, 0, 2)
	m.Update(keyMsg("i")) // close the inspector
	m.Update(keyMsg("s"))
	d := front[*stepDialog](t, m)
	for i := range 2 {
		driveUntil(t, m, press(m, "n"), func() bool { return d.busy == nil && len(m.explore.tree.Sample(d.node).Tokens) == i+1 })
	}
	m.Update(keyMsg("esc"))
	want := m.treeJSON()
	cols := len(m.samples.cols)
	path := filepath.Join(t.TempDir(), "s.json")
	s := m.snapshot()
	if err := store.SaveSession(path, &s); err != nil {
		t.Fatal(err)
	}
	loaded, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	m2 := New(Config{Session: loaded, SessionPath: path, Params: params.Default(), IsDark: true})
	m2.Update(windowSize(120, 40))
	if got := m2.treeJSON(); string(got) != string(want) {
		t.Fatalf("tree reloaded differs:\n%s\n%s", got, want)
	}
	if len(m2.samples.cols) != cols {
		t.Fatalf("%d columns after reload, %d before", len(m2.samples.cols), cols)
	}
	for i, c := range m2.samples.cols {
		id, ok := m2.explore.nodeOf(c)
		if !ok || id != m.explore.nodes[m.samples.cols[i]] {
			t.Fatalf("column %d shows node %d (%v), before %d", i, id, ok, m.explore.nodes[m.samples.cols[i]])
		}
	}
	var back explore.Tree
	if err := json.Unmarshal(loaded.Tree, &back); err != nil || back.Len() != m.explore.tree.Len() {
		t.Fatalf("saved tree: %v, %d nodes", err, back.Len())
	}
}

// scriptedTree is eight samples that share their start and split as a tree,
// each token's logprob the share of the samples that took it there (a little
// less where all agree) and the other tokens taken there its alternatives.
func scriptedTree() []vllmtest.Sample {
	texts := []string{
		"Once upon a time there was a fox who slept all day",
		"Once upon a time there was a fox who slept at night",
		"Once upon a time there was a fox who ran",
		"Once upon a time there was a fox that ran far away",
		"Once upon a time there was a fox that ran home",
		"Once upon a time a dragon slept beneath the hills",
		"Once upon a time a small dragon slept",
		"Once upon a time a small dragon flew",
	}
	seqs := make([][]string, len(texts))
	for i, t := range texts {
		for k, w := range strings.Fields(t) {
			if k > 0 {
				w = " " + w
			}
			seqs[i] = append(seqs[i], w)
		}
	}
	ids := map[string]int{}
	id := func(w string) int {
		if _, ok := ids[w]; !ok {
			ids[w] = 100 + len(ids)
		}
		return ids[w]
	}
	out := make([]vllmtest.Sample, len(seqs))
	for i, seq := range seqs {
		for k, w := range seq {
			next := map[string]int{}
			reached := 0
			for _, o := range seqs {
				if len(o) > k && slices.Equal(o[:k], seq[:k]) {
					next[o[k]]++
					reached++
				}
			}
			lp := func(x string) float64 { return math.Log(0.9 * float64(next[x]) / float64(reached)) }
			tok := vllmtest.Tok{Text: w, ID: id(w), Logprob: lp(w)}
			for _, x := range slices.Sorted(maps.Keys(next)) {
				if x != w {
					tok.Alts = append(tok.Alts, vllmtest.Alt{Text: x, Logprob: lp(x)})
				}
			}
			tok.Alts = append(tok.Alts, vllmtest.Alt{Text: " the", Logprob: math.Log(0.05)})
			out[i].Tokens = append(out[i].Tokens, tok)
		}
		out[i].Finish = "length"
	}
	return out
}

// A run that fails before its first token puts the last samples back, and
// their branches with them.
func TestFailedRunKeepsTheTree(t *testing.T) {
	t.Parallel()
	m, srv := exploreModel(t, 120, 40, 1, nil)
	tree := m.explore.tree
	f := vllmtest.NoFault()
	f.Status, f.Message = 500, "boom"
	srv.Push(vllmtest.Script{Fault: &f})
	driveUntil(t, m, m.startRun(), allDone(m))
	if m.explore.tree != tree {
		t.Fatal("the failed run replaced the branch tree of the samples put back")
	}
	forkAt(t, m, 0, 1)
}
