package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/openai"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
)

// bodies returns the sampling requests a test server received, decoded.
func bodies(srv *vllmtest.Server) []map[string]any {
	var out []map[string]any
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			out = append(out, r.Fields())
		}
	}
	return out
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type item struct {
	Sweep        map[string]any `json:"sweep"`
	Seeds        []*int64       `json:"seeds"`
	StopReason   []string       `json:"stop_reason"`
	Trajectories []struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	} `json:"trajectories"`
	Stats  []map[string]any `json:"stats"`
	Target *struct {
		Name, Endpoint, Model string
	} `json:"target"`
	Timing []struct {
		TTFT  *float64 `json:"ttft_ms"`
		Rate  *float64 `json:"tokens_per_s"`
		Total *float64 `json:"total_ms"`
	} `json:"timing"`
	Error       *string         `json:"error"`
	Line        int             `json:"line"`
	Determinism json.RawMessage `json:"determinism"`
}

func decodeList(t *testing.T, out string) []item {
	t.Helper()
	var items []item
	if err := json.Unmarshal([]byte(out), &items); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("not one JSON list on one line: %v\n%s", err, out)
	}
	return items
}

func TestSampleSweepSendsTheSweptValuesAndOneSeed(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--sweep", "temperature=0.25..1:0.25", "-n", "2", "--logprobs", "2", "--top-p", "0.9", "--max-tokens", "5", "Once")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	items := decodeList(t, out)
	if len(items) != 4 {
		t.Fatalf("%d responses, want 4", len(items))
	}
	var seed *int64
	for i, it := range items {
		if want := 0.25 * float64(i+1); it.Sweep["temperature"] != want || len(it.Sweep) != 1 {
			t.Errorf("response %d is labelled %v, want temperature %v", i, it.Sweep, want)
		}
		if len(it.Seeds) != 2 || it.Seeds[0] == nil || (seed != nil && *it.Seeds[0] != *seed) || *it.Seeds[1] != *it.Seeds[0]+1 {
			t.Errorf("response %d seeds %v: all variants share one seed", i, it.Seeds)
		}
		seed = it.Seeds[0]
		if len(it.Stats) != 2 || it.Stats[0]["tokens"] != 5.0 {
			t.Errorf("response %d stats %v", i, it.Stats)
		}
	}
	bs := bodies(srv)
	var temps []float64
	for _, b := range bs {
		temps = append(temps, b["temperature"].(float64))
		// Everything but the swept value is the same in every body.
		if b["seed"] != float64(*seed) || b["top_p"] != 0.9 || b["n"] != 2.0 || b["max_tokens"] != 5.0 {
			t.Errorf("body %v", b)
		}
		other := maps(b, "temperature")
		if first := maps(bs[0], "temperature"); !reflect.DeepEqual(other, first) {
			t.Errorf("bodies differ beyond the swept value:\n%v\n%v", other, first)
		}
	}
	slices.Sort(temps)
	if !slices.Equal(temps, []float64{0.25, 0.5, 0.75, 1}) {
		t.Errorf("temperatures sent %v", temps)
	}
}

// maps copies m without the named keys.
func maps(m map[string]any, drop ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !slices.Contains(drop, k) {
			out[k] = v
		}
	}
	return out
}

func TestSampleSweepGridOwnSeedsOnTheBuiltInModel(t *testing.T) {
	out, errs, err := runCLI(t, "", "sample", "--endpoint", "local", "--sweep", "top_k=5,40", "--sweep", "temperature=0.5,1", "--own-seeds", "--seed", "100", "-n", "2", "--max-tokens", "4", "func main() {")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	items := decodeList(t, out)
	var got []string
	for _, it := range items {
		b, _ := json.Marshal(it.Sweep)
		got = append(got, string(b))
	}
	if strings.Join(got, " ") != `{"temperature":0.5,"top_k":5} {"temperature":1,"top_k":5} {"temperature":0.5,"top_k":40} {"temperature":1,"top_k":40}` {
		t.Errorf("grid %v", got)
	}
	for v, it := range items {
		// Own seeds: variant v's samples take 100+2v and 100+2v+1, so none repeats.
		if *it.Seeds[0] != int64(100+2*v) || *it.Seeds[1] != int64(101+2*v) || it.StopReason[0] == "" {
			t.Errorf("variant %d seeds %v stop %v", v, it.Seeds, it.StopReason)
		}
		if it.Trajectories[0].Messages[0].Content != "func main() {" {
			t.Errorf("completion prompt %+v", it.Trajectories[0].Messages)
		}
	}
}

func TestSampleSweepRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sweep", "temperature=0.5"}, "--sweep \"temperature=0.5\": 1 values: a sweep takes 2 to 8"},
		{[]string{"--sweep", "temperature=1,2.5"}, "--sweep: temperature=2.5: temperature: must be in [0, 2], got 2.5"},
		{[]string{"--sweep", "a=1,2", "--sweep", "b=1,2", "--sweep", "c=1,2"}, "--sweep: one or two parameters, got 3"},
		{[]string{"--sweep", "seed=1,2", "--own-seeds"}, "--own-seeds: the sweep sets the seeds itself"},
		{[]string{"--sweep", "temperature=0,1", "--repeat", "2"}, "--sweep, --repeat: choose one"},
	} {
		out, errs, err := runCLI(t, "", append(append([]string{"sample", "--endpoint", "http://127.0.0.1:1/v1"}, c.args...), "x")...)
		if err == nil || exitCode(err) != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: err %v, stdout %q, stderr %q, want %q", c.args, err, out, errs, c.want)
		}
	}
}

func TestSampleCompareSendsOneBodyAndSurvivesAFailingTarget(t *testing.T) {
	a, b := vllmtest.New(), vllmtest.New()
	defer a.Close()
	defer b.Close()
	dead := vllmtest.New()
	dead.Close()
	f := vllmtest.NoFault()
	f.Status, f.Message = 500, "CUDA out of memory"
	for range 5 { // every attempt the client makes
		b.Push(vllmtest.Script{Fault: &f})
	}
	t.Setenv("OPENAI_API_KEY", "sk-main-secret")
	t.Setenv("TWINKLE_API_KEY_FP8", "sk-fp8-secret")
	out, errs, err := runCLI(t, "", "sample", "--endpoint", a.URL, "--model", "m1", "--compare", "fp8="+b.URL+",m2", "--compare", "gone="+dead.URL,
		"--max-tokens", "6", "--logprobs", "1", "--first-token-timeout", "5s", "Once upon a time")
	if err == nil || exitCode(err) != 1 || !strings.Contains(errs, "target fp8: ") || !strings.Contains(errs, "CUDA out of memory") || !strings.Contains(errs, "target gone: ") {
		t.Fatalf("err %v, stderr %q", err, errs)
	}
	if strings.Contains(out+errs, "sk-") {
		t.Error("an API key was printed")
	}
	items := decodeList(t, out)
	if len(items) != 3 || items[0].Target.Name != "main" || items[1].Target.Name != "fp8" || items[1].Target.Model != "m2" || items[2].Target.Name != "gone" {
		t.Fatalf("targets %s", out)
	}
	main := items[0]
	if main.Error != nil || main.StopReason[0] != "length" || len(main.Trajectories[0].Messages[1].Content) == 0 {
		t.Errorf("the main target's result was lost: %s", out)
	}
	if tm := main.Timing[0]; tm.TTFT == nil || tm.Rate == nil || tm.Total == nil || *tm.TTFT > *tm.Total {
		t.Errorf("timing %+v", main.Timing)
	}
	if items[1].Error == nil || !strings.Contains(*items[1].Error, "HTTP 500") || items[2].Error == nil {
		t.Errorf("failures not in the output: %s", out)
	}
	// The same body went to both live targets (the model aside), seed included.
	ba, bb := bodies(a), bodies(b)
	if len(ba) != 1 || len(bb) == 0 {
		t.Fatalf("requests: %d and %d", len(ba), len(bb))
	}
	if ba[0]["seed"] == nil || !reflect.DeepEqual(maps(ba[0], "model"), maps(bb[0], "model")) || ba[0]["model"] != "m1" || bb[0]["model"] != "m2" {
		t.Errorf("bodies differ:\n%v\n%v", ba[0], bb[0])
	}
	// Each target has its own key; the main key never leaves for another endpoint.
	if got := a.Requests()[0].Header.Get("Authorization"); got != "Bearer sk-main-secret" {
		t.Errorf("main key %q", got)
	}
	if got := b.Requests()[0].Header.Get("Authorization"); got != "Bearer sk-fp8-secret" {
		t.Errorf("fp8 key %q", got)
	}
}

