package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/vllmtest"
)

// `twinkle sample` against a reasoning model: the switches reach the request, the
// thinking is in the trajectory with its tokens' parts and per-part stats, and a sample
// cut off while thinking says so.
func TestSampleReasoningModel(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", vllmtest.ReasoningModel, "-n", "2", "--logprobs", "1", "--seed", "1",
		"--max-tokens", "5", "--reasoning-effort", "high", "--thinking", "on", "Once upon a time")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	var r struct {
		Trajectories []struct {
			Messages []map[string]string `json:"messages"`
		} `json:"trajectories"`
		StopReason           []string `json:"stop_reason"`
		StoppedWhileThinking []bool   `json:"stopped_while_thinking"`
		Stats                []struct {
			Parts struct {
				Thinking struct {
					Tokens int `json:"tokens"`
				} `json:"thinking"`
				Answer struct {
					Tokens int `json:"tokens"`
				} `json:"answer"`
			} `json:"parts"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if m := r.Trajectories[1].Messages[1]; m["reasoning"] == "" || m["content"] != "" || r.StopReason[1] != "length" || len(r.StoppedWhileThinking) != 2 || !r.StoppedWhileThinking[1] {
		t.Fatalf("output %s", out)
	}
	if r.Stats[0].Parts.Thinking.Tokens != 5 || r.Stats[0].Parts.Answer.Tokens != 0 {
		t.Errorf("stats %+v", r.Stats)
	}
	body := srv.Requests()[len(srv.Requests())-1].Fields()
	if body["reasoning_effort"] != "high" || body["chat_template_kwargs"].(map[string]any)["enable_thinking"] != true {
		t.Errorf("body %v", body)
	}

	// Unset, they are not sent.
	if _, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", vllmtest.ReasoningModel, "x"); err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	body = srv.Requests()[len(srv.Requests())-1].Fields()
	if _, ok := body["reasoning_effort"]; ok {
		t.Errorf("unset effort sent: %v", body)
	}
	if _, ok := body["chat_template_kwargs"]; ok {
		t.Errorf("unset thinking sent: %v", body)
	}
}

// In completion mode there is no template to read the switches: asked for, that is an
// error; fallen back to, it is said.
func TestSampleReasoningSwitchesNeedChat(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	_, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--mode", "completion", "--thinking", "off", "--reasoning-effort", "low", "x")
	if err == nil || exitCode(err) != 2 || !strings.Contains(errs, "--thinking: the chat template reads it") || !strings.Contains(errs, "--reasoning-effort: the chat template reads it") {
		t.Errorf("err %v, stderr %q", err, errs)
	}
	refuseChat(srv)
	_, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--thinking", "off", "x")
	if err != nil || !strings.Contains(errs, "switched to completion mode") || !strings.Contains(errs, "--thinking (chat only) not sent") {
		t.Errorf("fallback: %v %q", err, errs)
	}
	_, errs, err = runCLI(t, "", "export", "--format", "curl", "--mode", "completion", "--thinking", "off")
	if err == nil || !strings.Contains(errs, "--thinking") {
		t.Errorf("export: %v %q", err, errs)
	}
	out, errs, err := runCLI(t, "", "export", "--format", "openai", "--thinking", "off", "--reasoning-effort", "medium")
	if err != nil || !strings.Contains(out, `"reasoning_effort": "medium"`) || !strings.Contains(out, `"enable_thinking": false`) {
		t.Errorf("export: %v %q\n%s", err, errs, out)
	}
}
