package ui

import (
	"reflect"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
)

// Programs given the same SharedStyles draw a built-in theme with one copy
// of its styles; a program changing its theme or background changes only
// its own; a user's palette is never shared.
func TestSharedStylesServeEveryProgram(t *testing.T) {
	shared := NewSharedStyles()
	mk := func(pal *themes.Palette) *Model {
		m := New(Config{Endpoint: "http://127.0.0.1:8000", Model: "m", API: params.Chat, Params: params.Default(),
			Options: params.Options{N: 1}, IsDark: true, SharedStyles: shared, Palette: pal})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		return m
	}
	a, b := mk(nil), mk(nil)
	if a.c.Styles != b.c.Styles {
		t.Fatal("two programs on the default theme built their styles twice")
	}
	alone := New(Config{Endpoint: "http://127.0.0.1:8000", Model: "m", Params: params.Default(), IsDark: true})
	if alone.c.Styles == a.c.Styles || !reflect.DeepEqual(*alone.c.Styles, *a.c.Styles) {
		t.Error("without SharedStyles a program must build its own, equal, styles")
	}

	before := a.c.Styles
	b.setTheme(false)
	if a.c.Styles != before || b.c.Styles == before || b.c.Styles.IsDark {
		t.Errorf("b's light background: a's styles %p (was %p), b's %p dark %v", a.c.Styles, before, b.c.Styles, b.c.Styles.IsDark)
	}
	c := mk(nil)
	c.setTheme(false)
	if c.c.Styles != b.c.Styles {
		t.Error("the light styles were built twice")
	}

	p, _ := themes.Builtin(themes.DefaultName, true)
	p.Name = "mine"
	u := mk(&p)
	if u.c.Styles == a.c.Styles || u.c.Styles.Palette.Name != "mine" {
		t.Errorf("a user's palette: styles shared %v, palette %q", u.c.Styles == a.c.Styles, u.c.Styles.Palette.Name)
	}
}
