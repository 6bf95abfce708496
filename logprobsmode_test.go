package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui"
)

// sampleJSON is what `twinkle sample` prints, as far as these tests read it.
type sampleJSON struct {
	Trajectories json.RawMessage   `json:"trajectories"`
	Tokens       [][]backend.Token `json:"tokens"`
	LogprobsMode string            `json:"logprobs_mode"`
	Notes        []string          `json:"notes"`
}

func sampleOut(t *testing.T, args ...string) sampleJSON {
	t.Helper()
	out, errs, err := runCLI(t, "", append([]string{"sample", "--endpoint", "local"}, args...)...)
	if err != nil {
		t.Fatalf("%v: %v %s", args, err, errs)
	}
	var r sampleJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// `twinkle sample --endpoint local --min-p 0.5` samples as vLLM would: every token drawn
// is at least half as likely as the most likely one (min-p after temperature 1), where
// the same seed without min_p draws tokens that are not; the JSON names the raw
// distribution of its logprobs and carries the processed one beside it, min-p's cut
// tokens at -9999 and the kept ones adding up to 1.
func TestSampleMinPHalfOnTheBuiltInModel(t *testing.T) {
	args := []string{"--seed", "4", "-n", "4", "--max-tokens", "24", "--logprobs", "20", "--ignore-eos", "func main() {"}
	with := sampleOut(t, append([]string{"--min-p", "0.5"}, args...)...)
	without := sampleOut(t, append([]string{"--min-p", "0"}, args...)...)
	if with.LogprobsMode != "raw_logprobs" || len(with.Notes) != 0 {
		t.Fatalf("logprobs_mode %q notes %q", with.LogprobsMode, with.Notes)
	}
	below := func(tk backend.Token) bool {
		return float64(tk.Logprob) < float64(tk.Top[0].Logprob)+math.Log(0.5)-1e-5
	}
	for s, toks := range with.Tokens {
		for i, tk := range toks {
			if below(tk) {
				t.Fatalf("min_p 0.5, sample %d token %d %q: logprob %v, the most likely %v", s, i, tk.Text, tk.Logprob, tk.Top[0].Logprob)
			}
			pr := tk.Processed
			if pr == nil || len(pr.Top) != len(tk.Top) {
				t.Fatalf("sample %d token %d: processed %+v", s, i, pr)
			}
			var sum float64
			for j, v := range pr.Top {
				cut := math.IsInf(float64(v), -1)
				if cut != below(backend.Token{Logprob: tk.Top[j].Logprob, Top: tk.Top}) {
					t.Fatalf("sample %d token %d, alternative %q (raw %v): processed %v", s, i, tk.Top[j].Text, tk.Top[j].Logprob, v)
				}
				if !cut {
					sum += v.Prob()
				}
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Fatalf("sample %d token %d: the kept tokens sum to %v", s, i, sum)
			}
		}
	}
	drawnBelow := 0
	for _, toks := range without.Tokens {
		for _, tk := range toks {
			if below(tk) {
				drawnBelow++
			}
		}
	}
	if drawnBelow == 0 || string(with.Trajectories) == string(without.Trajectories) {
		t.Fatalf("without min_p, %d tokens drawn below half the best: the test proves nothing", drawnBelow)
	}
}

// --logprobs-mode names what the numbers are; with the built-in model the in-process
// server runs with it, so processed_logprobs gives the distribution drawn from.
func TestSampleLogprobsModeFlag(t *testing.T) {
	r := sampleOut(t, "--logprobs-mode", "processed_logprobs", "--top-k", "3", "--temperature", "0.6", "--seed", "1", "--max-tokens", "8", "--logprobs", "5", "--ignore-eos", "func main() {")
	if r.LogprobsMode != "processed_logprobs" || len(r.Notes) != 0 {
		t.Fatalf("logprobs_mode %q notes %q", r.LogprobsMode, r.Notes)
	}
	for i, tk := range r.Tokens[0] {
		var sum float64
		for _, a := range tk.Top {
			if a.Logprob.Known() {
				sum += a.Logprob.Prob()
			}
		}
		if math.Abs(sum-1) > 1e-5 || tk.Processed == nil || tk.Processed.Logprob != tk.Logprob {
			t.Fatalf("token %d: top-3 sum %v, processed %+v beside %v", i, sum, tk.Processed, tk.Logprob)
		}
	}
	for _, args := range [][]string{
		{"sample", "--endpoint", "local", "--logprobs-mode", "processed", "x"},
		{"--endpoint", "local", "--logprobs-mode", "raw"},
		{"serve-model", "--logprobs-mode", "logits"},
	} {
		out, errs, err := runCLI(t, "", args...)
		if err == nil || exitCode(err) != 2 || out != "" || !strings.Contains(errs, "--logprobs-mode") || !strings.Contains(errs, "raw_logprobs (vLLM's default), raw_logits, processed_logprobs or processed_logits") {
			t.Errorf("%v: %v\n%s", args, err, errs)
		}
	}
}

// config.toml's logprobs_mode reaches the playground's sampler (the flag wins), and a bad
// one is refused naming its line.
func TestConfigLogprobsMode(t *testing.T) {
	path := writeConfig(t, "endpoint = \"local\"\nlogprobs_mode = \"processed_logits\"\n")
	modeOf := func(args ...string) backend.LogprobsMode {
		var got ui.Config
		var out, errb bytes.Buffer
		e := testEnv("", &out, &errb)
		e.runTUI = func(_ context.Context, cfg ui.Config) error { got = cfg; return nil }
		root := newRoot(e)
		root.SetArgs(append([]string{"--config", path}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v %s", err, errb.String())
		}
		one := 1
		ch, err := got.Sampler.Start(context.Background(), backend.Request{API: params.Completion, Prompt: "x", Params: params.Default(), Options: params.Options{N: 1, Logprobs: &one}})
		if err != nil {
			t.Fatal(err)
		}
		var mode backend.LogprobsMode
		for ev := range ch {
			if ev.Kind == backend.EventStart {
				mode = ev.Start.LogprobsMode
			}
		}
		return mode
	}
	if m := modeOf(); m != backend.ProcessedLogits {
		t.Errorf("from the config: %q", m)
	}
	if m := modeOf("--logprobs-mode", "raw_logits"); m != backend.RawLogits {
		t.Errorf("the flag over the config: %q", m)
	}
	bad := writeConfig(t, "model = \"m\"\nlogprobs_mode = \"processed\"\n")
	_, _, err := runCLI(t, "", "--config", bad)
	if err == nil || !strings.Contains(err.Error(), bad+`:2: logprobs_mode: "processed" is not a logprobs mode`) {
		t.Errorf("bad config: %v", err)
	}
}
