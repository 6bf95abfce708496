package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/twinkle-sh/twinkle/params"
)

// Config is config.toml: defaults that a flag overrides.
type Config struct {
	Endpoint, Model, Mode, Theme, Heatmap string
	LogprobsMode, Scroll                  string
	IdleTimeout                           time.Duration
	// Path is the file read ("" when there was none); Lines says where each
	// key is set, for messages about it.
	Path  string
	Lines map[string]int
}

// ConfigKeys are config.toml's keys, in the order the help names them.
func ConfigKeys() []string {
	return []string{"endpoint", "model", "mode", "theme", "heatmap", "scroll", "idle_timeout", "logprobs_mode"}
}

// LoadConfig reads the config file at path, or config.toml in the config
// folder when path is empty, where a missing file is fine. A malformed file
// is refused with every problem, each naming the file, the line and the key
// (a *params.FlagError when the problems are in the values). check, when not
// nil, is asked about each value too, for rules that live elsewhere (the
// heatmap's mode names, the server's logprobs modes).
func (s *Store) LoadConfig(path string, check func(key, value string) error) (Config, error) {
	explicit := path != ""
	if !explicit {
		dir, err := s.Dir()
		if err != nil {
			return Config{}, nil
		}
		path = filepath.Join(dir, "config.toml")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return Config{}, nil
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	c := Config{Path: path, Lines: map[string]int{}}
	keys := ConfigKeys()
	var problems []string
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // inside a table, which is itself reported
		}
		key, line := k[0], keyLine(data, k)
		c.Lines[key] = line
		bad := func(format string, a ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: ", path, line, key)+fmt.Sprintf(format, a...))
		}
		if !slices.Contains(keys, key) {
			problems = append(problems, fmt.Sprintf("%s:%d: unknown key %q (known: %s)", path, line, key, strings.Join(keys, ", ")))
			continue
		}
		v, ok := raw[key].(string)
		if !ok {
			bad("expected a string, got %s", tomlKind(md.Type(key)))
			continue
		}
		if check != nil {
			if err := check(key, v); err != nil {
				bad("%v", err)
			}
		}
		switch key {
		case "endpoint":
			c.Endpoint = v
		case "model":
			c.Model = v
		case "mode":
			if _, err := params.ParseAPI(v); err != nil {
				bad("%v", err)
			}
			c.Mode = v
		case "theme":
			c.Theme = v
		case "heatmap":
			c.Heatmap = v
		case "logprobs_mode":
			c.LogprobsMode = v
		case "scroll":
			c.Scroll = v
		case "idle_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				bad("%q is not a positive duration such as \"90s\" or \"2m\"", v)
			}
			c.IdleTimeout = d
		}
	}
	if len(problems) > 0 {
		return Config{}, &params.FlagError{Problems: problems}
	}
	return c, nil
}

// tomlKind names a TOML type as a person would.
func tomlKind(t string) string {
	switch t {
	case "Integer":
		return "an integer"
	case "Float":
		return "a number"
	case "Bool":
		return "a boolean"
	case "Array", "ArrayHash":
		return "a list"
	case "Hash":
		return "a table"
	case "Datetime", "DatetimeLocal", "DateLocal", "TimeLocal":
		return "a date or time"
	}
	return strings.ToLower(t)
}

// keyLine finds the line that sets key (a dotted path) or opens it as a table. Keys are
// compared whole, part by part, so "mod" is never found at a "model" line.
func keyLine(data []byte, key toml.Key) int {
	var table []string
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "["):
			end := strings.LastIndex(t, "]")
			if end < 0 {
				continue
			}
			table = splitKey(strings.Trim(t[:end+1], "[]"))
			if slices.Equal(table, key) {
				return i + 1
			}
		case strings.Contains(t, "=") && !strings.HasPrefix(t, "#"):
			full := append(slices.Clone(table), splitKey(t[:strings.Index(t, "=")])...)
			if slices.Equal(full, key) {
				return i + 1
			}
		}
	}
	return 1
}

// splitKey splits a TOML key as written (a.b, "a b".c) into its parts.
func splitKey(s string) []string {
	var parts []string
	for _, p := range strings.Split(s, ".") {
		parts = append(parts, strings.Trim(strings.TrimSpace(p), `"'`))
	}
	return parts
}
