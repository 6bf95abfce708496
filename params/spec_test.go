package params

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

func spec(t *testing.T, key string) Spec {
	t.Helper()
	s, ok := Lookup(key)
	if !ok {
		t.Fatalf("no spec %s", key)
	}
	return s
}

func TestSpecTableCoversEveryField(t *testing.T) {
	want := []string{"temperature", "top_p", "top_k", "repetition_penalty", "max_tokens", "seed", "stop", "n", "logprobs"}
	got := map[string]bool{}
	for _, s := range Specs() {
		got[s.Key] = true
		if !s.Kind.IsList() && !(s.Min < s.Max) {
			t.Errorf("%s: empty range", s.Key)
		}
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("spec table lacks %s", k)
		}
	}
}

func TestDefaultsMatchSpecTable(t *testing.T) {
	p, o := Default(), Options{N: 1, Logprobs: ptr(5)}
	for _, s := range Specs() {
		if s.Kind.IsList() {
			continue
		}
		if got := s.Get(p, o); got != s.Default {
			t.Errorf("%s: Default() gives %+v, spec says %+v", s.Key, got, s.Default)
		}
	}
}

func TestSpecialWords(t *testing.T) {
	cases := []struct {
		key  string
		v    Value
		text string
		word string
	}{
		{"temperature", V(0), "0.00", "greedy"},
		{"temperature", V(0.7), "0.70", ""},
		{"top_k", V(-1), "-1", "off"},
		{"top_k", V(0), "0", "off"},
		{"top_k", V(40), "40", ""},
		{"seed", Value{}, "", "random"},
		{"seed", V(7), "7", ""},
		{"max_tokens", Value{}, "", "server default"},
		{"max_tokens", V(64), "64", ""},
		{"top_p", V(1), "1.00", "off"},
	}
	for _, c := range cases {
		text, word := spec(t, c.key).Describe(c.v)
		if text != c.text || word != c.word {
			t.Errorf("%s %+v: got (%q,%q) want (%q,%q)", c.key, c.v, text, word, c.text, c.word)
		}
	}
}

func TestStepLinear(t *testing.T) {
	s := spec(t, "temperature")
	v := V(1)
	for i := 0; i < 3; i++ {
		v = s.Step(v, +1, false)
	}
	if v.V != 1.15 {
		t.Fatalf("three fine steps from 1: %v", v.V)
	}
	if got := s.Step(V(1.9), +1, true); got.V != 2 {
		t.Fatalf("coarse step clamps at max: %v", got.V)
	}
	if got := s.Step(V(0.03), -1, false); got.V != 0 {
		t.Fatalf("steps down to greedy: %v", got.V)
	}
	if got := s.Step(V(0), -1, false); got.V != 0 {
		t.Fatalf("stays at min: %v", got.V)
	}
	// Off-grid values snap onto the grid.
	if got := s.Step(V(0.73), +1, false); got.V != 0.75 {
		t.Fatalf("0.73 + fine: %v", got.V)
	}
}

func TestStepLogAndFloor(t *testing.T) {
	k := spec(t, "top_k")
	if got := k.Step(V(-1), +1, false); got.V != 1 {
		t.Fatalf("off -> %v, want 1", got.V)
	}
	if got := k.Step(V(1), -1, false); got.V != -1 {
		t.Fatalf("1 -> %v, want off (-1)", got.V)
	}
	if got := k.Step(V(0), +1, false); got.V != 1 {
		t.Fatalf("0 (off) -> %v, want 1", got.V)
	}
	if got := k.Step(V(40), +1, true); got.V != 80 {
		t.Fatalf("coarse 40 -> %v, want 80", got.V)
	}
	v := V(1)
	seen := map[float64]bool{}
	for i := 0; i < 60; i++ {
		n := k.Step(v, +1, false)
		if n.V <= v.V && v.V < k.Max {
			t.Fatalf("fine step did not grow from %v", v.V)
		}
		if n.V != math.Round(n.V) {
			t.Fatalf("non-integer top_k %v", n.V)
		}
		seen[n.V] = true
		v = n
	}
	if v.V != 1000 {
		t.Fatalf("fine steps should reach max 1000, got %v", v.V)
	}
	m := spec(t, "max_tokens")
	if got := m.Step(Value{}, +1, false); got != V(1) {
		t.Fatalf("server default -> %+v", got)
	}
	if got := m.Step(V(1), -1, false); got.Set {
		t.Fatalf("1 -> %+v, want server default", got)
	}
	if got := m.Step(V(100), +1, false); got.V != 120 {
		t.Fatalf("100 fine -> %v, want 120 (2 significant digits)", got.V)
	}
}