func TestSampleCompareWithoutItsKeySendsNone(t *testing.T) {
	a, b := vllmtest.New(), vllmtest.New()
	defer a.Close()
	defer b.Close()
	t.Setenv("OPENAI_API_KEY", "sk-main-secret")
	t.Setenv("TWINKLE_API_KEY_B", "")
	_, errs, err := runCLI(t, "", "sample", "--endpoint", a.URL, "--compare", "b="+b.URL, "--max-tokens", "2", "x")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	if got := b.Requests()[len(b.Requests())-1].Header.Get("Authorization"); got != "" {
		t.Errorf("target b got %q", got)
	}
}

func TestSampleCompareRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--compare", "b"}, "expected NAME=URL or NAME=URL,MODEL"},
		{[]string{"--compare", "b c=http://x/v1"}, "the name must be 1 to 32 letters"},
		{[]string{"--compare", "Main=http://x/v1"}, "main names the --endpoint target"},
		{[]string{"--compare", "b=http://x/v1", "--compare", "B=http://y/v1"}, "B is named twice"},
		{[]string{"--compare", "b=ftp://x"}, "--compare \"b=ftp://x\":"},
		{[]string{"--compare", "b=http://u:secret@x/v1"}, "--compare \"b=http://x/v1\": the URL must not carry credentials; put the key in $TWINKLE_API_KEY_B"},
		{[]string{"--compare", "b=local,gpt-9"}, `the built-in model is "twinkle-go-small", not "gpt-9"`},
		{[]string{"--compare", "b=http://x/v1", "--compare", "c=http://x/v1", "--compare", "d=http://x/v1", "--compare", "e=http://x/v1"}, "--compare: 2 to 4 targets with the main one, got 5"},
	} {
		out, errs, err := runCLI(t, "", append(append([]string{"sample", "--endpoint", "http://127.0.0.1:1/v1"}, c.args...), "x")...)
		if err == nil || exitCode(err) != 2 || out != "" || !strings.Contains(errs, c.want) || strings.Contains(errs, "secret") {
			t.Errorf("%v: err %v, stdout %q, stderr %q, want %q", c.args, err, out, errs, c.want)
		}
	}
}

func TestSampleMessagesSendsExactlyTheConversation(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	conv := `{"messages": [
  {"role": "system", "content": "You are terse."},
  {"role": "user", "content": "Name a colour.\n"},
  {"role": "assistant", "content": "Teal <b>&amp;</b>"},
  {"role": "user", "content": "Another, \u00e9\u202e"}
]}`
	path := writeFile(t, "conv.json", conv)
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--messages", path, "-n", "2", "--max-tokens", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	var want []map[string]any
	var parsed struct {
		Messages []map[string]any `json:"messages"`
	}
	_ = json.Unmarshal([]byte(conv), &parsed)
	want = parsed.Messages
	body := bodies(srv)[0]
	got, _ := json.Marshal(body["messages"])
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("messages sent:\n%s\nwant\n%s", got, exp)
	}
	var r item
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// Each trajectory is the whole conversation plus that sample's message.
	if len(r.Trajectories) != 2 {
		t.Fatalf("%s", out)
	}
	for _, tr := range r.Trajectories {
		if len(tr.Messages) != 5 || tr.Messages[4].Role != "assistant" || tr.Messages[2].Content != "Teal <b>&amp;</b>" || tr.Messages[3].Content != "Another, é\u202e" {
			t.Errorf("trajectory %+v", tr.Messages)
		}
	}
	if !strings.Contains(out, `\u202e`) || strings.Contains(out, "\u202e") {
		t.Error("a bidi override reached the output raw")
	}

	// The same file from stdin, with --stream: the events of the run.
	out, errs, err = runCLI(t, conv, "sample", "--endpoint", srv.URL, "--messages", "-", "--stream", "--max-tokens", "2")
	if err != nil || !strings.Contains(out, `"type":"done"`) {
		t.Fatalf("%v %s %s", err, out, errs)
	}
	if got, _ := json.Marshal(bodies(srv)[1]["messages"]); string(got) != string(exp) {
		t.Errorf("stdin conversation sent as %s", got)
	}
}

