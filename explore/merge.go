package explore

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
)

// Seq is one sample as Merge and Compare read it: its tokens, placed in Text (the content,
// then the tail the server cut).
type Seq struct {
	Tokens []backend.Token
	Text   string
}

// Seq is the node's sample as Merge and Compare read it.
func (s Sample) Seq() Seq { return Seq{Tokens: s.Tokens, Text: s.Text()} }

// Seqs reads a response's samples. Tokens come only with logprobs, so a response drawn
// without them cannot be merged or compared token by token.
func Seqs(r backend.SampleResponse) ([]Seq, error) {
	if r.Tokens == nil {
		return nil, errors.New("the samples have no tokens: ask for logprobs (1 or more) to see them token by token")
	}
	out := make([]Seq, len(r.Tokens))
	for i, toks := range r.Tokens {
		var content string
		if i < len(r.Trajectories) {
			if msgs := r.Trajectories[i].Messages; len(msgs) > 0 {
				content = msgs[len(msgs)-1].Content
			}
		}
		var by backend.StoppedBy
		if i < len(r.StoppedBy) {
			by = r.StoppedBy[i]
		}
		out[i] = Seq{Tokens: toks, Text: content + backend.StopTail(content, by)}
	}
	return out, nil
}

// identity says when two tokens are the same token: by id when every token of the
// samples has one, else by their bytes (the text a token is placed on, so two pieces of
// different characters, both reported as U+FFFD, stay apart), else by reported text.
type identity struct{ byID bool }

func identify(seqs []Seq) identity {
	for _, s := range seqs {
		for _, t := range s.Tokens {
			if t.ID == backend.NoTokenID {
				return identity{}
			}
		}
	}
	return identity{byID: true}
}

// tokenKey is a token's identity: its id, or (id NoTokenID) its bytes.
type tokenKey struct {
	id    backend.TokenID
	bytes string
}

func (id identity) key(s Seq, i int) tokenKey {
	t := &s.Tokens[i]
	if id.byID {
		return tokenKey{id: t.ID}
	}
	if p := t.Place; p != nil && p.In() && p.Start <= p.End && p.End <= len(s.Text) {
		return tokenKey{id: backend.NoTokenID, bytes: s.Text[p.Start:p.End]}
	}
	return tokenKey{id: backend.NoTokenID, bytes: t.Text}
}

// Merged is the prefix tree of N samples' tokens: where they agree, one edge; where they
// split, one child per token taken. Runs where every sample that reached them agrees are
// collapsed into one edge, so the first split and the size of each branch show at once.
type Merged struct {
	// Root holds no tokens: every sample passes it; Ends counts the empty samples.
	Root *Edge
	N    int
	// ByID: tokens were told apart by id (else by their bytes).
	ByID bool
}

// Edge is a run of tokens some samples share.
type Edge struct {
	// Start is the position (token index) of the edge's first token.
	Start int
	// Tokens are the run's tokens as the lowest-numbered sample on it has them; Text their
	// text (untrusted: sanitize before display).
	Tokens []backend.Token
	Text   string
	// Samples took the edge (ascending); Of is how many reached its start.
	Samples []int
	Of      int
	// Ends counts the samples that end right after the edge.
	Ends     int
	Children []*Edge
}

// Count is how many samples took the edge.
func (e *Edge) Count() int { return len(e.Samples) }

// End is the position after the edge's last token.
func (e *Edge) End() int { return e.Start + len(e.Tokens) }

// Logprob is the model's logprob of the edge's first token, where the samples split: the
// raw logprob the server reported, before temperature and truncation. It is the same for
// every sample on the edge (they share the context), read from the lowest-numbered one.
func (e *Edge) Logprob() backend.Logprob {
	if len(e.Tokens) == 0 {
		return backend.Unknown()
	}
	return e.Tokens[0].Logprob
}

// Joint is the logprob of the whole run (the sum of its tokens'); Unknown when one is.
func (e *Edge) Joint() backend.Logprob {
	var sum float64
	for _, t := range e.Tokens {
		if !t.Logprob.Known() {
			return backend.Unknown()
		}
		sum += float64(t.Logprob)
	}
	return backend.Logprob(sum)
}

// Merge builds the prefix tree of seqs' tokens.
func Merge(seqs []Seq) *Merged {
	id := identify(seqs)
	all := make([]int, len(seqs))
	for i := range all {
		all[i] = i
	}
	root := &Edge{Samples: all, Of: len(seqs)}
	var rest []int
	for _, i := range all {
		if len(seqs[i].Tokens) == 0 {
			root.Ends++
		} else {
			rest = append(rest, i)
		}
	}
	root.Children = split(seqs, id, rest, 0)
	return &Merged{Root: root, N: len(seqs), ByID: id.byID}
}

