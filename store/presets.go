package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/twinkle-sh/twinkle/params"
)

// Preset is a named set of parameters in the config folder's presets/.
type Preset struct {
	Params   params.SamplingParams `json:"params"`
	N        int                   `json:"n,omitempty"`
	Logprobs *int                  `json:"logprobs,omitempty"`
	// Advanced is vLLM's sampling fields beyond the seven; {} when all are at their
	// defaults. Absent (nil) in a preset written before presets held them: loading
	// it leaves the screen's advanced fields as they are.
	Advanced *Advanced `json:"advanced,omitempty"`
	// LogprobsMode is the logprobs mode claimed for the server, "" for as
	// configured; absent (nil) as Advanced is.
	LogprobsMode *string `json:"logprobs_mode,omitempty"`
}

// ValidPresetName: a preset name is a plain file name, never a path.
func ValidPresetName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Presets lists the presets by name, sorted, and says the folder; a folder
// that does not exist yet holds none.
func (s *Store) Presets() (dir string, names []string, err error) {
	dir, err = s.PresetsDir()
	if err != nil {
		return "", nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return dir, nil, nil
	}
	if err != nil {
		return dir, nil, err
	}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && ValidPresetName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return dir, names, nil
}

// LoadPreset reads the preset called name.
func (s *Store) LoadPreset(name string) (Preset, error) {
	dir, err := s.PresetsDir()
	if err != nil {
		return Preset{}, err
	}
	return LoadPresetFile(filepath.Join(dir, name+".json"))
}

// LoadPresetFile reads a preset file strictly.
func LoadPresetFile(path string) (Preset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Preset{}, err
	}
	p := Preset{Params: params.Default()}
	if err := decodeStrict(path, data, &p); err != nil {
		return Preset{}, err
	}
	if err := p.Params.Validate(); err != nil {
		return Preset{}, fmt.Errorf("%s:%d: field params: %v", path, lineOfField(data, "params"), err)
	}
	o := params.Options{N: p.N, Logprobs: p.Logprobs}
	if err := o.Validate(p.Params); err != nil {
		return Preset{}, fmt.Errorf("%s: %v", path, err)
	}
	if err := (params.Options{N: 1, Advanced: p.Advanced.Params()}).Validate(p.Params); err != nil {
		return Preset{}, fmt.Errorf("%s:%d: field advanced: %v", path, lineOfField(data, "advanced"), err)
	}
	if m := p.LogprobsMode; m != nil && *m != "" && !slices.Contains(logprobsModes(), *m) {
		return Preset{}, fmt.Errorf("%s:%d: field logprobs_mode: want raw_logprobs, raw_logits, processed_logprobs, processed_logits or \"\" (as configured), got %q", path, lineOfField(data, "logprobs_mode"), *m)
	}
	return p, nil
}

// SavePreset writes p as the preset called name, atomically, and returns its
// path.
func (s *Store) SavePreset(name string, p Preset) (string, error) {
	if !ValidPresetName(name) {
		return "", fmt.Errorf("preset name %q: use letters, digits, '.', '_' or '-'", name)
	}
	dir, err := s.PresetsDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	if err := writeJSON(path, p); err != nil {
		return "", fmt.Errorf("preset: %w", err)
	}
	return path, nil
}
