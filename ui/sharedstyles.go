package ui

import (
	"sync"

	"github.com/twinkle-sh/twinkle/themes"
)

// SharedStyles hands the programs of one process the same built styles for
// the same built-in theme: a theme's styles take about 120 KB, and an SSH
// server runs a program per viewer. Programs only read their styles (every
// lipgloss style method returns a copy), so one copy serves them all. It is
// the caller's, made per server: nothing here is package-level. Safe for
// concurrent use.
type SharedStyles struct {
	mu     sync.Mutex
	styles map[sharedKey]*themes.Styles
}

type sharedKey struct {
	name   string
	isDark bool
}

// NewSharedStyles is an empty set of shared styles.
func NewSharedStyles() *SharedStyles {
	return &SharedStyles{styles: map[sharedKey]*themes.Styles{}}
}

// builtin is the styles of the built-in palette pal, built on first use.
// A nil SharedStyles builds them every time.
func (s *SharedStyles) builtin(pal themes.Palette, isDark bool) *themes.Styles {
	if s == nil {
		t := themes.NewStyles(pal, isDark)
		return &t
	}
	k := sharedKey{pal.Name, isDark}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.styles[k]
	if !ok {
		st := themes.NewStyles(pal, isDark)
		t = &st
		s.styles[k] = t
	}
	return t
}