func TestPosRoundTrip(t *testing.T) {
	for _, s := range Specs() {
		if s.Kind.IsList() || s.Key == "seed" {
			continue
		}
		for _, pos := range []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 1} {
			v := s.FromPos(pos)
			back := s.FromPos(s.Pos(v))
			if back != v {
				t.Errorf("%s: pos %v -> %+v -> pos %v -> %+v", s.Key, pos, v, s.Pos(v), back)
			}
		}
		if s.Pos(V(s.Max)) != 1 {
			t.Errorf("%s: max not at the right end", s.Key)
		}
		if got := s.FromPos(1); got.V != s.Max {
			t.Errorf("%s: right end gives %v", s.Key, got.V)
		}
		if s.Floor != "" {
			if s.Pos(s.floorValue()) != 0 || s.FromPos(0) != s.floorValue() {
				t.Errorf("%s: floor not at the left end", s.Key)
			}
		}
	}
	if got := spec(t, "top_p").FromPos(0.5).V; got != 0.5 && got != 0.51 {
		t.Errorf("top_p middle: %v", got)
	}
}

func TestPutGet(t *testing.T) {
	p, o := Default(), Options{}
	for _, s := range Specs() {
		if s.Kind.IsList() {
			continue
		}
		v := V(s.Min + 1)
		s.Put(&p, &o, v)
		if got := s.Get(p, o); got.V != s.Clamp(v).V && s.Kind == Int {
			t.Errorf("%s: put %v got %v", s.Key, v, got)
		}
	}
	seed, _ := Lookup("seed")
	seed.Put(&p, &o, Value{})
	if p.Seed != nil {
		t.Fatal("unset seed not nil")
	}
}

func TestParseTyped(t *testing.T) {
	if _, err := spec(t, "top_k").Parse("4.5"); err == nil {
		t.Fatal("4.5 accepted for top_k")
	}
	if _, err := spec(t, "temperature").Parse("NaN"); err == nil {
		t.Fatal("NaN accepted")
	}
	if v, err := spec(t, "seed").Parse("random"); err != nil || v.Set {
		t.Fatalf("random: %+v %v", v, err)
	}
	if v, err := spec(t, "top_k").Parse(" 40 "); err != nil || v.V != 40 {
		t.Fatalf("40: %+v %v", v, err)
	}
}

func TestRangeText(t *testing.T) {
	if got := spec(t, "temperature").RangeText(); got != "0.00 to 2.00; 0.00 = greedy" {
		t.Errorf("temperature: %q", got)
	}
	if got := spec(t, "top_k").RangeText(); got != "1 to 1000, log scale; -1 or 0 = off" {
		t.Errorf("top_k: %q", got)
	}
	if got := spec(t, "max_tokens").RangeText(); got != "1 to 8192, log scale; unset = server default" {
		t.Errorf("max_tokens: %q", got)
	}
}

// A label shortens a key by whole words or by the abbreviations chosen here, never by a
// word cut where the column ran out ("presence_pen").
func TestLabelsAreWholeWords(t *testing.T) {
	t.Parallel()
	abbrev := map[string]bool{"rep": true}
	for _, s := range Specs() {
		words := map[string]bool{}
		for _, w := range strings.FieldsFunc(s.Key+"_"+s.Flag, func(r rune) bool { return r == '_' || r == '-' }) {
			words[w] = true
		}
		for _, part := range strings.Split(s.Label, "_") {
			if words[part] || abbrev[part] {
				continue
			}
			for w := range words {
				if strings.HasPrefix(w, part) {
					t.Errorf("%s: label %q cuts %q to %q", s.Key, s.Label, w, part)
				}
			}
		}
	}
}

// The help line and the flag's usage append RangeText to Help: a word RangeText gives a
// value ("0.00 = greedy", "unset = random") is not said again in Help.
func TestHelpDoesNotRepeatRange(t *testing.T) {
	t.Parallel()
	for _, s := range Specs() {
		r := s.RangeText()
		words := []string{s.Floor}
		for _, sp := range s.Specials {
			words = append(words, sp.Word)
		}
		if s.Kind == Bool {
			words = append(words, "on or off")
		}
		for _, w := range words {
			if w == "" || !strings.Contains(r, w) {
				continue
			}
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).MatchString(s.Help) {
				t.Errorf("%s: help %q says %q, which the range %q says too", s.Key, s.Help, w, r)
				break
			}
		}
	}
}