func TestSampleMessagesRefusals(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	bad := writeFile(t, "bad.json", "[\n  {\"role\": \"user\", \"content\": \"a\"},\n  {\"content\": \"b\"}\n]")
	good := writeFile(t, "good.json", `[{"role": "user", "content": "a"}]`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--messages", bad}, bad + ":3: messages[1]: role is required"},
		{[]string{"--messages", good, "--endpoint", "local"}, "--messages sends a conversation, which needs chat mode: the built-in model has no chat template"},
		{[]string{"--messages", good, "--mode", "completion"}, "needs chat mode: --mode completion"},
		{[]string{"--messages", good, "--system", "s"}, "--system: the conversation in --messages holds the system message"},
		{[]string{"--messages", good, "extra"}, "sample takes no PROMPT argument"},
		{[]string{"--messages", filepath.Join(t.TempDir(), "none.json")}, "--messages: open "},
	} {
		args := append([]string{"sample", "--endpoint", srv.URL}, c.args...)
		out, errs, err := runCLI(t, "", args...)
		if err == nil || exitCode(err) != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: err %v, stdout %q, stderr %q, want %q", c.args, err, out, errs, c.want)
		}
	}
	if n := len(bodies(srv)); n != 0 {
		t.Errorf("%d requests sent for refused input", n)
	}
}

func TestSamplePromptsReportsTheBadLineAndSamplesTheRest(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	path := writeFile(t, "prompts.jsonl", `"Once upon a time"
[{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]

{"messages": [{"role": "user", "content": "from a trajectory"}]
"The fox"
`)
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--prompts", path, "--max-tokens", "3", "--concurrency", "2", "--system", "Be brief.")
	if err == nil || exitCode(err) != 1 || !strings.Contains(errs, "1 of 4 lines failed") || !strings.Contains(errs, path+":4: invalid JSON") {
		t.Fatalf("err %v stderr %q", err, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d output lines:\n%s", len(lines), out)
	}
	var got []item
	for _, l := range lines {
		var it item
		if err := json.Unmarshal([]byte(l), &it); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, it)
	}
	if got[0].Line != 1 || got[1].Line != 2 || got[2].Line != 4 || got[3].Line != 5 {
		t.Errorf("line numbers out of order: %s", out)
	}
	if got[2].Error == nil || !strings.Contains(*got[2].Error, ":4: invalid JSON") || got[2].Trajectories != nil {
		t.Errorf("bad line: %s", lines[2])
	}
	for _, i := range []int{0, 1, 3} {
		if got[i].Error != nil || len(got[i].StopReason) != 1 || got[i].StopReason[0] == "" {
			t.Errorf("line %d not sampled: %s", got[i].Line, lines[i])
		}
	}
	sent := map[string]bool{}
	for _, b := range bodies(srv) {
		m, _ := json.Marshal(b["messages"])
		sent[string(m)] = true
	}
	for _, want := range []string{
		`[{"content":"Be brief.","role":"system"},{"content":"Once upon a time","role":"user"}]`,
		`[{"content":"s","role":"system"},{"content":"q","role":"user"}]`, // a conversation line keeps its own system message
		`[{"content":"Be brief.","role":"system"},{"content":"The fox","role":"user"}]`,
	} {
		if !sent[want] {
			t.Errorf("not sent: %s (sent %v)", want, sent)
		}
	}
	if len(sent) != 3 {
		t.Errorf("%d requests, want 3", len(sent))
	}
}

