package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"charm.land/fang/v2"
	"github.com/twinkle-sh/twinkle/backend"
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
	t.Parallel()
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
	t.Parallel()
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

// The advanced flags reach the export, logit_bias keyed by the id as a string.
func TestExportAdvancedDoneWhen(t *testing.T) {
	out, errs, err := runCLI(t, "", "export", "--format", "openai", "--min-p", "0.05", "--presence-penalty", "0.5", "--logit-bias", "13=-100")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lb, _ := m["logit_bias"].(map[string]any)
	if m["min_p"] != 0.05 || m["presence_penalty"] != 0.5 || len(lb) != 1 || lb["13"] != -100.0 {
		t.Errorf("body %v", m)
	}
	if _, ok := m["frequency_penalty"]; ok {
		t.Errorf("frequency_penalty sent at its default: %v", m)
	}
}

// min_p changes what the built-in model samples as vLLM's would: min_p 1 keeps
// only the most likely token, so a seeded sample at temperature 1 is the greedy one.
func TestSampleMinPOnTheBuiltInModel(t *testing.T) {
	args := []string{"sample", "--endpoint", "local", "--max-tokens", "16", "func main() {"}
	run := func(extra ...string) string {
		out, errs, err := runCLI(t, "", append(extra, args...)...)
		if err != nil {
			t.Fatalf("%v: %v %s", extra, err, errs)
		}
		return trajectories(t, out)
	}
	greedy := run("--temperature", "0")
	if got := run("--min-p", "1", "--seed", "3"); got != greedy {
		t.Errorf("min_p 1 at temperature 1 differs from greedy:\n%s\n%s", got, greedy)
	}
	if got := run("--seed", "3"); got == greedy {
		t.Errorf("seed 3 at temperature 1 without min_p is the greedy sample too; the test proves nothing")
	}
}

