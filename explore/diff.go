package explore

import (
	"fmt"
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
)

// OpKind says how a stretch of two aligned samples relates.
type OpKind uint8

const (
	// Same: the same tokens in both.
	Same OpKind = iota
	// Changed: different tokens in each (the first difference is one: both samples had
	// the same context, so the two tokens were drawn from one distribution).
	Changed
	// OnlyA and OnlyB: tokens only one sample has there.
	OnlyA
	OnlyB
)

// Span is tokens [Start, End) of one sample.
type Span struct{ Start, End int }

// Len is how many tokens the span holds.
func (s Span) Len() int { return s.End - s.Start }

// Op is one stretch of the alignment.
type Op struct {
	Kind OpKind
	A, B Span
}

// Diff is two samples aligned token by token.
//
// The alignment is a patience diff on token identities (ids when every token has one,
// else the bytes each token stands on): the common start and end are matched first, then
// tokens that occur exactly once on each side anchor the rest (the longest run of such
// pairs in the same order on both sides), recursively between anchors; a stretch with no
// anchor left is aligned by an exact longest common subsequence when small (at most
// lcsCells token pairs), else called changed as a whole. Last, a matching stretch no
// longer than the changes on both sides of it is folded into them (diff-match-patch's
// semantic cleanup). Both steps keep frequent tokens (" the", ",") from pairing across
// stretches that have nothing else in common, as a plain longest common subsequence
// pairs them: two samples that part and never meet again read as one change, not as a
// scatter of coincidences, while a long run they share again stays matched.
type Diff struct {
	A, B Seq
	Ops  []Op
	// First is the index in Ops of the first stretch that is not Same; -1 when the
	// samples are the same.
	First int
	// ByID: tokens were compared by id (else by their bytes).
	ByID bool
}

// cleanup folds into the changes around it every matching stretch no longer than the
// change on either side of it (diff-match-patch's semantic cleanup): after two samples
// part, a lone " the" they happen to share is a coincidence, not a place where they meet
// again; a long run in common stays.
func cleanup(ops []Op) []Op {
	for i := 1; i+1 < len(ops); i++ {
		if ops[i].Kind != Same || ops[i-1].Kind == Same || ops[i+1].Kind == Same {
			continue
		}
		n := ops[i].A.Len()
		if n > max(ops[i-1].A.Len(), ops[i-1].B.Len()) || n > max(ops[i+1].A.Len(), ops[i+1].B.Len()) {
			continue
		}
		merged := Op{Kind: Changed, A: Span{ops[i-1].A.Start, ops[i+1].A.End}, B: Span{ops[i-1].B.Start, ops[i+1].B.End}}
		ops = append(append(ops[:i-1], merged), ops[i+2:]...)
		i = max(0, i-3) // the grown change may now swallow the stretch before it
	}
	return ops
}

// lcsCells bounds the exact alignment of a stretch with no unique token to anchor it.
const lcsCells = 1 << 16

// Compare aligns sample a with sample b.
func Compare(a, b Seq) *Diff {
	id := identify([]Seq{a, b})
	ka, kb := keys(a, id), keys(b, id)
	d := &Diff{A: a, B: b, ByID: id.byID, First: -1}
	var ops []Op
	emit := func(kind OpKind, a0, a1, b0, b1 int) {
		if a0 == a1 && b0 == b1 {
			return
		}
		if n := len(ops); n > 0 {
			last := &ops[n-1]
			merged := kind == last.Kind ||
				(last.Kind == OnlyA && kind == OnlyB) || (last.Kind == OnlyB && kind == OnlyA) ||
				(last.Kind == Changed && kind != Same) || (kind == Changed && last.Kind != Same)
			if merged {
				if kind != last.Kind {
					last.Kind = Changed
				}
				last.A.End, last.B.End = a1, b1
				return
			}
		}
		ops = append(ops, Op{Kind: kind, A: Span{a0, a1}, B: Span{b0, b1}})
	}
	alignRange(ka, kb, 0, len(ka), 0, len(kb), emit)
	d.Ops = cleanup(ops)
	for i, op := range ops {
		if op.Kind != Same {
			d.First = i
			break
		}
	}
	return d
}

