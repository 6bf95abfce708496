package params

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The reasoning switches reach a chat request only when set, each in vLLM's own field;
// a completion request never carries them.
func TestReasoningSwitchesToVLLM(t *testing.T) {
	off, on := false, true
	cases := []struct {
		name string
		a    Advanced
		api  API
		want string // the fields' JSON after stop_token_ids, "" for none
	}{
		{"unset", Advanced{}, Chat, ""},
		{"thinking off", Advanced{EnableThinking: &off}, Chat, `"chat_template_kwargs":{"enable_thinking":false}`},
		{"thinking on", Advanced{EnableThinking: &on}, Chat, `"chat_template_kwargs":{"enable_thinking":true}`},
		{"effort", Advanced{ReasoningEffort: "low"}, Chat, `"reasoning_effort":"low"`},
		{"both", Advanced{EnableThinking: &off, ReasoningEffort: "high"}, Chat, `"reasoning_effort":"high","chat_template_kwargs":{"enable_thinking":false}`},
		{"completion", Advanced{EnableThinking: &off, ReasoningEffort: "high"}, Completion, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Default().ToVLLM(c.api, Options{N: 1, Advanced: c.a})
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			_, tail, _ := strings.Cut(string(b), `"stop_token_ids":[]`)
			if want := strings.TrimPrefix(","+c.want, ","); strings.TrimPrefix(strings.TrimSuffix(tail, "}"), ",") != want {
				t.Errorf("after stop_token_ids: %s, want %s", tail, c.want)
			}
			for _, k := range []string{"reasoning_effort", "chat_template_kwargs", "enable_thinking"} {
				if c.want == "" && strings.Contains(string(b), k) {
					t.Errorf("%s sent: %s", k, b)
				}
			}
		})
	}
}