func TestExportBadValuesExit2WithEmptyStdout(t *testing.T) {
	t.Parallel()
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
	// Nothing answered at the probed address: said once, naming it and the way out.
	if errs != "twinkle: no server at 127.0.0.1:1, using the built-in model; --endpoint to choose\n" {
		t.Errorf("stderr %q", errs)
	}
	if _, errs, _ := runCLI(t, "", "sample", "--endpoint", "local", "--max-tokens", "2", "x"); errs != "" {
		t.Errorf("--endpoint local is a choice, not a fallback: %q", errs)
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
	out, errs, err = runCLI(t, "", "models", "--endpoint", "local")
	if err != nil || strings.TrimSpace(out) != "twinkle-go-small" || errs != "" {
		t.Fatalf("local models: %v %q %q", err, out, errs)
	}
	t.Setenv("OPENAI_BASE_URL", "")
	out, errs, err = runCLI(t, "", "models")
	if err != nil || strings.TrimSpace(out) != "twinkle-go-small" || !strings.Contains(errs, "no server at 127.0.0.1:1, using the built-in model") {
		t.Fatalf("fallen back: %v %q %q", err, out, errs)
	}
}

// The playground gets the flags' params, the chosen backend, and the config file's
// defaults; a malformed config file is refused naming file, line and key.
func TestRootPassesFlagsAndConfigToThePlayground(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestMain lets a test run the real main in a child process (os.Args after the binary's
// name are twinkle's), for what only a process shows: exit statuses and signals.
func TestMain(m *testing.M) {
	if os.Getenv("TWINKLE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// mainProcess is twinkle run as its own process.
func mainProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TWINKLE_TEST_RUN_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

func TestWrongArgumentCountsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sample"},
		{"sample", "one", "two"},
		{"models", "extra"},
		{"export", "--format", "openai", "extra"},
		{"serve-model", "extra"},
		{"stray"},
	} {
		_, errs, err := runCLI(t, "", args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "Try --help") {
			t.Errorf("%v: err %v, code %d, stderr %q", args, err, exitCode(err), errs)
		}
	}
}

// The process's own status: 2 for usage, 130 after SIGINT, with what arrived still
// printed and the server seeing the disconnect.
func TestExitStatusOfTheProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	cmd, _, errb := mainProcess(t, "sample")
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("no prompt: %v, stderr %q", err, errb)
	}

	srv := vllmtest.New()
	defer srv.Close()
	f := vllmtest.NoFault()
	f.StallAt = 2 // two chunks, then silence until the client goes
	srv.SetDefault(vllmtest.Script{Fault: &f})
	cmd, out, errb := mainProcess(t, "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "completion", "Once")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the first chunks are on their way
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("SIGINT: exit %d, stderr %q", code, errb)
	}
	if !strings.Contains(errb.String(), "twinkle: interrupted") || !strings.Contains(out.String(), `"cancelled"`) {
		t.Fatalf("stdout %q\nstderr %q", out, errb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitDisconnect(ctx, 1); err != nil {
		t.Fatalf("the server never saw the disconnect: %v", err)
	}
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	if exitStatus(ctx, nil) != 0 || exitStatus(ctx, errors.New("x")) != 1 || exitStatus(ctx, &usageError{errors.New("x")}) != 2 {
		t.Fatal("plain statuses")
	}
	cancel()
	if exitStatus(ctx, nil) != 130 || exitStatus(ctx, errors.New("3 samples failed: cancelled")) != 130 {
		t.Fatal("an interrupted command must exit 130")
	}
}

// Values outside what the help states are refused by every command that takes them.
func TestCLIRefusesOutOfRangeValues(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "--endpoint", "local", "-n", "0", "x"}, "-n/--samples: must be in [1, 16], got 0"},
		{[]string{"sample", "--endpoint", "local", "--seed", "-1", "x"}, "--seed: must be in [0, 2147483647], got -1"},
		{[]string{"sample", "--endpoint", "local", "--seed", "99999999999", "x"}, "--seed: must be in [0, 2147483647], got 99999999999"},
		{[]string{"sample", "--endpoint", "local", "--idle-timeout", "-1s", "x"}, "--idle-timeout: must be a positive duration"},
		{[]string{"sample", "--endpoint", "local", "--connect-timeout", "0s", "x"}, "--connect-timeout: must be a positive duration"},
		{[]string{"models", "--endpoint", "local", "--first-token-timeout", "-5s"}, "--first-token-timeout: must be a positive duration"},
		{[]string{"--endpoint", "local", "--idle-timeout", "-1s"}, "--idle-timeout: must be a positive duration"},
		{[]string{"export", "--format", "openai", "-n", "0"}, "-n/--samples: must be in [1, 16], got 0"},
	} {
		out, errs, err := runCLI(t, "", c.args...)
		if err == nil || exitCode(err) != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: err %v, code %d, stdout %q, stderr %q; want %q", c.args, err, exitCode(err), out, errs, c.want)
		}
	}
}

func TestExportNamesTheFlagsOfTheGreedyConflict(t *testing.T) {
	t.Parallel()
	for _, format := range params.Formats() {
		_, errs, err := runCLI(t, "", "export", "--format", format, "--temperature", "0", "-n", "3")
		if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--temperature") || !strings.Contains(errs, "-n/--samples") {
			t.Errorf("%s: err %v, stderr %q", format, err, errs)
		}
	}
}

