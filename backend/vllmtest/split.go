package vllmtest

import (
	"math"
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// SplitModel is a test model whose vocabulary splits characters over byte tokens, as the
// byte-level BPE vocabularies of Qwen, Llama 3 and GPT-2 do: 好 as two tokens (2+1 bytes),
// 日 (1+2), é and ï (1+1), 🙂 (3+1), 世界 byte by byte, and whole-character tokens that
// make one grapheme together (👍+🏽, e+U+0301, a family joined by U+200D). It answers
// exactly as vLLM does: a token holding part of a character reads "\ufffd" (chat "bytes"
// those of U+FFFD), the streamed text holds a character back until its last byte (and
// never sends one cut off by max_tokens), completions text_offset counts code points, and
// completions top_logprobs, keyed by decoded text, collapse partial alternatives into one
// "\ufffd" key. Prompt logprobs split the prompt's characters the same way.
//
// Ask for it by name (`--model twinkle-test/split-bytes`); its samples follow Generate's
// rules (seed+i, finish reasons, stop strings) with its own words.
const SplitModel = "twinkle-test/split-bytes"

// splitWords are the words the split model writes, each as its tokens' raw bytes.
var splitWords = [][]string{
	{" park"}, {" under"}, {" the"}, {" old"}, {" tree"}, {" and"},
	{" \xe5\xa5", "\xbd"},                             // " 好": the space rides with 2 of its bytes
	{"\xe6", "\x97\xa5"},                              // 日 as 1+2
	{" caf", "\xc3", "\xa9"},                          // café
	{" na", "\xc3", "\xaf", "ve"},                     // naïve
	{" ", "\xf0\x9f\x99", "\x82"},                     // 🙂 as 3+1
	{" \xe4", "\xb8", "\x96", "\xe7", "\x95", "\x8c"}, // " 世界" byte by byte
	{" 👍", "🏽"},                                       // one grapheme, two whole tokens
	{" e", "\u0301"},                                  // e and a combining acute
	{" 👨", "\u200d👩", "\u200d👧"},                      // a family, joined
}

// Alternatives: whole tokens, and pieces of characters (which vLLM reports as "\ufffd").
var (
	splitWholeAlts   = []string{" the", " a", " 好", " park", "!", " tree", " 日"}
	splitPartialAlts = []string{"\xe5\x9c", "\xe6\x97", "\xc3", "\xf0\x9f\x98", "\xe4\xb8"}
)

// splitSamples rewrites generated samples in the split model's words: the same number of
// tokens and logprobs, the same finish, the stop string's hidden token kept last. A
// sample cut by its token count may end inside a character.
func splitSamples(samples []Sample) []Sample {
	ids := map[string]int{}
	id := func(raw string) int {
		if v, ok := ids[raw]; ok {
			return v
		}
		ids[raw] = 5000 + len(ids)
		return ids[raw]
	}
	out := make([]Sample, len(samples))
	for i, s := range samples {
		out[i] = s
		if len(s.Tokens) == 0 {
			continue
		}
		first := s.Tokens[0]
		rng := rand.New(rand.NewPCG(uint64(first.ID), math.Float64bits(first.Logprob)))
		var raws []string
		for len(raws) < visible(s) {
			raws = append(raws, splitWords[rng.IntN(len(splitWords))]...)
		}
		toks := make([]Tok, len(s.Tokens))
		for k := range toks {
			src := s.Tokens[k]
			if k >= visible(s) {
				toks[k] = src // the stop string's token, left out of the text
				continue
			}
			raw := raws[k]
			t := Tok{Text: raw, Logprob: src.Logprob, ID: id(raw)}
			// Mostly alternatives of the same kind, a few of the other.
			same, other := splitWholeAlts, splitPartialAlts
			if !utf8.ValidString(raw) {
				same, other = other, same
			}
			for a := 0; a < 6; a++ {
				p := same
				if a%3 == 2 {
					p = other
				}
				t.Alts = append(t.Alts, Alt{Text: p[(k+a)%len(p)], Logprob: -0.1 - 5*rng.Float64()})
			}
			toks[k] = t
		}
		out[i].Tokens = toks
	}
	return out
}

// reported is a token's text as vLLM reports it: its bytes decoded alone.
func reported(raw string) string { return wire.Lossy([]byte(raw)) }

// textBetween is the text a vLLM detokenizer releases while tokens [a, b) arrive: whole
// characters only, so a character split over tokens comes with its last byte, and one
// never completed is never sent.
func textBetween(toks []Tok, a, b int) string {
	if b <= a {
		return ""
	}
	// Start a few bytes before a: where the text released so far ends depends only on
	// its last character, at most 4 bytes.
	lo, back := a, 0
	for lo > 0 && back < utf8.UTFMax {
		lo--
		back += len(toks[lo].Text)
	}
	var buf []byte
	for _, t := range toks[lo:b] {
		buf = append(buf, t.Text...)
	}
	from := wire.CompletePrefix(buf[:back])
	to := wire.CompletePrefix(buf)
	if to <= from {
		return ""
	}
	return string(buf[from:to])
}

// appendKey adds a completions top_logprobs key as a Python dict does: a key already there
// keeps its place and takes the new value (several partial tokens, all "\ufffd", collapse).
func appendKey(m wire.TopMap, key string, lp float64) wire.TopMap {
	for i := range m {
		if m[i].Token == key {
			m[i].Logprob = lp
			return m
		}
	}
	return append(m, wire.TokenLogprob{Token: key, Logprob: lp})
}

// completionLogprobs is a non-streamed completion choice's logprobs for toks (nil
// without logprobs), as the streamed chunks carry them.
func (g *gen) completionLogprobs(toks []Tok) *wire.CompletionLogprobs {
	if g.k == nil {
		return nil
	}
	lp := &wire.CompletionLogprobs{}
	off := 0
	for _, t := range toks {
		v := t.Logprob
		text := reported(t.Text)
		lp.TextOffset = append(lp.TextOffset, off)
		off += utf8.RuneCountInString(text)
		lp.TokenLogprobs = append(lp.TokenLogprobs, &v)
		lp.Tokens = append(lp.Tokens, text)
		lp.TopLogprobs = append(lp.TopLogprobs, g.completionTop(t))
	}
	return lp
}

// promptLogprobsFor scripts prompt logprobs for model's tokenization of prompt.
func promptLogprobsFor(model, prompt string, k int) ([]wire.PromptPosition, []int) {
	if model != SplitModel {
		return promptLogprobs(prompt, k)
	}
	var toks []string
	for i, w := range strings.Fields(prompt) {
		if i > 0 {
			w = " " + w
		}
		toks = append(toks, splitBytes(w)...)
	}
	var out []wire.PromptPosition
	var ids []int
	for i, t := range toks {
		id := 2000 + i
		ids = append(ids, id)
		if i == 0 {
			out = append(out, nil)
			continue
		}
		dec := reported(t)
		rank := 1 + i%3
		pos := wire.PromptPosition{{TokenID: id, Logprob: -0.5 - float64(i%4), Rank: &rank, DecodedToken: &dec}}
		for a := 0; a < k; a++ {
			r := a + 1
			d := reported(splitPartialAlts[a%len(splitPartialAlts)])
			if a%2 == 1 {
				d = splitWholeAlts[a%len(splitWholeAlts)]
			}
			pos = append(pos, wire.PromptLogprob{TokenID: 3000 + a, Logprob: -0.2 - float64(a)*0.7, Rank: &r, DecodedToken: &d})
		}
		out = append(out, pos)
	}
	return out, ids
}

// splitBytes tokenizes a word as the split model does: runs of ASCII whole, each other
// character in two pieces (the last byte on its own).
func splitBytes(w string) []string {
	var out []string
	for len(w) > 0 {
		r, size := utf8.DecodeRuneInString(w)
		if r < utf8.RuneSelf {
			n := 1
			for n < len(w) && w[n] < utf8.RuneSelf {
				n++
			}
			out = append(out, w[:n])
			w = w[n:]
			continue
		}
		out = append(out, w[:size-1], w[size-1:size])
		w = w[size:]
	}
	return out
}
