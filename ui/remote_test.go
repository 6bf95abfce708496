package ui

import (
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/params"
)

// A server's caps are where the sliders end: the range text says so, stepping
// stops there, a typed value above is refused before sending, and max_tokens
// offers no "server default" (which could exceed the cap).
func TestCapsNarrowTheSliders(t *testing.T) {
	n, lp, mt := 16, 20, 4096
	p := params.Default()
	p.MaxTokens = &mt
	m := New(Config{Sampler: &fakeSampler{}, Params: p, Options: params.Options{N: n, Logprobs: &lp}, IsDark: true,
		Caps: Caps{MaxTokens: 512, Samples: 4, Logprobs: 5}})
	m.Update(windowSize(160, 50))
	pp := m.panel
	if *pp.P.MaxTokens != 512 || pp.O.N != 4 || *pp.O.Logprobs != 5 {
		t.Fatalf("values not brought under the caps: max_tokens %d n %d logprobs %d", *pp.P.MaxTokens, pp.O.N, *pp.O.Logprobs)
	}
	row := func(key string) int {
		for i, s := range pp.specs {
			if s.Key == key {
				return i
			}
		}
		t.Fatalf("no row %s", key)
		return -1
	}
	pp.Select(row("max_tokens"))
	if screen := plainScreen(m); !strings.Contains(screen, "1 to 512") || strings.Contains(screen, "8192") {
		t.Fatalf("max_tokens range does not show the cap:\n%s", screen)
	}
	pp.Step(1, true)
	if *pp.P.MaxTokens != 512 {
		t.Fatalf("stepped past the cap to %d", *pp.P.MaxTokens)
	}
	for range 40 {
		pp.Step(-1, true)
	}
	if pp.P.MaxTokens == nil || *pp.P.MaxTokens != 1 {
		t.Fatalf("max_tokens stepped to %v: the server default is not on offer under a cap", pp.P.MaxTokens)
	}
	pp.ResetAll() // the playground's defaults (256 tokens, 4 samples, top-5) fit these caps
	if pp.P.MaxTokens == nil || *pp.P.MaxTokens != 256 || pp.O.N != 4 || *pp.O.Logprobs != 5 {
		t.Fatalf("reset went outside the caps: %v %d %d", pp.P.MaxTokens, pp.O.N, *pp.O.Logprobs)
	}
	pp.Select(row("n"))
	pp.StartEdit("9")
	pp.CommitEdit()
	if err := pp.Invalid(); err == nil || !strings.Contains(err.Error(), "at most 4") {
		t.Fatalf("typed n=9 over a cap of 4: %v", err)
	}
}

func TestNoCapsLeaveTheTableAlone(t *testing.T) {
	m := New(Config{Sampler: &fakeSampler{}, Params: params.Default(), IsDark: true})
	for i, s := range params.MainSpecs() {
		if got := m.panel.specs[i]; got.Max != s.Max || got.Nullable != s.Nullable {
			t.Fatalf("%s changed without caps", s.Key)
		}
	}
}

func TestNoticeShowsInTheStatusLine(t *testing.T) {
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.Update(NoticeMsg("waiting for the model: 2nd in line\x1b]0;x\a"))
	if m.status == "" || strings.ContainsRune(m.status, 0x1b) || !strings.Contains(plainScreen(m), "2nd in line") {
		t.Fatalf("status %q", m.status)
	}
}

// A reset to the playground's defaults stays inside caps tighter than them.
func TestResetStaysUnderTightCaps(t *testing.T) {
	m := New(Config{Sampler: &fakeSampler{}, Params: params.Default(), Options: params.Options{N: 1}, IsDark: true,
		Caps: Caps{MaxTokens: 64, Samples: 2, Logprobs: 3}})
	m.panel.ResetAll()
	if pp := m.panel; pp.P.MaxTokens == nil || *pp.P.MaxTokens != 64 || pp.O.N != 2 || *pp.O.Logprobs != 3 {
		t.Fatalf("reset went outside the caps: %v %d %v", pp.P.MaxTokens, pp.O.N, pp.O.Logprobs)
	}
}
