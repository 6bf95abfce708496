package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/textarea"
)

// lazyArea is a textarea made only when first needed. Each bubbles textarea
// reserves room for 10,000 lines (about 240 KB) whatever it holds, and of the
// prompt editor and the conversation only one is on screen: the other, often
// for a whole session, needs nothing but its text. That matters over SSH,
// where every viewer has a program of their own.
//
// While parked it keeps its text, for Value, and the calls it was given, in
// order; the textarea is made by replaying them, so it ends in the state it
// would have reached had it existed all along.
type lazyArea struct {
	ta    *textarea.Model
	init  func(*textarea.Model)
	value string
	calls []parkedCall
}

// parkedCall is a call made while parked; focus marks Focus and Blur, of
// which only the last of a run matters (the blink commands were dropped).
type parkedCall struct {
	f     func(*textarea.Model)
	focus bool
}

// maxParkedCalls bounds what a parked area remembers: past it (many
// resizes or theme changes), the textarea is made and the calls dropped.
const maxParkedCalls = 32

func newLazyArea(init func(*textarea.Model)) lazyArea {
	return lazyArea{init: init}
}

// get is the textarea, made now if it was not yet.
func (a *lazyArea) get() *textarea.Model {
	if a.ta == nil {
		t := textarea.New()
		a.init(&t)
		for _, c := range a.calls {
			c.f(&t)
		}
		a.ta, a.calls, a.value = &t, nil, ""
	}
	return a.ta
}

// made reports whether the textarea exists (for tests).
func (a *lazyArea) made() bool { return a.ta != nil }

func (a *lazyArea) call(f func(*textarea.Model)) { a.park(parkedCall{f: f}) }

func (a *lazyArea) park(c parkedCall) {
	if a.ta != nil {
		c.f(a.ta)
		return
	}
	if n := len(a.calls); c.focus && n > 0 && a.calls[n-1].focus {
		a.calls = a.calls[:n-1]
	}
	a.calls = append(a.calls, c)
	if len(a.calls) > maxParkedCalls {
		a.get()
	}
}

func (a *lazyArea) Value() string {
	if a.ta != nil {
		return a.ta.Value()
	}
	return a.value
}

// SetValue stays parked only for a text the textarea would keep as given:
// it drops control characters and widens tabs, and Value must say what the
// textarea would.
func (a *lazyArea) SetValue(s string) {
	if a.ta == nil && !keptAsGiven(s) {
		a.get()
	}
	if a.ta == nil {
		a.value = s
	}
	a.call(func(t *textarea.Model) { t.SetValue(s) })
}

func (a *lazyArea) SetWidth(w int) { a.call(func(t *textarea.Model) { t.SetWidth(w) }) }

func (a *lazyArea) SetHeight(h int) { a.call(func(t *textarea.Model) { t.SetHeight(h) }) }

func (a *lazyArea) SetStyles(s textarea.Styles) {
	a.call(func(t *textarea.Model) { t.SetStyles(s) })
}

// Focus and Blur drop the cursor's blink command, as every caller did.
func (a *lazyArea) Focus() {
	a.park(parkedCall{f: func(t *textarea.Model) { _ = t.Focus() }, focus: true})
}

func (a *lazyArea) Blur() { a.park(parkedCall{f: func(t *textarea.Model) { t.Blur() }, focus: true}) }

// keptAsGiven reports whether a textarea's Value would return s after
// SetValue(s): no control characters but newlines, no tabs or carriage
// returns, valid UTF-8 without U+FFFD, and well under its 10,000 lines.
func keptAsGiven(s string) bool {
	if strings.Count(s, "\n") >= 9000 {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '\t' || r == '\r' || (r != '\n' && unicode.IsControl(r)) {
			return false
		}
	}
	return true
}
