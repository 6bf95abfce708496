package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/ui"
)

// --messages opens the playground on the conversation in a file, read as
// `twinkle sample --messages` reads it; a malformed file names file and line.
func TestRootMessagesOpensTheConversation(t *testing.T) {
	t.Parallel()
	srv := vllmtest.New()
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	conv := filepath.Join(dir, "conv.json")
	bad := filepath.Join(dir, "bad.json")
	for p, data := range map[string]string{
		cfgPath: "",
		conv:    `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "More"}]}`,
		bad:     "[\n  {\"role\": \"user\", \"content\": 3}\n]",
	} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (ui.Config, error) {
		var got ui.Config
		var out, errb bytes.Buffer
		e := testEnv("", &out, &errb)
		e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
		root := newRoot(e)
		root.SetArgs(append([]string{"--config", cfgPath, "--endpoint", srv.URL}, args...))
		return got, root.ExecuteContext(context.Background())
	}
	got, err := run("--messages", conv)
	if err != nil {
		t.Fatal(err)
	}
	want := []backend.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello"}, {Role: "user", Content: "More"}}
	if !reflect.DeepEqual(got.Messages, want) {
		t.Fatalf("messages %+v", got.Messages)
	}
	if _, err := run("--messages", bad); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), bad+":2:") {
		t.Fatalf("malformed file: %v", err)
	}
	if _, err := run("--messages", "-"); err == nil || !strings.Contains(err.Error(), "give a file") {
		t.Fatalf("stdin: %v", err)
	}
	if _, err := run("--messages", conv, "--system", "x"); err == nil || !strings.Contains(err.Error(), "--messages") {
		t.Fatalf("with --system: %v", err)
	}
}
