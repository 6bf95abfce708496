package explore

import (
	"math"
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

func words(s string) Seq {
	var toks []string
	for i, w := range strings.Fields(s) {
		if i > 0 {
			w = " " + w
		}
		toks = append(toks, w)
	}
	return seqOf(toks...)
}

func opsString(d *Diff) string {
	var parts []string
	for _, op := range d.Ops {
		parts = append(parts, []string{"=", "~", "-", "+"}[op.Kind]+spanText2(d, op))
	}
	return strings.Join(parts, " ")
}

func spanText2(d *Diff, op Op) string {
	a, b := "", ""
	if op.A.Len() > 0 {
		a = spanText(d.A, op.A.Start, op.A.End)
	}
	if op.B.Len() > 0 {
		b = spanText(d.B, op.B.Start, op.B.End)
	}
	if op.Kind == Same || b == "" {
		return "[" + a + "]"
	}
	if a == "" {
		return "[" + b + "]"
	}
	return "[" + a + "|" + b + "]"
}

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b  string
		ops   string
		first int // position in A of the first divergence; -1: the same
	}{
		{"The cat sat", "The cat sat", "=[The cat sat]", -1},
		{"The cat sat on the mat", "The dog sat on the mat", "=[The] ~[ cat| dog] =[ sat on the mat]", 1},
		{"a b c d", "a b x c d", "=[a b] +[ x] =[ c d]", 2},
		{"a b c d", "a b", "=[a b] -[ c d]", 2},
		{"", "a", "+[a]", 0},
		// Parted for good: a shared " the" is not a meeting point.
		{"I went to the shop to buy bread", "I saw the film and the popcorn was cold", "=[I] ~[ went to the shop to buy bread| saw the film and the popcorn was cold]", 1},
		// A long run in common after a change stays matched.
		{"one two three four five six seven eight", "one TWO three four five six seven eight", "=[one] ~[ two| TWO] =[ three four five six seven eight]", 1},
		// Moved: the longer common run wins.
		{"x a b c d e y", "x y a b c d e", "=[x] +[ y] =[ a b c d e] -[ y]", 1},
	} {
		d := Compare(words(tc.a), words(tc.b))
		if got := opsString(d); got != tc.ops {
			t.Errorf("%q vs %q:\n got %s\nwant %s", tc.a, tc.b, got, tc.ops)
		}
		first := -1
		if d.First >= 0 {
			first = d.Ops[d.First].A.Start
		}
		if first != tc.first {
			t.Errorf("%q vs %q: first divergence at %d, want %d", tc.a, tc.b, first, tc.first)
		}
	}
}

// Whatever the samples, the ops cover both samples in order, and Same stretches are
// equal tokens.
func TestCompareCovers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	vocab := []string{"a", " the", " cat", ",", " sat", "."}
	for range 500 {
		mk := func() Seq {
			var toks []string
			for range rng.IntN(30) {
				toks = append(toks, vocab[rng.IntN(len(vocab))])
			}
			return seqOf(toks...)
		}
		a, b := mk(), mk()
		d := Compare(a, b)
		ia, ib := 0, 0
		for k, op := range d.Ops {
			if op.A.Start != ia || op.B.Start != ib {
				t.Fatalf("op %d starts at %d/%d, want %d/%d", k, op.A.Start, op.B.Start, ia, ib)
			}
			if k > 0 && (op.Kind == Same) == (d.Ops[k-1].Kind == Same) {
				t.Fatalf("ops %d and %d are both same or both different: %+v", k-1, k, d.Ops)
			}
			if op.Kind == Same {
				if op.A.Len() != op.B.Len() || !slices.Equal(keys(a, identity{})[op.A.Start:op.A.End], keys(b, identity{})[op.B.Start:op.B.End]) {
					t.Fatalf("same stretch %+v differs", op)
				}
			}
			ia, ib = op.A.End, op.B.End
		}
		if ia != len(a.Tokens) || ib != len(b.Tokens) {
			t.Fatalf("ops end at %d/%d, samples are %d/%d", ia, ib, len(a.Tokens), len(b.Tokens))
		}
	}
}

func TestDiffLines(t *testing.T) {
	t.Parallel()
	a := words("The cat sat on the mat")
	b := words("The dog sat on a mat")
	a.Tokens[1].Logprob, b.Tokens[1].Logprob = -0.9, -1.6
	a.Tokens[1].Top = []backend.Alt{{Text: " cat", Logprob: -0.9}, {Text: " dog", Logprob: -1.6}}
	got := Compare(a, b).Lines(strings.ToUpper)
	want := []string{
		`first divergence at 1: " CAT" p=0.41 | " DOG" p=0.20 (B's in A's: 0.20)`,
		`at 4: " THE" p=0.61 | " A" p=0.61`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Compare(a, a).Lines(nil); len(got) != 1 || !strings.Contains(got[0], "the same (6 tokens)") {
		t.Errorf("same: %v", got)
	}
}

// Two samples of the built-in model: the diff's first divergence is where they part,
// with both tokens drawn from one distribution.
func TestDiffBuiltin(t *testing.T) {
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
	p.Seed, p.MaxTokens, p.Temperature = i64(4), ip(24), 0.6
	req := backend.Request{API: params.Completion, Prompt: "package main\n\nimport (\n\t\"", Params: p, Options: params.Options{N: 2, Logprobs: ip(5)}, TokenIDs: true}
	seqs, err := Seqs(draw(t, c, req))
	if err != nil {
		t.Fatal(err)
	}
	d := Compare(seqs[0], seqs[1])
	want := firstSplit(seqs)
	if want < 0 {
		t.Skip("the two samples are the same for this seed")
	}
	op := d.Ops[d.First]
	if op.A.Start != want || op.B.Start != want || !d.ByID {
		t.Fatalf("first divergence %+v, the samples part at %d (by id %v)", op, want, d.ByID)
	}
	df := d.Differences()[0]
	if df.A[0].ID == df.B[0].ID {
		t.Fatal("the first difference holds the same token")
	}
	// One context, one distribution: B's token in A's alternatives has B's own logprob.
	if !df.BInA.Known() || math.Abs(float64(df.BInA-df.B[0].Logprob)) > 1e-4 {
		t.Errorf("B's token in A's distribution: %v, its own logprob %v", df.BInA, df.B[0].Logprob)
	}
	t.Logf("%s", strings.Join(d.Lines(nil), "\n"))
}
