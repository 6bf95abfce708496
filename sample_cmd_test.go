package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"charm.land/fang/v2"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(strings.NewReader(stdin), &out, &errb)
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
	t.Setenv("OPENAI_BASE_URL", "")
	_, errs, err = runCLI(t, "", "sample", "x")
	if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--endpoint") {
		t.Errorf("no endpoint: err %v, stderr %q", err, errs)
	}
}
