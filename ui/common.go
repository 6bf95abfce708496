// Package ui is twinkle's playground: a Bubble Tea v2 program in which a
// person tunes sampling parameters with sliders, writes a prompt and watches N
// samples stream side by side.
//
// ui.Model is the only tea.Model: it routes messages, lays the screen out and
// runs samples. Panes (the parameter panel, the prompt and system editors,
// the sample area) and dialogs (on an overlay stack) are components with
// their own size, drawing and key help; the root composes the help from
// whatever has focus. Everything a program needs lives in its Common context,
// never in package variables, so that one process could run several programs
// side by side (tests do; twinkle itself runs one, and has no SSH server
// today). ui never does I/O in Update: commands do it and report back with
// messages. ui builds no style of its own: Common.Styles is the theme's
// (themes.NewStyles). Files are the store's business, and a program may have
// none (Common.Store is nil).
package ui

import (
	"context"
	"time"

	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// Common is the per-program context shared by the root model and its
// components.
type Common struct {
	// Styles is every style the program draws with, built by the theme.
	Styles        *themes.Styles
	frames        *frames
	Keys          KeyMap
	Width, Height int
	Sampler       backend.Sampler
	IsDark        bool

	// Painter colours tokens by the heatmap mode (the columns' tokenRenderer
	// is its Render); rebuilt when the mode, theme or colour profile changes.
	Painter  *heatmap.Painter
	HeatMode heatmap.Mode
	// HeatProcessed colours by processed logprobs where tokens have them.
	HeatProcessed bool
	Profile       colorprofile.Profile
	// exportTab is the export format shown last, shown first when the
	// export opens again.
	exportTab int
	// ThemeKey and the painter's Key are part of every column's styled-line
	// cache key: change them and visible lines restyle.
	ThemeKey string

	Now      func() time.Time
	NewSeed  func() int64
	Ctx      context.Context
	Endpoint string
	// Store is nil in a program that may not touch the disk.
	Store *store.Store
}

// Config is what a caller (main.go, tests) gives New.
type Config struct {
	// Sampler runs requests; nil shows a session read-only.
	Sampler  backend.Sampler
	Endpoint string
	Model    string
	API      params.API
	Params   params.SamplingParams
	Options  params.Options
	System   string
	Prompt   string
	// Messages, when set, is the conversation chat mode starts with (a
	// leading system message becomes the system turn); System and Prompt
	// then only seed the completion prompt.
	Messages []backend.Message

	// Notice is said once in the status line when the program starts: how
	// the caller chose the backend when the person did not ("no server at
	// localhost:8000, using the built-in model; --endpoint to choose").
	Notice string

	// Session, when set, is shown exactly as saved (store.LoadSession).
	Session     *Session
	SessionPath string

	// Store is the program's files: presets, user themes, and where
	// sessions and exports are written. nil turns off everything that reads
	// or writes files (a program whose disk is not its user's, such as
	// an SSH session): the keys leave the help and say why when
	// pressed. Copy (OSC 52) still works.
	Store *store.Store
	// Caps narrow the sliders to a server's limits (`twinkle serve`).
	Caps Caps

	// Theme names a built-in theme ("" = default, following the terminal);
	// Palette, when set, is used instead (a user theme the caller loaded).
	Theme   string
	Palette *themes.Palette
	// SharedStyles, when set, gives every program made with it the same
	// styles for a built-in theme (an SSH server's viewers); nil builds
	// them per program.
	SharedStyles *SharedStyles

	// Heatmap is the starting heatmap mode ("" = probability; "off").
	Heatmap string
	// SmoothScroll: a column following its stream scrolls line by line rather than by
	// jumps (see scroll.go).
	SmoothScroll bool

	// Output, when set, is the program's output (tea.WithOutput), counted so that
	// frames are paced to what the terminal takes; OutputRate bounds its bytes per
	// second while streaming (0: DefaultOutputRate; negative: no bound).
	Output     *OutputMeter
	OutputRate int

	// IsDark: the terminal's background as the caller guesses it. The
	// program also asks the terminal and follows its answer.
	IsDark bool

	// Context ends every run when cancelled (main.go passes the command's,
	// which a signal cancels).
	Context context.Context
	// Now and NewSeed are for tests: a fixed clock and seed sequence.
	Now     func() time.Time
	NewSeed func() int64
}
