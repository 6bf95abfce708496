package params

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func decode(t *testing.T, f Fields) map[string]any {
	t.Helper()
	b, err := f.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestToVLLMSendsEverySamplingFieldExplicitly(t *testing.T) {
	p := Default()
	p.Temperature = 0
	p.TopK = 40
	p.Stop = Stop{Strings: []string{"###"}, TokenIDs: []int{2}}
	p.Seed = ptr(int64(7))
	p.MaxTokens = ptr(64)
	f, err := p.ToVLLM(Chat, Options{N: 1, Logprobs: ptr(5)})
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, f)
	want := map[string]any{
		"n": 1.0, "max_tokens": 64.0, "temperature": 0.0, "top_p": 1.0, "top_k": 40.0,
		"repetition_penalty": 1.0, "seed": 7.0, "logprobs": true, "top_logprobs": 5.0,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("%s missing from body", k)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if s := m["stop"].([]any); len(s) != 1 || s[0] != "###" {
		t.Errorf("stop = %v", m["stop"])
	}
	if s := m["stop_token_ids"].([]any); len(s) != 1 || s[0] != 2.0 {
		t.Errorf("stop_token_ids = %v", m["stop_token_ids"])
	}
	if _, ok := m["prompt_logprobs"]; ok {
		t.Error("prompt_logprobs sent without being asked for")
	}
}

func TestToVLLMNullsAndCompletionLogprobs(t *testing.T) {
	f, err := Default().ToVLLM(Completion, Options{N: 4, Logprobs: ptr(3), PromptLogprobs: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, f)
	for _, k := range []string{"max_tokens", "seed"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s: want explicit null, got %v (present %v)", k, v, ok)
		}
	}
	if m["logprobs"] != 3.0 || m["n"] != 4.0 || m["prompt_logprobs"] != 0.0 {
		t.Errorf("completion logprobs: %v", m)
	}
	if _, ok := m["top_logprobs"]; ok {
		t.Error("top_logprobs is chat-only")
	}
	if m["top_k"] != -1.0 {
		t.Errorf("top_k off must be sent as -1, got %v", m["top_k"])
	}
}

func TestToVLLMRefusesGreedyWithSeveralSamples(t *testing.T) {
	p := Default()
	p.Temperature = 0
	_, err := p.ToVLLM(Chat, Options{N: 3})
	if !errors.Is(err, ErrGreedyN) {
		t.Fatalf("got %v", err)
	}
	p.TopP = 7
	if _, err := p.ToVLLM(Chat, Options{N: 1}); err == nil {
		t.Fatal("invalid params converted")
	}
}

func TestToTransformers(t *testing.T) {
	p := Default()
	p.Stop = Stop{Strings: []string{"\n\n"}, TokenIDs: []int{2}}
	p.Seed = ptr(int64(3))
	p.MaxTokens = ptr(10)
	call, err := p.ToTransformers(Options{N: 4, Logprobs: ptr(20)})
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, call.Kwargs)
	if m["top_k"] != 0.0 {
		t.Errorf("top_k off must be 0 for transformers (its default is 50), got %v", m["top_k"])
	}
	if m["do_sample"] != true || m["max_new_tokens"] != 10.0 || call.Seed == nil || *call.Seed != 3 {
		t.Errorf("kwargs %v seed %v", m, call.Seed)
	}
	if m["num_return_sequences"] != 4.0 {
		t.Errorf("samples=4 must be num_return_sequences=4: %v", m)
	}
	// Raw logits, as vLLM's logprobs are raw; output_scores are after processing.
	if m["output_logits"] != true || m["return_dict_in_generate"] != true || m["output_scores"] != nil {
		t.Errorf("logprobs must ask for raw logits: %v", m)
	}
	// generate's eos_token_id replaces the model's own EOS ids; vLLM adds stop ids to them.
	if _, ok := m["eos_token_id"]; ok || !sliceEq(call.StopTokenIDs, []int{2}) {
		t.Errorf("stop ids must be left to add to the model's EOS ids, got kwargs %v, ids %v", m, call.StopTokenIDs)
	}
	p.Temperature = 0
	call, _ = p.ToTransformers(Options{N: 1})
	m = decode(t, call.Kwargs)
	if m["do_sample"] != false {
		t.Error("greedy must set do_sample=False")
	}
	if _, ok := m["temperature"]; ok {
		t.Error("greedy sends no temperature (generate warns about it)")
	}
	if _, ok := m["num_return_sequences"]; ok {
		t.Error("one sample needs no num_return_sequences")
	}
	if _, err := p.ToTransformers(Options{N: 3}); !errors.Is(err, ErrGreedyN) {
		t.Errorf("greedy with 3 samples: %v", err)
	}
}

