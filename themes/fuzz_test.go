package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A user theme is a TOML file anyone can write: loading it either gives a
// palette that builds styles, or an error naming the file; it never panics.
func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("base = \"dark\"\nprimary = \"#ff00ff\"\n"))
	f.Add([]byte("base = \"nope\"\nfg = \"#zzzzzz\"\n"))
	f.Add([]byte("[heatmap]\nscale = [\"#000000\", \"#ffffff\"]\n"))
	f.Add([]byte("primary = 3\nprimary = \"#000\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "mine.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, dark := range []bool{true, false} {
			p, err := LoadFile(path, dark)
			if err != nil {
				if !strings.Contains(err.Error(), path) {
					t.Fatalf("error without the file: %v", err)
				}
				continue
			}
			_ = NewStyles(p, dark)
		}
	})
}
