package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// EndOfText is the special token that separates files in training and ends
// a sample.
const EndOfText = "<|endoftext|>"

// Tokenizer is a GPT-2 style byte-level BPE read from a Hugging Face
// tokenizer.json. It is immutable after construction.
type Tokenizer struct {
	vocab        map[string]int
	tokens       [][]byte // id -> raw bytes (special tokens: their text)
	isSpecial    []bool
	ranks        map[[2]string]int
	merges       map[[2]int32]mergeTo // by id pair: what HF's BPE model keeps
	byteID       [256]int32           // id of each single-byte token
	ignoreMerges bool
	maxTokenLen  int         // bytes of the longest token
	byteChar     [256]string // byte -> its printable stand-in, as one-rune string
	specials     []string    // longest first, for splitting input
	specialID    map[string]int
	eos          int
}

type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Model struct {
		Type         string          `json:"type"`
		Vocab        map[string]int  `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		IgnoreMerges bool            `json:"ignore_merges"`
	} `json:"model"`
}

// gpt2ByteToRune is GPT-2's reversible map from bytes to printable runes:
// printable Latin-1 bytes map to themselves, the rest to 256+n in order.
func gpt2ByteToRune() [256]rune {
	var m [256]rune
	var keep [256]bool
	for b := '!'; b <= '~'; b++ {
		keep[b] = true
	}
	for b := '¡'; b <= '¬'; b++ {
		keep[b] = true
	}
	for b := '®'; b <= 'ÿ'; b++ {
		keep[b] = true
	}
	n := 0
	for b := 0; b < 256; b++ {
		if keep[b] {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// NewTokenizer parses a tokenizer.json holding a byte-level BPE model.
func NewTokenizer(data []byte) (*Tokenizer, error) {
	var j hfTokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if j.Model.Type != "" && j.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer.json: model.type is %q, want BPE", j.Model.Type)
	}
	if len(j.Model.Vocab) == 0 {
		return nil, fmt.Errorf("tokenizer.json: model.vocab is empty")
	}
	t := &Tokenizer{vocab: map[string]int{}, ranks: map[[2]string]int{}, merges: map[[2]int32]mergeTo{}, specialID: map[string]int{}, eos: -1,
		ignoreMerges: j.Model.IgnoreMerges}
	charByte := map[rune]byte{}
	for b, r := range gpt2ByteToRune() {
		t.byteChar[b] = string(r)
		charByte[r] = byte(b)
	}
	maxID := -1
	for s, id := range j.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer.json: vocab entry %q has negative id %d", s, id)
		}
		t.vocab[s] = id
		maxID = max(maxID, id)
	}
	for _, a := range j.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("tokenizer.json: added token %q has id %d", a.Content, a.ID)
		}
		maxID = max(maxID, a.ID)
	}
	t.tokens = make([][]byte, maxID+1)
	t.isSpecial = make([]bool, maxID+1)
	seen := make([]bool, maxID+1)
	for s, id := range t.vocab {
		if seen[id] {
			return nil, fmt.Errorf("tokenizer.json: id %d appears twice in model.vocab", id)
		}
		seen[id] = true
		var raw []byte
		for _, r := range s {
			b, ok := charByte[r]
			if !ok {
				raw = nil
				break
			}
			raw = append(raw, b)
		}
		if raw == nil {
			// Not byte-level text: only an added/special token may look like
			// this; it is checked below.
			raw = []byte(s)
		}
		t.tokens[id] = raw
		t.maxTokenLen = max(t.maxTokenLen, len(raw))
	}
	for _, a := range j.AddedTokens {
		seen[a.ID] = true
		t.tokens[a.ID] = []byte(a.Content)
		t.isSpecial[a.ID] = true
		t.specialID[a.Content] = a.ID
		t.specials = append(t.specials, a.Content)
		if a.Content == EndOfText {
			t.eos = a.ID
		}
	}
	for id, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: id %d is missing (ids must be 0..%d without gaps)", id, maxID)
		}
	}
	if t.eos < 0 {
		return nil, fmt.Errorf("tokenizer.json: no %q added token", EndOfText)
	}
	for b := 0; b < 256; b++ {
		id, ok := t.vocab[t.byteChar[b]]
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: byte 0x%02x (%q) has no token, so not every input can be encoded", b, t.byteChar[b])
		}
		t.byteID[b] = int32(id)
	}
	// Longest special first so one that contains another wins.
	for i := 1; i < len(t.specials); i++ {
		for k := i; k > 0 && len(t.specials[k]) > len(t.specials[k-1]); k-- {
			t.specials[k], t.specials[k-1] = t.specials[k-1], t.specials[k]
		}
	}
	var merges []json.RawMessage
	if len(j.Model.Merges) > 0 {
		if err := json.Unmarshal(j.Model.Merges, &merges); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model.merges: %w", err)
		}
	}
	for i, m := range merges {
		var pair [2]string
		var s string
		if err := json.Unmarshal(m, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("tokenizer.json: merge %d %q is not \"a b\"", i, s)
			}
			pair = [2]string{a, b}
		} else {
			var arr []string
			if err := json.Unmarshal(m, &arr); err != nil || len(arr) != 2 {
				return nil, fmt.Errorf("tokenizer.json: merge %d is neither \"a b\" nor [\"a\",\"b\"]", i)
			}
			pair = [2]string{arr[0], arr[1]}
		}
		for _, part := range pair {
			if _, ok := t.vocab[part]; !ok {
				return nil, fmt.Errorf("tokenizer.json: merge %d uses %q, which is not in the vocab", i, part)
			}
		}
		if _, ok := t.vocab[pair[0]+pair[1]]; !ok {
			return nil, fmt.Errorf("tokenizer.json: merge %d (%q %q) makes %q, which is not in the vocab", i, pair[0], pair[1], pair[0]+pair[1])
		}
		if _, dup := t.ranks[pair]; !dup {
			t.ranks[pair] = i
			key := [2]int32{int32(t.vocab[pair[0]]), int32(t.vocab[pair[1]])}
			t.merges[key] = mergeTo{rank: int32(i), id: int32(t.vocab[pair[0]+pair[1]])}
		}
	}
	return t, nil
}

// VocabSize is the number of ids, special tokens included.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// MaxTokenLen is the length in bytes of the longest token: a text longer
// than MaxTokenLen*n bytes cannot encode to n tokens or fewer.
func (t *Tokenizer) MaxTokenLen() int { return t.maxTokenLen }

// EOS is the id of <|endoftext|>.
func (t *Tokenizer) EOS() int { return t.eos }

// IsSpecial reports whether id is an added special token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.isSpecial) && t.isSpecial[id]
}

// TokenBytes is the raw bytes of one id (a special token's text for
// special ids); nil for an id out of range.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.tokens) {
		return nil
	}
	return t.tokens[id]
}

// TokenText is one id decoded alone, as vLLM shows it in logprobs: a piece
// of a multi-byte character becomes U+FFFD.
func (t *Tokenizer) TokenText(id int) string { return wire.Lossy(t.TokenBytes(id)) }

// Encode splits text into ids. Special tokens written in the text are
// matched as themselves (as Hugging Face tokenizers do). Any bytes, valid
// UTF-8 or not, round-trip through Decode.
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	for len(text) > 0 {
		at, sp := -1, ""
		for _, s := range t.specials {
			if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
				at, sp = i, s
			}
		}
		if at < 0 {
			ids = t.encodeOrdinary(ids, text)
			break
		}
		ids = t.encodeOrdinary(ids, text[:at])
		ids = append(ids, t.specialID[sp])
		text = text[at+len(sp):]
	}
	return ids
}

func (t *Tokenizer) encodeOrdinary(ids []int, text string) []int {
	var w bpeWork
	for len(text) > 0 {
		n := pretokenLen(text)
		ids = t.bpe(ids, text[:n], &w)
		text = text[n:]
	}
	return ids
}

// mergeTo is what a merge of two ids makes, and its rank (lower first).
type mergeTo struct {
	rank, id int32
}

// bpeSym is one symbol of a word being merged: a token id in a doubly
// linked list over the word's bytes.
type bpeSym struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool
}

// bpeCand is a possible merge of the symbol at pos with the one after it.
type bpeCand struct {
	rank, pos int32
}

type bpeWork struct {
	syms []bpeSym
	heap []bpeCand
}

func (w *bpeWork) push(c bpeCand) {
	h := append(w.heap, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !candLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	w.heap = h
}

func (w *bpeWork) pop() bpeCand {
	h := w.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && candLess(h[l], h[m]) {
			m = l
		}
		if r < len(h) && candLess(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	w.heap = h
	return top
}

// candLess orders merges as Hugging Face's BPE does: lowest rank, then
// leftmost.
func candLess(a, b bpeCand) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// bpe appends the ids of one pre-token: its bytes as single-byte tokens,
// merged by rank with a heap (Hugging Face's merge_all, O(n log n), so a
// long word cannot stall the server).
func (t *Tokenizer) bpe(ids []int, word string, w *bpeWork) []int {
	if t.ignoreMerges {
		var sb strings.Builder
		for i := 0; i < len(word); i++ {
			sb.WriteString(t.byteChar[word[i]])
		}
		if id, ok := t.vocab[sb.String()]; ok {
			return append(ids, id)
		}
	}
	n := len(word)
	w.syms = w.syms[:0]
	w.heap = w.heap[:0]
	for i := 0; i < n; i++ {
		w.syms = append(w.syms, bpeSym{id: t.byteID[word[i]], prev: int32(i - 1), next: int32(i + 1)})
	}
	w.syms[n-1].next = -1
	syms := w.syms
	for i := 0; i+1 < n; i++ {
		if m, ok := t.merges[[2]int32{syms[i].id, syms[i+1].id}]; ok {
			w.push(bpeCand{rank: m.rank, pos: int32(i)})
		}
	}
	for len(w.heap) > 0 {
		c := w.pop()
		left := &syms[c.pos]
		if left.dead || left.next < 0 {
			continue
		}
		right := &syms[left.next]
		m, ok := t.merges[[2]int32{left.id, right.id}]
		if !ok || m.rank != c.rank {
			continue // stale: one side has merged since
		}
		left.id = m.id
		right.dead = true
		left.next = right.next
		if left.next >= 0 {
			syms[left.next].prev = c.pos
		}
		if left.prev >= 0 {
			if pm, ok := t.merges[[2]int32{syms[left.prev].id, left.id}]; ok {
				w.push(bpeCand{rank: pm.rank, pos: left.prev})
			}
		}
		if left.next >= 0 {
			if nm, ok := t.merges[[2]int32{left.id, syms[left.next].id}]; ok {
				w.push(bpeCand{rank: nm.rank, pos: c.pos})
			}
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		ids = append(ids, int(syms[i].id))
	}
	return ids
}

// Decode joins the bytes of ids. Special tokens are skipped when
// skipSpecial is set (vLLM's default for generated text). The result may be
// invalid UTF-8 when ids split a character; see wire.Lossy.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) ([]byte, error) {
	var out []byte
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			return nil, fmt.Errorf("token id %d at index %d is out of range [0, %d)", id, i, len(t.tokens))
		}
		if skipSpecial && t.isSpecial[id] {
			continue
		}
		out = append(out, t.tokens[id]...)
	}
	return out, nil
}

// pretokenLen is the length of the first piece of GPT-2's pre-tokenizer
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written by hand because Go's regexp has no lookahead. Alternatives are
// tried in order, as the regex engine does. A byte that is not valid UTF-8
// counts as "other" (neither space, letter nor number), so any input splits.
func pretokenLen(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
			if strings.HasPrefix(s[1:], c) {
				return 1 + len(c)
			}
		}
	}
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	r, size := decodeRune(s[start:])
	if cls := runeClass(r, size); cls != classSpace {
		n := start + size
		for n < len(s) {
			r, size := decodeRune(s[n:])
			if runeClass(r, size) != cls {
				break
			}
			n += size
		}
		return n
	}
	// Whitespace run starting at 0 (the optional space, if any, is part of it).
	n := 0
	last := 0
	for n < len(s) {
		r, size := decodeRune(s[n:])
		if runeClass(r, size) != classSpace {
			break
		}
		last = n
		n += size
	}
	if n == len(s) {
		return n
	}
	// \s+(?!\S): leave the last space for the next piece, unless the run is a
	// single character (then \s+ takes it).
	if last > 0 {
		return last
	}
	return n
}

type charClass int

const (
	classOther charClass = iota
	classSpace
	classLetter
	classNumber
)

func decodeRune(s string) (rune, int) {
	r, size := utf8.DecodeRuneInString(s)
	return r, size
}

func runeClass(r rune, size int) charClass {
	switch {
	case r == utf8.RuneError && size <= 1:
		return classOther
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}
