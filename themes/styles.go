package themes

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles is every style the UI draws with, grouped by component, built by NewStyles from
// one Palette: lipgloss styles and the bubbles widgets' own (text editor, text field,
// help). Components take the group they need; none builds a style of its own.
type Styles struct {
	Palette Palette
	IsDark  bool

	App       AppStyles
	Prompt    PromptStyles
	Slider    SliderStyles
	Column    ColumnStyles
	Badge     BadgeStyles
	Status    StatusStyles
	Help      help.Styles
	Export    ExportStyles
	Dialog    DialogStyles
	Legend    LegendStyles
	Inspector InspectorStyles
	Heat      HeatStyles

	// The widgets': the prompt and system message editors, one-line text fields (a
	// value typed on a slider, a file name). Neither cursor blinks.
	TextArea  textarea.Styles
	TextInput textinput.Styles
}

// AppStyles: the whole screen and its header.
type AppStyles struct {
	Base        lipgloss.Style // the screen's text
	Header      lipgloss.Style // the header line
	HeaderTitle lipgloss.Style // "twinkle"
	HeaderKey   lipgloss.Style // "model", "endpoint"
	HeaderValue lipgloss.Style // their values
	ConnOK      lipgloss.Style // connected
	ConnBusy    lipgloss.Style // connecting / streaming
	ConnError   lipgloss.Style // unreachable
	Mode        lipgloss.Style // chat / completion tag
	TooSmall    lipgloss.Style // the "terminal too small" notice
	Hint        lipgloss.Style // dim help text ("no samples yet", "… 3 more lines")
	// A pane's and a dialog's frame: the colour its border glyphs are drawn in (frames are
	// drawn from glyphs rendered once, not by lipgloss borders), and its title.
	Border        lipgloss.Style
	BorderFocused lipgloss.Style
	Title         lipgloss.Style
	TitleFocused  lipgloss.Style
}

// PromptStyles: the prompt editor and the chat system message.
type PromptStyles struct {
	Label        lipgloss.Style
	LabelFocused lipgloss.Style
	Text         lipgloss.Style
	Placeholder  lipgloss.Style
	LineNumber   lipgloss.Style
	CursorLine   lipgloss.Style
	Cursor       color.Color // the textarea takes a colour for its cursor
}

// SliderStyles: one parameter slider.
type SliderStyles struct {
	Label        lipgloss.Style
	LabelFocused lipgloss.Style
	BarFilled    lipgloss.Style
	BarEmpty     lipgloss.Style
	Knob         lipgloss.Style
	KnobFocused  lipgloss.Style
	Value        lipgloss.Style
	ValueEditing lipgloss.Style // while the exact value is typed
	Special      lipgloss.Style // "greedy", "off", "random", "server default"
	Focused      lipgloss.Style // the focused slider's row marker
	Invalid      lipgloss.Style // the value of a slider in an invalid combination
	InvalidMsg   lipgloss.Style // why it is invalid
	Locked       lipgloss.Style // the seed's lock, locked
	Unlocked     lipgloss.Style
	Escape       lipgloss.Style // escapes shown visibly in stop strings (\n)
	Warning      lipgloss.Style // a combination that runs, but not as asked
	Hint         lipgloss.Style // the focused row's help and range
}

// ColumnStyles: one sample column.
type ColumnStyles struct {
	Header        lipgloss.Style
	HeaderFocused lipgloss.Style // the focused or zoomed column's header, reversed
	Border        lipgloss.Style
	BorderFocused lipgloss.Style
	Body          lipgloss.Style // plain (heatmap off) token text
	Footer        lipgloss.Style
	Stats         lipgloss.Style
	Spinner       lipgloss.Style
	Scroll        lipgloss.Style // "↑ 12 more" indicators
	Cursor        lipgloss.Style // the token under the inspector's cursor
	Divergence    lipgloss.Style // the first position where samples differ
	Split         lipgloss.Style // a grapheme made of several tokens (a character split over byte tokens)
	SplitBasic    lipgloss.Style // Split below true colour, where SGR 4:3 may be unknown
	// A matched stop string's tokens: not output, so struck through and dim, never in the
	// heatmap's colours; StopCursor is one under the inspector's cursor.
	Stop       lipgloss.Style
	StopCursor lipgloss.Style
	// A reasoning model's thinking, drawn apart from its answer: the thinking dimmed (with
	// the heatmap off: Thinking; ThinkingMark is turned on over the heatmap's colours), its
	// label line ("▾ thinking", "▸ thought for 812
	// tokens"), and the end-of-thinking token drawn as a rule (BoundaryCursor under the
	// inspector's cursor) where the heatmap is off.
	Thinking       lipgloss.Style
	ThinkingMark   lipgloss.Style
	ThinkingLabel  lipgloss.Style
	Boundary       lipgloss.Style
	BoundaryCursor lipgloss.Style
}

