package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/inspector"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// splitPrefix turns on the mark of a grapheme made of several tokens: the theme's (a curly
// underline) on a true-colour terminal. An older terminal may not know SGR 4:3, and a plain
// underline already marks every other token's boundary there, so it gets an italic
// underline.
func splitPrefix(t *themes.Styles, prof colorprofile.Profile) string {
	if t == nil {
		return ""
	}
	if prof >= colorprofile.TrueColor {
		return stylePrefix(t.Column.Split)
	}
	return stylePrefix(t.Column.SplitBasic)
}

// inspectPlace says where token t of column c sits in its text, for the inspector: the
// grapheme it shares with its neighbours and their bytes, or why it is not in the text.
func (sp *samplesPane) inspectPlace(c *column, t int) inspector.Place {
	var p inspector.Place
	if c.al == nil || t < 0 || t >= len(c.tokens) || t >= c.al.Len() {
		return p
	}
	a := c.al
	if h := c.hostOf(t); h < len(c.shared) {
		if sh := c.shared[h]; sh.last > sh.first && t >= sh.first && t <= sh.last {
			p.Shared, p.Part, p.Parts = sh.raw, t-sh.first+1, sh.last-sh.first+1
			p.Mark = splitPrefix(sp.c.Styles, sp.c.Profile)
			for k := sh.first; k <= sh.last; k++ {
				p.Members = append(p.Members, inspector.Member{Bytes: c.tokenBytes(k), Logprob: c.tokens[k].Logprob})
			}
		}
	}
	pl := a.Places()[t]
	if pl.In() && pl.End <= a.TextLen() {
		p.Bytes, p.HaveBytes, p.Ambiguous = a.Slice(pl.Start, pl.End), true, pl.Ambiguous
	}
	switch {
	case pl.Kind == backend.InTail:
		p.Outside = "the stop string: the server leaves it out of the text"
	case pl.In():
	case a.Lost() >= 0 && t >= a.Lost():
		p.Outside = "the server's text does not match its tokens from here on: shown as reported"
	case a.Finished():
		p.Outside = "not in the text the server sent: a special token, or part of a character cut off by the end (drawn " + incomplete + ")"
	default:
		p.Outside = "its text has not arrived yet (the server holds text back)"
	}
	// Completions key the alternatives by decoded text: fewer than asked for means some
	// that decode alike (pieces of characters, all "\ufffd") were merged.
	if k, n := sp.topAsked, len(c.tokens[t].Top); n > 0 && n < k {
		p.Merged = k - n
	}
	return p
}

// tokenBytes is token k's bytes in the text, or its reported text where it is not there.
func (c *column) tokenBytes(k int) string {
	if pl := c.al.Places()[k]; pl.In() && pl.End <= c.al.TextLen() {
		return c.al.Slice(pl.Start, pl.End)
	}
	return c.tokens[k].Text
}

// firstDivergence corrects inspector.FirstDivergence (at, by token text) for tokens that
// hold parts of characters: they all read "\ufffd", so samples that split different
// characters alike would seem to agree. The first position before at where such tokens'
// bytes differ is where the samples diverge.
func firstDivergence(cols []*column, at int) int {
	if len(cols) < 2 {
		return at
	}
	end := at
	if end < 0 {
		end = len(cols[0].tokens)
		for _, c := range cols[1:] {
			end = min(end, len(c.tokens))
		}
	}
	for i := 0; i < end; i++ {
		if !backend.Partial(cols[0].tokens[i].Text) || cols[0].al == nil {
			continue
		}
		b := cols[0].tokenBytes(i)
		for _, c := range cols[1:] {
			if c.al == nil || c.tokenBytes(i) != b {
				return i
			}
		}
	}
	return at
}

// acrossLabels names, for each sample, what its token at position i stands for where its
// text does not say: "好 1/2" for the first of two tokens making 好.
func acrossLabels(cols []*column, i int) []string {
	var labels []string
	for ci, c := range cols {
		if c.al == nil || i >= len(c.tokens) || !backend.Partial(c.tokens[i].Text) {
			continue
		}
		label := ""
		if h := c.hostOf(i); h < len(c.shared) {
			if sh := c.shared[h]; sh.last > sh.first && i >= sh.first && i <= sh.last {
				label = fmt.Sprintf("%s %d/%d", sanitize.Visible(sh.raw), i-sh.first+1, sh.last-sh.first+1)
			}
		}
		if label == "" && !c.al.Places()[i].In() && c.al.Finished() {
			label = strings.ReplaceAll(sanitize.Visible(c.tokens[i].Text), wire.Replacement, incomplete)
		}
		if label != "" {
			if labels == nil {
				labels = make([]string, len(cols))
			}
			labels[ci] = label
		}
	}
	return labels
}

// promptDisplay is what the prompt pane draws for the prompt's tokens: the prompt's real
// text, each grapheme in the look of the token holding its first byte, or, made of several
// tokens, in the look of the least likely of them. The tokens are placed in prompt (the
// prompt sent in completion mode), else their runs of partial tokens are looked for in
// prompt and refs (a chat prompt is wrapped in a template the client does not see).
func promptDisplay(toks []backend.Token, prompt string, refs ...string) []backend.Token {
	anyPartial := false
	for i := range toks {
		anyPartial = anyPartial || backend.Partial(toks[i].Text)
	}
	if !anyPartial {
		return toks
	}
	text, places := prompt, backend.AlignPrompt(toks, prompt)
	if places == nil {
		text, places = backend.Reconstruct(toks, append([]string{prompt}, refs...)...)
	}
	var all strings.Builder
	starts := make([]int, len(toks)+1)
	for k := range toks {
		starts[k] = all.Len()
		if p := places[k]; p.In() && p.End <= len(text) {
			all.WriteString(text[p.Start:p.End])
		} else {
			all.WriteString(toks[k].Text)
		}
	}
	starts[len(toks)] = all.Len()
	s := all.String()
	owner := func(x, from int) int {
		i := from
		for i+1 < len(toks) && starts[i+1] <= x {
			i++
		}
		return i
	}
	worst := func(first, last int) int {
		w := first
		for k := first; k <= last; k++ {
			if lp := toks[k].Logprob; lp.Known() && (!toks[w].Logprob.Known() || lp < toks[w].Logprob) {
				w = k
			}
		}
		return w
	}
	var out []backend.Token
	oi, prev := 0, -1 // prev: the token the last piece is wholly of, -1 after a shared grapheme
	for x := 0; x < len(s); {
		g, _ := ansi.FirstGraphemeCluster(s[x:], ansi.GraphemeWidth)
		if g == "" {
			break
		}
		oi = owner(x, oi)
		li := owner(x+len(g)-1, oi)
		look := oi
		if li > oi {
			look = worst(oi, li)
		}
		if li == oi && prev == oi {
			out[len(out)-1].Text += g
		} else {
			t := toks[look]
			t.Text = g
			out = append(out, t)
		}
		prev = oi
		if li > oi {
			prev = -1
		}
		x += len(g)
	}
	return out
}

// topAsked is how many alternatives a completions run asked for per token:
// completions key them by decoded text, so fewer means some were merged. 0
// for chat, no logprobs, or no run.
func topAsked(r *runState) int {
	if r != nil && r.req.API == params.Completion && r.req.Options.Logprobs != nil {
		return *r.req.Options.Logprobs
	}
	return 0
}
