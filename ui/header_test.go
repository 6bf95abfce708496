package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/params"
)

// Why the server is offline takes the room the header has, and when cut, is cut between
// words.
func TestHeaderOfflineReasonUsesTheRoomAndCutsAtWords(t *testing.T) {
	t.Parallel()
	st := mustTheme(t)
	in := headerInputs{model: "m", connErr: "could not connect to 127.0.0.1:1", api: params.Chat, conn: connFailed, styles: st}
	for _, w := range []int{80, 70, 60, 50} {
		in.w = w
		line := strings.TrimRight(ansi.Strip(in.draw()), " ")
		if ansi.StringWidth(line) > w {
			t.Fatalf("%d: %q is wider than the screen", w, line)
		}
		i := strings.Index(line, "○ offline")
		if i < 0 {
			t.Fatalf("%d: the header does not say it is offline: %q", w, line)
		}
		reason := strings.TrimRight(strings.TrimSuffix(line[i:], "…"), " ")
		full := "○ offline: could not connect to 127.0.0.1:1"
		if !strings.HasPrefix(full, reason) {
			t.Fatalf("%d: %q is not the reason's start", w, reason)
		}
		if w == 80 && reason != full {
			t.Errorf("80: the reason is cut with room to spare: %q", line)
		}
		if rest := strings.TrimPrefix(full, reason); rest != "" && !strings.HasPrefix(rest, " ") {
			t.Errorf("%d: cut mid-word: %q", w, line)
		}
	}
}
