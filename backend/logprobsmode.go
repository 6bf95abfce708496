package backend

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/twinkle-sh/twinkle/params"
)

// LogprobsMode is vLLM's --logprobs-mode: which distribution a server's logprobs come
// from. The API does not report it, so the user says which (config, flag) and the
// numbers are read as that.
type LogprobsMode string

// vLLM's four modes. Raw values come from the model's logits as they are; processed ones
// from the logits the token was drawn from: after bad words, min_tokens, logit bias and
// the penalties, and, unless greedy, after temperature, min-p, top-k and top-p (a token
// cut there has minus infinity, which vLLM writes -9999). Prompt tokens are never
// sampled: their values are raw in every mode (logits in the two logits modes).
const (
	RawLogprobs       LogprobsMode = "raw_logprobs" // vLLM's default
	RawLogits         LogprobsMode = "raw_logits"
	ProcessedLogprobs LogprobsMode = "processed_logprobs"
	ProcessedLogits   LogprobsMode = "processed_logits"
)

// LogprobsModes are the four, in vLLM's order.
var LogprobsModes = []LogprobsMode{RawLogprobs, RawLogits, ProcessedLogprobs, ProcessedLogits}

// ParseLogprobsMode reads a mode as vLLM's flag takes it; "" is vLLM's default.
func ParseLogprobsMode(s string) (LogprobsMode, error) {
	if s == "" {
		return RawLogprobs, nil
	}
	if m := LogprobsMode(s); slices.Contains(LogprobsModes, m) {
		return m, nil
	}
	return "", fmt.Errorf("%q is not a logprobs mode: want raw_logprobs (vLLM's default), raw_logits, processed_logprobs or processed_logits", s)
}

// OrDefault is m, or vLLM's default when m is empty.
func (m LogprobsMode) OrDefault() LogprobsMode {
	if m == "" {
		return RawLogprobs
	}
	return m
}

// Processed reports whether the values come after the sampler's processing.
func (m LogprobsMode) Processed() bool { return m == ProcessedLogprobs || m == ProcessedLogits }

// Logits reports whether the values are logits rather than log-probabilities.
func (m LogprobsMode) Logits() bool { return m == RawLogits || m == ProcessedLogits }

// Describe says in a few words which distribution the numbers are, for a legend.
func (m LogprobsMode) Describe() string {
	switch m.OrDefault() {
	case RawLogits:
		return "raw logits (the model's, before any sampling step; not probabilities)"
	case ProcessedLogprobs:
		return "processed logprobs (the distribution drawn from: after penalties, temperature, min-p, top-k and top-p)"
	case ProcessedLogits:
		return "processed logits (after penalties, temperature, min-p, top-k and top-p; not probabilities)"
	}
	return "raw logprobs (the model's, before temperature, penalties and top-k/top-p/min-p)"
}

// LogprobsCheck is one request's samples, for CheckLogprobs.
type LogprobsCheck struct {
	Params   params.SamplingParams
	Advanced params.Advanced
	// Samples holds each sample's generated tokens.
	Samples [][]Token
}

// CheckLogprobs looks at a run's logprobs for values that the mode claimed cannot give,
// and for samples whose every logprob is exactly 0.0 (some servers return that with
// speculative decoding). It returns notes in words for a person: at most one about the
// mode (the first evidence found) and one about zeros, however many requests and
// samples show them; none when all is consistent.
//
// The checks only speak on evidence: a logprob above 0; probabilities adding up past 1;
// -9999 (minus infinity) among raw values; processed values that keep more tokens than
// top_k, keep one below min_p, or whose kept set does not add up to 1; and, with a
// temperature other than 1, processed values under which the samples picked the most
// likely token far more (or less) often than those values predict, as raw ones do.
func CheckLogprobs(mode LogprobsMode, reqs []LogprobsCheck) []string {
	mode = mode.OrDefault()
	found := map[string]string{}
	var order []string
	say := func(kind, text string) {
		if kind != "zero" {
			kind = "mode" // one mismatch is enough to say the values are not what was claimed
		}
		if _, ok := found[kind]; !ok {
			found[kind] = text
			order = append(order, kind)
		}
	}
	zero, total := 0, 0
	for _, r := range reqs {
		checkRequest(mode, r, say)
		for _, s := range r.Samples {
			if len(s) == 0 {
				continue
			}
			total++
			if allZero(mode, s) {
				zero++
			}
		}
	}
	if zero > 0 {
		say("zero", fmt.Sprintf("every logprob of %d of the %d samples is exactly 0.0: some servers return that with speculative decoding, so these numbers are probably not the model's", zero, total))
	}
	notes := make([]string, len(order))
	for i, k := range order {
		notes[i] = found[k]
	}
	return notes
}

// position is one generated token's values as CheckLogprobs reads them.
type position struct {
	sampled Logprob
	known   []float64 // the alternatives' known values, highest first
	unknown int       // alternatives given as -9999 or not at all
}

func positionOf(t Token) position {
	p := position{sampled: t.Logprob}
	for _, a := range t.Top {
		if a.Logprob.Known() {
			p.known = append(p.known, float64(a.Logprob))
		} else {
			p.unknown++
		}
	}
	if len(t.Top) == 0 && t.Logprob.Known() {
		p.known = []float64{float64(t.Logprob)}
	}
	slices.SortFunc(p.known, func(a, b float64) int { return -cmp.Compare(a, b) })
	return p
}

// mass is the probability the known values hold together.
func (p position) mass() float64 {
	var m float64
	for _, v := range p.known {
		m += math.Exp(v)
	}
	return m
}