func keys(s Seq, id identity) []tokenKey {
	out := make([]tokenKey, len(s.Tokens))
	for i := range out {
		out[i] = id.key(s, i)
	}
	return out
}

type emitFunc func(kind OpKind, a0, a1, b0, b1 int)

// alignRange aligns a[a0:a1] with b[b0:b1], emitting ops in order.
func alignRange(a, b []tokenKey, a0, a1, b0, b1 int, emit emitFunc) {
	p := 0
	for a0+p < a1 && b0+p < b1 && a[a0+p] == b[b0+p] {
		p++
	}
	emit(Same, a0, a0+p, b0, b0+p)
	a0, b0 = a0+p, b0+p
	s := 0
	for a1-s > a0 && b1-s > b0 && a[a1-1-s] == b[b1-1-s] {
		s++
	}
	e0, e1 := a1-s, b1-s
	switch {
	case a0 == e0 || b0 == e1:
		emit(OnlyA, a0, e0, b0, b0)
		emit(OnlyB, e0, e0, b0, e1)
	default:
		if anchors := uniqueAnchors(a, b, a0, e0, b0, e1); len(anchors) > 0 {
			pa, pb := a0, b0
			for _, an := range anchors {
				alignRange(a, b, pa, an[0], pb, an[1], emit)
				emit(Same, an[0], an[0]+1, an[1], an[1]+1)
				pa, pb = an[0]+1, an[1]+1
			}
			alignRange(a, b, pa, e0, pb, e1, emit)
		} else if (e0-a0)*(e1-b0) <= lcsCells {
			lcs(a, b, a0, e0, b0, e1, emit)
		} else {
			emit(Changed, a0, e0, b0, e1)
		}
	}
	emit(Same, e0, a1, e1, b1)
}

