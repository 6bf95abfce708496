package ui

import (
	"fmt"

	"github.com/twinkle-sh/twinkle/params"
)

// Caps are a server's upper bounds on one run (`twinkle serve`); zero means
// no cap. The sliders' ranges end at the caps, so what a remote viewer sees
// is what the server will send; the server enforces them again below the UI.
type Caps struct {
	MaxTokens int // max_tokens per sample; with a cap, "server default" is not offered
	Samples   int // n
	Logprobs  int // top-K per token (and per prompt token)
}

// NoticeMsg is a status line from outside the program, such as the SSH
// server's "waiting for the model: 2nd in line". It is shown like any
// status (sanitized, replacing the current one).
type NoticeMsg string

// capSpecs narrows the slider table to the caps. max_tokens loses its
// "server default" floor: a server's default could exceed the cap, so the
// cap itself is the default.
func capSpecs(specs []params.Spec, c Caps) []params.Spec {
	out := append([]params.Spec(nil), specs...)
	for i := range out {
		s := &out[i]
		switch {
		case s.Key == "max_tokens" && c.MaxTokens > 0:
			s.Max = min(s.Max, float64(c.MaxTokens))
			s.Nullable, s.Floor, s.Default = false, "", params.V(s.Max)
		case s.Key == "n" && c.Samples > 0:
			s.Max = min(s.Max, float64(c.Samples))
			s.Default = params.V(min(s.Default.V, s.Max))
		case s.Key == "logprobs" && c.Logprobs > 0:
			s.Max = min(s.Max, float64(c.Logprobs))
			s.Default = params.V(min(s.Default.V, s.Max))
		}
	}
	return out
}

// applyCaps narrows the panel to c and brings its values inside.
func (pp *paramPanel) applyCaps(c Caps) {
	if c == (Caps{}) {
		return
	}
	pp.capped = true
	pp.specs = capSpecs(pp.specs, c)
	pp.clampToCaps()
}

// clampToCaps brings every value inside the capped ranges (after the caps
// are applied, and after a reset to the playground's defaults).
func (pp *paramPanel) clampToCaps() {
	if !pp.capped {
		return
	}
	for i, s := range pp.specs {
		if s.Kind == params.StopList || s.Key == "seed" {
			continue
		}
		switch v := pp.Value(i); {
		case !v.Set && !s.Nullable:
			s.Put(&pp.P, &pp.O, s.Default)
		case v.Set && v.V > s.Max:
			s.Put(&pp.P, &pp.O, params.V(s.Max))
		}
	}
	pp.revalidate()
}

// capProblems marks a typed value above a server's cap, which the server
// would refuse.
func (pp *paramPanel) capProblems() {
	if !pp.capped {
		return
	}
	for i, s := range pp.specs {
		if s.Kind == params.StopList || s.Key == "seed" {
			continue
		}
		if v := pp.Value(i); v.Set && v.V > s.Max {
			if _, dup := pp.problems[s.Key]; !dup {
				pp.problems[s.Key] = fmt.Sprintf("this server allows at most %s", s.FormatNumber(s.Max))
			}
		}
	}
}
