package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/ui"
)

// Columns scroll by jumps unless --scroll or config.toml's scroll asks for smooth
// scrolling; the flag wins over the file, and a value that is neither is refused.
func TestScrollSetting(t *testing.T) {
	run := func(args ...string) (ui.Config, error) {
		var got ui.Config
		e := testEnv("", &bytes.Buffer{}, &bytes.Buffer{})
		e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
		root := newRoot(e)
		root.SetArgs(append([]string{"--endpoint", "local"}, args...))
		return got, root.ExecuteContext(context.Background())
	}
	smooth := writeConfig(t, "scroll = \"smooth\"\n")
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--scroll", "smooth"}, true},
		{[]string{"--config", smooth}, true},
		{[]string{"--config", smooth, "--scroll", "jump"}, false},
	} {
		got, err := run(tc.args...)
		if err != nil || got.SmoothScroll != tc.want {
			t.Errorf("%q: smooth %v (%v), want %v", tc.args, got.SmoothScroll, err, tc.want)
		}
	}
	if _, err := run("--scroll", "sideways"); exitCode(err) != 2 || !strings.Contains(err.Error(), `--scroll: "sideways" is not one of jump, smooth`) {
		t.Errorf("bad --scroll: %v", err)
	}
	bad := writeConfig(t, "scroll = \"fast\"\n")
	if _, err := run("--config", bad); exitCode(err) != 2 || !strings.Contains(err.Error(), bad+`:1: scroll: "fast" is not one of jump, smooth`) {
		t.Errorf("bad config scroll: %v", err)
	}
}
