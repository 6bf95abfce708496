package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/lipgloss/v2"
)

// styleSet is every style the playground draws with, grouped by component.
// It is built in one place (newStyleSet) from the program's theme; ui/ defines
// no colours of its own.
type styleSet struct {
	App struct {
		Header, HeaderDim, HeaderOK, HeaderBad          lipgloss.Style
		Status, StatusError, StatusBusy                 lipgloss.Style
		Border, BorderFocused, Title, TitleFocused, Dim lipgloss.Style
		Warning                                         lipgloss.Style
	}
	Slider struct {
		Label, LabelFocused, Filled, Empty, Knob, Value, Special, Invalid, Hint, Edit lipgloss.Style
	}
	Sample struct {
		Header, HeaderFocused, Text, Footer, BadgeOK, BadgeBad, Spinner, Scroll lipgloss.Style
	}
	Dialog struct {
		Title, Item, ItemSelected, Code, Tab, TabSelected lipgloss.Style
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

// newStyleSet builds the style set. Until themes/ provides a palette the
// styles use attributes only (bold, faint, reverse), which read on any
// terminal, colour or not.
func newStyleSet(isDark bool) *styleSet {
	s := &styleSet{}
	n := lipgloss.NewStyle
	s.App.Header = n().Bold(true)
	s.App.HeaderDim = n().Faint(true)
	s.App.HeaderOK = n().Bold(true)
	s.App.HeaderBad = n().Bold(true).Underline(true)
	s.App.Status = n()
	s.App.StatusError = n().Bold(true)
	s.App.StatusBusy = n().Italic(true)
	s.App.Border = n().Faint(true)
	s.App.BorderFocused = n().Bold(true)
	s.App.Title = n().Faint(true)
	s.App.TitleFocused = n().Bold(true).Reverse(true)
	s.App.Dim = n().Faint(true)
	s.App.Warning = n().Bold(true)

	s.Slider.Label = n()
	s.Slider.LabelFocused = n().Bold(true)
	s.Slider.Filled = n().Bold(true)
	s.Slider.Empty = n().Faint(true)
	s.Slider.Knob = n().Bold(true)
	s.Slider.Value = n()
	s.Slider.Special = n().Italic(true)
	s.Slider.Invalid = n().Bold(true).Underline(true)
	s.Slider.Hint = n().Faint(true)
	s.Slider.Edit = n().Bold(true)

	s.Sample.Header = n().Faint(true)
	s.Sample.HeaderFocused = n().Bold(true).Reverse(true)
	s.Sample.Text = n()
	s.Sample.Footer = n().Faint(true)
	s.Sample.BadgeOK = n().Bold(true)
	s.Sample.BadgeBad = n().Bold(true).Reverse(true)
	s.Sample.Spinner = n().Bold(true)
	s.Sample.Scroll = n().Faint(true)

	s.Dialog.Title = n().Bold(true)
	s.Dialog.Item = n()
	s.Dialog.ItemSelected = n().Reverse(true)
	s.Dialog.Code = n()
	s.Dialog.Tab = n().Faint(true)
	s.Dialog.TabSelected = n().Bold(true).Reverse(true)

	s.Help = help.DefaultStyles(isDark)
	s.TextArea = textarea.DefaultStyles(isDark)
	s.TextArea.Cursor.Blink = false
	return s
}
