package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/lipgloss/v2"

	"github.com/twinkle-sh/twinkle/themes"
)

// styleSet is every style the playground draws with, grouped by component.
// It is built in one place (newStyleSet) from the program's theme; ui/ defines
// no colours of its own.
type styleSet struct {
	App struct {
		Header, HeaderTitle, HeaderDim, HeaderOK, HeaderBad, Mode lipgloss.Style
		Status, StatusError, StatusBusy                           lipgloss.Style
		Border, BorderFocused, Title, TitleFocused, Dim, Warning  lipgloss.Style
	}
	Slider struct {
		Label, LabelFocused, Marker, Filled, Empty, Knob, KnobFocused lipgloss.Style
		Value, Special, Invalid, InvalidMsg, Hint, Edit               lipgloss.Style
		Locked, Unlocked, Warning                                     lipgloss.Style
	}
	Sample struct {
		Header, HeaderFocused, Text, Footer lipgloss.Style
		// Stop draws a matched stop string's tokens: not output, so struck
		// through and dim, never in the heatmap's colours.
		Stop, StopCursor lipgloss.Style
	}
	Badge  themes.BadgeStyles
	Dialog struct {
		Item, ItemSelected, Code, Tab, TabSelected lipgloss.Style
	}
	Help     help.Styles
	TextArea textarea.Styles
}

// border pieces are pre-rendered once per style set, since frames are drawn
// every View.
type borderPieces struct {
	tl, tr, bl, br, h, v string
}

func newBorderPieces(st lipgloss.Style) borderPieces {
	b := lipgloss.RoundedBorder()
	return borderPieces{
		tl: st.Render(b.TopLeft), tr: st.Render(b.TopRight),
		bl: st.Render(b.BottomLeft), br: st.Render(b.BottomRight),
		h: st.Render(b.Top), v: st.Render(b.Left),
	}
}

// newStyleSet maps the theme's styles (themes.NewStyles, grouped by
// component) onto what the playground draws; this is the one place ui reads
// a theme, so a field added to themes.Styles is wired here.
func newStyleSet(t *themes.Styles) *styleSet {
	s := &styleSet{}
	s.App.Header = t.App.HeaderValue
	s.App.HeaderTitle = t.App.HeaderTitle
	s.App.HeaderDim = t.App.HeaderKey
	s.App.HeaderOK = t.App.ConnOK
	s.App.HeaderBad = t.App.ConnError
	s.App.Mode = t.App.Mode
	s.App.Status = t.Status.Info
	s.App.StatusError = t.Status.Error
	s.App.StatusBusy = t.Status.Warning
	s.App.Border = borderColourOnly(t.App.Pane)
	s.App.BorderFocused = borderColourOnly(t.App.PaneFocused)
	s.App.Title = t.Prompt.Label
	s.App.TitleFocused = t.Prompt.LabelFocused
	s.App.Dim = t.Dialog.Hint
	s.App.Warning = t.App.TooSmall

	s.Slider.Label = t.Slider.Label
	s.Slider.LabelFocused = t.Slider.LabelFocused
	s.Slider.Marker = t.Slider.Focused
	s.Slider.Filled = t.Slider.BarFilled
	s.Slider.Empty = t.Slider.BarEmpty
	s.Slider.Knob = t.Slider.Knob
	s.Slider.KnobFocused = t.Slider.KnobFocused
	s.Slider.Value = t.Slider.Value
	s.Slider.Special = t.Slider.Special
	s.Slider.Invalid = t.Slider.Invalid
	s.Slider.InvalidMsg = t.Slider.InvalidMsg
	s.Slider.Hint = t.Dialog.Hint
	s.Slider.Edit = t.Slider.ValueEditing
	s.Slider.Locked = t.Slider.Locked
	s.Slider.Unlocked = t.Slider.Unlocked
	s.Slider.Warning = t.Status.Warning

	s.Sample.Header = t.Column.Header
	s.Sample.HeaderFocused = t.Column.HeaderFocused.Reverse(true)
	s.Sample.Text = t.Column.Body
	s.Sample.Footer = t.Column.Stats
	s.Sample.Stop = t.Column.Stats.Strikethrough(true)
	s.Sample.StopCursor = s.Sample.Stop.Reverse(true)
	s.Badge = t.Badge

	s.Dialog.Item = t.Dialog.Item
	s.Dialog.ItemSelected = t.Dialog.ItemSelected
	s.Dialog.Code = t.Export.Code
	s.Dialog.Tab = t.Export.Tab
	s.Dialog.TabSelected = t.Export.TabActive

	s.Help = t.Help
	ta := textarea.DefaultStyles(t.IsDark)
	for _, st := range []*textarea.StyleState{&ta.Focused, &ta.Blurred} {
		st.Text = t.Prompt.Text
		st.Placeholder = t.Prompt.Placeholder
		st.LineNumber = t.Prompt.LineNumber
		st.CursorLine = t.Prompt.CursorLine
	}
	ta.Focused.Prompt = t.Prompt.LabelFocused
	ta.Blurred.Prompt = t.Prompt.Label
	if t.Prompt.Cursor != nil {
		ta.Cursor.Color = t.Prompt.Cursor
	}
	ta.Cursor.Blink = false
	s.TextArea = ta
	return s
}

// borderColourOnly turns a pane style (a bordered box) into a style for
// drawing border glyphs by hand: frames are assembled from pre-rendered
// pieces rather than lipgloss borders, which measure every line per frame.
func borderColourOnly(pane lipgloss.Style) lipgloss.Style {
	return lipgloss.NewStyle().Foreground(pane.GetBorderTopForeground())
}