func TestReasoningEffortValidated(t *testing.T) {
	for _, e := range ReasoningEfforts() {
		if err := (Options{Advanced: Advanced{ReasoningEffort: e}}).Validate(Default()); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	err := Options{Advanced: Advanced{ReasoningEffort: "extreme"}}.Validate(Default())
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Field != "reasoning_effort" || !strings.Contains(es[0].Msg, `low, medium or high, got "extreme"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := Default().ToVLLM(Chat, Options{Advanced: Advanced{ReasoningEffort: "High"}}); err == nil {
		t.Error("a misspelt effort reached the request")
	}
}

func TestReasoningFlags(t *testing.T) {
	_, o, err := resolve(t, true, "--thinking", "off", "--reasoning-effort", "high")
	if err != nil {
		t.Fatal(err)
	}
	if o.Advanced.EnableThinking == nil || *o.Advanced.EnableThinking || o.Advanced.ReasoningEffort != "high" {
		t.Fatalf("%+v", o.Advanced)
	}
	_, o, err = resolve(t, false, "--thinking=on", "--reasoning-effort", "Low")
	if err != nil || o.Advanced.EnableThinking == nil || !*o.Advanced.EnableThinking || o.Advanced.ReasoningEffort != "low" {
		t.Fatalf("%+v %v", o.Advanced, err)
	}
	_, o, err = resolve(t, true)
	if err != nil || o.Advanced.EnableThinking != nil || o.Advanced.ReasoningEffort != "" {
		t.Fatalf("unset: %+v %v", o.Advanced, err)
	}
	_, _, err = resolve(t, true, "--thinking", "maybe", "--reasoning-effort", "extreme")
	for _, want := range []string{`--thinking: "maybe" is not a valid value`, `--reasoning-effort: "extreme" is not a valid value: "extreme" is not low, medium or high`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	// --thinking needs its value: "off" must not be read as a prompt.
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs, true)
	if err := fs.Parse([]string{"--thinking", "off", "prompt"}); err != nil || len(fs.Args()) != 1 || fs.Args()[0] != "prompt" {
		t.Fatalf("args %v %v", fs.Args(), err)
	}
	if f := fs.Lookup("reasoning-effort"); !strings.Contains(f.Usage, "(low, medium or high; unset = model default)") {
		t.Errorf("help: %s", f.Usage)
	}
	if f := fs.Lookup("thinking"); !strings.Contains(f.Usage, "(on or off; unset = model default)") {
		t.Errorf("help: %s", f.Usage)
	}
}

// The rows hold three states each: unset (nothing sent) and their values, on the bar in
// that order.
func TestReasoningRows(t *testing.T) {
	think, _ := Lookup("thinking")
	effort, _ := Lookup("reasoning_effort")
	if !think.Advanced || !effort.Advanced || effort.Kind != Choice {
		t.Fatal("rows")
	}
	var o Options
	p := Default()
	steps := []string{"model default", "off", "on", "on"}
	v := think.Get(p, o)
	for i, want := range steps {
		if text, word := think.Describe(v); word != want {
			t.Errorf("thinking step %d: %q %q, want %q", i, text, word, want)
		}
		v = think.Step(v, 1, false)
	}
	for _, want := range []string{"off", "model default", "model default"} {
		v = think.Step(v, -1, false)
		if _, word := think.Describe(v); word != want {
			t.Errorf("left: %q, want %q", word, want)
		}
	}
	think.Put(&p, &o, V(0))
	if o.Advanced.EnableThinking == nil || *o.Advanced.EnableThinking || think.Get(p, o) != V(0) {
		t.Fatalf("put off: %+v", o.Advanced)
	}
	think.Put(&p, &o, Value{})
	if o.Advanced.EnableThinking != nil {
		t.Fatal("put unset")
	}
	v = effort.Get(p, o)
	for _, want := range []string{"model default", "low", "medium", "high", "high"} {
		if _, word := effort.Describe(v); word != want {
			t.Errorf("effort: %q, want %q", word, want)
		}
		effort.Put(&p, &o, v)
		if got := effort.Get(p, o); got != v {
			t.Errorf("effort %v reads back as %v", v, got)
		}
		v = effort.Step(v, 1, false)
	}
	if o.Advanced.ReasoningEffort != "high" || effort.Pos(effort.Get(p, o)) != 1 || effort.FromPos(0) != (Value{}) {
		t.Errorf("effort %q", o.Advanced.ReasoningEffort)
	}
	if _, err := ParseSweep("reasoning_effort=low,high"); err == nil {
		t.Error("reasoning_effort is not a number a sweep steps")
	}
}

func TestExportReasoningSwitches(t *testing.T) {
	off := false
	o := Options{N: 1, Advanced: Advanced{EnableThinking: &off, ReasoningEffort: "low"}}
	want := map[string][]string{
		"openai":       {`"reasoning_effort": "low"`, `"chat_template_kwargs": {` + "\n" + `    "enable_thinking": false` + "\n  }"},
		"curl":         {`"reasoning_effort": "low"`, `"enable_thinking": false`},
		"vllm":         {`#   llm.chat(messages, sampling_params, chat_template_kwargs={"enable_thinking": False, "reasoning_effort": "low"})`},
		"twinkle":      {`#   llm.chat(messages, vllm_params, chat_template_kwargs={"enable_thinking": False, "reasoning_effort": "low"})`},
		"transformers": {`tokenizer.apply_chat_template(messages, add_generation_prompt=True`, `**{"enable_thinking": False, "reasoning_effort": "low"})`},
	}
	for _, f := range Formats() {
		out, err := Export(f, Default(), Target{Options: o})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, w := range want[f] {
			if !strings.Contains(out, w) {
				t.Errorf("%s: missing %q in\n%s", f, w, out)
			}
		}
		plain, err := Export(f, Default(), Target{Options: Options{N: 1}})
		if err != nil || strings.Contains(plain, "thinking") || strings.Contains(plain, "reasoning_effort") {
			t.Errorf("%s without the switches: %v\n%s", f, err, plain)
		}
	}
	// The vllm export's SamplingParams never takes them: they are chat request fields.
	out, _ := Export("vllm", Default(), Target{Options: o})
	if params, _, _ := strings.Cut(out, ")\n"); strings.Contains(params, "reasoning") || strings.Contains(params, "thinking") {
		t.Errorf("in SamplingParams:\n%s", out)
	}
	for _, f := range []string{"openai", "curl"} {
		if _, err := Export(f, Default(), Target{API: Completion, Options: o}); err == nil || !strings.Contains(err.Error(), "enable_thinking, reasoning_effort: a completion request has no chat template") {
			t.Errorf("%s in completion mode: %v", f, err)
		}
	}
}
