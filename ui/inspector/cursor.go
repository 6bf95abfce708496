package inspector

import (
	"unicode"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
)

// Cursor movement over a sample's tokens. Left/right move one token; these word-sized
// jumps land on the token that starts the next (or previous) word, so ctrl+arrows move as
// they would in an editor even though tokens split words unevenly.

// wordStart reports whether token j begins a word: it is not only whitespace, and either it
// starts with whitespace (" the") or the token before it ends with whitespace or a newline.
func wordStart(toks []backend.Token, j int) bool {
	if onlySpace(toks[j].Text) {
		return false
	}
	if j == 0 {
		return true
	}
	r, _ := utf8.DecodeRuneInString(toks[j].Text)
	if unicode.IsSpace(r) {
		return true
	}
	p, _ := utf8.DecodeLastRuneInString(toks[j-1].Text)
	return unicode.IsSpace(p) || unicode.IsPunct(p) && !unicode.IsPunct(r)
}

func onlySpace(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// NextWord is the index of the first word-starting token after i; the last token when
// there is none.
func NextWord(toks []backend.Token, i int) int {
	if len(toks) == 0 {
		return 0
	}
	for j := max(i+1, 0); j < len(toks); j++ {
		if wordStart(toks, j) {
			return j
		}
	}
	return len(toks) - 1
}

// PrevWord is the index of the word-starting token before i (the start of the word i is in,
// if i is inside one); 0 when there is none.
func PrevWord(toks []backend.Token, i int) int {
	for j := min(i, len(toks)) - 1; j > 0; j-- {
		if wordStart(toks, j) {
			return j
		}
	}
	return 0
}
