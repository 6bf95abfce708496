package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// SessionVersion is the version of the session file format.
const SessionVersion = 1

// Session is a saved playground state: what was asked, with which
// parameters, and the full response (tokens and logprobs included), so it
// reopens exactly as it was without a server. API keys are never part of it.
type Session struct {
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
	// Response is the run's full SampleResponse; absent when nothing ran.
	Response backend.SampleResponse `json:"response"`
	// Timings per sample, so the footers read as they did.
	Timings []SampleTiming `json:"timings,omitempty"`
}

// SampleTiming is one column's footer numbers.
type SampleTiming struct {
	TTFTMillis   int64 `json:"ttft_ms"`
	StreamMillis int64 `json:"stream_ms"`
}

// snapshot captures the current screen as a Session.
func (m *Model) snapshot() Session {
	s := Session{
		Version: SessionVersion, Saved: m.c.Now().UTC(), Endpoint: m.c.Endpoint, Model: m.modelName,
		API: m.api, Prompt: m.prompt.Value(), Params: m.panel.P.Clone(), N: m.panel.O.Samples(),
		Logprobs: m.panel.O.Logprobs, SeedLocked: m.panel.SeedLocked,
	}
	if m.api == params.Chat {
		s.System = m.system.Value()
	}
	if r, ok := m.Response(); ok {
		s.Response = r
	}
	for _, c := range m.cols {
		var t SampleTiming
		if !c.firstTok.IsZero() {
			t.TTFTMillis = c.ttft.Milliseconds()
			t.StreamMillis = c.lastTok.Sub(c.firstTok).Milliseconds()
		}
		s.Timings = append(s.Timings, t)
	}
	return s
}

// showSession puts a session on screen: prompt, parameters and columns.
func (m *Model) showSession(s *Session, path string) {
	if m.streaming() {
		m.run.canceled = true
		m.run.cancel()
	}
	m.run = nil
	m.loaded, m.loadedPath = s, path
	m.api = s.API
	if m.api == "" {
		m.api = params.Chat
	}
	if s.Model != "" {
		m.modelName = s.Model
	}
	m.system.SetValue(s.System)
	m.prompt.SetValue(s.Prompt)
	o := params.Options{N: s.N, Logprobs: s.Logprobs}
	m.panel = NewParamPanel(s.Params, o)
	m.panel.SeedLocked = s.SeedLocked
	m.seedRun = nil
	if !s.SeedLocked && s.Response.Params.Seed != nil {
		// The seed the saved run drew, shown (and exported) as it was.
		seed := *s.Response.Params.Seed
		m.seedRun = &seed
	}
	r := s.Response
	n := len(r.StopReason)
	if len(r.Trajectories) > n {
		n = len(r.Trajectories)
	}
	base := time.Unix(0, 0)
	m.cols = make([]*Column, n)
	for i := range m.cols {
		var seed *int64
		if i < len(r.Seeds) {
			seed = r.Seeds[i]
		}
		c := NewColumn(i, seed, base)
		first, last := base, base
		if i < len(s.Timings) {
			first = base.Add(time.Duration(s.Timings[i].TTFTMillis) * time.Millisecond)
			last = first.Add(time.Duration(s.Timings[i].StreamMillis) * time.Millisecond)
		}
		switch {
		case r.Tokens != nil && i < len(r.Tokens):
			toks := r.Tokens[i]
			if len(toks) > 0 {
				c.AppendTokens(toks[:1], first)
				c.AppendTokens(toks[1:], last)
			} else {
				c.tokens = []backend.Token{}
			}
			if i < len(r.Trajectories) {
				// The saved text, like vLLM's, leaves out a matched stop
				// string that the tokens hold; the tokens are placed in it.
				if msgs := r.Trajectories[i].Messages; len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
					c.AppendStream(nil, msgs[len(msgs)-1].Content, last)
				}
			}
		case i < len(r.Trajectories):
			msgs := r.Trajectories[i].Messages
			if len(msgs) > 0 {
				c.AppendText(msgs[len(msgs)-1].Content, first)
			}
		}
		var reason backend.StopReason
		var by backend.StoppedBy
		var err *backend.Error
		if i < len(r.StopReason) {
			reason = r.StopReason[i]
		}
		if i < len(r.StoppedBy) {
			by = r.StoppedBy[i]
		}
		if i < len(r.Errors) {
			err = r.Errors[i]
		}
		if reason == "" {
			reason = backend.StopInterrupted
		}
		c.Finish(reason, by, err)
		m.cols[i] = c
	}
	m.promptTokens, m.promptAt = nil, s.Prompt
	if len(r.PromptTokens) > 0 && len(r.PromptTokens[0]) > 0 {
		m.promptTokens = r.PromptTokens[0]
	}
	m.colFocus, m.zoom = 0, -1
	m.relayout()
	m.setStatus(fmt.Sprintf("session %s: %d sample%s", path, n, plural(n)), false)
}