// Every format refuses greedy sampling with several samples, naming n.
func TestExportRefusesGreedyWithSeveralSamples(t *testing.T) {
	p := Default()
	p.Temperature = 0
	for _, f := range Formats() {
		if _, err := Export(f, p, Target{Options: Options{N: 4}}); !errors.Is(err, ErrGreedyN) {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// What the sliders say reaches every export: samples, top-K logprobs, stop ids.
func TestExportsMatchTheSliders(t *testing.T) {
	c := exportCases()["sampled"]
	tr, err := Export("transformers", c.p, c.t)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"num_return_sequences=4,", "output_logits=True,", "return_dict_in_generate=True,", "topk(20,",
		"eos_token_id = model.generation_config.eos_token_id", "eos_token_id = list(eos_token_id) + [2, 7]", "eos_token_id=eos_token_id,"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transformers export lacks %q:\n%s", want, tr)
		}
	}
	if strings.Contains(tr, "eos_token_id=[") {
		t.Errorf("transformers export replaces the model's EOS ids:\n%s", tr)
	}
	tw, err := Export("twinkle", c.p, c.t)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"num_samples=4, logprobs=True)", "top-20", "logprobs=20", `stop=["</s>", "END"],`, "stop_token_ids=[2, 7]"} {
		if !strings.Contains(tw, want) {
			t.Errorf("twinkle export lacks %q:\n%s", want, tw)
		}
	}
}

// exportCases covers greedy, top-k off, and hostile stop strings.
func exportCases() map[string]struct {
	p SamplingParams
	t Target
} {
	greedy := Default()
	greedy.Temperature = 0
	greedy.TopK = 40
	greedy.Stop = Stop{Strings: []string{"###"}, TokenIDs: []int{2}}
	greedy.Seed = ptr(int64(7))
	greedy.MaxTokens = ptr(64)

	hostile := Default()
	hostile.Temperature = 0.8
	hostile.TopP = 0.95
	hostile.RepetitionPenalty = 1.1
	hostile.Stop = Stop{Strings: []string{"it's", `say "hi"`, `back\slash`, "line\nbreak", "$HOME `id` $(rm -rf /)", "naïve ✓ 日本", "\x1b]52;c;evil\a", "\u202eevil", "'''", `"""`}}

	lone := Default()
	lone.Stop = StopString("</s>")

	// Qwen3's recommended thinking settings, with every advanced field set; a bias
	// above 100 is exported clamped, as vLLM clamps it.
	advanced := Default()
	advanced.Temperature = 0.6
	advanced.TopP = 0.95
	advanced.TopK = 20
	advanced.MaxTokens = ptr(32)
	advanced.Stop = Stop{Strings: []string{"</s>"}, TokenIDs: []int{2}}
	advancedOpts := Options{N: 2, Advanced: Advanced{MinP: 0.05, PresencePenalty: 0.5, FrequencyPenalty: -0.25, MinTokens: 4,
		IgnoreEOS: true, IncludeStopStrInOutput: true, LogitBias: []LogitBias{{ID: 13, Bias: -100}, {ID: 7, Bias: 250}},
		BadWords: []string{"foo", " bar", "it's \"q\"\n", "foo"}}}

	sampled := Default()
	sampled.Temperature = 0.7
	sampled.TopP = 0.9
	sampled.Seed = ptr(int64(11))
	sampled.Stop = Stop{Strings: []string{"</s>", "END"}, TokenIDs: []int{2, 7}}
	return map[string]struct {
		p SamplingParams
		t Target
	}{
		"greedy":   {greedy, Target{Model: "Qwen/Qwen2.5-7B-Instruct", Prompt: "Once upon a time", Options: Options{N: 1, Logprobs: ptr(5)}}},
		"topk_off": {Default(), Target{API: Completion, Model: "m", Prompt: "func main() {", Options: Options{N: 4}}},
		"hostile":  {hostile, Target{Model: "it's \"m\"", Endpoint: "http://h:8000/v1/", System: "be $terse 'ok'", Prompt: "a\nb \\ 'c' \"d\" $(e)", Options: Options{N: 2, Logprobs: ptr(3), PromptLogprobs: ptr(1)}}},
		"lone":     {lone, Target{}},
		"sampled":  {sampled, Target{Prompt: "Once", Options: Options{N: 4, Logprobs: ptr(20)}}},
		"advanced": {advanced, Target{Prompt: "Think", Options: advancedOpts}},
		"conversation": {sampled, Target{Model: "m", System: "ignored", Prompt: "ignored", Messages: conversation,
			Options: Options{N: 1, Advanced: Advanced{EnableThinking: ptr(false)}}}},
	}
}

