// Package themes holds twinkle's colours as data: a Palette of semantic colours and a
// heatmap scale, the built-in palettes, user palettes read from TOML, and NewStyles, which
// builds every lipgloss.Style of the UI from a Palette in one place.
//
// Nothing here is package-level mutable state: built-in palettes are returned fresh by
// functions and a Registry belongs to one program, so that programs sharing a process (as
// tests do) never see each other's theme or terminal, light or dark. It must never import
// backend/ or ui/: the UI imports themes, not the other way round.
package themes

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/lucasb-eyer/go-colorful"
)

// Color is a colour as a theme file writes it: "#rrggbb", "#rgb", or an ANSI index "0".."255".
// The empty Color means the terminal's own default (foreground or background).
type Color string

// Value is the colour for lipgloss, or nil for the terminal default (and for invalid input,
// which Validate reports).
func (c Color) Value() color.Color {
	if c == "" || c.Validate() != nil {
		return nil
	}
	return lipgloss.Color(string(c))
}

// Validate says what is wrong with c, if anything.
func (c Color) Validate() error {
	s := string(c)
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "#") {
		h := s[1:]
		if len(h) != 3 && len(h) != 6 {
			return fmt.Errorf("colour %q: want #rgb or #rrggbb", s)
		}
		if _, err := strconv.ParseUint(h, 16, 32); err != nil {
			return fmt.Errorf("colour %q: %q is not hexadecimal", s, h)
		}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return fmt.Errorf("colour %q: want #rrggbb, #rgb or an ANSI colour number 0-255", s)
	}
	return nil
}

// UnmarshalText lets TOML decoding refuse a bad colour with the key and line named.
func (c *Color) UnmarshalText(b []byte) error {
	v := Color(strings.TrimSpace(string(b)))
	if err := v.Validate(); err != nil {
		return err
	}
	*c = v
	return nil
}

// Boundary is how neighbouring tokens are told apart in a heatmap without clutter: every
// other token gets a subtle underline or a one-step background change.
type Boundary string

// Token boundary choices.
const (
	BoundaryUnderline  Boundary = "underline"
	BoundaryBackground Boundary = "background"
	BoundaryNone       Boundary = "none"
)

// UnmarshalText refuses unknown boundary names.
func (b *Boundary) UnmarshalText(t []byte) error {
	switch v := Boundary(strings.TrimSpace(string(t))); v {
	case BoundaryUnderline, BoundaryBackground, BoundaryNone:
		*b = v
		return nil
	case "":
		*b = BoundaryUnderline
		return nil
	}
	return fmt.Errorf("boundary %q: want %q, %q or %q", t, BoundaryUnderline, BoundaryBackground, BoundaryNone)
}

// HeatBuckets is how many steps a heatmap scale is cut into. Eight reads as a gradient yet
// each step stays distinct after downsampling to ANSI-256 (tested per built-in theme).
const HeatBuckets = 8

// Palette is a theme: semantic colours, a heatmap scale and the token-boundary choice.
// Every style of the UI is derived from it by NewStyles.
type Palette struct {
	Name string `toml:"name"`
	// Dark says the palette is meant for a dark terminal background. The default theme
	// picks a dark or a light palette from the terminal; a named one is used as is.
	Dark bool `toml:"dark"`

	Primary    Color `toml:"primary"`    // accents: titles, the focused slider's knob, keys in help
	Foreground Color `toml:"foreground"` // body text; empty = terminal default
	Subtle     Color `toml:"subtle"`     // secondary text: labels, help descriptions, placeholders
	Background Color `toml:"background"` // empty = terminal default (recommended)
	Border     Color `toml:"border"`     // unfocused borders and rules
	Error      Color `toml:"error"`
	Warning    Color `toml:"warning"`
	Success    Color `toml:"success"`
	Focus      Color `toml:"focus"` // the focused pane's border and the token cursor

	// Heatmap is the heatmap scale: colour stops from "expected" (high probability, low
	// surprisal) to "surprising", blended into HeatBuckets steps. At least two stops.
	Heatmap []Color `toml:"heatmap"`
	// Heatmap16 optionally gives the HeatBuckets steps as ANSI colours 0-15 for 16-colour
	// terminals, where downsampling a smooth scale merges neighbours. Without it the scale
	// is downsampled and each step also gets its monochrome attribute.
	Heatmap16 []Color `toml:"heatmap_16"`
	// Unknown is how a token with an unknown logprob looks: neutral, never a scale colour.
	Unknown Color `toml:"unknown"`
	// Boundary marks every other token; BoundaryStep is its colour (the underline, or the
	// background step). Empty BoundaryStep derives one from Subtle/Background.
	Boundary     Boundary `toml:"boundary"`
	BoundaryStep Color    `toml:"boundary_step"`
}

