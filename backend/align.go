package backend

import (
	"strings"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Byte-level tokenizers split many characters over several tokens (CJK, accented letters,
// every emoji). vLLM decodes each token alone for logprobs, so such a token reads "\ufffd",
// while the streamed text is right: its detokenizer holds a character back until all its
// bytes have arrived. Alignment puts the tokens back into the text: a token whose reported
// text is the text's next bytes sits there; a run of tokens holding parts of characters
// takes the bytes that decode, token by token, to what the server reported, and that end
// on a character boundary where the next whole token starts.

// PlaceKind says where a token sits in the text it was aligned with.
type PlaceKind uint8

const (
	// NotPlaced: the token is not in the text, or not yet: its text has not streamed yet, it
	// is a special token with a text of its own (an EOS such as "<|im_end|>"), or it comes
	// after the point where the tokens stopped matching the text.
	NotPlaced PlaceKind = iota
	// InText: the token's bytes are the text's [Start, End).
	InText
	// InTail: the token lies past the content, in the tail it was finished with: the stop
	// string the server left out of the content.
	InTail
)

// Place is where one token sits in a sample's text (or a prompt's).
type Place struct {
	Kind PlaceKind
	// Start, End: the token's bytes in the aligned text (the content, then the tail). End
	// can pass the text's end for a whole token that also holds the start of what the
	// server cut off.
	Start, End int
	// Split is set (Parts > 0) when the token holds only part of a character: the
	// characters it shares with its neighbours and which of their tokens it is.
	Split Split
	// Ambiguous: more than one division of the text into these tokens decodes to the texts
	// the server reported; this is the one that places the most tokens, so its bytes are a
	// best guess. The text shown is right either way.
	Ambiguous bool
}

// In reports whether the token sits in the aligned text (content or tail).
func (p Place) In() bool { return p.Kind != NotPlaced }

// Split describes characters made of several tokens.
type Split struct {
	// Text is the characters, whole (untrusted: sanitize before display); Start and End
	// their bytes in the aligned text.
	Text       string
	Start, End int
	// Part is which of the Parts tokens that make them this token is, from 1.
	Part, Parts int
}

// Partial reports whether a token's reported text holds a U+FFFD, as vLLM reports a token
// that is part of a character (or, rarely, a real U+FFFD).
func Partial(text string) bool { return strings.Contains(text, wire.Replacement) }

// Aligner places a sample's tokens in its text as both stream in. Places before Settled
// are final; the rest are the best guess from what has arrived. Not safe for concurrent
// use.
type Aligner struct {
	texts    []string
	places   []Place
	text     []byte
	content  int // bytes of text that are content; the rest is the tail Finish added
	finished bool
	settled  int // tokens whose place is final
	pos      int // where the settled tokens end
	lost     int // first token that did not match the text, -1 while all match
}

// NewAligner starts an empty alignment.
func NewAligner() *Aligner { return &Aligner{lost: -1} }

// Add appends tokens and streamed text (either may be empty) and re-aligns what is not
// settled. Tokens added after Finish are not placed; their text is dropped.
func (a *Aligner) Add(toks []Token, text string) {
	for i := range toks {
		a.texts = append(a.texts, toks[i].Text)
		a.places = append(a.places, Place{})
	}
	if a.finished {
		a.settled = len(a.texts)
		return
	}
	a.text = append(a.text, text...)
	a.content = len(a.text)
	a.update()
}

// Finish says no more tokens or text will come. tail is what the server cut off the end
// of the content that the tokens still hold (the stop string that matched, when the
// content does not already end with it), or "".
func (a *Aligner) Finish(tail string) {
	if a.finished {
		return
	}
	a.finished = true
	a.text = append(a.text, tail...)
	a.update()
}

// Places has one entry per token added (shared: do not modify).
func (a *Aligner) Places() []Place { return a.places }

// Settled is how many tokens have their final place.
func (a *Aligner) Settled() int { return a.settled }

// SettledEnd is where the settled tokens' bytes end in the text.
func (a *Aligner) SettledEnd() int { return a.pos }

// Len is the number of tokens added.
func (a *Aligner) Len() int { return len(a.texts) }

// Finished reports whether Finish was called.
func (a *Aligner) Finished() bool { return a.finished }

// ContentLen is the length of the content in bytes; the tail follows it.
func (a *Aligner) ContentLen() int { return a.content }

// TextLen is the length of the aligned text (content and tail) in bytes.
func (a *Aligner) TextLen() int { return len(a.text) }

// Slice is the aligned text's bytes [start, end), clamped to the text.
func (a *Aligner) Slice(start, end int) string {
	start, end = max(0, min(start, len(a.text))), max(0, min(end, len(a.text)))
	if start >= end {
		return ""
	}
	return string(a.text[start:end])
}

// Lost is the first token that did not match the text (it and every later token are not
// placed), or -1.
func (a *Aligner) Lost() int { return a.lost }

// update places the tokens from the settled point on. Every division of the text into
// the unsettled tokens that fits is considered (a token takes its own text's bytes, or for
// a partial token bytes that decode to its text); the one placing the most tokens is the
// guess shown, and the tokens on which every division that fits agrees are settled.
func (a *Aligner) update() {
	n := len(a.texts)
	for k := a.settled; k < n; k++ {
		a.places[k] = Place{}
	}
	if a.lost >= 0 {
		return
	}
	// The usual case first: a whole token whose text the text has next sits there, and
	// every division agrees on it.
	for a.settled < n {
		t := a.texts[a.settled]
		if Partial(t) || len(a.text)-a.pos < len(t) || string(a.text[a.pos:a.pos+len(t)]) != t {
			break
		}
		a.places[a.settled] = Place{Kind: a.kind(a.pos), Start: a.pos, End: a.pos + len(t)}
		a.settled++
		a.pos += len(t)
	}
	if a.settled == n {
		return
	}
	s := &solver{texts: a.texts, C: a.text, finished: a.finished, memo: make(map[[2]int]node, 4*(n-a.settled))}
	root := s.best(a.settled, a.pos)
	if root.score < 0 {
		a.salvage(s)
		return
	}
	// The guess: follow the best choices.
	k, p := a.settled, a.pos
	for k < n {
		nd := s.best(k, p)
		if nd.next == stop {
			t := a.texts[k]
			if a.finished && !Partial(t) && p < len(a.text) {
				// The text ends inside this whole token: its bytes are its text.
				a.places[k] = Place{Kind: a.kind(p), Start: p, End: p + len(t)}
			}
			break
		}
		a.places[k] = Place{Kind: a.kind(p), Start: p, End: p + nd.next, Ambiguous: s.ties(k, p, nd.score) > 1}
		p += nd.next
		k++
	}
	a.groups(a.settled, k)
	if a.finished {
		a.settled, a.pos = n, p
		return
	}
	a.settle(s)
}

// settle moves the settled point to the last token boundary between characters that every
// division that fits passes through at the same byte, reached by all of them (none stops
// before it).
func (a *Aligner) settle(s *solver) {
	n := len(a.texts)
	type state struct{ k, p int }
	at := map[int]int{} // token index -> the one position seen there, or -1 for several
	reach := n          // no division that fits stops before this token
	seen := map[state]bool{}
	todo := []state{{a.settled, a.pos}}
	for len(todo) > 0 {
		st := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if st.k == n {
			continue
		}
		s.options(st.k, st.p, func(l int) {
			if l == stop {
				reach = min(reach, st.k)
				return
			}
			c := state{st.k + 1, st.p + l}
			if seen[c] || s.best(c.k, c.p).score < 0 {
				return
			}
			seen[c] = true
			if q, ok := at[c.k]; !ok {
				at[c.k] = c.p
			} else if q != c.p {
				at[c.k] = -1
			}
			todo = append(todo, c)
		})
	}
	for k := reach; k > a.settled; k-- {
		// Only between characters: a token ending inside one shares it with the next,
		// whose Split is not known yet.
		if q, ok := at[k]; ok && q >= 0 && (q == len(a.text) || utf8.RuneStart(a.text[q])) {
			a.settled, a.pos = k, q
			return
		}
	}
}

// salvage handles tokens that no division fits: the text says something else from some
// token on (a server whose content leaves tokens out). The longest run of tokens that
// match is placed and settled; the first token after it is lost, with every later one.
func (a *Aligner) salvage(s *solver) {
	n := len(a.texts)
	type state struct{ k, p int }
	from := map[state]state{}
	best := state{a.settled, a.pos}
	todo := []state{best}
	for len(todo) > 0 {
		st := todo[0]
		todo = todo[1:]
		if st.k > best.k {
			best = st
		}
		if st.k == n {
			continue
		}
		s.options(st.k, st.p, func(l int) {
			if l == stop {
				return
			}
			c := state{st.k + 1, st.p + l}
			if _, ok := from[c]; !ok {
				from[c] = st
				todo = append(todo, c)
			}
		})
	}
	for st := best; st.k > a.settled; {
		prev := from[st]
		a.places[prev.k] = Place{Kind: a.kind(prev.p), Start: prev.p, End: st.p}
		st = prev
	}
	a.groups(a.settled, best.k)
	if best.k == n {
		return // every token fits; the text runs ahead of them (not vLLM): wait
	}
	a.lost = best.k
	a.settled, a.pos = best.k, best.p
}

// groups fills Split for the placed tokens [from, to).
func (a *Aligner) groups(from, to int) {
	for i := from; i < to; i++ {
		if !Partial(a.texts[i]) {
			continue
		}
		j := i + 1
		for j < to && Partial(a.texts[j]) {
			j++
		}
		splitGroups(a.places[i:j], a.text)
		i = j - 1
	}
}

// stop is the choice of leaving a token and those after it unplaced: the text ends inside
// it (for now, or for good).
const stop = -1

type node struct{ score, count, next int }

// solver searches the divisions of C into texts from one point on, memoising each
// (token, byte) state: the best score reachable from it (two per token placed, one more
// for ending exactly where the text does; -1 when nothing fits), how many divisions reach
// it (capped at 2), and the first choice of one that does.
type solver struct {
	texts    []string
	C        []byte
	finished bool
	memo     map[[2]int]node
}

// options calls fn with each way token k can sit at byte p: the number of bytes it takes,
// or stop when the text ends inside it.
func (s *solver) options(k, p int, fn func(l int)) {
	t, C := s.texts[k], s.C
	rest := len(C) - p
	if !Partial(t) {
		switch {
		case rest >= len(t) && string(C[p:p+len(t)]) == t:
			fn(len(t))
		case rest < len(t) && t[:rest] == string(C[p:]):
			fn(stop)
		}
		return
	}
	hi := len(t)
	for l := max(1, hi-2*strings.Count(t, wire.Replacement)); l <= hi && l <= rest; l++ {
		if wire.LossyEqual(C[p:p+l], t) {
			fn(l)
		}
	}
	if rest < hi && wire.LossyStarts(C[p:], t) {
		fn(stop)
	}
}

func (s *solver) best(k, p int) node {
	if k == len(s.texts) {
		switch {
		case p == len(s.C):
			return node{score: 1, count: 1}
		case s.finished && utf8.RuneStart(s.C[p]):
			return node{score: 0, count: 1} // text the tokens do not cover (not vLLM)
		}
		return node{score: -1}
	}
	key := [2]int{k, p}
	if v, ok := s.memo[key]; ok {
		return v
	}
	b := node{score: -1}
	s.options(k, p, func(l int) {
		sc, cnt := 0, 1
		if l != stop {
			sub := s.best(k+1, p+l)
			if sub.score < 0 {
				return
			}
			sc, cnt = sub.score+2, sub.count
		}
		switch {
		case sc > b.score:
			b = node{score: sc, count: cnt, next: l}
		case sc == b.score:
			b.count = min(2, b.count+cnt)
		}
	})
	s.memo[key] = b
	return b
}

// ties is how many of token k's choices at p reach the best score (capped at 2): more
// than one means the division is ambiguous at this token.
func (s *solver) ties(k, p, score int) int {
	n := 0
	s.options(k, p, func(l int) {
		if l != stop && n < 2 && s.best(k+1, p+l).score+2 == score {
			n++
		}
	})
	return n
}

func (a *Aligner) kind(p int) PlaceKind {
	if p < a.content || (p == a.content && !a.finished) {
		return InText
	}
	if p == a.content && p == len(a.text) {
		return InText // an empty token at the very end, e.g. EOS decoded as ""
	}
	return InTail
}

// splitGroups fills Split for tokens (consecutive, placed) whose boundaries fall inside a
// character of C: the tokens on both sides of such a boundary share it.
func splitGroups(pl []Place, C []byte) {
	inside := func(b int) bool { return b > 0 && b < len(C) && !utf8.RuneStart(C[b]) }
	for f := 0; f < len(pl); {
		l := f
		for l+1 < len(pl) && inside(pl[l].End) {
			l++
		}
		if l > f {
			cs := pl[f].End
			for cs > 0 && !utf8.RuneStart(C[cs]) {
				cs--
			}
			ce := pl[l-1].End
			for ce < len(C) && !utf8.RuneStart(C[ce]) {
				ce++
			}
			text := string(C[cs:ce])
			for k := f; k <= l; k++ {
				pl[k].Split = Split{Text: text, Start: cs, End: ce, Part: k - f + 1, Parts: l - f + 1}
			}
		}
		f = l + 1
	}
}

// runFit is how a run of partial tokens fits the text.
type runFit struct {
	ok bool
	// ends[k] is where token i+k ends; fewer than the run's tokens when the text stops
	// inside the run.
	ends []int
	// count is how many divisions fit equally well, capped at 2.
	count int
}

// fitRun places the partial tokens [i, j) of texts in C from byte p: each takes bytes
// that decode (lossily, as the server decoded it) to its text, and the run ends on a
// character boundary where token j, if any, follows. Of the divisions that fit, the one
// placing the most tokens wins (the rest of the run waiting for text not streamed yet),
// then one that token j confirms, or that ends with the text.
func fitRun(texts []string, i, j int, C []byte, p int) runFit {
	type node struct{ score, count, next int }
	var memo map[[2]int]node // made on first use: most calls from findRun fail at once
	terminal := func(q int) node {
		if q < len(C) && !utf8.RuneStart(C[q]) {
			return node{score: -1}
		}
		if j == len(texts) {
			if q == len(C) {
				return node{score: 1, count: 1}
			}
			return node{score: 0, count: 1}
		}
		t, rest := texts[j], C[q:]
		switch {
		case len(rest) >= len(t) && string(rest[:len(t)]) == t:
			return node{score: 1, count: 1}
		case len(rest) < len(t) && t[:len(rest)] == string(rest):
			return node{score: 0, count: 1}
		}
		return node{score: -1}
	}
	var f func(k, q int) node
	f = func(k, q int) node {
		if k == j {
			return terminal(q)
		}
		key := [2]int{k, q}
		if v, ok := memo[key]; ok {
			return v
		}
		best := node{score: -1}
		t := texts[k]
		hi := len(t)
		lo := max(1, hi-2*strings.Count(t, wire.Replacement))
		for l := lo; l <= hi && q+l <= len(C); l++ {
			if !wire.LossyEqual(C[q:q+l], t) {
				continue
			}
			sub := f(k+1, q+l)
			if sub.score < 0 {
				continue
			}
			s := sub.score + 2
			switch {
			case s > best.score:
				best = node{score: s, count: sub.count, next: l}
			case s == best.score:
				best.count = min(2, best.count+sub.count)
			}
		}
		// The text may stop inside this token: it and the rest of the run are not placed.
		if best.score < 0 && len(C)-q < hi && wire.LossyStarts(C[q:], t) {
			best = node{score: 0, count: 1}
		}
		if memo == nil {
			memo = make(map[[2]int]node, 4*(j-i))
		}
		memo[key] = best
		return best
	}
	root := f(i, p)
	if root.score < 0 {
		return runFit{}
	}
	fit := runFit{ok: true, count: root.count}
	for k, q := i, p; k < j; k++ {
		nd := f(k, q)
		if nd.next == 0 {
			break
		}
		q += nd.next
		fit.ends = append(fit.ends, q)
	}
	return fit
}

// Align places toks in a finished sample's content; tail is what the server cut off it
// that the tokens still hold (see Aligner.Finish).
func Align(toks []Token, content, tail string) []Place {
	a := NewAligner()
	a.Add(toks, content)
	a.Finish(tail)
	return a.places
}

// AlignPrompt places prompt tokens in the prompt that was sent (completion mode). vLLM
// reports nothing for the first prompt token (nothing precedes it), so a first token with
// no text and no logprob takes whatever of the prompt comes before the others, when the
// others cover the rest of it exactly. Nil when the tokens do not make up the prompt.
func AlignPrompt(toks []Token, prompt string) []Place {
	if len(toks) == 0 {
		return nil
	}
	whole := func(pl []Place, want int) bool {
		for _, p := range pl {
			if p.Kind != InText {
				return false
			}
		}
		return len(pl) == 0 || pl[len(pl)-1].End == want
	}
	if toks[0].Text != "" || toks[0].Logprob.Known() {
		pl := Align(toks, prompt, "")
		if !whole(pl, len(prompt)) {
			return nil
		}
		return pl
	}
	// The first token is unknown: try each start for the others, shortest first. A
	// token is rarely longer than a few dozen bytes.
	for s := 0; s <= min(len(prompt), 256); s++ {
		if s < len(prompt) && !utf8.RuneStart(prompt[s]) {
			continue
		}
		rest := Align(toks[1:], prompt[s:], "")
		if !whole(rest, len(prompt)-s) {
			continue
		}
		out := make([]Place, len(toks))
		out[0] = Place{Kind: InText, Start: 0, End: s}
		for k, p := range rest {
			p.Start += s
			p.End += s
			if p.Split.Parts > 0 {
				p.Split.Start += s
				p.Split.End += s
			}
			out[k+1] = p
		}
		return out
	}
	return nil
}

// Reconstruct rebuilds the text a token sequence stands for when the exact text it was
// made from is not known, as with a chat prompt wrapped in the model's template: whole
// tokens are their own text; a run of partial tokens takes the characters found for it
// in refs (the texts that went into the prompt, such as the messages), where the bytes
// there decode token by token to what the server reported and the whole tokens around
// the run match. A run found nowhere keeps its reported text. places index the result.
func Reconstruct(toks []Token, refs ...string) (text string, places []Place) {
	texts := make([]string, len(toks))
	for i := range toks {
		texts[i] = toks[i].Text
	}
	out := make([]byte, 0, 64)
	places = make([]Place, len(toks))
	for i := 0; i < len(toks); {
		if !Partial(texts[i]) {
			places[i] = Place{Kind: InText, Start: len(out), End: len(out) + len(texts[i])}
			out = append(out, texts[i]...)
			i++
			continue
		}
		j := i + 1
		for j < len(toks) && Partial(texts[j]) {
			j++
		}
		before := ""
		if i > 0 && !Partial(texts[i-1]) {
			before = texts[i-1]
		}
		bytes, ends, count := findRun(texts, i, j, before, refs)
		if ends == nil {
			for k := i; k < j; k++ {
				places[k] = Place{Kind: InText, Start: len(out), End: len(out) + len(texts[k])}
				out = append(out, texts[k]...)
			}
			i = j
			continue
		}
		base := len(out)
		out = append(out, bytes...)
		q := base
		for k, end := range ends {
			places[i+k] = Place{Kind: InText, Start: q, End: base + end, Ambiguous: count > 1}
			q = base + end
		}
		i = j
	}
	// Split groups need the whole result: a run's characters are complete in it.
	for i := 0; i < len(places); i++ {
		if Partial(texts[i]) {
			j := i + 1
			for j < len(places) && Partial(texts[j]) {
				j++
			}
			splitGroups(places[i:j], out)
			i = j - 1
		}
	}
	return string(out), places
}

// findRun looks for the run [i, j) of texts in refs, right after before (when not empty)
// and followed by token j. It returns the run's bytes and where each token ends in them.
func findRun(texts []string, i, j int, before string, refs []string) ([]byte, []int, int) {
	for _, ref := range refs {
		C := []byte(ref)
		for p := 0; p < len(C); p++ {
			if !utf8.RuneStart(C[p]) || (before != "" && !strings.HasSuffix(ref[:p], before)) {
				continue
			}
			f := fitRun(texts, i, j, C, p)
			if !f.ok || len(f.ends) < j-i {
				continue
			}
			end := f.ends[len(f.ends)-1]
			if j < len(texts) && end < len(ref) && !strings.HasPrefix(ref[end:], texts[j]) {
				continue // the whole token after the run must be there too, or the text end
			}
			ends := make([]int, len(f.ends))
			for k, e := range f.ends {
				ends[k] = e - p
			}
			return C[p:end], ends, f.count
		}
	}
	return nil, nil, 0
}
