// Package ui is twinkle's playground: a Bubble Tea v2 program in which a
// person tunes sampling parameters with sliders, writes a prompt and watches N
// samples stream side by side.
//
// ui.Model is the only tea.Model; components (sliders, sample columns) are
// plain structs with imperative methods. Everything a program needs lives in
// its Common context, never in package variables, because `twinkle serve`
// runs many programs in one process. ui never does I/O in Update: commands
// do it and report back with messages. ui never writes colours of its own:
// styles come from themes/ through styles.go.
package ui

import (
	"context"
	"time"

	"github.com/charmbracelet/colorprofile"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// Common is the per-program context shared by the root model and its
// components.
type Common struct {
	Styles *styleSet
	// Theme is the theme's full style set (heatmap, inspector, legend use it).
	Theme         *themes.Styles
	border        borderPieces
	borderFocused borderPieces
	Keys          KeyMap
	Width, Height int
	Sampler       backend.Sampler
	IsDark        bool

	// Painter colours tokens by the heatmap mode (the columns' TokenRenderer
	// is its Render); rebuilt when the mode, theme or colour profile changes.
	Painter  *heatmap.Painter
	HeatMode heatmap.Mode
	Profile  colorprofile.Profile
	// ThemeKey and the painter's Key are part of every column's styled-line
	// cache key: change them and visible lines restyle.
	ThemeKey string

	Now      func() time.Time
	NewSeed  func() int64
	Ctx      context.Context
	Endpoint string
}

// Config is what a caller (main.go, the SSH server, tests) gives New.
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

	// Session, when set, is shown exactly as saved (see LoadSession).
	Session     *Session
	SessionPath string

	// ConfigDir holds presets; empty means $XDG_CONFIG_HOME/twinkle or
	// ~/.config/twinkle.
	ConfigDir string
	// Dir is where sessions and exports are written by default; empty is the
	// working directory.
	Dir string
	// NoFiles turns off everything that reads or writes files (sessions,
	// presets, export to file): for `twinkle serve`, where the disk is the
	// server's, not the remote user's. Copy (OSC 52) still works.
	NoFiles bool
	// Caps narrow the sliders to a server's limits (`twinkle serve`).
	Caps Caps

	// Theme names a built-in theme ("" = default, following the terminal);
	// Palette, when set, is used instead (a user theme the caller loaded).
	Theme   string
	Palette *themes.Palette
	// ThemeDir holds user themes (TOML); empty means themes.Dir().
	ThemeDir string

	// Heatmap is the starting heatmap mode ("" = probability; "off").
	Heatmap string

	// IsDark: the terminal's background (per program; an SSH server passes
	// each client's). The program also asks the terminal and follows its
	// answer.
	IsDark bool

	// Context ends every run when cancelled (an SSH session closing).
	Context context.Context
	// Now and NewSeed are for tests: a fixed clock and seed sequence.
	Now     func() time.Time
	NewSeed func() int64
}
