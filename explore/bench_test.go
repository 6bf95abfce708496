package explore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// synthetic is a response of one sample of n word tokens, each with 5 alternatives.
func synthetic(n, salt int) backend.SampleResponse {
	var toks []backend.Token
	var sb strings.Builder
	for i := range n {
		w := fmt.Sprintf(" w%d", (i*7+salt)%97)
		top := []backend.Alt{{Text: w, Logprob: -0.5}}
		for a := range 4 {
			top = append(top, backend.Alt{Text: fmt.Sprintf(" alt%d", a), Logprob: backend.Logprob(-1 - float64(a))})
		}
		toks = append(toks, backend.Token{Text: w, Logprob: -0.5, ID: backend.TokenID(1000 + (i*7+salt)%97), Top: top})
		sb.WriteString(w)
	}
	return backend.SampleResponse{
		Trajectories: []backend.Trajectory{{Messages: []backend.Message{{Role: "user", Content: "p"}, {Role: "assistant", Content: sb.String()}}}},
		StopReason:   []backend.StopReason{backend.StopLength}, StoppedBy: []backend.StoppedBy{{}},
		Tokens: [][]backend.Token{placeAll(toks, sb.String(), "")}, Seeds: []*int64{nil},
	}
}

// benchTree is four roots of n tokens and a branch of a branch of a branch from the
// first, each n tokens more.
func benchTree(b *testing.B, n int) *Tree {
	req := backend.Request{API: params.Completion, Prompt: "p", Params: params.Default()}
	tree := NewTree(req)
	for r := range 4 {
		if _, err := tree.AddRun(req, synthetic(n, r)); err != nil {
			b.Fatal(err)
		}
	}
	node := 0
	for d := range 3 {
		plan, err := tree.PlanFork(node, n/2+d*n/4, backend.Alt{Text: " alt0", Logprob: -1})
		if err != nil {
			b.Fatal(err)
		}
		kids, err := tree.Apply(plan, req, synthetic(n, 10+d))
		if err != nil {
			b.Fatal(err)
		}
		node = kids[0]
	}
	return tree
}

// BenchmarkSampleDeep builds the deepest branch's sample from nothing: its parents' too.
func BenchmarkSampleDeep(b *testing.B) {
	tree := benchTree(b, 2000)
	deepest := tree.Len() - 1
	b.ReportAllocs()
	for b.Loop() {
		tree.samples = nil
		if len(tree.Sample(deepest).Tokens) == 0 {
			b.Fatal("no tokens")
		}
	}
}

// BenchmarkTreeView is the compact tree view of a tree already built: what a frame costs.
func BenchmarkTreeView(b *testing.B) {
	tree := benchTree(b, 2000)
	for _, l := range tree.Lines() {
		tree.Plain(l, nil) // the samples are built once the tree changes, not per frame
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range tree.Lines() {
			_ = tree.Plain(l, nil)
		}
	}
}

// BenchmarkMerge16 merges 16 samples of 2000 tokens, four of each kind.
func BenchmarkMerge16(b *testing.B) {
	var seqs []Seq
	for i := range 16 {
		r := synthetic(2000, i%4)
		s, _ := Seqs(r)
		seqs = append(seqs, s[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		Merge(seqs)
	}
}

// BenchmarkCompare aligns two samples of 2000 tokens that have little in common.
func BenchmarkCompare(b *testing.B) {
	a, _ := Seqs(synthetic(2000, 0))
	c, _ := Seqs(synthetic(2000, 1))
	b.ReportAllocs()
	for b.Loop() {
		Compare(a[0], c[0])
	}
}
