// Package store owns twinkle's files: the config folder (where it is, by the
// XDG rule, decided here once), config.toml, presets and session files
// (written atomically). main resolves the folder once and hands the store to
// the program; a program that may not touch the disk it runs on (an SSH
// session on someone else's server) gets none, and hides what needs one.
//
// store imports neither ui nor backend: a session's response is a type
// parameter, so the session file format lives here without the types it
// carries.
package store

import (
	"fmt"
	"os"
	"path/filepath"
)

// Store is a config folder and the folder where sessions and exports are
// written by default.
type Store struct {
	dir    string // the config folder; "" when it could not be found
	dirErr error  // why, then
	work   string // sessions and exports; "" is the working directory
}

// ConfigDir returns twinkle's config folder: $XDG_CONFIG_HOME/twinkle, else
// ~/.config/twinkle (also when XDG_CONFIG_HOME is relative, as the XDG spec
// says). The same on every OS: a terminal program's users look there, not in
// Application Support.
func ConfigDir() (string, error) {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "twinkle"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no config folder: %w", err)
	}
	return filepath.Join(home, ".config", "twinkle"), nil
}

// Open returns the store of the config folder ConfigDir finds; work is
// where sessions and exports go by default ("" is the working directory). A
// config folder that cannot be found is not fatal: what needs it says why
// when it is used.
func Open(work string) *Store {
	dir, err := ConfigDir()
	return &Store{dir: dir, dirErr: err, work: work}
}

// New returns a store over the config folder dir.
func New(dir, work string) *Store { return &Store{dir: dir, work: work} }

// Dir is the config folder, or why there is none.
func (s *Store) Dir() (string, error) {
	if s.dir == "" {
		if s.dirErr != nil {
			return "", s.dirErr
		}
		return "", fmt.Errorf("no config folder")
	}
	return s.dir, nil
}

// ThemesDir is where user themes (TOML) live; "" when there is no config
// folder, which leaves the built-in themes.
func (s *Store) ThemesDir() string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, "themes")
}

// PresetsDir is where presets live.
func (s *Store) PresetsDir() (string, error) {
	d, err := s.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "presets"), nil
}

// WorkDir is where sessions and exports are written by default and where the
// open dialog lists sessions; "" is the working directory.
func (s *Store) WorkDir() string { return s.work }

// WorkPath is a file called name in the work folder.
func (s *Store) WorkPath(name string) string { return filepath.Join(s.work, name) }
