package backend

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Determinism is the verdict on re-running one request with the same seed: whether the
// runs drew the same samples and, if not, where they first parted and by how much the
// model preferred one token over the other there. A near-tie explains a flip (a tiny
// numerical difference tips it); a large gap points at the server (vLLM promises seeded
// reproducibility only with batch invariance on).
type Determinism struct {
	Runs int `json:"runs"`
	// Identical: every run drew the same samples: the same tokens (or, without logprobs,
	// the same text) and the same stop reasons. Null when a run did not finish, so the
	// runs cannot be compared; Note says which.
	Identical *bool `json:"identical"`
	// DifferingRuns counts the re-runs that differ from the first run.
	DifferingRuns int `json:"differing_runs"`
	// FirstDifference is the earliest position where any re-run differs from the first.
	FirstDifference *Divergence `json:"first_difference,omitempty"`
	// MaxLogprobDiff is the largest difference between the logprobs of the same token at
	// the same position, over the positions where the runs agree: above zero, the numbers
	// moved even where the choice did not. Null without logprobs.
	MaxLogprobDiff *float64 `json:"max_logprob_diff"`
	Note           string   `json:"note,omitempty"`
}

// Divergence is where a re-run first differs from the first run.
type Divergence struct {
	// Run is the re-run (run 0 is the first, the reference); Sample the sample index.
	Run    int `json:"run"`
	Sample int `json:"sample"`
	// Position is the token index, or the byte offset in the text when the runs carry no
	// tokens (no logprobs); Unit says which.
	Position int    `json:"position"`
	Unit     string `json:"unit"`
	// Tokens: what the first run and the re-run have there ("" where a sample had already
	// ended; a character when Unit is "byte").
	Tokens [2]string `json:"tokens"`
	// Logprobs: both tokens' logprobs at that position in one run's distribution (From:
	// the first run's alternatives when they hold the re-run's token, else the re-run's);
	// null where unknown.
	Logprobs [2]*float64 `json:"logprobs"`
	From     string      `json:"from,omitempty"`
	// Gap is |Logprobs[0] - Logprobs[1]|. GapAtLeast: the other token was outside the
	// returned top-K, so the gap is at least this (the least likely alternative returned
	// bounds it).
	Gap        *float64 `json:"logprob_gap"`
	GapAtLeast bool     `json:"gap_at_least,omitempty"`
	// StopReasons: how the two samples ended.
	StopReasons [2]StopReason `json:"stop_reasons"`
}

// CheckDeterminism compares runs of one request (the same parameters and seed), each
// run's samples against the first run's, sample by sample.
func CheckDeterminism(runs []SampleResponse) Determinism {
	d := Determinism{Runs: len(runs)}
	for r, run := range runs {
		for i, reason := range run.StopReason {
			if reason.Failed() || reason == "" {
				msg := string(reason)
				if reason == "" {
					msg = "no finish"
				}
				if i < len(run.Errors) && run.Errors[i] != nil {
					msg += ": " + run.Errors[i].Error()
				}
				d.Note = fmt.Sprintf("run %d, sample %d did not finish (%s), so the runs cannot be compared", r, i, msg)
				return d
			}
		}
	}
	identical := true
	maxDiff, haveDiff := 0.0, false
	for r := 1; r < len(runs); r++ {
		differs := false
		n := max(len(runs[0].StopReason), len(runs[r].StopReason))
		for i := range n {
			div, diff, ok := compareSample(runs[0], runs[r], r, i)
			if ok {
				haveDiff = true
				maxDiff = max(maxDiff, diff)
			}
			if div == nil {
				continue
			}
			differs = true
			if d.FirstDifference == nil || div.Position < d.FirstDifference.Position {
				d.FirstDifference = div
			}
		}
		if differs {
			identical = false
			d.DifferingRuns++
		}
	}
	d.Identical = &identical
	if haveDiff {
		d.MaxLogprobDiff = &maxDiff
	}
	return d
}

