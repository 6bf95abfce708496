package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/fang/v2"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui"
)

// testEnv never finds a vLLM server by probing (the probe URL is a closed port), so
// an unconfigured command falls back to the built-in model whatever runs on :8000.
func testEnv(stdin string, out, errb *bytes.Buffer) env {
	return env{stdin: strings.NewReader(stdin), stdout: out, stderr: errb, probeURL: "http://127.0.0.1:1/v1", probeTimeout: 200 * time.Millisecond,
		runTUI: func(context.Context, ui.Config) error { return errors.New("runTUI not set by this test") }}
}

func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(testEnv(stdin, &out, &errb))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errorHandler(&errb, fang.Styles{}, err)
	}
	return out.String(), errb.String(), err
}

func TestSampleCommandDoneWhen(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "-n", "3", "--logprobs", "5", "--seed", "7", "--temperature", "0.8", "Once upon a time")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	var r struct {
		Trajectories []any    `json:"trajectories"`
		Seeds        []int64  `json:"seeds"`
		StopReason   []string `json:"stop_reason"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Trajectories) != 3 || r.Seeds[2] != 9 || len(r.StopReason) != 3 {
		t.Fatalf("output %v: %s", err, out)
	}
	reqs := srv.Requests()
	if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != "Bearer sk-from-env" {
		t.Errorf("OPENAI_API_KEY not used: %q", got)
	}
	body := reqs[len(reqs)-1].Fields()
	if body["temperature"] != 0.8 || body["seed"] != 7.0 || body["n"] != 3.0 || body["top_logprobs"] != 5.0 {
		t.Errorf("body %v", body)
	}
}

func TestSampleCommandErrors(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	f := vllmtest.NoFault()
	f.Status, f.Message = 400, "top_k must be -1 (disable), or at least 1, got -2."
	srv.Push(vllmtest.Script{Fault: &f})
	out, errs, err := runCLI(t, "hello from stdin\n", "sample", "--endpoint", srv.URL, "--api-key", "sk-secret", "--model", "m", "--mode", "completion", "-")
	if err == nil || exitCode(err) != 1 || !strings.Contains(errs, "top_k must be") || !strings.Contains(errs, "HTTP 400") {
		t.Errorf("server error: err %v, code %d, stderr %q", err, exitCode(err), errs)
	}
	if strings.Contains(out+errs, "sk-secret") {
		t.Error("the API key was printed")
	}
	if body := srv.Requests()[0].Fields(); body["prompt"] != "hello from stdin" {
		t.Errorf("stdin prompt = %v", body["prompt"])
	}
	_, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--top-p", "0", "--mode", "poem", "x")
	if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--mode") || !strings.Contains(errs, "top-p") {
		t.Errorf("bad flags: err %v, code %d, stderr %q", err, exitCode(err), errs)
	}
}

func TestExportDoneWhen(t *testing.T) {
	out, errs, err := runCLI(t, "", "export", "--format", "openai", "--temperature", "0", "--top-k", "40", "--stop", "###", "--stop-token-id", "2", "--seed", "7", "--max-tokens", "64")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m["temperature"] != 0.0 || m["top_k"] != 40.0 || m["seed"] != 7.0 || m["max_tokens"] != 64.0 {
		t.Errorf("body %v", m)
	}
	if s := m["stop"].([]any); len(s) != 1 || s[0] != "###" {
		t.Errorf("stop %v", m["stop"])
	}
	if s := m["stop_token_ids"].([]any); len(s) != 1 || s[0] != 2.0 {
		t.Errorf("stop_token_ids %v", m["stop_token_ids"])
	}
	for _, k := range []string{`"temperature": 0`, `"top_k": 40`, `"stop": [`, `"stop_token_ids": [`, `"seed": 7`, `"max_tokens": 64`} {
		if !strings.Contains(out, k) {
			t.Errorf("output lacks %s", k)
		}
	}
}

func TestExportBadValuesExit2WithEmptyStdout(t *testing.T) {
	for _, args := range [][]string{
		{"export", "--format", "openai", "--top-p", "1.5"},
		{"export", "--format", "yaml"},
		{"export"},
		{"export", "--format", "openai", "--temperature", "0", "-n", "3"},
		{"export", "--format", "openai", "--top-k", "lots", "--temperature", "9"},
		{"export", "--format", "openai", "--no-such-flag"},
	} {
		out, errs, err := runCLI(t, "", args...)
		if err == nil || exitCode(err) != 2 || out != "" || errs == "" {
			t.Errorf("%v: err %v code %d stdout %q stderr %q", args, err, exitCode(err), out, errs)
		}
	}
	_, errs, _ := runCLI(t, "", "export", "--format", "openai", "--top-p", "1.5")
	if !strings.Contains(errs, "--top-p") {
		t.Errorf("stderr does not name top-p: %q", errs)
	}
	_, errs, _ = runCLI(t, "", "export", "--format", "openai", "--top-k", "lots", "--temperature", "9")
	if !strings.Contains(errs, "--top-k") || !strings.Contains(errs, "--temperature") {
		t.Errorf("every problem must be named: %q", errs)
	}
}

func TestSampleWithoutEndpointUsesBuiltInModel(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "")
	out, errs, err := runCLI(t, "", "sample", "-n", "2", "--logprobs", "3", "--max-tokens", "8", "--seed", "1", "func main() {")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	var r struct {
		Model    string      `json:"model"`
		Logprobs [][]float64 `json:"logprobs"`
		Tokens   [][]struct {
			Top []struct {
				Logprob float64 `json:"logprob"`
			} `json:"top"`
		} `json:"tokens"`
		Seeds []int64 `json:"seeds"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Model != "twinkle-go-small" || len(r.Logprobs) != 2 || len(r.Logprobs[0]) == 0 || r.Seeds[1] != 2 {
		t.Fatalf("response %s", out)
	}
	for _, lp := range r.Logprobs[0] {
		if lp > 0 || lp < -50 {
			t.Fatalf("logprob %v is not a real log probability", lp)
		}
	}
	if top := r.Tokens[0][0].Top; len(top) < 3 || top[0].Logprob < top[1].Logprob {
		t.Fatalf("top alternatives missing or unsorted: %+v", top)
	}
	// Same seed, same text: the built-in model reproduces.
	again, _, err := runCLI(t, "", "sample", "-n", "2", "--logprobs", "3", "--max-tokens", "8", "--seed", "1", "func main() {")
	if err != nil || trajectories(t, again) != trajectories(t, out) {
		t.Fatalf("seeded samples differ across runs: %v", err)
	}
}

func trajectories(t *testing.T, out string) string {
	var r struct {
		Trajectories json.RawMessage `json:"trajectories"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return string(r.Trajectories)
}

func TestModelsCommand(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	out, errs, err := runCLI(t, "", "models", "--endpoint", srv.URL)
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("%v %q %q", err, out, errs)
	}
	out, _, err = runCLI(t, "", "models", "--endpoint", "local")
	if err != nil || strings.TrimSpace(out) != "twinkle-go-small" {
		t.Fatalf("local models: %v %q", err, out)
	}
}

// The playground gets the flags' params, the chosen backend, and the config file's
// defaults; a malformed config file is refused naming file, line and key.
func TestRootPassesFlagsAndConfigToThePlayground(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte("theme = \"light\"\nheatmap = \"surprisal\"\nendpoint = \"local\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got ui.Config
	var out, errb bytes.Buffer
	e := testEnv("", &out, &errb)
	e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
	root := newRoot(e)
	root.SetArgs([]string{"--config", cfgPath, "--temperature", "0.3", "--top-k", "7", "--heatmap", "rank"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	if got.Params.Temperature != 0.3 || got.Params.TopK != 7 || got.Theme != "light" || got.Heatmap != "rank" || got.Endpoint != "local" || got.Sampler == nil || got.API != params.Completion || got.Options.N != 4 {
		t.Fatalf("config %+v", got)
	}
	if err := os.WriteFile(cfgPath, []byte("theme = \"light\"\ncolour = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root = newRoot(e)
	root.SetArgs([]string{"--config", cfgPath})
	err := root.ExecuteContext(context.Background())
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), cfgPath+":2: unknown key \"colour\"") {
		t.Fatalf("malformed config: %v", err)
	}
	root = newRoot(e)
	root.SetArgs([]string{"--endpoint", "local", "--heatmap", "rainbow", "--theme", "nope"})
	err = root.ExecuteContext(context.Background())
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--heatmap") || !strings.Contains(err.Error(), "--theme") {
		t.Fatalf("bad flags: %v", err)
	}
}

func TestErrorHandlerSanitizes(t *testing.T) {
	var b bytes.Buffer
	errorHandler(&b, fang.Styles{}, errors.New("server said \x1b]52;c;ZXZpbA==\x07 and \u202e"))
	if strings.ContainsAny(b.String(), "\x1b\u202e\x07") {
		t.Fatalf("raw control reached stderr: %q", b.String())
	}
}

// A user theme file shadows a built-in of the same name; a malformed one is reported with
// its file and line and the playground still opens, with the default theme.
func TestThemeFlag(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	dir := filepath.Join(xdg, "twinkle", "themes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.toml"), []byte("base = \"dark\"\nprimary = \"#ff00ff\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.toml"), []byte("base = \"dark\"\nprimary = \"not a colour\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (ui.Config, string, error) {
		var got ui.Config
		var out, errb bytes.Buffer
		e := testEnv("", &out, &errb)
		e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
		root := newRoot(e)
		root.SetArgs(append([]string{"--endpoint", "local"}, args...))
		err := root.ExecuteContext(context.Background())
		return got, errb.String(), err
	}
	cfg, _, err := run("--theme", "mine")
	if err != nil || cfg.Palette == nil || cfg.Theme != "" {
		t.Fatalf("user theme: %v %+v", err, cfg.Theme)
	}
	cfg, _, err = run("--theme", "light")
	if err != nil || cfg.Palette != nil || cfg.Theme != "light" {
		t.Fatalf("built-in theme: %v %q", err, cfg.Theme)
	}
	cfg, stderr, err := run("--theme", "broken")
	if err != nil || cfg.Palette != nil || cfg.Theme != "" || cfg.Sampler == nil {
		t.Fatalf("broken theme must fall back, not stop: %v %+v", err, cfg)
	}
	if !strings.Contains(stderr, "broken.toml:2") || !strings.Contains(stderr, "using the default theme") {
		t.Fatalf("stderr %q", stderr)
	}
	if _, _, err = run("--theme", "nosuch"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "mine") {
		t.Fatalf("unknown theme: %v", err)
	}
}
