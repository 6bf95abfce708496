package params

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func resolve(t *testing.T, withOptions bool, args ...string) (SamplingParams, Options, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f := RegisterFlags(fs, withOptions)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f.Resolve()
}

func TestFlagsApplyOverDefaults(t *testing.T) {
	p, o, err := resolve(t, true, "--temperature", "0", "--top-k", "40", "--stop", "###", "--stop", `\n\n`, "--stop-token-id", "2", "--seed", "7", "--max-tokens", "64", "--logprobs", "5")
	if err != nil {
		t.Fatal(err)
	}
	if p.Temperature != 0 || p.TopK != 40 || *p.Seed != 7 || *p.MaxTokens != 64 || p.TopP != 1 || *o.Logprobs != 5 {
		t.Fatalf("%+v %+v", p, o)
	}
	if !sliceEq(p.Stop.Strings, []string{"###", "\n\n"}) || !sliceEq(p.Stop.TokenIDs, []int{2}) {
		t.Fatalf("stop %+v", p.Stop)
	}
}

func TestFlagsReportEveryProblemNamingTheFlag(t *testing.T) {
	_, _, err := resolve(t, true, "--top-p", "1.5", "--top-k", "abc", "--temperature", "nan", "--stop", "", "--stop", `bad\q`, "--stop-token-id", "x", "--logprobs", "99")
	var fe *FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("want FlagError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"--top-p: must be in (0, 1], got 1.5", "--top-k:", "--temperature:", "--stop/--stop-token-id: stop string 1 is empty", `--stop: "bad\\q": unknown escape`, "--stop-token-id:", "--logprobs: must be in [0, 20]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestFlagsGreedyWithSamples(t *testing.T) {
	// Resolving succeeds (a sampler draws one greedy sample); converting for vLLM refuses.
	p, o, err := resolve(t, true, "--temperature", "0", "-n", "3")
	if err != nil || o.N != 3 {
		t.Fatalf("got %v %+v", err, o)
	}
	if _, err := p.ToVLLM(Chat, o); !errors.Is(err, ErrGreedyN) {
		t.Fatalf("ToVLLM: %v", err)
	}
}

func TestFlagsParamsFileThenOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	if err := os.WriteFile(path, []byte(`{"temperature": 0.3, "top_k": 5, "stop": "END"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, _, err := resolve(t, false, "--params", path, "--top-k", "9")
	if err != nil {
		t.Fatal(err)
	}
	if p.Temperature != 0.3 || p.TopK != 9 || !p.Stop.Equal(StopString("END")) {
		t.Fatalf("%+v", p)
	}
	if err := os.WriteFile(path, []byte("{\n \"temprature\": 0.3\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = resolve(t, false, "--params", path)
	if err == nil || !strings.Contains(err.Error(), path+`:2: unknown field "temprature"`) {
		t.Fatalf("got %v", err)
	}
	_, _, err = resolve(t, false, "--params", filepath.Join(dir, "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "--params:") {
		t.Fatalf("got %v", err)
	}
}

func TestFlagsHelpComesFromSpecTable(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs, true)
	for _, s := range Specs() {
		if s.Kind == StopList {
			continue
		}
		fl := fs.Lookup(s.Flag)
		if fl == nil {
			t.Fatalf("no flag --%s", s.Flag)
		}
		if !strings.Contains(fl.Usage, s.RangeText()) {
			t.Errorf("--%s help %q lacks range %q", s.Flag, fl.Usage, s.RangeText())
		}
	}
}

func TestUnescapeEscape(t *testing.T) {
	cases := map[string]string{
		`###`: "###", `\n`: "\n", `a\tb`: "a\tb", `\\`: `\`, `\x1b`: "\x1b", `\u00e9`: "é", `\U0001F600`: "😀", `\"`: `"`,
	}
	for in, want := range cases {
		got, err := Unescape(in)
		if err != nil || got != want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
		if back, _ := Unescape(Escape(want)); back != want {
			t.Errorf("Escape round trip of %q: %q", want, Escape(want))
		}
	}
	for _, bad := range []string{`\`, `\q`, `\x1`, `\u12`, `\UFFFFFFFF`, `\xzz`} {
		if _, err := Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) accepted", bad)
		}
	}
	if got := Escape("a\nb\x1b\u202e\u2028"); got != `a\nb\x1b\u202e\u2028` {
		t.Errorf("Escape shows controls: %q", got)
	}
}

// A bad --params file does not hide the flags' own problems, nor one of its problems
// another.
func TestFlagsParamsFileReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte("{\n \"Temperature\": 0.3,\n \"top_k\": \"x\",\n \"top_k\": 3\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := resolve(t, false, "--params", path, "--top-p", "2")
	var fe *FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("want FlagError, got %v", err)
	}
	want := []string{
		"--params: " + path + `:2: unknown field "Temperature"`,
		"--params: " + path + ":3: field top_k: expected an integer, got a string",
		"--params: " + path + ":4: field top_k: set twice (first on line 3)",
		"--top-p: must be in (0, 1], got 2",
	}
	if len(fe.Problems) != len(want) {
		t.Fatalf("got %q", fe.Problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(fe.Problems[i], w) {
			t.Errorf("problem %d = %q, want %q", i, fe.Problems[i], w)
		}
	}
}

// Values outside the range the help states are refused, never quietly changed.
func TestFlagsRefuseValuesOutsideTheStatedRange(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n/--samples: must be in [1, 16], got 0"},
		{[]string{"--samples", "-2"}, "-n/--samples: must be in [1, 16], got -2"},
		{[]string{"-n", "17"}, "-n/--samples: must be in [1, 16], got 17"},
		{[]string{"--seed", "-1"}, "--seed: must be in [0, 2147483647], got -1 (leave it out for random)"},
		{[]string{"--seed", "99999999999"}, "--seed: must be in [0, 2147483647], got 99999999999"},
		{[]string{"--logprobs", "21"}, "--logprobs: must be in [0, 20], got 21"},
	} {
		_, _, err := resolve(t, true, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
		if err != nil && strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%v: one problem reported more than once: %v", c.args, err)
		}
	}
	for _, ok := range [][]string{{"-n", "1"}, {"-n", "16"}, {"--seed", "0"}, {"--seed", "2147483647"}, {"--seed", "random"}, {"--logprobs", "0"}} {
		if _, _, err := resolve(t, true, ok...); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}