func TestSamplePromptsOnTheBuiltInModel(t *testing.T) {
	path := writeFile(t, "p.jsonl", "\"func main() {\"\n\"package\"\n[{\"role\": \"user\", \"content\": \"hi\"}]\n")
	out, errs, err := runCLI(t, "", "sample", "--endpoint", "local", "--prompts", path, "--max-tokens", "4", "--seed", "3", "--logprobs", "2")
	if err == nil || !strings.Contains(errs, "line 3: a message list needs chat mode") {
		t.Fatalf("%v %s", err, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%s", out)
	}
	for _, l := range lines[:2] {
		var it item
		if err := json.Unmarshal([]byte(l), &it); err != nil || it.Error != nil || len(it.Stats) != 1 || it.Stats[0]["mean_logprob"] == nil {
			t.Errorf("%v: %s", err, l)
		}
	}
}

func TestSampleRepeatOnTheBuiltInModelIsDeterministic(t *testing.T) {
	out, errs, err := runCLI(t, "", "sample", "--endpoint", "local", "--repeat", "3", "--seed", "42", "-n", "2", "--max-tokens", "12", "--logprobs", "3", "func main() {")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	var r struct {
		Determinism struct {
			Runs      int      `json:"runs"`
			Identical *bool    `json:"identical"`
			MaxDiff   *float64 `json:"max_logprob_diff"`
			First     any      `json:"first_difference"`
		} `json:"determinism"`
		Seeds []int64 `json:"seeds"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	d := r.Determinism
	if d.Runs != 3 || d.Identical == nil || !*d.Identical || d.First != nil || d.MaxDiff == nil || *d.MaxDiff != 0 || r.Seeds[0] != 42 || r.Seeds[1] != 43 {
		t.Errorf("%s", out)
	}
}

func TestSampleRepeatReportsAFlip(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	tok := func(text string, lp float64, alts ...vllmtest.Alt) vllmtest.Tok {
		return vllmtest.Tok{Text: text, Logprob: lp, Alts: alts}
	}
	sample := func(second string) vllmtest.Script {
		other := " dog"
		if second == " dog" {
			other = " cat"
		}
		return vllmtest.Script{Samples: []vllmtest.Sample{{Finish: "length", Tokens: []vllmtest.Tok{
			tok(" the", -0.1), tok(second, -0.69, vllmtest.Alt{Text: other, Logprob: -0.70}), tok(" sat", -0.3),
		}}}}
	}
	srv.Push(sample(" cat"), sample(" cat"), sample(" dog"))
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--repeat", "3", "--logprobs", "2", "--max-tokens", "3", "x")
	if err != nil {
		t.Fatalf("%v %s", err, errs)
	}
	var r struct {
		Determinism map[string]any `json:"determinism"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	d := r.Determinism
	f, _ := d["first_difference"].(map[string]any)
	if d["identical"] != false || d["differing_runs"] != 1.0 || f == nil || f["run"] != 2.0 || f["position"] != 1.0 {
		t.Fatalf("%v", d)
	}
	if toks := f["tokens"].([]any); toks[0] != " cat" || toks[1] != " dog" || f["logprob_gap"] == nil {
		t.Errorf("%v", f)
	}
	if gap := f["logprob_gap"].(float64); gap < 0.0099 || gap > 0.0101 {
		t.Errorf("gap %v, want 0.01", gap)
	}
	// One seed for all three runs, drawn once when none was given.
	bs := bodies(srv)
	if len(bs) != 3 || bs[0]["seed"] == nil || bs[0]["seed"] != bs[1]["seed"] || bs[1]["seed"] != bs[2]["seed"] {
		t.Errorf("seeds %v %v %v", bs[0]["seed"], bs[1]["seed"], bs[2]["seed"])
	}
}

func TestSamplePrintsStats(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	out, _, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "-n", "2", "--logprobs", "3", "--max-tokens", "4", "x")
	var r item
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || len(r.Stats) != 2 || r.Stats[0]["perplexity"] == nil || !strings.Contains(r.Stats[0]["entropy_estimate"].(string), "top-") {
		t.Errorf("%v %s", err, out)
	}
	out, _, _ = runCLI(t, "", "sample", "--endpoint", srv.URL, "--max-tokens", "4", "x")
	if strings.Contains(out, `"stats"`) {
		t.Errorf("stats without logprobs: %s", out)
	}
}

// Without a chat template, the automatic mode falls back to completion once per batch
// or repeat, said once on stderr; a conversation is never flattened into a prompt.
func TestSampleExtraModesWithoutAChatTemplate(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	refuseChat(srv)
	out, errs, err := runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--repeat", "3", "--seed", "4", "--max-tokens", "3", "Once")
	if err != nil || strings.Count(errs, "switched to completion mode") != 1 || !strings.Contains(out, `"identical":true`) {
		t.Fatalf("repeat: %v %q %s", err, errs, out)
	}
	var paths []string
	for _, r := range srv.Requests() {
		paths = append(paths, r.Path)
	}
	if strings.Join(paths, " ") != "/v1/chat/completions /v1/completions /v1/completions /v1/completions" {
		t.Errorf("repeat requests: %v", paths)
	}

	path := writeFile(t, "p.jsonl", "\"a\"\n\"b\"\n[{\"role\": \"user\", \"content\": \"c\"}]\n")
	out, errs, err = runCLI(t, "", "sample", "--endpoint", srv.URL, "--model", "m", "--prompts", path, "--max-tokens", "2")
	if err == nil || strings.Count(errs, "switched to completion mode") != 1 || !strings.Contains(errs, "line 3: ") || !strings.Contains(errs, "chat template") {
		t.Fatalf("batch: %v %q", err, errs)
	}
	if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, `{"line":3,`) {
		t.Errorf("batch output %s", out)
	}
}

