package backend_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
)

// Added a few tokens at a time, RunningStats says what StatsOf says of them all.
func TestRunningStatsIsStatsOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var toks []backend.Token
	for i := range 300 {
		tk := backend.Token{Text: "x", Logprob: backend.Logprob(-rng.Float64() * 4)}
		switch i % 11 {
		case 3:
			tk.Logprob = -9999 // vLLM's unknown
		case 5:
			tk.Logprob = backend.Logprob(-rng.Float64() * 1e-3)
		}
		for k := range rng.IntN(6) {
			tk.Top = append(tk.Top, backend.Alt{Text: string(rune('a' + k)), Logprob: backend.Logprob(-rng.Float64() * 5)})
		}
		toks = append(toks, tk)
	}
	var r backend.RunningStats
	for at := 0; at < len(toks); {
		n := min(len(toks)-at, 1+rng.IntN(9))
		r.Add(toks[at : at+n])
		at += n
		want := backend.StatsOf(toks[:at])
		want.Parts = nil
		if got := r.Stats(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %d tokens: %+v, want %+v", at, got, want)
		}
	}
	if (&backend.RunningStats{}).Stats().MeanLogprob != nil {
		t.Error("no tokens, yet a mean")
	}
}
