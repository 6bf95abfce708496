package explore

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/local"
	"github.com/twinkle-sh/twinkle/backend/localserver"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/params"
)

// seqOf makes a sample of whole tokens from texts (no ids: compared by bytes).
func seqOf(texts ...string) Seq {
	var s Seq
	for _, x := range texts {
		p := backend.Place{Kind: backend.InText, Start: len(s.Text), End: len(s.Text) + len(x)}
		s.Tokens = append(s.Tokens, backend.Token{Text: x, Logprob: -0.5, ID: backend.NoTokenID, Place: &p})
		s.Text += x
	}
	return s
}

// checkCounts checks the prefix tree against the samples themselves: every edge's count
// is the number of samples with its path as a prefix, at every depth the edges covering
// it hold every sample that is that long, and counts add up through the tree.
func checkCounts(t *testing.T, seqs []Seq, m *Merged) {
	t.Helper()
	id := identify(seqs)
	if m.N != len(seqs) || m.Root.Count() != len(seqs) {
		t.Fatalf("root holds %d of %d", m.Root.Count(), len(seqs))
	}
	maxLen := 0
	for _, s := range seqs {
		maxLen = max(maxLen, len(s.Tokens))
	}
	covering := make([]int, maxLen)
	var walk func(e *Edge, path []tokenKey)
	walk = func(e *Edge, path []tokenKey) {
		sum := e.Ends
		for _, c := range e.Children {
			sum += c.Count()
			if c.Of != e.Count()-e.Ends {
				t.Errorf("edge at %d: of %d, but %d reached it", c.Start, c.Of, e.Count()-e.Ends)
			}
		}
		if len(e.Children) > 0 && sum != e.Count() {
			t.Errorf("edge at %d: %d samples, its children and ends hold %d", e.Start, e.Count(), sum)
		}
		for k := e.Start; k < e.End(); k++ {
			covering[k] += e.Count()
			path = append(path, id.key(seqs[e.Samples[0]], k))
		}
		var want []int
		for i, s := range seqs {
			if len(s.Tokens) >= len(path) && slices.Equal(keys(s, id)[:len(path)], path) {
				want = append(want, i)
			}
		}
		if e != m.Root && !slices.Equal(e.Samples, want) {
			t.Errorf("edge %d..%d: samples %v, the samples with its prefix are %v", e.Start, e.End(), e.Samples, want)
		}
		for _, c := range e.Children {
			walk(c, slices.Clone(path))
		}
		// Collapsed: a single child with no sample ending between is one edge.
		if e != m.Root && len(e.Children) == 1 && e.Ends == 0 {
			t.Errorf("edge %d..%d has one child and no end: it should have been collapsed", e.Start, e.End())
		}
	}
	walk(m.Root, nil)
	for d := range maxLen {
		long := 0
		for _, s := range seqs {
			if len(s.Tokens) > d {
				long++
			}
		}
		if covering[d] != long {
			t.Errorf("depth %d: edges hold %d samples, %d are that long", d, covering[d], long)
		}
	}
}

// firstSplit is FirstSplit the slow way.
func firstSplit(seqs []Seq) int {
	id := identify(seqs)
	for p := 0; ; p++ {
		var k tokenKey
		long, short := 0, 0
		for _, s := range seqs {
			if len(s.Tokens) <= p {
				short++
				continue
			}
			long++
			if long == 1 {
				k = id.key(s, p)
			} else if id.key(s, p) != k {
				return p
			}
		}
		if long == 0 {
			return -1
		}
		if short > 0 {
			// Some ended at p while others go on: the split is where they ended.
			return p
		}
	}
}