// One rule for --mode everywhere: not given, it is completion for the built-in model
// and chat otherwise.
func TestOneModeRule(t *testing.T) {
	t.Parallel()
	root := newRoot(testEnv("", &bytes.Buffer{}, &bytes.Buffer{}))
	for _, path := range [][]string{{}, {"sample"}, {"export"}} {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		fl := cmd.Flags().Lookup("mode")
		if fl.DefValue != "" || !strings.Contains(fl.Usage, modeHelp) {
			t.Errorf("%v --mode: default %q, help %q", path, fl.DefValue, fl.Usage)
		}
	}
	out, _, err := runCLI(t, "", "export", "--format", "openai", "--prompt", "hi")
	if err != nil || !strings.Contains(out, `"messages"`) {
		t.Fatalf("export without --mode must be chat: %v\n%s", err, out)
	}
	if modeFor("", true) != params.Completion || modeFor("", false) != params.Chat || modeFor(params.Chat, true) != params.Chat {
		t.Fatal("modeFor")
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Config keys are matched whole: an unknown key is reported at its own line, not at a
// known key it is the start of; every problem is reported, in a person's words.
func TestConfigProblemsNameTheirOwnLine(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "model = \"m\"\nmod = 3\nidle_timeout = 90\nheatmap = \"rainbow\"\nidle = \"1s\"\n[ui]\ncolour = 1\n")
	_, _, err := runCLI(t, "", "--config", path)
	var fe *params.FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("want FlagError, got %v", err)
	}
	want := []string{
		path + `:2: unknown key "mod"`,
		path + ":3: idle_timeout: expected a string, got an integer",
		path + `:4: heatmap: "rainbow" is not one of`,
		path + `:5: unknown key "idle"`,
		path + `:6: unknown key "ui"`,
	}
	if len(fe.Problems) != len(want) {
		t.Fatalf("problems %q", fe.Problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(fe.Problems[i], w) {
			t.Errorf("problem %d = %q, want %q", i, fe.Problems[i], w)
		}
	}
	if strings.Contains(err.Error(), "int64") {
		t.Errorf("Go type names in %v", err)
	}
}

// The idle timeout comes from --idle-timeout or config.toml's idle_timeout (the flag
// wins), is checked, and reaches the client: a stalled stream ends on it.
func TestIdleTimeoutReachesTheClient(t *testing.T) {
	t.Parallel()
	srv := vllmtest.New()
	defer srv.Close()
	f := vllmtest.NoFault()
	f.StallAt = 1
	srv.SetDefault(vllmtest.Script{Fault: &f})

	stalled := func(t *testing.T, s backend.Sampler) *backend.Error {
		t.Helper()
		// Far longer than the timeouts under test and far shorter than the default 60s.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, _ := backend.RunSample(ctx, s, backend.Request{API: params.Completion, Model: "m", Prompt: "x", Params: params.Default(), Options: params.Options{N: 1}}, false, io.Discard)
		if len(resp.Errors) != 1 || resp.Errors[0] == nil {
			t.Fatalf("the stalled sample did not fail: %+v", resp)
		}
		return resp.Errors[0]
	}
	playground := func(t *testing.T, args ...string) ui.Config {
		t.Helper()
		var got ui.Config
		e := testEnv("", &bytes.Buffer{}, &bytes.Buffer{})
		e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
		root := newRoot(e)
		root.SetArgs(append([]string{"--endpoint", srv.URL, "--model", "m"}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		return got
	}
	cfgPath := writeConfig(t, "idle_timeout = \"300ms\"\n")
	if e := stalled(t, playground(t, "--config", cfgPath).Sampler); e.Kind != backend.KindTimeout {
		t.Errorf("config idle_timeout: %v (%s)", e, e.Kind)
	}
	long := writeConfig(t, "idle_timeout = \"10m\"\n")
	if e := stalled(t, playground(t, "--config", long, "--idle-timeout", "300ms").Sampler); e.Kind != backend.KindTimeout {
		t.Errorf("--idle-timeout over the config: %v (%s)", e, e.Kind)
	}
	bad := writeConfig(t, "\nidle_timeout = \"-1s\"\n")
	if _, errs, err := runCLI(t, "", "--config", bad, "--endpoint", "local"); exitCode(err) != 2 || !strings.Contains(errs, bad+`:2: idle_timeout: "-1s" is not a positive duration`) {
		t.Errorf("negative config idle_timeout: %v %q", err, errs)
	}
	_, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "completion", "--idle-timeout", "300ms", "x")
	if err == nil || !strings.Contains(errs, "idle timeout") {
		t.Errorf("sample --idle-timeout: %v %q", err, errs)
	}
}

// A failed prompt-logprobs request is a warning on stderr; the exit status is the
// samples'.
func TestSamplePromptLogprobsFailureWarns(t *testing.T) {
	t.Parallel()
	srv := vllmtest.New()
	defer srv.Close()
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if !bytes.Contains(body, []byte(`"prompt_logprobs"`)) {
			return nil
		}
		f := vllmtest.NoFault()
		f.Status, f.Message = 400, "prompt_logprobs must be at most 20, got 5."
		return &f
	})
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "completion", "--prompt-logprobs", "1", "Once")
	if err != nil || !strings.Contains(errs, "twinkle: warning: ") || !strings.Contains(errs, "prompt logprobs: prompt_logprobs must be at most 20") || !strings.Contains(out, `"trajectories"`) {
		t.Fatalf("err %v\nstderr %q\nstdout %q", err, errs, out)
	}
	f := vllmtest.NoFault()
	f.DropAt = 1
	srv.SetDefault(vllmtest.Script{Fault: &f})
	_, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "completion", "--prompt-logprobs", "1", "Once")
	if err == nil || exitCode(err) != 1 || !strings.Contains(errs, "twinkle: warning: ") {
		t.Fatalf("failed samples must still exit 1: %v %q", err, errs)
	}
}

