package themes

import (
	"io"
	"slices"

	"github.com/charmbracelet/colorprofile"
)

// TerminalProfile is the colour profile to draw on out with: colorprofile.Detect's, except
// that a terminal calling itself dumb (TERM=dumb, or no TERM) gets Ascii rather than NoTTY.
// Detect treats it as no terminal at all, and Bubble Tea then strips every attribute, so
// nothing would tell a likely token from an unlikely one; such a terminal still shows
// bold, faint, reverse and underline, which is what the heatmap uses without colour (as
// under NO_COLOR). Output that is not a terminal stays NoTTY.
func TerminalProfile(out io.Writer, env []string) colorprofile.Profile {
	p := colorprofile.Detect(out, env)
	if p != colorprofile.NoTTY {
		return p
	}
	// Ask again as a colourless terminal of a known kind: Ascii when out is a terminal.
	return colorprofile.Detect(out, append(slices.Clip(env), "TERM=xterm", "NO_COLOR=1"))
}
