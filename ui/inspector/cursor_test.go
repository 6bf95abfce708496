package inspector

import (
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

func TestWordJumps(t *testing.T) {
	var toks []backend.Token
	// "Hello, wonder ful world\n  end"
	for _, s := range []string{"Hello", ",", " wonder", "ful", " world", "\n", "  ", "end"} {
		toks = append(toks, backend.Token{Text: s})
	}
	next := []int{2, 2, 4, 4, 7, 7, 7, 7}
	for i, want := range next {
		if got := NextWord(toks, i); got != want {
			t.Errorf("NextWord(%d) = %d, want %d", i, got, want)
		}
	}
	prev := []int{0, 0, 0, 2, 2, 4, 4, 4}
	for i, want := range prev {
		if got := PrevWord(toks, i); got != want {
			t.Errorf("PrevWord(%d) = %d, want %d", i, got, want)
		}
	}
	if NextWord(nil, 0) != 0 || PrevWord(nil, 3) != 0 {
		t.Error("empty sample")
	}
}