func checkRequest(mode LogprobsMode, r LogprobsCheck, say func(kind, text string)) {
	var ps []position
	for _, s := range r.Samples {
		for _, t := range s {
			if t.Logprob.Known() || len(t.Top) > 0 {
				ps = append(ps, positionOf(t))
			}
		}
	}
	if len(ps) == 0 {
		return
	}
	claim := string(mode)
	if mode.Logits() {
		checkLogitsClaim(claim, ps, say)
		return
	}
	// Logprobs are never above 0, and a distribution's pieces never add up past 1.
	for _, p := range ps {
		top := math.Inf(-1)
		if len(p.known) > 0 {
			top = p.known[0]
		}
		if p.sampled.Known() {
			top = math.Max(top, float64(p.sampled))
		}
		if top > 1e-3 || p.mass() > 1.02 {
			say("logits", fmt.Sprintf("the server's logprobs include values that no logprob can take (above 0, or adding up past probability 1): they look like logits, as --logprobs-mode raw_logits or processed_logits gives, not %s", claim))
			return
		}
	}
	if !mode.Processed() {
		for _, p := range ps {
			if p.unknown > 0 && p.sampled.Known() && len(p.known) > 0 {
				say("cut", fmt.Sprintf("some alternatives came as -9999 (minus infinity), which raw logprobs never are: these look like processed logprobs (--logprobs-mode processed_logprobs), not %s", claim))
				break
			}
		}
		return
	}
	if r.Params.IsGreedy() {
		return // greedy's processed values are the penalised logits: nothing is cut
	}
	checkProcessed(claim, r, ps, say)
}

// checkLogitsClaim: logits are not probabilities; values that are all at most 0 and
// never add up past 1, token after token, look like logprobs.
func checkLogitsClaim(claim string, ps []position, say func(kind, text string)) {
	const enough = 5
	if len(ps) < enough {
		return
	}
	for _, p := range ps {
		if p.sampled.Known() && p.sampled > 0 || len(p.known) > 0 && p.known[0] > 0 || p.mass() > 1.001 {
			return
		}
	}
	say("logprobs", fmt.Sprintf("the values are all at most 0 and never add up past probability 1, at each of %d tokens: they look like logprobs, not %s", len(ps), claim))
}

// checkProcessed holds processed logprobs to what the sampler does: top-k keeps at most
// k tokens (more only on a tie), min-p keeps none below min_p times the top one, and
// what is kept adds up to 1 (when a -9999 shows the list reached past the kept set).
func checkProcessed(claim string, r LogprobsCheck, ps []position, say func(kind, text string)) {
	k, minP := r.Params.TopK, r.Advanced.MinP
	const slack = 1e-3 // logprobs are float32, rounded again on the wire
	for _, p := range ps {
		n := len(p.known)
		switch {
		case k > 0 && n > k && p.known[k] < p.known[k-1]-slack:
			say("topk", fmt.Sprintf("with top_k %d, a token has %d alternatives with a probability above 0: processed logprobs keep at most %d, so these look like raw logprobs, not %s", k, n, k, claim))
		case minP > 0 && n > 1 && p.known[n-1] < p.known[0]+math.Log(minP)-slack:
			say("minp", fmt.Sprintf("with min_p %g, a token has an alternative below min_p times the most likely one: processed logprobs have none, so these look like raw logprobs, not %s", minP, claim))
		case p.unknown > 0 && n > 0:
			if m := p.mass(); m < 0.98 {
				say("mass", fmt.Sprintf("the tokens the sampler kept add up to probability %.2f, not 1: processed logprobs are renormalised after top-k/top-p/min-p, so these look like raw logprobs, not %s", m, claim))
			}
		}
	}
	checkCalibration(claim, r.Params.Temperature, ps, say)
}

// checkCalibration: drawn from the distribution the processed values describe, a sample
// picks the most likely token at each position with the probability those values give
// it. Raw values at a temperature below 1 under-predict that (above 1, over-predict it),
// by many standard deviations over enough tokens.
func checkCalibration(claim string, temperature float64, ps []position, say func(kind, text string)) {
	if temperature == 1 {
		return
	}
	var expect, variance float64
	picked, n := 0, 0
	for _, p := range ps {
		if len(p.known) == 0 || !p.sampled.Known() {
			continue
		}
		p1 := math.Min(1, math.Exp(p.known[0]))
		expect += p1
		variance += p1 * (1 - p1)
		n++
		if float64(p.sampled) >= p.known[0]-1e-6 {
			picked++
		}
	}
	const minTokens, sigmas = 30, 5
	diff := float64(picked) - expect
	if n < minTokens || math.Abs(diff) < 3 || math.Abs(diff) < sigmas*math.Sqrt(variance) {
		return
	}
	say("calibration", fmt.Sprintf("the samples picked the most likely token %d times in %d where these values predict %.0f ± %.0f: at temperature %g that is what raw logprobs show, so these look raw, not %s",
		picked, n, expect, math.Sqrt(variance), temperature, claim))
}

// allZero reports whether every logprob of a sample is exactly 0.0 where that is not
// what the mode gives: a processed distribution may keep one token (top_k 1, a small
// top_p), so there only a 0.0 beside another kept token counts.
func allZero(mode LogprobsMode, s []Token) bool {
	contradicted := false
	for _, t := range s {
		if !t.Logprob.Known() || t.Logprob != 0 {
			return false
		}
		for _, a := range t.Top {
			// Another token holding real probability beside a certain one: the 0.0 is false.
			if a.Logprob.Known() && a.Logprob > -10 && a.Text != t.Text {
				contradicted = true
			}
		}
	}
	if mode == ProcessedLogprobs {
		return contradicted
	}
	return contradicted || len(s) >= 2
}