// A sweep of a field kept in Options (vLLM's fields beyond the dataclass live there)
// cannot share one Request.Variants run: each variant is its own request, run at once.
func TestSampleSweepOfOptionsRunsOneRequestEach(t *testing.T) {
	srv := vllmtest.New()
	defer srv.Close()
	var out, errb bytes.Buffer
	x := registerSampleExtra(&cobra.Command{})
	seed := int64(9)
	p := params.Default()
	p.Seed = &seed
	k := 2
	x.variants = []params.SweepVariant{
		{Params: p, Options: params.Options{N: 1}, Values: params.Fields{{Key: "logprobs", Value: nil}}},
		{Params: p, Options: params.Options{N: 1, Logprobs: &k}, Values: params.Fields{{Key: "logprobs", Value: 2}}},
	}
	cl, err := openai.New(openai.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	base := backend.Request{API: params.Completion, Prompt: "Once", Params: p, Options: params.Options{N: 1}}
	if err := x.runSweep(context.Background(), &out, &errb, &cliSampler{Sampler: cl, stderr: &errb}, base); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	items := decodeList(t, out.String())
	if len(items) != 2 || items[0].Stats != nil || len(items[1].Stats) != 1 || items[1].Sweep["logprobs"] != 2.0 {
		t.Errorf("%s", out.String())
	}
	bs := bodies(srv)
	if len(bs) != 2 {
		t.Fatalf("%d requests", len(bs))
	}
	withLogprobs := 0
	for _, b := range bs {
		if b["logprobs"] == 2.0 {
			withLogprobs++
		}
		if b["seed"] != 9.0 {
			t.Errorf("seed %v", b["seed"])
		}
	}
	if withLogprobs != 1 {
		t.Errorf("bodies %v", bs)
	}
}