// Validate reports every problem with p at once, each naming its field.
func (p Palette) Validate() error {
	var errs []string
	check := func(field string, c Color) {
		if err := c.Validate(); err != nil {
			errs = append(errs, field+": "+err.Error())
		}
	}
	check("primary", p.Primary)
	check("foreground", p.Foreground)
	check("subtle", p.Subtle)
	check("background", p.Background)
	check("border", p.Border)
	check("error", p.Error)
	check("warning", p.Warning)
	check("success", p.Success)
	check("focus", p.Focus)
	check("unknown", p.Unknown)
	check("boundary_step", p.BoundaryStep)
	if len(p.Heatmap) < 2 {
		errs = append(errs, fmt.Sprintf("heatmap: want at least 2 colour stops, got %d", len(p.Heatmap)))
	}
	if len(p.Heatmap) > 16 {
		errs = append(errs, fmt.Sprintf("heatmap: at most 16 colour stops, got %d", len(p.Heatmap)))
	}
	for i, c := range p.Heatmap {
		check(fmt.Sprintf("heatmap[%d]", i), c)
		if c == "" {
			errs = append(errs, fmt.Sprintf("heatmap[%d]: empty colour", i))
		}
	}
	if len(p.Heatmap16) > 0 && len(p.Heatmap16) != HeatBuckets {
		errs = append(errs, fmt.Sprintf("heatmap_16: want exactly %d ANSI colours, got %d", HeatBuckets, len(p.Heatmap16)))
	}
	for i, c := range p.Heatmap16 {
		if n, err := strconv.Atoi(string(c)); err != nil || n < 0 || n > 15 {
			errs = append(errs, fmt.Sprintf("heatmap_16[%d]: %q is not an ANSI colour number 0-15", i, c))
		}
	}
	switch p.Boundary {
	case "", BoundaryUnderline, BoundaryBackground, BoundaryNone:
	default:
		errs = append(errs, fmt.Sprintf("boundary: %q is not one of underline, background, none", p.Boundary))
	}
	if len(errs) > 0 {
		return fmt.Errorf("theme %q: %s", p.Name, strings.Join(errs, "; "))
	}
	return nil
}

// HeatColors blends the scale's stops into HeatBuckets colours, expected first. Blending is
// in OKLab, so equal steps look equally far apart.
func (p Palette) HeatColors() []color.Color {
	stops := make([]colorful.Color, 0, len(p.Heatmap))
	for _, c := range p.Heatmap {
		if v := c.Value(); v != nil {
			if cc, ok := colorful.MakeColor(v); ok {
				stops = append(stops, cc)
			}
		}
	}
	out := make([]color.Color, HeatBuckets)
	if len(stops) == 0 {
		stops = []colorful.Color{{R: 0.5, G: 0.5, B: 0.5}}
	}
	for i := range out {
		var c colorful.Color
		if len(stops) == 1 {
			c = stops[0]
		} else {
			t := float64(i) / float64(HeatBuckets-1) * float64(len(stops)-1)
			k := min(int(t), len(stops)-2)
			c = stops[k].BlendOkLab(stops[k+1], t-float64(k))
		}
		out[i] = lipgloss.Color(c.Clamped().Hex())
	}
	return out
}
