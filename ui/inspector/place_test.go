package inspector

import (
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// The second of two tokens that make 好, each reported as "\ufffd", with partial
// alternatives that a completions dict merged.
func TestInspectorSplitCharacter(t *testing.T) {
	st := styles("default", true)
	tok := backend.Token{Text: "\ufffd", Logprob: lp(.9), ID: backend.NoTokenID,
		Top: []backend.Alt{{Text: "\ufffd", Logprob: lp(.9)}, {Text: " the", Logprob: lp(.05)}}}
	in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
	in.SetParams(params.Default())
	in.SetToken(&tok, 0, 6)
	in.SetPlace(Place{Shared: "好", Part: 2, Parts: 2, Mark: "\x1b[4:3m",
		Members: []Member{{Bytes: "\xe5\xa5", Logprob: lp(.3)}, {Bytes: "\xbd", Logprob: lp(.9)}},
		Merged:  3})
	out := ansi.Strip(in.Render(48, 30))
	for _, want := range []string{"token 7 · sample 1  好", "好  token 2 of 2 of 好", "1  e5 a5  logprob -1.204  p .300",
		"▶ 2  bd     logprob -0.105  p .900", "(part)", "(part) = part of a character", "at least 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\ufffd") {
		t.Errorf("U+FFFD drawn:\n%s", out)
	}
	if !strings.Contains(in.Render(48, 30), "\x1b[4:3m") {
		t.Error("the grapheme is not drawn with the column's mark")
	}
	// A new token forgets the place.
	in.SetToken(&tok, 0, 7)
	if out := ansi.Strip(in.Render(48, 30)); strings.Contains(out, "token 2 of 2") {
		t.Errorf("stale place:\n%s", out)
	}
}
