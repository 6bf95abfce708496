package ui

import (
	"charm.land/bubbles/v2/textinput"

	"github.com/twinkle-sh/twinkle/themes"
)

// newTextInput is a one-line text field as twinkle's fields are: no prompt of
// its own, the theme's looks (its cursor does not blink; st is nil only in
// tests of a panel alone).
func newTextInput(st *themes.Styles) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	if st != nil {
		ti.SetStyles(st.TextInput)
	}
	return ti
}