// uniqueAnchors pairs the tokens that occur once in a[a0:a1] and once in b[b0:b1], and
// keeps the longest run of pairs in the same order on both sides (patience sorting).
func uniqueAnchors(a, b []tokenKey, a0, a1, b0, b1 int) [][2]int {
	type seen struct{ n, at int }
	ca, cb := map[tokenKey]seen{}, map[tokenKey]seen{}
	for i := a0; i < a1; i++ {
		s := ca[a[i]]
		ca[a[i]] = seen{s.n + 1, i}
	}
	for j := b0; j < b1; j++ {
		s := cb[b[j]]
		cb[b[j]] = seen{s.n + 1, j}
	}
	var pairs [][2]int
	for i := a0; i < a1; i++ {
		if sa, sb := ca[a[i]], cb[a[i]]; sa.n == 1 && sb.n == 1 {
			pairs = append(pairs, [2]int{i, sb.at})
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	// Longest increasing subsequence of the b positions, in a order.
	tails := []int{}                // index into pairs of the smallest tail of each length
	prev := make([]int, len(pairs)) // predecessor in the subsequence
	for k, pr := range pairs {
		lo, hi := 0, len(tails)
		for lo < hi {
			mid := (lo + hi) / 2
			if pairs[tails[mid]][1] < pr[1] {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		prev[k] = -1
		if lo > 0 {
			prev[k] = tails[lo-1]
		}
		if lo == len(tails) {
			tails = append(tails, k)
		} else {
			tails[lo] = k
		}
	}
	out := make([][2]int, len(tails))
	for k, i := len(tails)-1, tails[len(tails)-1]; k >= 0; k, i = k-1, prev[i] {
		out[k] = pairs[i]
	}
	return out
}

// lcs aligns a small stretch by an exact longest common subsequence.
func lcs(a, b []tokenKey, a0, a1, b0, b1 int, emit emitFunc) {
	n, m := a1-a0, b1-b0
	// t[i][j] is the LCS length of a[a0+i:a1] and b[b0+j:b1].
	t := make([][]int32, n+1)
	for i := range t {
		t[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[a0+i] == b[b0+j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[a0+i] == b[b0+j]:
			emit(Same, a0+i, a0+i+1, b0+j, b0+j+1)
			i, j = i+1, j+1
		case j < m && (i == n || t[i][j+1] >= t[i+1][j]):
			emit(OnlyB, a0+i, a0+i, b0+j, b0+j+1)
			j++
		default:
			emit(OnlyA, a0+i, a0+i+1, b0+j, b0+j)
			i++
		}
	}
}

// Difference is one stretch where the samples differ, with what each has there.
type Difference struct {
	Op   Op
	A, B []backend.Token
	// TextA and TextB are the stretch's text on each side (untrusted).
	TextA, TextB string
	// BInA is the logprob sample A's distribution gave sample B's first token there, when
	// A's alternatives list it (Unknown otherwise); AInB the other way round. At the
	// first difference both samples had one context, so each is the other's token in
	// the same distribution.
	BInA, AInB backend.Logprob
}

// Differences lists every stretch that is not Same, in order; the first is the first
// divergence.
func (d *Diff) Differences() []Difference {
	var out []Difference
	for _, op := range d.Ops {
		if op.Kind == Same {
			continue
		}
		df := Difference{Op: op, A: d.A.Tokens[op.A.Start:op.A.End], B: d.B.Tokens[op.B.Start:op.B.End],
			BInA: backend.Unknown(), AInB: backend.Unknown()}
		if op.A.Len() > 0 {
			df.TextA = spanText(d.A, op.A.Start, op.A.End)
		}
		if op.B.Len() > 0 {
			df.TextB = spanText(d.B, op.B.Start, op.B.End)
		}
		if len(df.A) > 0 && len(df.B) > 0 {
			df.BInA = altLogprob(df.A[0].Top, df.B[0].Text)
			df.AInB = altLogprob(df.B[0].Top, df.A[0].Text)
		}
		out = append(out, df)
	}
	return out
}

func altLogprob(top []backend.Alt, text string) backend.Logprob {
	for _, a := range top {
		if a.Text == text {
			return a.Logprob
		}
	}
	return backend.Unknown()
}

// Lines writes the differences one a line without styling, the first marked as the
// first divergence: positions in each sample, each side's text (quoted on one line,
// clean applied: pass the UI's sanitizer) and the probability of its first token, and
// the other side's token in this side's alternatives when listed. Identical samples give
// one line saying so.
//
//	first divergence at 12: " the" p=0.41 | " a" p=0.22 (in A's: 0.22)
//	at 15/15: " cat" p=0.30 | " dog" p=0.12
//	at 20/20: " sat" p=0.50 | (nothing)
func (d *Diff) Lines(clean func(string) string) []string {
	if d.First < 0 {
		return []string{fmt.Sprintf("the samples are the same (%d tokens)", len(d.A.Tokens))}
	}
	side := func(text string, toks []backend.Token) string {
		if len(toks) == 0 {
			return "(nothing)"
		}
		t := oneLine(text)
		if clean != nil {
			t = clean(t)
		}
		s := "\"" + t + "\""
		if len(toks) > 1 {
			s += fmt.Sprintf(" (%d tokens)", len(toks))
		}
		if lp := toks[0].Logprob; lp.Known() {
			s += " p=" + probWords(lp.Prob())
		}
		return s
	}
	var out []string
	for k, df := range d.Differences() {
		var b strings.Builder
		if k == 0 {
			b.WriteString("first divergence")
		}
		if df.Op.A.Start == df.Op.B.Start {
			fmt.Fprintf(&b, "%sat %d: ", space(k == 0), df.Op.A.Start)
		} else {
			fmt.Fprintf(&b, "%sat %d/%d: ", space(k == 0), df.Op.A.Start, df.Op.B.Start)
		}
		b.WriteString(side(df.TextA, df.A))
		b.WriteString(" | ")
		b.WriteString(side(df.TextB, df.B))
		if df.BInA.Known() {
			fmt.Fprintf(&b, " (B's in A's: %s)", probWords(df.BInA.Prob()))
		}
		out = append(out, b.String())
	}
	return out
}

func space(on bool) string {
	if on {
		return " "
	}
	return ""
}
