package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/params"
)

// The config folder follows the XDG rule, and themes live in its themes/.
func TestConfigDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x/cfg")
	if d := Open("").ThemesDir(); d != "/x/cfg/twinkle/themes" {
		t.Errorf("ThemesDir = %q", d)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d := Open("").ThemesDir(); d != "/home/u/.config/twinkle/themes" {
		t.Errorf("ThemesDir = %q", d)
	}
	// A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
	t.Setenv("XDG_CONFIG_HOME", "rel/cfg")
	if d := Open("").ThemesDir(); d != "/home/u/.config/twinkle/themes" {
		t.Errorf("relative XDG_CONFIG_HOME: ThemesDir = %q", d)
	}
	if d, _ := Open("").PresetsDir(); d != "/home/u/.config/twinkle/presets" {
		t.Errorf("PresetsDir = %q", d)
	}
}

func TestSessionFileErrorsNameFileLineField(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]struct{ body, want string }{
		"type.json":    {"{\n\"version\": 1,\n\"n\": \"four\"\n}", ":3: field n"},
		"unknown.json": {"{\n\"version\": 1,\n\"tempreature\": 1\n}", `:3: unknown field "tempreature"`},
		"params.json":  {"{\n\"version\": 1,\n\"api\": \"chat\",\n\"n\": 1,\n\"params\": {\"top_p\": 0}\n}", ":5: field params"},
		"syntax.json":  {"{\n\"version\": 1,\n\"n\": ]\n}", ":3: invalid JSON"},
	}
	for name, tc := range cases {
		p := write(name, tc.body)
		_, err := LoadSession[struct{}](p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, p+tc.want)
		}
	}
}

func TestAtomicWriteKeepsOldFileOnFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	if err := WriteFileAtomic(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	// A write that cannot complete (the target is a directory) leaves no
	// temp file behind and the directory untouched.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "keep"), []byte("x"), 0o644)
	if err := WriteFileAtomic(sub, []byte("clobber")); err == nil {
		t.Fatal("renaming over a directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temp file left behind: %s", e.Name())
		}
	}
}

// A session goes to disk and comes back the same, whatever its response
// type; the listing reads only what it shows and leaves other JSON out.
func TestSessionRoundTripAndListing(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	st := New(t.TempDir(), work)
	type resp struct{ Text []string }
	s := &Session[resp]{Version: SessionVersion, Saved: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Model: "m",
		API: params.Chat, Prompt: "hi", Params: params.Default(), N: 2, Response: resp{[]string{"a", "b"}}}
	path := st.WorkPath("one.json")
	if err := SaveSession(path, s); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(st.WorkPath("package.json"), []byte(`{"name":"x"}`), 0o644)
	got, err := LoadSession[resp](path)
	if err != nil || got.Prompt != "hi" || len(got.Response.Text) != 2 || !got.Saved.Equal(s.Saved) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	shown, list, err := st.Sessions()
	if err != nil || shown != work || len(list) != 1 || list[0].Name != "one.json" || list[0].Samples != 2 || list[0].Prompt != "hi" {
		t.Fatalf("listed %q %+v %v", shown, list, err)
	}
	if shown, _, _ := New("", "").Sessions(); shown != "." {
		t.Errorf("the working directory is shown as %q", shown)
	}
}

// A preset name is a file name, never a path; presets come back as saved.
func TestPresets(t *testing.T) {
	t.Parallel()
	st := New(t.TempDir(), "")
	if _, err := st.SavePreset("../escape", Preset{Params: params.Default()}); err == nil {
		t.Fatal("a preset name with a path was accepted")
	}
	p := Preset{Params: params.Default(), N: 3}
	p.Params.Temperature = 0.3
	if _, err := st.SavePreset("cold", p); err != nil {
		t.Fatal(err)
	}
	_, names, err := st.Presets()
	if err != nil || len(names) != 1 || names[0] != "cold" {
		t.Fatalf("presets %v %v", names, err)
	}
	got, err := st.LoadPreset("cold")
	if err != nil || got.Params.Temperature != 0.3 || got.N != 3 {
		t.Fatalf("loaded %+v %v", got, err)
	}
	// A store whose config folder could not be found says so when used.
	noDir := &Store{}
	if _, _, err := noDir.Presets(); err == nil {
		t.Fatal("presets without a config folder")
	}
}

// Config keys are matched whole: "mod" is never found at a "model" line.
func TestKeyLineMatchesWholeKeys(t *testing.T) {
	t.Parallel()
	if got := keyLine([]byte("model = 1\n\"mod\" = 2\n"), []string{"mod"}); got != 2 {
		t.Errorf("keyLine(mod) = %d", got)
	}
}

// A missing default config.toml is fine; a missing named one is not.
func TestLoadConfigMissingFiles(t *testing.T) {
	t.Parallel()
	st := New(t.TempDir(), "")
	if c, err := st.LoadConfig("", nil); err != nil || c.Path != "" {
		t.Fatalf("missing default: %+v %v", c, err)
	}
	if _, err := st.LoadConfig(filepath.Join(t.TempDir(), "nope.toml"), nil); err == nil {
		t.Fatal("a missing --config file was accepted")
	}
}

// A preset holds the advanced fields and the logprobs mode, and reads them
// strictly: a bad one is named with its file, line and field.
func TestPresetAdvanced(t *testing.T) {
	t.Parallel()
	st := New(t.TempDir(), "")
	off, mode := false, "processed_logits"
	adv := params.Advanced{MinP: 0.05, PresencePenalty: 0.5, FrequencyPenalty: -0.25, MinTokens: 4, IgnoreEOS: true,
		LogitBias: []params.LogitBias{{ID: 13, Bias: -100}}, BadWords: []string{"foo"}, EnableThinking: &off, ReasoningEffort: "low"}
	path, err := st.SavePreset("think", Preset{Params: params.Default(), Advanced: AdvancedOf(adv), LogprobsMode: &mode})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LoadPreset("think")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Advanced.Params(), adv) || got.LogprobsMode == nil || *got.LogprobsMode != mode {
		t.Fatalf("loaded advanced %+v mode %v, want %+v %q", got.Advanced.Params(), got.LogprobsMode, adv, mode)
	}
	for name, c := range map[string]struct{ body, want string }{
		"min_p":   {"{\n\"params\": {},\n\"advanced\": {\"min_p\": 2}\n}", ":3: field advanced: min_p"},
		"unknown": {"{\n\"params\": {},\n\"advanced\": {\n\"min_q\": 0.1}\n}", ":4"},
		"type":    {"{\n\"params\": {},\n\"advanced\": {\"min_tokens\": \"four\"}\n}", "min_tokens"},
		"mode":    {"{\n\"params\": {},\n\n\"logprobs_mode\": \"raw\"\n}", ":4: field logprobs_mode: want raw_logprobs"},
	} {
		if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := st.LoadPreset("think")
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want the file and %q", name, err, c.want)
		}
	}
}