// vLLM's answer to a chat request for a model with no chat template.
const noChatTemplate = "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one."

func refuseChat(srv *vllmtest.Server) {
	srv.FailWhen(func(body []byte) *vllmtest.Fault {
		if !bytes.Contains(body, []byte(`"messages"`)) {
			return nil
		}
		f := vllmtest.NoFault()
		f.Status, f.Type, f.Message = 400, "BadRequestError", noChatTemplate
		return &f
	})
}

// Without --mode, a chat request refused for want of a chat template is sent again as a
// completion request, and stderr says so once; with --mode chat the refusal stands.
func TestSampleSwitchesToCompletionWithoutAChatTemplate(t *testing.T) {
	t.Parallel()
	srv := vllmtest.New()
	defer srv.Close()
	refuseChat(srv)
	for _, stream := range []bool{false, true} {
		args := []string{"sample", "--endpoint", srv.URL, "--model", "m", "-n", "2", "--system", "be brief", "Once upon"}
		if stream {
			args = append(args, "--stream")
		}
		before := len(srv.Requests())
		out, errs, err := runCLI(t, "", args...)
		if err != nil {
			t.Fatalf("stream=%v: %v\n%s", stream, err, errs)
		}
		if strings.Count(errs, "switched to completion mode") != 1 || !strings.Contains(errs, "no chat template") || !strings.Contains(errs, "system message is not sent") {
			t.Errorf("stream=%v: stderr %q", stream, errs)
		}
		if strings.Contains(out, "chat template") || strings.Contains(out, `"error"`) {
			t.Errorf("stream=%v: the refused attempt reached stdout:\n%s", stream, out)
		}
		reqs := srv.Requests()[before:]
		if len(reqs) != 2 || reqs[0].Path != "/v1/chat/completions" || reqs[1].Path != "/v1/completions" || reqs[1].Fields()["prompt"] != "Once upon" {
			t.Errorf("stream=%v: requests %d: %v", stream, len(reqs), reqs)
		}
	}
	_, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "chat", "Once upon")
	if err == nil || exitCode(err) != 1 || strings.Contains(errs, "switched") || !strings.Contains(errs, "chat template") {
		t.Errorf("--mode chat must not switch: %v %q", err, errs)
	}
	// The refusal says plainly why and the way on; the server's words stay in the detail.
	out, errs, _ := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--mode", "chat", "Once upon")
	if !strings.Contains(errs, "the model at this endpoint has no chat template, so it takes no chat requests: use --mode completion") || strings.Contains(errs, "transformers") {
		t.Errorf("--mode chat refusal on stderr: %q", errs)
	}
	if !strings.Contains(out, `"detail":"`+noChatTemplate+`"`) {
		t.Errorf("the server's words are not kept in the detail:\n%s", out)
	}
	// Any other 400 is not a reason to switch.
	srv.FailWhen(nil)
	f := vllmtest.NoFault()
	f.Status, f.Message = 400, "top_k must be -1 (disable), or at least 1, got -2."
	srv.Push(vllmtest.Script{Fault: &f})
	_, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "Once upon")
	if err == nil || strings.Contains(errs, "switched") {
		t.Errorf("another 400 switched modes: %v %q", err, errs)
	}
}

// The built-in model in a chat mode the user chose: the refusal names the built-in
// model and suggests completion mode, not transformers' words.
func TestSampleLocalChatSaysNoTemplate(t *testing.T) {
	t.Parallel()
	_, errs, err := runCLI(t, "", "sample", "--endpoint", "local", "--mode", "chat", "--max-tokens", "4", "hi")
	if err == nil || !strings.Contains(errs, "the built-in model has no chat template, so it takes no chat requests: use --mode completion") || strings.Contains(errs, "transformers") {
		t.Errorf("local --mode chat: %v %q", err, errs)
	}
}

