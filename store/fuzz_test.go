package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Session, preset and config files are written by people and other tools:
// whatever a file holds, loading it either succeeds with a value that passes
// the same checks again, or fails with an error that names the file. It never
// panics.
func FuzzLoadFiles(f *testing.F) {
	f.Add([]byte(`{"version":1,"api":"chat","n":4,"params":{"temperature":0.7}}`))
	f.Add([]byte(`{"params":{"temperature":2,"top_p":0.9,"stop":["###"]},"n":2,"logprobs":5}`))
	f.Add([]byte("endpoint = \"http://localhost:8000/v1\"\nmodel = \"m\"\nmode = \"chat\"\n"))
	f.Add([]byte(`{"version":1,"api":"chat","n":0,"params":{"temperature":-1}}`))
	f.Add([]byte("idle_timeout = \"-1s\"\nmod = 3\n"))
	f.Add([]byte(`{"params":{"Temperature":1,"temperature":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := LoadSession[json.RawMessage](path); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("session error without the file: %v", err)
			}
		} else if err := s.Params.Validate(); err != nil {
			t.Fatalf("a loaded session's params are invalid: %v", err)
		}
		if p, err := LoadPresetFile(path); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("preset error without the file: %v", err)
			}
		} else if err := p.Params.Validate(); err != nil {
			t.Fatalf("a loaded preset's params are invalid: %v", err)
		}
		toml := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(toml, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(dir, dir).LoadConfig(toml, nil); err != nil && !strings.Contains(err.Error(), "config.toml") {
			t.Fatalf("config error without the file: %v", err)
		}
	})
}