// conversation is a multi-turn chat, hostile to every quoting: its roles, order
// and contents must reach each export as they are.
var conversation = []Message{
	{"system", "be $terse 'ok'"},
	{"user", "a\nb \\ 'c' \"d\" $(e)"},
	{"assistant", "first answer"},
	{"user", "and then?"},
}

func TestExportCarriesTheWholeConversation(t *testing.T) {
	c := exportCases()["conversation"]
	out, err := Export("openai", c.p, c.t)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Messages) != len(conversation) {
		t.Fatalf("openai body has %d messages, want %d:\n%s", len(body.Messages), len(conversation), out)
	}
	for i, m := range body.Messages {
		if m.Role != conversation[i].Role || m.Content != conversation[i].Content {
			t.Errorf("message %d = %+v, want %+v", i, m, conversation[i])
		}
	}
	// The Python exports hold the same list, read back by Python's own parser.
	py := needTool(t, "python3")
	script := "import ast,sys,json\nfor n in ast.parse(sys.stdin.read()).body:\n  if isinstance(n, ast.Assign) and n.targets[0].id=='messages': print(json.dumps(ast.literal_eval(n.value)))"
	for _, format := range []string{"twinkle", "vllm", "transformers"} {
		out, err := Export(format, c.p, c.t)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, "-c", script)
		cmd.Stdin = strings.NewReader(out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, out)
		}
		var msgs []struct{ Role, Content string }
		if err := json.Unmarshal(got, &msgs); err != nil || len(msgs) != len(conversation) {
			t.Fatalf("%s: Python reads messages %s (%v)\n%s", format, got, err, out)
		}
		for i, m := range msgs {
			if m.Role != conversation[i].Role || m.Content != conversation[i].Content {
				t.Errorf("%s: message %d = %+v, want %+v", format, i, m, conversation[i])
			}
		}
	}
}