// BadgeStyles: the stop reason in a column's footer.
type BadgeStyles struct {
	Stop        lipgloss.Style
	Length      lipgloss.Style
	EOS         lipgloss.Style
	Interrupted lipgloss.Style
	Error       lipgloss.Style
	Cancelled   lipgloss.Style
	Abort       lipgloss.Style
	Other       lipgloss.Style // a finish_reason twinkle does not know ("repetition")
}

// For returns the badge style for a stop reason as backend names it ("stop", "length",
// "error", "interrupted", "cancelled", "abort"); eos says a "stop" came from EOS.
func (b BadgeStyles) For(reason string, eos bool) lipgloss.Style {
	switch reason {
	case "stop":
		if eos {
			return b.EOS
		}
		return b.Stop
	case "length":
		return b.Length
	case "error":
		return b.Error
	case "interrupted":
		return b.Interrupted
	case "cancelled":
		return b.Cancelled
	case "abort":
		return b.Abort
	}
	return b.Other
}

// StatusStyles: the status line.
type StatusStyles struct {
	Bar     lipgloss.Style
	Info    lipgloss.Style
	Success lipgloss.Style
	Warning lipgloss.Style
	Error   lipgloss.Style
	Key     lipgloss.Style // a key named in a status message
}

// ExportStyles: the export view.
type ExportStyles struct {
	Frame     lipgloss.Style
	Title     lipgloss.Style
	Tab       lipgloss.Style
	TabActive lipgloss.Style
	Code      lipgloss.Style
	Hint      lipgloss.Style
	Done      lipgloss.Style // "copied", "written to …"
}

// DialogStyles: pickers (model, preset, theme), file-name prompts, confirmations.
type DialogStyles struct {
	Frame        lipgloss.Style
	Title        lipgloss.Style
	Item         lipgloss.Style
	ItemSelected lipgloss.Style
	ItemDim      lipgloss.Style
	Input        lipgloss.Style
	Hint         lipgloss.Style
	Error        lipgloss.Style
}

// LegendStyles: the heatmap legend bar.
type LegendStyles struct {
	Bar  lipgloss.Style
	Mode lipgloss.Style
	Tick lipgloss.Style
	Note lipgloss.Style // "raw logprobs, before temperature/truncation"
	Key  lipgloss.Style
}

// InspectorStyles: the token inspector pane.
type InspectorStyles struct {
	Frame      lipgloss.Style
	Title      lipgloss.Style
	Label      lipgloss.Style
	Value      lipgloss.Style
	Token      lipgloss.Style // the token's text with whitespace made visible
	Glyph      lipgloss.Style // the visible-whitespace and control glyphs inside it
	Alt        lipgloss.Style // an alternative's text
	AltSampled lipgloss.Style // the sampled alternative's text
	Bar        lipgloss.Style
	BarSampled lipgloss.Style
	BarCut     lipgloss.Style // an alternative truncation would cut
	Cut        lipgloss.Style // "cut" marks
	Uncertain  lipgloss.Style // "uncertain (bounds)": kept or cut depending on tokens not shown
	Note       lipgloss.Style // "exact: …" or "bounds: …" under the alternatives
	Empty      lipgloss.Style // "no token under the cursor"
}

// HeatStyles: the heatmap's looks. Scale[i] is bucket i (expected first) in colour, Scale16[i]
// the same for 16-colour terminals, Mono[i] for terminals without colour (faint, normal,
// bold, bold reverse). Unknown is a token with an unknown logprob. Alt is added to every
// other token to show boundaries, MonoAlt likewise without colour: underline, which no
// heat look uses, so a boundary never reads as heat. ui/heatmap picks the set for the
// terminal's profile.
type HeatStyles struct {
	Scale       [HeatBuckets]lipgloss.Style
	Scale16     [HeatBuckets]lipgloss.Style
	Mono        [HeatBuckets]lipgloss.Style
	Unknown     lipgloss.Style
	MonoUnknown lipgloss.Style
	Alt         lipgloss.Style // boundary mark for odd tokens, applied over Scale
	MonoAlt     lipgloss.Style // boundary mark for odd tokens, applied over Mono
	Newline     string         // glyph marking a newline token
	Boundary    Boundary
	Colors      [HeatBuckets]color.Color // Scale's colours, for swatches and tests
}

