package explore

import (
	"fmt"
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// TreeLine is one node of the tree's compact view.
type TreeLine struct {
	Node  int
	Depth int
	// Indent is the tree drawing before the node ("│  └─ "): plain runes, no styling.
	Indent string
}

// Lines lays the tree out one node a line: each root, then its branches depth first,
// children by fork position.
func (t *Tree) Lines() []TreeLine {
	var out []TreeLine
	var walk func(id, depth int, lead string)
	walk = func(id, depth int, lead string) {
		kids := t.Children(id)
		for k, c := range kids {
			branch, next := "├─ ", "│  "
			if k == len(kids)-1 {
				branch, next = "└─ ", "   "
			}
			out = append(out, TreeLine{Node: c, Depth: depth, Indent: lead + branch})
			walk(c, depth+1, lead+next)
		}
	}
	for _, r := range t.Roots() {
		out = append(out, TreeLine{Node: r})
		walk(r, 1, "")
	}
	return out
}

// Plain writes the line without styling. A root reads "sample N"; a branch reads where
// it forked and on which token, the token the model sampled there and the one chosen
// instead, each with its probability in that position's distribution (the model's raw
// probability, before temperature and truncation). Then the sample's length, how it
// ended, and "as text" when its prefix was re-tokenized rather than sent as ids. Token
// texts are quoted on one line, clean applied (pass the UI's sanitizer).
//
//	sample 0 · 12 tokens · length
//	├─ @5 " walked" p=0.86 → " that" p=0.07 · 12 tokens · eos
//	│  └─ @9 " the" p=0.41 → " a" p=0.22 · 20 tokens · 3 runs · length
func (t *Tree) Plain(l TreeLine, clean func(string) string) string {
	n := t.Node(l.Node)
	if n == nil {
		return l.Indent
	}
	s := t.Sample(l.Node)
	var b strings.Builder
	b.WriteString(l.Indent)
	if n.Parent == NoParent {
		fmt.Fprintf(&b, "sample %d", rootIndex(t, l.Node))
	} else {
		fmt.Fprintf(&b, "@%d %s → %s", n.Fork, pickWords(n.Sampled, clean), pickWords(n.Chosen, clean))
	}
	if s.Tokens != nil {
		fmt.Fprintf(&b, " · %d tokens", len(s.Tokens))
	}
	if len(n.Runs) > 1 {
		fmt.Fprintf(&b, " · %d runs", len(n.Runs))
	}
	if len(n.Runs) > 0 && n.Runs[0].Continue != nil && n.Runs[0].Continue.IDs == nil && t.API != params.Chat {
		b.WriteString(" · as text")
	}
	fmt.Fprintf(&b, " · %s", stopWords(s))
	return b.String()
}

// rootIndex is a root's place among the roots.
func rootIndex(t *Tree, id int) int {
	for k, r := range t.Roots() {
		if r == id {
			return k
		}
	}
	return -1
}

func pickWords(p *Pick, clean func(string) string) string {
	if p == nil {
		return "?"
	}
	text := oneLine(p.Text)
	if clean != nil {
		text = clean(text)
	}
	s := "\"" + text + "\""
	if p.Logprob.Known() {
		s += " p=" + probWords(p.Logprob.Prob())
	}
	return s
}

// stopWords says how a sample ended, as the columns' stop badges do.
func stopWords(s Sample) string {
	switch {
	case s.Reason == "":
		return "not run"
	case s.Reason != backend.StopStop:
		return string(s.Reason)
	}
	switch s.StoppedBy.Kind {
	case backend.StoppedByString:
		return fmt.Sprintf("stop %q", s.StoppedBy.String)
	case backend.StoppedByToken:
		return fmt.Sprintf("stop token %d", s.StoppedBy.TokenID)
	case backend.StoppedByEOS:
		return "eos"
	}
	return "stop"
}