// split groups samples (all longer than pos) by their token at pos, and follows each
// group as far as it agrees.
func split(seqs []Seq, id identity, samples []int, pos int) []*Edge {
	var keys []tokenKey
	groups := map[tokenKey][]int{}
	for _, i := range samples {
		k := id.key(seqs[i], pos)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	edges := make([]*Edge, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		end := pos + 1
	grow:
		for {
			for _, i := range g {
				if len(seqs[i].Tokens) <= end || id.key(seqs[i], end) != id.key(seqs[g[0]], end) {
					break grow
				}
			}
			end++
		}
		first := seqs[g[0]]
		e := &Edge{Start: pos, Tokens: first.Tokens[pos:end], Text: spanText(first, pos, end), Samples: g, Of: len(samples)}
		var on []int
		for _, i := range g {
			if len(seqs[i].Tokens) == end {
				e.Ends++
			} else {
				on = append(on, i)
			}
		}
		if len(on) > 0 {
			e.Children = split(seqs, id, on, end)
		}
		edges = append(edges, e)
	}
	slices.SortStableFunc(edges, func(a, b *Edge) int {
		if a.Count() != b.Count() {
			return b.Count() - a.Count()
		}
		return a.Samples[0] - b.Samples[0]
	})
	return edges
}

// spanText is the text of tokens [from, to) of s: the bytes they are placed on, or their
// reported texts when they are not placed.
func spanText(s Seq, from, to int) string {
	a, b := s.Tokens[from].Place, s.Tokens[to-1].Place
	if a != nil && b != nil && a.In() && b.In() && a.Start <= b.End && b.End <= len(s.Text) {
		return s.Text[a.Start:b.End]
	}
	var sb strings.Builder
	for _, t := range s.Tokens[from:to] {
		sb.WriteString(t.Text)
	}
	return sb.String()
}

// FirstSplit is the position of the first token where the samples part (some take
// another token, or end while others go on); -1 when every sample is the same.
func (m *Merged) FirstSplit() int {
	e := m.Root
	for len(e.Children) == 1 && e.Ends == 0 {
		e = e.Children[0]
	}
	if len(e.Children) == 0 {
		return -1
	}
	return e.End()
}

// Edges visits every edge but the root, depth first in display order, with its depth.
func (m *Merged) Edges(fn func(e *Edge, depth int)) {
	var walk func(e *Edge, depth int)
	walk = func(e *Edge, depth int) {
		for _, c := range e.Children {
			fn(c, depth)
			walk(c, depth+1)
		}
	}
	walk(m.Root, 0)
}

// MergedLine is one line of the merged tree's compact rendering: an edge, with the tree
// drawing before it.
type MergedLine struct {
	Edge  *Edge
	Depth int
	// Indent is the tree drawing ("│  ├─ "): plain runes, no styling.
	Indent string
}

// Lines lays the merged tree out one edge a line, depth first: the first split is where
// the first line with siblings appears. A lone chain of edges (each with one child and
// no sample ending between them) cannot occur: such runs are one edge.
func (m *Merged) Lines() []MergedLine {
	var out []MergedLine
	var walk func(e *Edge, depth int, lead string)
	walk = func(e *Edge, depth int, lead string) {
		for k, c := range e.Children {
			last := k == len(e.Children)-1
			branch, next := "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
			if depth == 0 && len(e.Children) == 1 {
				branch, next = "", ""
			}
			out = append(out, MergedLine{Edge: c, Depth: depth, Indent: lead + branch})
			walk(c, depth+1, lead+next)
		}
	}
	walk(m.Root, 0, "")
	return out
}

// Plain writes the line without styling: the drawing, the edge's text quoted on one line
// (newlines and tabs escaped, clean applied after: pass the UI's sanitizer; nil keeps the
// text as is), then how many samples took it, their share of those that reached it, the
// model's probability of its first token, and how many end after it. Text longer than
// maxRunes (0: no limit) keeps its start and end around an ellipsis.
//
//	"func main() {" ×8
//	├─ "\n\tfmt" ×5 62% p=0.55
//	│  ├─ ".Println(" ×3 60% p=0.40 ·3 end
func (l MergedLine) Plain(clean func(string) string, maxRunes int) string {
	e := l.Edge
	text := oneLine(e.Text)
	if clean != nil {
		text = clean(text)
	}
	text = shorten(text, maxRunes)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\"%s\" ×%d", l.Indent, text, e.Count())
	if e.Count() < e.Of {
		fmt.Fprintf(&b, " %d%%", int(math.Round(100*float64(e.Count())/float64(e.Of))))
	}
	if e.Count() < e.Of || e.Start > 0 {
		if lp := e.Logprob(); lp.Known() {
			fmt.Fprintf(&b, " p=%s", probWords(lp.Prob()))
		}
	}
	if e.Ends > 0 && len(e.Children) > 0 {
		fmt.Fprintf(&b, " ·%d end", e.Ends)
	}
	return b.String()
}

// lineEscapes escape what would break a line, and the quotes around it. A Replacer is
// safe for concurrent use and never changes once built.
var lineEscapes = strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`, `"`, `\"`)

func oneLine(s string) string { return lineEscapes.Replace(s) }

// shorten keeps the start and the end of s around "…" when it has more than n runes.
func shorten(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 3 {
		return string([]rune(s)[:n])
	}
	r := []rune(s)
	head := (n - 1) * 2 / 3
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// probWords writes a probability in two significant figures, never rounded to 0 or 1
// when it is not.
func probWords(p float64) string {
	switch {
	case p >= 1:
		return "1"
	case p > 0.995:
		return ">0.99"
	case p < 0.001:
		return "<0.001"
	case p < 0.01:
		return strconv.FormatFloat(p, 'f', 3, 64)
	}
	return strconv.FormatFloat(p, 'f', 2, 64)
}
