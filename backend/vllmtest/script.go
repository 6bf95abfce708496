package vllmtest

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Tok is one scripted token: the sampled text, its logprob and id, and the other
// candidates at that position (Alts, in any order; the server sends them as vLLM does:
// the sampled token first, so the list is often unsorted).
//
// Text (here and in Alt) is the token's bytes, which need not be a whole character: the
// server reports them as vLLM does, decoded alone ("\ufffd" for part of a character), and
// builds the content from the bytes, holding a character back until it is whole.
type Tok struct {
	Text    string
	Logprob float64
	ID      int
	Alts    []Alt
}

// Alt is a candidate token that was not sampled.
type Alt struct {
	Text    string
	Logprob float64
}

// Sample is what one choice index streams.
type Sample struct {
	Tokens []Tok
	// Finish is the finish_reason sent at the end ("stop", "length", "abort", ...). Empty:
	// no finish chunk is sent for this choice.
	Finish string
	// StopReason is vLLM's stop_reason on the final chunk (absent if not Present).
	StopReason wire.StopReason
	// Hidden is how many trailing tokens appear in the logprobs but not in the content, as
	// a matched stop string's tokens do in vLLM.
	Hidden int
	// Thinking makes this a reasoning model's sample (see reasoning.go): its first
	// Thinking tokens are the thinking, and the token after them, when there is one, is
	// the end-of-thinking token; the rest is the answer. 0: no thinking.
	Thinking int
}

// Shape is how an error is written.
type Shape int

const (
	// ShapeNested is vLLM's current {"error":{...}}, as a body or as a data event.
	ShapeNested Shape = iota
	// ShapeFlat is the pre-v0.10.1 {"object":"error","message":...}.
	ShapeFlat
	// ShapeEvent is "event: error" followed by a data line (in-band only).
	ShapeEvent
)

// Fault is what goes wrong with one request.
type Fault struct {
	// Status, when not 0 or 200, answers with this status and an error body of
	// ErrorShape carrying Message, Type and Param (no stream at all).
	Status     int
	ErrorShape Shape
	Message    string
	Type       string
	Param      *string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string

	// InBandAt >= 0 sends an in-band error (InBandShape, code InBandCode, Message) before
	// the InBandAt-th token chunk (0: as the very first event), then [DONE]. -1: none.
	InBandAt    int
	InBandShape Shape
	InBandCode  int

	// DropAt >= 0 cuts the TCP connection abruptly before the DropAt-th token chunk. -1: never.
	DropAt int
	// CloseAt >= 0 ends the response cleanly before the CloseAt-th token chunk, without
	// finish reasons or [DONE]. -1: never.
	CloseAt int
	// StallAt >= 0 stops sending before the StallAt-th token chunk, for StallFor (0: until
	// the client disconnects), sending a keep-alive comment every StallKeepAlive if set.
	StallAt        int
	StallFor       time.Duration
	StallKeepAlive time.Duration
	// NoDone omits the final "data: [DONE]".
	NoDone bool
	// SlowBytes writes the stream one byte at a time with this pause between bytes.
	SlowBytes time.Duration
	// KeepAlives is how many keep-alive comments to send before every event (a flood).
	KeepAlives int
	// HeaderDelay delays the response headers (for first-token timeouts).
	HeaderDelay time.Duration
}

// NoFault is a Fault that does nothing (the -1s matter: 0 means "at the first chunk").
func NoFault() Fault { return Fault{InBandAt: -1, DropAt: -1, CloseAt: -1, StallAt: -1} }

// Script decides one request's answer. The zero Script generates samples from the
// request (see Generate) with no fault.
type Script struct {
	// Samples, when not nil, replace the generated ones; index i is choice i.
	Samples []Sample
	// Fault to inject; nil for none.
	Fault *Fault
	// TokensPerChunk groups this many tokens into one chunk (vLLM's stream_interval;
	// several logprob entries in one chunk). 0 means 1.
	TokensPerChunk int
	// TextLag holds the content back by this many tokens (as vLLM holds back text that may
	// start a stop string), flushing it with the last token chunk.
	TextLag int
	// ReasoningContent sends a reasoning model's thinking as "reasoning_content", as
	// older vLLM did, instead of "reasoning".
	ReasoningContent bool
}

var words = strings.Fields(`Once upon a time there was a small fox who lived near the river and
every morning it walked along the bank looking for shiny stones that the water had brought
down from the hills where the old stories said a dragon slept beneath the snow`)

// Generate builds deterministic samples for a request: sample i is drawn from a PRNG
// seeded with seed+i (vLLM's rule), so any one sample can be re-run alone; with no seed,
// seed 0 is used. Each has maxTokens tokens (16 when nil). Sample i ends with: a stop
// string (the first of stop, stop_reason that string, its token hidden) when stop strings
// were given and i is odd; a stop token id (stop_reason the id) when stop ids were given
// and i%3 == 2; EOS (finish "stop", stop_reason null) when i%3 == 1; else "length".
func Generate(n int, seed *int64, maxTokens *int, stop []string, stopIDs []int) []Sample {
	m := 16
	if maxTokens != nil {
		m = *maxTokens
	}
	var base int64
	if seed != nil {
		base = *seed
	}
	out := make([]Sample, n)
	for i := range out {
		rng := rand.New(rand.NewPCG(uint64(base+int64(i)), 0x7417))
		// The alternatives' shares come from a stream of their own, so the
		// words and the sampled logprobs stay what they always were.
		shares := rand.New(rand.NewPCG(uint64(base+int64(i)), 0x5a4e))
		s := Sample{Finish: "length", StopReason: wire.StopNull()}
		count := m
		switch {
		case len(stop) > 0 && i%2 == 1 && m >= 2:
			count = m/2 + 1
			s.Finish, s.StopReason, s.Hidden = "stop", wire.StopString(stop[0]), 1
		case len(stopIDs) > 0 && i%3 == 2 && m >= 2:
			count = m/2 + 1
			s.Finish, s.StopReason = "stop", wire.StopToken(stopIDs[0])
		case i%3 == 1 && m >= 2:
			count = m/2 + 1
			s.Finish = "stop"
		}
		for t := 0; t < count; t++ {
			w := rng.IntN(len(words))
			tok := Tok{Text: " " + words[w], ID: 1000 + w, Logprob: -0.05 - 3*rng.Float64()}
			if t == count-1 && s.Hidden > 0 {
				tok.Text = stop[0]
			}
			// The alternatives share part of what the sampled token leaves, so the
			// top-K is one distribution (it sums below 1), as a real model's is.
			rest := (1 - math.Exp(tok.Logprob)) * (0.3 + 0.6*shares.Float64())
			var weights [6]float64
			sum := 0.0
			for a := range weights {
				weights[a] = math.Exp(-5 * shares.Float64())
				_ = rng.Float64() // what an alternative once drew, so the words stay the same
				sum += weights[a]
			}
			for a := 0; a < 6; a++ {
				aw := (w + 1 + a*7) % len(words)
				tok.Alts = append(tok.Alts, Alt{Text: " " + words[aw] + strings.Repeat("s", a%2), Logprob: math.Log(rest * weights[a] / sum)})
			}
			s.Tokens = append(s.Tokens, tok)
		}
		out[i] = s
	}
	return out
}