// NewStyles builds every style of the UI from p. isDark is the terminal's background (from
// Bubble Tea's background-colour report); it fills what the palette leaves to the terminal.
func NewStyles(p Palette, isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	or := func(c Color, light, dark string) color.Color {
		if v := c.Value(); v != nil {
			return v
		}
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	var (
		primary = or(p.Primary, "#3b4fc4", "#8fa8ff")
		fg      = p.Foreground.Value() // nil: terminal default
		subtle  = or(p.Subtle, "#6b6f80", "#7d8196")
		border  = or(p.Border, "#b8bccb", "#454a5e")
		errC    = or(p.Error, "#c4213f", "#ff6b81")
		warn    = or(p.Warning, "#a15c00", "#f0b35a")
		success = or(p.Success, "#1b7f4c", "#5fd0a0")
		focus   = or(p.Focus, "#7a3fd1", "#c69bff")
		unknown = or(p.Unknown, "#8a8a8a", "#8a8a8a")
		step    = or(p.BoundaryStep, "#c9ccd8", "#3a3f52")
		bg      = p.Background.Value()
	)
	base := lipgloss.NewStyle()
	if fg != nil {
		base = base.Foreground(fg)
	}
	if bg != nil {
		base = base.Background(bg)
	}
	text := base
	fgc := func(c color.Color) lipgloss.Style { return base.Foreground(c) }
	bold := func(c color.Color) lipgloss.Style { return base.Foreground(c).Bold(true) }
	rounded := base.Border(lipgloss.RoundedBorder())

	var s Styles
	s.Palette, s.IsDark = p, isDark

	s.App = AppStyles{
		Base:        text,
		Header:      text,
		HeaderTitle: bold(primary),
		HeaderKey:   fgc(subtle),
		HeaderValue: text,
		ConnOK:      fgc(success),
		ConnBusy:    fgc(warn),
		ConnError:   bold(errC),
		Mode:        bold(primary).Reverse(true).Padding(0, 1),
		TooSmall:    bold(warn),
		Hint:        fgc(subtle),
		// Only the colour: the glyphs are drawn by hand.
		Border:        lipgloss.NewStyle().Foreground(border),
		BorderFocused: lipgloss.NewStyle().Foreground(focus),
		Title:         fgc(subtle),
		TitleFocused:  bold(focus),
	}
	s.Prompt = PromptStyles{
		Label:        fgc(subtle),
		LabelFocused: bold(focus),
		Text:         text,
		Placeholder:  fgc(subtle).Italic(true),
		LineNumber:   fgc(border),
		CursorLine:   text,
		Cursor:       focus,
	}
	s.Slider = SliderStyles{
		Label:        fgc(subtle),
		LabelFocused: bold(focus),
		BarFilled:    fgc(primary),
		BarEmpty:     fgc(border),
		Knob:         fgc(primary),
		KnobFocused:  bold(focus),
		Value:        text,
		ValueEditing: text.Underline(true).Bold(true),
		Special:      fgc(subtle).Italic(true),
		Focused:      bold(focus),
		Invalid:      bold(errC),
		InvalidMsg:   fgc(errC),
		Locked:       fgc(warn),
		Unlocked:     fgc(subtle),
		Escape:       fgc(warn),
		Warning:      fgc(warn),
		Hint:         fgc(subtle),
	}
	s.Column = ColumnStyles{
		Header:        fgc(subtle),
		HeaderFocused: bold(focus).Reverse(true),
		Border:        rounded.BorderForeground(border),
		BorderFocused: rounded.BorderForeground(focus),
		Body:          text,
		Footer:        fgc(subtle),
		Stats:         fgc(subtle),
		Spinner:       fgc(primary),
		Scroll:        fgc(subtle).Faint(true),
		Cursor:        base.Reverse(true),
		Divergence:    base.Foreground(warn).Bold(true).Underline(true), // plain SGR 4: every terminal has it
		Split:         lipgloss.NewStyle().UnderlineStyle(lipgloss.UnderlineCurly),
		// A plain underline already marks every other token's boundary there: italic too.
		SplitBasic: lipgloss.NewStyle().Italic(true).Underline(true),
		Stop:       fgc(subtle).Strikethrough(true),
		StopCursor: fgc(subtle).Strikethrough(true).Reverse(true),

		Thinking:       text.Faint(true),
		ThinkingMark:   lipgloss.NewStyle().Faint(true),
		ThinkingLabel:  fgc(subtle).Italic(true),
		Boundary:       fgc(subtle),
		BoundaryCursor: fgc(subtle).Reverse(true),
	}
	badge := func(c color.Color) lipgloss.Style { return base.Foreground(c).Bold(true) }
	s.Badge = BadgeStyles{
		Stop:        badge(success),
		Length:      badge(warn),
		EOS:         badge(success),
		Interrupted: badge(warn),
		Error:       badge(errC),
		Cancelled:   badge(subtle),
		Abort:       badge(errC),
		Other:       badge(primary),
	}
	s.Status = StatusStyles{
		Bar:     fgc(subtle),
		Info:    text,
		Success: fgc(success),
		Warning: fgc(warn),
		Error:   bold(errC),
		Key:     bold(primary),
	}
	s.Help = help.Styles{
		Ellipsis:       fgc(border),
		ShortKey:       fgc(primary),
		ShortDesc:      fgc(subtle),
		ShortSeparator: fgc(border),
		FullKey:        fgc(primary),
		FullDesc:       fgc(subtle),
		FullSeparator:  fgc(border),
	}
	s.Export = ExportStyles{
		Frame:     rounded.BorderForeground(focus).Padding(0, 1),
		Title:     bold(primary),
		Tab:       fgc(subtle).Padding(0, 1),
		TabActive: bold(focus).Underline(true).Padding(0, 1),
		Code:      text,
		Hint:      fgc(subtle),
		Done:      fgc(success),
	}
	s.Dialog = DialogStyles{
		Frame:        rounded.BorderForeground(focus).Padding(0, 1),
		Title:        bold(primary),
		Item:         text,
		ItemSelected: bold(focus).Reverse(true),
		ItemDim:      fgc(subtle),
		Input:        text.Underline(true),
		Hint:         fgc(subtle),
		Error:        fgc(errC),
	}
	s.Legend = LegendStyles{
		Bar:  fgc(subtle),
		Mode: bold(primary),
		Tick: fgc(subtle),
		Note: fgc(subtle).Italic(true),
		Key:  fgc(primary),
	}
	s.Inspector = InspectorStyles{
		Frame:      rounded.BorderForeground(border),
		Title:      bold(primary),
		Label:      fgc(subtle),
		Value:      text,
		Token:      text.Bold(true),
		Glyph:      fgc(subtle),
		Alt:        text,
		AltSampled: bold(focus),
		Bar:        fgc(primary),
		BarSampled: fgc(focus),
		BarCut:     fgc(border),
		Cut:        fgc(errC),
		Uncertain:  fgc(warn).Italic(true),
		Note:       fgc(subtle).Italic(true),
		Empty:      fgc(subtle).Italic(true),
	}

	s.TextArea = textarea.DefaultStyles(isDark)
	for _, st := range []*textarea.StyleState{&s.TextArea.Focused, &s.TextArea.Blurred} {
		st.Text = s.Prompt.Text
		st.Placeholder = s.Prompt.Placeholder
		st.LineNumber = s.Prompt.LineNumber
		st.CursorLine = s.Prompt.CursorLine
	}
	s.TextArea.Focused.Prompt = s.Prompt.LabelFocused
	s.TextArea.Blurred.Prompt = s.Prompt.Label
	s.TextArea.Cursor.Color = s.Prompt.Cursor
	s.TextArea.Cursor.Blink = false
	// A text field keeps bubbles' looks but its cursor: a blink is a message every half
	// second and a timer that outlives the field.
	s.TextInput = textinput.DefaultStyles(isDark)
	s.TextInput.Cursor.Blink = false

	colors := p.HeatColors()
	s.Heat.Boundary = p.Boundary
	if s.Heat.Boundary == "" {
		s.Heat.Boundary = BoundaryUnderline
	}
	for i := range HeatBuckets {
		c := colors[i]
		s.Heat.Colors[i] = c
		s.Heat.Scale[i] = base.Foreground(c)
	}
	// Without colour, four looks in order of how much they shout; two buckets share each.
	// Underline is kept for token boundaries and italic for unknown logprobs.
	mono := [4]lipgloss.Style{
		lipgloss.NewStyle().Faint(true),
		lipgloss.NewStyle(),
		lipgloss.NewStyle().Bold(true),
		lipgloss.NewStyle().Bold(true).Reverse(true),
	}
	for i := range HeatBuckets {
		s.Heat.Mono[i] = mono[i*len(mono)/HeatBuckets]
		if len(p.Heatmap16) == HeatBuckets {
			s.Heat.Scale16[i] = base.Foreground(p.Heatmap16[i].Value())
		} else {
			// Downsampling may merge neighbours; the monochrome attribute keeps them apart.
			s.Heat.Scale16[i] = s.Heat.Mono[i].Foreground(colors[i])
		}
	}
	s.Heat.Unknown = base.Foreground(unknown).Italic(true)
	s.Heat.MonoUnknown = lipgloss.NewStyle().Italic(true)
	switch s.Heat.Boundary {
	case BoundaryUnderline:
		s.Heat.Alt = lipgloss.NewStyle().UnderlineStyle(lipgloss.UnderlineDotted).UnderlineColor(step)
	case BoundaryBackground:
		s.Heat.Alt = lipgloss.NewStyle().Background(step)
	default:
		s.Heat.Alt = lipgloss.NewStyle()
	}
	s.Heat.MonoAlt = lipgloss.NewStyle()
	if s.Heat.Boundary != BoundaryNone {
		s.Heat.MonoAlt = s.Heat.MonoAlt.Underline(true)
	}
	s.Heat.Newline = "⏎"
	return s
}