func (m *Model) defaultSessionPath() string {
	return filepath.Join(m.cfg.Dir, "twinkle-session-"+m.c.Now().UTC().Format("20060102-150405")+".json")
}

// sessionEntry is one session file offered by the open dialog.
type sessionEntry struct {
	path    string // what the dialog opens: in the sessions folder
	name    string // the file's name, as listed
	saved   time.Time
	model   string
	samples int
	prompt  string
}

// maxListedSessions bounds how many session files the open dialog reads: a
// folder of thousands would cost seconds to list for rows no one scrolls to.
const maxListedSessions = 100

// listSessionsCmd lists the session files in dir (the working directory
// when empty), newest first. Files that are not twinkle sessions are left
// out; reading happens here, in the command, never in Update.
func listSessionsCmd(dir string) tea.Cmd {
	return func() tea.Msg {
		shown := dir
		if shown == "" {
			shown = "."
		}
		ents, err := os.ReadDir(shown)
		if err != nil {
			return sessionsListedMsg{dir: shown, err: err}
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
		var out []sessionEntry
		for _, f := range files {
			if len(out) == maxListedSessions {
				break
			}
			path := filepath.Join(dir, f.name)
			if e, ok := peekSession(path); ok {
				e.name = f.name
				out = append(out, e)
			}
		}
		return sessionsListedMsg{dir: shown, entries: out}
	}
}

// peekSession reads what the open dialog shows of a session file; false
// when the file is not one.
func peekSession(path string) (sessionEntry, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return sessionEntry{}, false
	}
	var head struct {
		Version *int      `json:"version"`
		Saved   time.Time `json:"saved"`
		Model   string    `json:"model"`
		Prompt  *string   `json:"prompt"`
		N       int       `json:"n"`
	}
	if json.Unmarshal(data, &head) != nil || head.Version == nil || *head.Version != SessionVersion || head.Prompt == nil {
		return sessionEntry{}, false
	}
	return sessionEntry{path: path, saved: head.Saved, model: head.Model, samples: head.N, prompt: *head.Prompt}, true
}

// saveSessionCmd writes the snapshot atomically; nothing on screen changes.
func saveSessionCmd(s Session, path string) tea.Cmd {
	return func() tea.Msg {
		data, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return statusMsg{"save: " + err.Error(), true}
		}
		if err := writeFileAtomic(path, append(data, '\n')); err != nil {
			return statusMsg{"save: " + err.Error(), true}
		}
		return statusMsg{"session saved to " + path, false}
	}
}

func loadSessionCmd(path string) tea.Cmd {
	return func() tea.Msg {
		s, err := LoadSession(path)
		return sessionLoadedMsg{s: s, path: path, err: err}
	}
}

// LoadSession reads a session file strictly: an unknown field, a wrong type or
// invalid parameters give an error naming the file, the line and the field.
func LoadSession(path string) (*Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Session
	if err := decodeStrict(path, data, &s); err != nil {
		return nil, err
	}
	if s.Version != SessionVersion {
		return nil, fmt.Errorf("%s:%d: field version: want %d, got %d", path, lineOfField(data, "version"), SessionVersion, s.Version)
	}
	if err := s.Params.Validate(); err != nil {
		return nil, fmt.Errorf("%s:%d: field params: %v", path, lineOfField(data, "params"), err)
	}
	if s.API != params.Chat && s.API != params.Completion {
		return nil, fmt.Errorf("%s:%d: field api: want %q or %q, got %q", path, lineOfField(data, "api"), params.Chat, params.Completion, s.API)
	}
	if s.N < 1 || s.N > params.MaxSamples {
		return nil, fmt.Errorf("%s:%d: field n: want 1..%d, got %d", path, lineOfField(data, "n"), params.MaxSamples, s.N)
	}
	return &s, nil
}