func TestExportGolden(t *testing.T) {
	for name, c := range exportCases() {
		for _, format := range Formats() {
			t.Run(name+"_"+format, func(t *testing.T) {
				out, err := Export(format, c.p, c.t)
				if err != nil {
					t.Fatal(err)
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

func TestExportJSONParses(t *testing.T) {
	for name, c := range exportCases() {
		out, err := Export("openai", c.p, c.t)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		var back SamplingParams
		b, _ := json.Marshal(map[string]any{"temperature": m["temperature"], "top_p": m["top_p"], "stop": m["stop"]})
		if err := json.Unmarshal(b, &back); err != nil || back.Temperature != c.p.Temperature || !sliceEq(back.Stop.Strings, c.p.Stop.Strings) {
			t.Errorf("%s: body does not carry the params back: %+v %v", name, back, err)
		}
	}
}

func TestExportCurlIsValidShell(t *testing.T) {
	bash := needTool(t, "bash")
	for name, c := range exportCases() {
		out, err := Export("curl", c.p, c.t)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v %s\n%s", name, err, msg, out)
		}
		// The body bash would pass to curl is exactly the JSON.
		echo := exec.Command(bash, "-c", "set -- "+strings.TrimSpace(strings.SplitN(out, "-d ", 2)[1])+"; printf %s \"$1\"")
		got, err := echo.Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Errorf("%s: the shell-unquoted body is not JSON: %v\n%s", name, err, got)
		}
	}
}

func TestExportPythonParses(t *testing.T) {
	py := needTool(t, "python3")
	for name, c := range exportCases() {
		for _, format := range []string{"twinkle", "vllm", "transformers"} {
			out, err := Export(format, c.p, c.t)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, "-c", "import ast,sys; ast.parse(sys.stdin.read())")
			cmd.Stdin = strings.NewReader(out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s/%s: %v %s\n%s", name, format, err, msg, out)
			}
		}
	}
	// The hostile stop strings read back exactly through Python's own parser.
	c := exportCases()["hostile"]
	out, _ := Export("twinkle", c.p, c.t)
	script := "import ast,sys,json\nt=ast.parse(sys.stdin.read())\nfor n in ast.walk(t):\n  if isinstance(n, ast.keyword) and n.arg=='stop': print(json.dumps(ast.literal_eval(n.value)))"
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(out)
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var stops []string
	if err := json.Unmarshal(got, &stops); err != nil || !sliceEq(stops, c.p.Stop.Strings) {
		t.Fatalf("Python reads %q, want %q (%v)", stops, c.p.Stop.Strings, err)
	}
}

// The transformers export runs: against a stand-in model, generate receives the model's
// own EOS ids plus the stop ids, whatever shape generation_config gives them in.
func TestExportTransformersRuns(t *testing.T) {
	py := needTool(t, "python3")
	c := exportCases()["sampled"]
	out, err := Export("transformers", c.p, c.t)
	if err != nil {
		t.Fatal(err)
	}
	stub := `import sys, types, json
sys.modules["transformers"] = types.SimpleNamespace(set_seed=lambda s: None)
class Config: eos_token_id = EOS
class Model:
    generation_config = Config()
    def generate(self, **kw):
        print(json.dumps({k: v for k, v in kw.items() if k != "tokenizer"}))
        return None
model, inputs, tokenizer = Model(), {}, object()
`
	for eos, want := range map[string][]int{"None": {2, 7}, "128001": {128001, 2, 7}, "[128001, 128009]": {128001, 128009, 2, 7}} {
		cmd := exec.Command(py, "-c", strings.Replace(stub, "EOS", eos, 1)+out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("eos %s: %v\n%s", eos, err, out)
		}
		var kw struct {
			EOS []int `json:"eos_token_id"`
			N   int   `json:"num_return_sequences"`
		}
		if err := json.Unmarshal(got, &kw); err != nil || !sliceEq(kw.EOS, want) || kw.N != 4 {
			t.Errorf("model EOS %s: generate got %s, want eos_token_id %v (%v)", eos, got, want, err)
		}
	}
}

func TestExportRefusesBadInput(t *testing.T) {
	if _, err := Export("yaml", Default(), Target{}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("got %v", err)
	}
	p := Default()
	p.TopP = 1.5
	if _, err := Export("openai", p, Target{}); err == nil || !strings.Contains(err.Error(), "top_p") {
		t.Fatalf("got %v", err)
	}
}