// compareSample compares sample i of the first run a and re-run b (run number r). It returns the divergence (nil when
// they agree), and the largest logprob difference over the positions they share before
// it (ok false when there were no logprobs to compare).
func compareSample(a, b SampleResponse, r, i int) (div *Divergence, maxDiff float64, ok bool) {
	reasons := [2]StopReason{at(a.StopReason, i), at(b.StopReason, i)}
	if a.Tokens != nil && b.Tokens != nil {
		ta, tb := at(a.Tokens, i), at(b.Tokens, i)
		j := 0
		for ; j < len(ta) && j < len(tb) && sameToken(&ta[j], &tb[j]); j++ {
			if ta[j].Logprob.Known() && tb[j].Logprob.Known() {
				maxDiff, ok = max(maxDiff, math.Abs(float64(ta[j].Logprob-tb[j].Logprob))), true
			}
		}
		if j == len(ta) && j == len(tb) && reasons[0] == reasons[1] {
			return nil, maxDiff, ok
		}
		div = &Divergence{Run: r, Sample: i, Position: j, Unit: "token", StopReasons: reasons}
		var tokA, tokB *Token
		if j < len(ta) {
			tokA = &ta[j]
			div.Tokens[0] = tokA.Text
		}
		if j < len(tb) {
			tokB = &tb[j]
			div.Tokens[1] = tokB.Text
		}
		div.gap(tokA, tokB)
		return div, maxDiff, ok
	}
	sa, sb := textOf(a, i), textOf(b, i)
	j := 0
	for j < len(sa) && j < len(sb) {
		ra, na := utf8.DecodeRuneInString(sa[j:])
		rb, nb := utf8.DecodeRuneInString(sb[j:])
		if ra != rb || na != nb {
			break
		}
		j += na
	}
	if j == len(sa) && j == len(sb) && reasons[0] == reasons[1] {
		return nil, 0, false
	}
	div = &Divergence{Run: r, Sample: i, Position: j, Unit: "byte", StopReasons: reasons}
	if j < len(sa) {
		_, n := utf8.DecodeRuneInString(sa[j:])
		div.Tokens[0] = sa[j : j+n]
	}
	if j < len(sb) {
		_, n := utf8.DecodeRuneInString(sb[j:])
		div.Tokens[1] = sb[j : j+n]
	}
	return div, 0, false
}

// gap fills Logprobs, From and Gap for tokens a (first run) and b (re-run) at the same
// position, reading both from one run's distribution.
func (d *Divergence) gap(a, b *Token) {
	if a == nil || b == nil {
		return
	}
	if lp, found := altLogprob(a.Top, b.Text); found && a.Logprob.Known() {
		d.set(float64(a.Logprob), lp, "run 0")
		return
	}
	if lp, found := altLogprob(b.Top, a.Text); found && b.Logprob.Known() {
		d.set(lp, float64(b.Logprob), fmt.Sprintf("run %d", d.Run))
		return
	}
	// The re-run's token is outside the first run's top-K: it is at most as likely as
	// the least likely alternative returned, which bounds the gap from below.
	if !a.Logprob.Known() {
		return
	}
	lowest, seen := math.Inf(1), false
	for _, alt := range a.Top {
		if alt.Logprob.Known() {
			lowest, seen = min(lowest, float64(alt.Logprob)), true
		}
	}
	lpA := float64(a.Logprob)
	d.Logprobs[0], d.From = &lpA, "run 0"
	if seen && lpA > lowest {
		g := lpA - lowest
		d.Gap, d.GapAtLeast = &g, true
	}
}

func (d *Divergence) set(lpA, lpB float64, from string) {
	g := math.Abs(lpA - lpB)
	d.Logprobs = [2]*float64{&lpA, &lpB}
	d.From, d.Gap = from, &g
}

// altLogprob finds text among the alternatives.
func altLogprob(top []Alt, text string) (float64, bool) {
	for _, a := range top {
		if a.Text == text && a.Logprob.Known() {
			return float64(a.Logprob), true
		}
	}
	return 0, false
}

// sameToken compares by id where both runs report one, else by text.
func sameToken(a, b *Token) bool {
	if a.ID != NoTokenID && b.ID != NoTokenID {
		return a.ID == b.ID && a.Text == b.Text
	}
	return a.Text == b.Text
}

func at[T any](s []T, i int) T {
	var zero T
	if i < 0 || i >= len(s) {
		return zero
	}
	return s[i]
}

// textOf is sample i's generated text: the last message of its trajectory.
func textOf(r SampleResponse, i int) string {
	if i >= len(r.Trajectories) {
		return ""
	}
	m := r.Trajectories[i].Messages
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1].Content
}