// An address that cannot be listened on is named with its flag, and the test server does
// not announce that it serves before it does.
func TestListenFailuresNameTheFlag(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	for _, c := range []struct{ flag string }{{"testserver --addr"}, {"serve-model --listen"}, {"serve --open --listen"}} {
		args := append(strings.Fields(c.flag), addr)
		if strings.HasPrefix(c.flag, "serve ") {
			args = append(args, "--host-key", filepath.Join(t.TempDir(), "key"), "--endpoint", "local")
		}
		_, errs, err := runCLI(t, "", args...)
		flag := c.flag[strings.LastIndex(c.flag, " ")+1:]
		if err == nil || !strings.Contains(errs, flag+" "+addr+": ") || !strings.Contains(errs, "address already in use") {
			t.Errorf("%s on a busy port: %v, stderr %q", c.flag, err, errs)
		}
		if strings.Contains(errs, "serving") || strings.Contains(errs, "listening on") {
			t.Errorf("%s announced a server that is not there: %q", c.flag, errs)
		}
	}
}

// A logit_bias key given as text is turned into its token id by the server's own
// tokenizer (/tokenize) before the request goes out; text that is not one token is
// refused, naming it, with nothing sent.
func TestSampleResolvesLogitBiasTextWithTheServersTokenizer(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	id := vllmtest.TokenIDs(" upon")
	if len(id) != 1 {
		t.Fatalf("the test tokenizer splits %q into %v", " upon", id)
	}
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--max-tokens", "2", "--logit-bias", `" upon"=5`, "--logit-bias", "7=-1", "Once")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	var sent map[string]any
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/completions") {
			sent = r.Fields()
		}
	}
	want := map[string]any{strconv.Itoa(id[0]): 5.0, "7": -1.0}
	if !reflect.DeepEqual(sent["logit_bias"], want) {
		t.Errorf("logit_bias sent %v, want %v (stdout %.200s)", sent["logit_bias"], want, out)
	}
	// A sweep of another advanced field keeps each variant's value beside the resolved id.
	before := len(srv.Requests())
	if _, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--max-tokens", "2", "--sweep", "min_p=0.1,0.2", "--logit-bias", `" upon"=5`, "Once"); err != nil {
		t.Fatalf("sweep: %v\n%s", err, errs)
	}
	minPs := map[float64]bool{}
	for _, r := range srv.Requests()[before:] {
		if f := r.Fields(); strings.HasSuffix(r.Path, "/completions") {
			if !reflect.DeepEqual(f["logit_bias"], map[string]any{strconv.Itoa(id[0]): 5.0}) {
				t.Errorf("sweep variant sent logit_bias %v", f["logit_bias"])
			}
			minPs[f["min_p"].(float64)] = true
		}
	}
	if !minPs[0.1] || !minPs[0.2] {
		t.Errorf("the swept min_p values were not kept: %v", minPs)
	}
	before = len(srv.Requests())
	out, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--max-tokens", "2", "--logit-bias", `" upon a"=5`, "Once")
	if err == nil || !strings.Contains(errs, `" upon a"`) || !strings.Contains(errs, "not one") || out != "" {
		t.Errorf("two tokens' text: %v, stdout %q, stderr %q", err, out, errs)
	}
	for _, r := range srv.Requests()[before:] {
		if strings.HasSuffix(r.Path, "/completions") {
			t.Errorf("a request went out with unresolved logit_bias: %s", r.Body)
		}
	}
}

// A --load file that cannot be read or parsed is refused naming the flag and the file.
func TestLoadProblemsNameTheFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\n  \"version\": 1,\n"), 0o644)
	for _, path := range []string{missing, bad} {
		_, errs, err := runCLI(t, "", "--load", path)
		if err == nil || !strings.Contains(errs, "--load: ") || !strings.Contains(errs, path) || exitCode(err) != 2 {
			t.Errorf("--load %s: %v, stderr %q", path, err, errs)
		}
	}
}

// serve-model refuses a --max-concurrent that could run nothing, rather than taking 1.
func TestServeModelRefusesNoConcurrency(t *testing.T) {
	for _, n := range []string{"0", "-3"} {
		_, errs, err := runCLI(t, "", "serve-model", "--listen", "127.0.0.1:0", "--max-concurrent", n)
		if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--max-concurrent: must be at least 1, got "+n) {
			t.Errorf("--max-concurrent %s: %v, stderr %q", n, err, errs)
		}
	}
}
