package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
)

// The space a word wrap leaves at the end of a line is drawn in the look of the token
// before it, with its own token's boundary (its index): a space shows no colour, so the
// terminal is not sent a colour for one blank cell that the next line sets again. Spaces
// of a token made only of spaces (drawn as dots) keep their own look.
func TestWrapSpaceTakesThePreviousLook(t *testing.T) {
	c := newColumn(0, nil, time.Unix(0, 0))
	c.SetSize(10, 5)
	c.AppendTokens([]backend.Token{tok(" the", -1), tok(" old", -2), tok(" hills", -3), tok("  ", -1), tok(" a", -1)}, time.Unix(1, 0))
	var calls []string
	render := func(tk *backend.Token, index int, frag string) string {
		calls = append(calls, fmt.Sprintf("%q@%d:%q", tk.Text, index, frag))
		return frag
	}
	c.BodyLines(lineStyler{key: "k", render: render, divergence: -1, plain: func(s string) string { return s }})
	want := `" old"@2:" "`
	found := false
	for _, call := range calls {
		if call == want {
			found = true
		}
		if call == `" hills"@2:" "` {
			t.Errorf("the wrap's space drawn in its own token's look: %v", calls)
		}
	}
	if !found {
		t.Errorf("no %s among %v", want, calls)
	}
}