func TestMergeSmall(t *testing.T) {
	t.Parallel()
	seqs := []Seq{
		seqOf("The", " cat", " sat", "."),
		seqOf("The", " cat", " ran", "."),
		seqOf("The", " cat", " sat", "."),
		seqOf("The", " dog", "."),
		seqOf("The", " cat", " sat"),
	}
	m := Merge(seqs)
	checkCounts(t, seqs, m)
	if got := m.FirstSplit(); got != 1 {
		t.Errorf("first split at %d, want 1", got)
	}
	var lines []string
	for _, l := range m.Lines() {
		lines = append(lines, l.Plain(nil, 0))
	}
	want := []string{
		`"The" ×5`,
		`├─ " cat" ×4 80% p=0.61`,
		`│  ├─ " sat" ×3 75% p=0.61 ·1 end`,
		`│  │  └─ "." ×2 p=0.61`,
		`│  └─ " ran." ×1 25% p=0.61`,
		`└─ " dog." ×1 20% p=0.61`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if same := Merge([]Seq{seqOf("a", "b"), seqOf("a", "b")}); same.FirstSplit() != -1 || len(same.Lines()) != 1 {
		t.Errorf("identical samples: split %d, %d lines", same.FirstSplit(), len(same.Lines()))
	}
}

// FuzzMerge: whatever the samples, the counts add up at every depth.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 0, 1, 2, 4, 0, 1})
	f.Add([]byte{16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 7, 7, 7, 7, 0, 7, 7, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		n := int(b[0])%16 + 1
		seqs := make([]Seq, n)
		// Each byte after the first: low 2 bits a token of a 4-token vocabulary, a 0 in
		// bit 7 ends the sample being built and starts the next.
		i := 0
		var cur []string
		for _, c := range b[1:] {
			cur = append(cur, string(rune('a'+int(c&3))))
			if c&0x80 == 0 && i < n-1 {
				seqs[i] = seqOf(cur...)
				i++
				cur = nil
			}
		}
		seqs[i] = seqOf(cur...)
		m := Merge(seqs)
		checkCounts(t, seqs, m)
		if got, want := m.FirstSplit(), firstSplit(seqs); got != want {
			t.Errorf("first split %d, want %d", got, want)
		}
	})
}

func TestMergeRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := 1 + rng.IntN(16)
		seqs := make([]Seq, n)
		for i := range seqs {
			var toks []string
			for range rng.IntN(12) {
				// A small vocabulary, skewed, so samples share long prefixes.
				toks = append(toks, []string{"a", "a", "a", "b", "c"}[rng.IntN(5)])
			}
			seqs[i] = seqOf(toks...)
		}
		m := Merge(seqs)
		checkCounts(t, seqs, m)
		if got, want := m.FirstSplit(), firstSplit(seqs); got != want {
			t.Fatalf("first split %d, want %d", got, want)
		}
	}
}

// Eight samples of the built-in model with one seed: the merged tree's counts are the
// samples', by token id, and the same seed merges the same way again.
func TestMergeBuiltin8(t *testing.T) {
	t.Parallel()
	m, err := local.Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := openai.New(openai.Config{BaseURL: "http://local/v1", HTTPClient: localserver.NewClient(m, localserver.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	p := params.Default()
	p.Seed, p.MaxTokens, p.Temperature = i64(7), ip(12), 0.8
	req := backend.Request{API: params.Completion, Prompt: "func main() {\n\t", Params: p, Options: params.Options{N: 8, Logprobs: ip(3)}, TokenIDs: true}
	var runs [][]string
	for range 2 {
		seqs, err := Seqs(draw(t, c, req))
		if err != nil || len(seqs) != 8 {
			t.Fatalf("%d samples: %v", len(seqs), err)
		}
		mg := Merge(seqs)
		if !mg.ByID {
			t.Error("the built-in model returned ids, yet the tokens were compared by text")
		}
		checkCounts(t, seqs, mg)
		if got, want := mg.FirstSplit(), firstSplit(seqs); got != want {
			t.Errorf("first split %d, want %d", got, want)
		}
		var lines []string
		for _, l := range mg.Lines() {
			lines = append(lines, l.Plain(nil, 40))
		}
		runs = append(runs, lines)
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Fatalf("one seed, two merged trees:\n%s\n--\n%s", strings.Join(runs[0], "\n"), strings.Join(runs[1], "\n"))
	}
	t.Logf("8 samples merged:\n%s", strings.Join(runs[0], "\n"))
}

func TestSeqsNeedTokens(t *testing.T) {
	t.Parallel()
	if _, err := Seqs(backend.SampleResponse{Trajectories: []backend.Trajectory{{}}}); err == nil || !strings.Contains(err.Error(), "logprobs") {
		t.Errorf("no tokens: %v", err)
	}
}
