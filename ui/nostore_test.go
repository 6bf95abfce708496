package ui

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
)

// Without a store (a session over SSH), T goes round the built-in themes only: the
// themes in the config folder of whoever runs the program are not read.
func TestNoStoreThemesAreTheBuiltInsOnly(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	dir := filepath.Join(cfg, "twinkle", "themes")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "zz-operator.toml"), []byte(""), 0o644)
	m := New(Config{Sampler: &fakeSampler{}, Params: params.Default(), IsDark: true})
	m.Update(windowSize(120, 40))
	m.setFocus(focusParams)
	var seen []string
	for range len(themes.BuiltinNames()) + 1 {
		drive(t, m, press(m, "T"))
		seen = append(seen, m.cfg.Theme)
	}
	for _, name := range seen {
		if !slices.Contains(themes.BuiltinNames(), name) {
			t.Fatalf("themes gone round without a store: %v", seen)
		}
	}
	if seen[len(seen)-1] != seen[0] {
		t.Fatalf("the built-in themes do not go round: %v", seen)
	}
}