// decodeStrict decodes one JSON value, refusing unknown fields and trailing
// data, and turns errors into file:line: field messages.
func decodeStrict(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fmt.Errorf("%s:%d: invalid JSON: %v", name, lineAt(data, syn.Offset), syn)
		case errors.As(err, &typ):
			return fmt.Errorf("%s:%d: field %s: expected %s, got JSON %s", name, lineAt(data, typ.Offset), typ.Field, typ.Type, typ.Value)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%s: empty file", name)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s:%d: truncated JSON", name, lineAt(data, int64(len(data))))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fmt.Errorf("%s:%d: unknown field %q", name, lineOfField(data, f), f)
		}
		// Errors from a field's own UnmarshalJSON (params, stop, logprobs)
		// carry no offset; point at the first line that could hold them.
		return fmt.Errorf("%s:%d: %v", name, lineAt(data, dec.InputOffset()), err)
	}
	if dec.More() {
		return fmt.Errorf("%s:%d: unexpected data after the JSON object", name, lineAt(data, dec.InputOffset()))
	}
	return nil
}

func lineAt(data []byte, off int64) int {
	off = max(0, min(off, int64(len(data))))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func lineOfField(data []byte, field string) int {
	i := bytes.Index(data, []byte(`"`+field+`"`))
	if i < 0 {
		return 1
	}
	return lineAt(data, int64(i))
}

// writeFileAtomic writes data to a temp file in path's folder, syncs it and
// renames it over path, so a crash mid-write leaves the old file intact.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ---------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------

// Preset is a named set of parameters in the config folder.
type Preset struct {
	Params   params.SamplingParams `json:"params"`
	N        int                   `json:"n,omitempty"`
	Logprobs *int                  `json:"logprobs,omitempty"`
}

// validPresetName: a preset name is a plain file name, never a path.
func validPresetName(s string) bool {
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

// ConfigDir returns twinkle's config folder: $XDG_CONFIG_HOME/twinkle, else
// ~/.config/twinkle.
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

func (m *Model) presetDir() (string, error) {
	if m.cfg.ConfigDir != "" {
		return filepath.Join(m.cfg.ConfigDir, "presets"), nil
	}
	d, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "presets"), nil
}

func (m *Model) listPresets() tea.Cmd {
	dir, err := m.presetDir()
	return func() tea.Msg {
		if err != nil {
			return presetsListedMsg{err: err}
		}
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return presetsListedMsg{dir: dir}
		}
		if err != nil {
			return presetsListedMsg{dir: dir, err: err}
		}
		var names []string
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && validPresetName(n) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return presetsListedMsg{dir: dir, names: names}
	}
}

func (m *Model) loadPresetCmd(name string) tea.Cmd {
	dir, err := m.presetDir()
	return func() tea.Msg {
		if err != nil {
			return presetLoadedMsg{name: name, err: err}
		}
		p, err := LoadPreset(filepath.Join(dir, name+".json"))
		return presetLoadedMsg{name: name, p: p, err: err}
	}
}

// LoadPreset reads a preset file strictly.
func LoadPreset(path string) (Preset, error) {
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
	return p, nil
}

func (m *Model) savePresetCmd(name string) tea.Cmd {
	if !validPresetName(name) {
		return func() tea.Msg {
			return statusMsg{fmt.Sprintf("preset name %q: use letters, digits, '.', '_' or '-'", name), true}
		}
	}
	dir, err := m.presetDir()
	p := Preset{Params: m.panel.P.Clone(), N: m.panel.O.Samples(), Logprobs: m.panel.O.Logprobs}
	if !m.panel.SeedLocked {
		p.Params.Seed = nil
	}
	return func() tea.Msg {
		if err != nil {
			return statusMsg{err.Error(), true}
		}
		data, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return statusMsg{err.Error(), true}
		}
		path := filepath.Join(dir, name+".json")
		if err := writeFileAtomic(path, append(data, '\n')); err != nil {
			return statusMsg{"preset: " + err.Error(), true}
		}
		return statusMsg{"preset saved to " + path, false}
	}
}

func (m *Model) applyPreset(p Preset) {
	o := m.panel.O
	if p.N > 0 {
		o.N = p.N
	}
	if p.Logprobs != nil {
		o.Logprobs = p.Logprobs
	}
	cursor := m.panel.cursor
	m.panel = NewParamPanel(p.Params, o)
	m.panel.cursor = cursor
}
