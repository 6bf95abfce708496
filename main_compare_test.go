package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui"
)

// --compare on the root command gives the playground one sampler over every target,
// its key from the environment; a malformed target is refused by name, and the key
// never shows.
func TestRootCompareTargets(t *testing.T) {
	t.Setenv("TWINKLE_API_KEY_FP8", "sk-secret-fp8")
	var got ui.Config
	var out, errb bytes.Buffer
	e := testEnv("", &out, &errb)
	e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
	root := newRoot(e)
	root.SetArgs([]string{"--endpoint", "local", "--compare", "fp8=http://127.0.0.1:1/v1,m-fp8", "--compare", "again=local"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	m, ok := got.Sampler.(*backend.Multi)
	if !ok || len(m.Targets) != 3 {
		t.Fatalf("sampler %T %+v", got.Sampler, got.Sampler)
	}
	if m.Targets[0].Name != "main" || m.Targets[1].Name != "fp8" || m.Targets[1].Model != "m-fp8" || m.Targets[2].Endpoint != "local" {
		t.Errorf("targets %+v", m.Targets)
	}
	root = newRoot(e)
	root.SetArgs([]string{"--endpoint", "local", "--compare", "bad name=http://u:pw@x/v1"})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--compare") || strings.Contains(err.Error(), "pw") {
		t.Fatalf("a bad target: %v", err)
	}
	if strings.Contains(errb.String()+out.String(), "sk-secret") {
		t.Error("a key was shown")
	}
}
