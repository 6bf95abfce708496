package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twinkle-sh/twinkle/params"
)

// SessionVersion is the version of the session file format.
const SessionVersion = 1

// Session is a saved playground state: what was asked, with which
// parameters, and the full response R (tokens and logprobs included), so it
// reopens exactly as it was without a server. API keys are never part of it.
type Session[R any] struct {
	Version    int                   `json:"version"`
	Saved      time.Time             `json:"saved"`
	Endpoint   string                `json:"endpoint,omitempty"`
	Model      string                `json:"model"`
	API        params.API            `json:"api"`
	System     string                `json:"system,omitempty"`
	Prompt     string                `json:"prompt"`
	Params     params.SamplingParams `json:"params"`
	N          int                   `json:"n"`
	Logprobs   *int                  `json:"logprobs"`
	SeedLocked bool                  `json:"seed_locked"`
	// Conversation: the turns after the system message, in order. Absent in
	// sessions saved before conversations, whose chat prompt is System and Prompt.
	Conversation []Turn `json:"conversation,omitempty"`
	// Advanced holds vLLM's sampling fields beyond the seven; absent when all are at
	// their defaults.
	Advanced *Advanced `json:"advanced,omitempty"`
	// LogprobsMode is the logprobs mode claimed for the server (vLLM's
	// --logprobs-mode: raw_logprobs, raw_logits, processed_logprobs or
	// processed_logits); absent for the sampler's own setting.
	LogprobsMode string `json:"logprobs_mode,omitempty"`
	// Response is the run's full response; absent when nothing ran.
	Response R `json:"response"`
	// Timings per sample, so the footers read as they did.
	Timings []SampleTiming `json:"timings,omitempty"`
	// Labels head the samples, one per sample in order: the sweep's values or the
	// compared target each came from, "" for none; absent for a plain run.
	Labels []string `json:"labels,omitempty"`
	// Tree is the branch tree of the samples (forks and steps), as the ui's
	// explore.Tree writes it; the store keeps it as it is.
	Tree json.RawMessage `json:"tree,omitempty"`
}

// Turn is one message of a saved conversation. Kept is what the program kept with
// the turn (a sample's tokens, logprobs and parameters) in the program's own format;
// the program checks it when it reads it back.
type Turn struct {
	Role    string          `json:"role"`
	Content string          `json:"content"`
	Kept    json.RawMessage `json:"kept,omitempty"`
}

// SampleTiming is one column's footer numbers.
type SampleTiming struct {
	TTFTMillis   int64 `json:"ttft_ms"`
	StreamMillis int64 `json:"stream_ms"`
}

// SaveSession writes s to path atomically.
func SaveSession[R any](path string, s *Session[R]) error { return writeJSON(path, s) }

// LoadSession reads a session file strictly: an unknown field, a wrong type or
// invalid parameters give an error naming the file, the line and the field.
func LoadSession[R any](path string) (*Session[R], error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Session[R]
	if err := decodeStrict(path, data, &s); err != nil {
		return nil, err
	}
	if s.Version != SessionVersion {
		return nil, fmt.Errorf("%s:%d: field version: want %d, got %d", path, lineOfField(data, "version"), SessionVersion, s.Version)
	}
	if err := s.Params.Validate(); err != nil {
		return nil, fmt.Errorf("%s:%d: field params: %v", path, lineOfField(data, "params"), err)
	}
	if err := (params.Options{N: 1, Advanced: s.Advanced.Params()}).Validate(s.Params); err != nil {
		return nil, fmt.Errorf("%s:%d: field advanced: %v", path, lineOfField(data, "advanced"), err)
	}
	if m := s.LogprobsMode; m != "" && !slices.Contains(logprobsModes(), m) {
		return nil, fmt.Errorf("%s:%d: field logprobs_mode: want raw_logprobs, raw_logits, processed_logprobs or processed_logits, got %q", path, lineOfField(data, "logprobs_mode"), m)
	}
	if s.API != params.Chat && s.API != params.Completion {
		return nil, fmt.Errorf("%s:%d: field api: want %q or %q, got %q", path, lineOfField(data, "api"), params.Chat, params.Completion, s.API)
	}
	if len(s.Labels) > 0 && len(s.Timings) > 0 && len(s.Labels) != len(s.Timings) {
		return nil, fmt.Errorf("%s:%d: field labels: want one per sample (%d), got %d", path, lineOfField(data, "labels"), len(s.Timings), len(s.Labels))
	}
	if s.N < 1 || s.N > params.MaxSamples {
		return nil, fmt.Errorf("%s:%d: field n: want 1..%d, got %d", path, lineOfField(data, "n"), params.MaxSamples, s.N)
	}
	return &s, nil
}

// logprobsModes are vLLM's four --logprobs-mode values (backend.LogprobsModes, which
// store may not import; a test keeps the two the same).
func logprobsModes() []string {
	return []string{"raw_logprobs", "raw_logits", "processed_logprobs", "processed_logits"}
}

// SessionInfo is what a list of session files shows of one.
type SessionInfo struct {
	Path    string // what opens it: in the listed folder
	Name    string // the file's name
	Saved   time.Time
	Model   string
	Samples int
	Prompt  string
}

// maxListedSessions bounds how many session files a listing reads: a folder
// of thousands would cost seconds to list for rows no one scrolls to.
const maxListedSessions = 100

// Sessions lists the session files in the work folder, newest first, and
// says the folder as shown ("." for the working directory). Files that are
// not twinkle sessions are left out.
func (s *Store) Sessions() (shown string, list []SessionInfo, err error) {
	dir := s.work
	shown = dir
	if shown == "" {
		shown = "."
	}
	ents, err := os.ReadDir(shown)
	if err != nil {
		return shown, nil, err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), info.ModTime()})
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	for _, f := range files {
		if len(list) == maxListedSessions {
			break
		}
		path := filepath.Join(dir, f.name)
		if e, ok := peekSession(path); ok {
			e.Name = f.name
			list = append(list, e)
		}
	}
	return shown, list, nil
}

// peekSession reads what a listing shows of a session file; false when the
// file is not one.
func peekSession(path string) (SessionInfo, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SessionInfo{}, false
	}
	var head struct {
		Version *int      `json:"version"`
		Saved   time.Time `json:"saved"`
		Model   string    `json:"model"`
		Prompt  *string   `json:"prompt"`
		N       int       `json:"n"`
	}
	if json.Unmarshal(data, &head) != nil || head.Version == nil || *head.Version != SessionVersion || head.Prompt == nil {
		return SessionInfo{}, false
	}
	return SessionInfo{Path: path, Saved: head.Saved, Model: head.Model, Samples: head.N, Prompt: *head.Prompt}, true
}
