package vllmtest

import (
	"context"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// The reasoning model is served as vLLM serves a Qwen3-style hybrid model behind
// `--reasoning-parser`: it thinks first, then writes the end-of-thinking token, then
// answers. In chat, the thinking streams as the delta's "reasoning" (Script's
// ReasoningContent: "reasoning_content", as older vLLM sent it), the answer as
// "content", and the end-of-thinking token appears in the logprobs only, alone in a
// chunk with an empty delta ({}) or, when a chunk carries several tokens, in the chunk
// that holds both the last of the thinking and the first of the answer ("content" null
// when no answer text came with it). A non-streamed message carries both fields, its
// content null when there is no answer. With max_tokens too small the sample stops
// while still thinking: finish_reason "length" and no content at all. The completions
// endpoint has no parser: its text is everything, "</think>" included.
//
// The request's switches act as on such a model: chat_template_kwargs
// {"enable_thinking": false} (or reasoning_effort "none") turns the thinking off, and
// reasoning_effort low, medium (as when unset) or high makes it shorter or longer.

// ReasoningModel is the name that gets the reasoning model; a request naming any other
// model gets the plain one.
const ReasoningModel = "twinkle-test/tiny-reasoning"

// EndOfThinking is the end-of-thinking token's text and id (Qwen3's).
const (
	EndOfThinking   = "</think>"
	EndOfThinkingID = 151668
)

// IsReasoningModel reports whether model is served as the reasoning model.
func IsReasoningModel(model string) bool { return model == ReasoningModel }

// NewReasoningHandler is NewHandler listing the reasoning model first, so a client that
// takes the server's first model gets it.
func NewReasoningHandler() *Server {
	s := NewHandler()
	s.Models = append([]string{ReasoningModel}, s.Models...)
	return s
}

// ServeReasoning is Serve with NewReasoningHandler (`twinkle testserver --reasoning`).
func ServeReasoning(ctx context.Context, ln net.Listener) error {
	return serve(ctx, ln, NewReasoningHandler())
}

// servedWithParser reports a chat model behind a reasoning parser: the reasoning model,
// or scripted samples that think.
func servedWithParser(model string, samples []Sample) bool {
	if IsReasoningModel(model) {
		return true
	}
	for _, s := range samples {
		if s.Thinking > 0 {
			return true
		}
	}
	return false
}

// Thinking is what a request asks of the reasoning model's thinking.
type Thinking struct {
	// Off: chat_template_kwargs {"enable_thinking": false}, or reasoning_effort "none".
	Off bool
	// Effort is reasoning_effort ("" when unset).
	Effort string
}

func thinkingAsked(r *wire.Request) Thinking {
	var t Thinking
	if on, ok := r.ChatTemplateKwargs["enable_thinking"].(bool); ok && !on {
		t.Off = true
	}
	if r.ReasoningEffort != nil {
		t.Effort = *r.ReasoningEffort
		// vLLM turns the template's thinking off for "none" unless the request says.
		if _, said := r.ChatTemplateKwargs["enable_thinking"]; t.Effort == "none" && !said {
			t.Off = true
		}
	}
	return t
}

var thoughts = strings.Fields(`Okay so the user wants a short story about a fox and a river
let me think about what happens first maybe the fox finds a stone then it walks home`)

// GenerateReasoning builds the reasoning model's samples as Generate builds the plain
// model's (sample i seeded with seed+i): sample i thinks for 6+i%3 tokens (3+i%3 at
// effort low, 12+i%3 at high), writes EndOfThinking, then answers in 6 tokens ("\n\n"
// and five words) and stops at EOS. When maxTokens (16 when nil) cuts it short it ends
// with "length", while still thinking if the cut comes before EndOfThinking. With the
// thinking off it answers at once in five words, with no EndOfThinking. Stop strings and
// stop token ids are checked but not applied.
func GenerateReasoning(n int, seed *int64, maxTokens *int, t Thinking) []Sample {
	m := 16
	if maxTokens != nil {
		m = *maxTokens
	}
	var base int64
	if seed != nil {
		base = *seed
	}
	think := 6
	switch t.Effort {
	case "low", "minimal":
		think = 3
	case "high", "xhigh", "max":
		think = 12
	}
	out := make([]Sample, n)
	for i := range out {
		rng := rand.New(rand.NewPCG(uint64(base+int64(i)), 0x7418))
		alts := func(from []string, w int) []Alt {
			var as []Alt
			for a := 0; a < 6; a++ {
				as = append(as, Alt{Text: " " + from[(w+1+a*5)%len(from)] + strings.Repeat("s", a%2), Logprob: -0.1 - 5*rng.Float64()})
			}
			return as
		}
		var toks []Tok
		s := Sample{StopReason: wire.StopNull()}
		if !t.Off {
			s.Thinking = think + i%3
			for k := 0; k < s.Thinking; k++ {
				w := rng.IntN(len(thoughts))
				if k == 0 {
					w = 0 // "Okay", as such models start
				}
				text := " " + thoughts[w]
				if k == 0 {
					text = thoughts[w]
				}
				toks = append(toks, Tok{Text: text, ID: 5000 + w, Logprob: -0.05 - 2*rng.Float64(), Alts: alts(thoughts, w)})
			}
			toks = append(toks, Tok{Text: EndOfThinking, ID: EndOfThinkingID, Logprob: -0.02 - 0.5*rng.Float64(),
				Alts: []Alt{{Text: "\n", Logprob: -3.5}, {Text: " So", Logprob: -4.25}}})
		}
		if !t.Off {
			// The template writes the thinking block into the prompt when it is off.
			toks = append(toks, Tok{Text: "\n\n", ID: 271, Logprob: -0.01, Alts: []Alt{{Text: "\n", Logprob: -5}}})
		}
		for k := 0; k < 5; k++ {
			w := rng.IntN(len(words))
			toks = append(toks, Tok{Text: " " + words[w], ID: 1000 + w, Logprob: -0.05 - 3*rng.Float64(), Alts: alts(words, w)})
		}
		s.Finish = "stop"
		if len(toks) > m {
			toks, s.Finish = toks[:m], "length"
			s.Thinking = min(s.Thinking, m)
		}
		s.Tokens = toks
		out[i] = s
	}
	return out
}

// parts splits the text of a sample's tokens [from, to) into thinking and answer,
// leaving out the end-of-thinking token, as vLLM's parser does.
func parts(s Sample, from, to int) (thinking, answer string) {
	if s.Thinking == 0 {
		return "", textBetween(s.Tokens, from, to)
	}
	end := s.Thinking // the end-of-thinking token's index, when the sample has one
	if from < end {
		thinking = textBetween(s.Tokens, from, min(to, end))
	}
	if to > end+1 {
		answer = textBetween(s.Tokens, max(from, end+1), to)
	}
	return thinking, answer
}

// textUpTo is how far the text of a chunk holding tokens [start, end) reaches, given
// the scripted lag would take it to upto: a chunk that holds the end-of-thinking token
// reaches past it, since vLLM's parser finds the end in the text (what is held back for
// the stop strings is then the answer's).
func textUpTo(s Sample, start, end, upto int) int {
	if endAt := s.Thinking; s.Thinking > 0 && endAt < len(s.Tokens) && start <= endAt && endAt < end {
		return max(upto, min(endAt+1, visible(s)))
	}
	return upto
}

// delta is the chat delta for a chunk holding tokens [start, end) and the text of
// tokens [textFrom, textTo), as vLLM's reasoning parser makes it: the keys it sets and
// no others.
func (g *gen) delta(s Sample, start, end, textFrom, textTo int) wire.Delta {
	thinking, answer := parts(s, textFrom, textTo)
	if s.Thinking == 0 {
		return wire.Delta{Content: wire.Some(answer)}
	}
	var d wire.Delta
	setThinking := func(text string) {
		if g.sc.ReasoningContent {
			d.ReasoningContent = wire.Some(text)
		} else {
			d.Reasoning = wire.Some(text)
		}
	}
	endAt := s.Thinking
	ended := endAt < len(s.Tokens)
	switch {
	case ended && start <= endAt && endAt < end:
		// The chunk crosses from thinking to answer.
		if end-start == 1 && thinking == "" && answer == "" {
			return d // the end-of-thinking token alone: {}
		}
		setThinking(thinking)
		d.Content = wire.Null[string]()
		if answer != "" {
			d.Content = wire.Some(answer)
		}
	case start == end && !ended, start < end && end <= endAt:
		// Thinking tokens, or the final chunk of a sample cut off while thinking.
		setThinking(thinking)
	default:
		if thinking != "" {
			setThinking(thinking) // thinking text held back until now
		}
		d.Content = wire.Some(answer)
	}
	return d
}

// message is a non-streamed choice's message: the answer, and the thinking in the
// reasoning field (null without a parser), content null when there is no answer.
func (g *gen) message(s Sample) wire.ChatMessage {
	thinking, answer := parts(s, 0, visible(s))
	m := wire.ChatMessage{Role: "assistant", Content: wire.Some(answer)}
	reasoning := wire.Null[string]()
	if g.parser {
		if s.Thinking > 0 {
			reasoning = wire.Some(thinking)
		}
		if answer == "" {
			m.Content = wire.Null[string]()
		}
	}
	if g.sc.ReasoningContent {
		m.ReasoningContent = reasoning
	} else {
		m.Reasoning = reasoning
	}
	return m
}

// usage is the usage object: with a reasoning parser, newer vLLM adds how many of the
// completion tokens were thinking.
func (g *gen) usage(prompt, completion int) *wire.Usage {
	u := &wire.Usage{PromptTokens: prompt, TotalTokens: prompt + completion, CompletionTokens: completion}
	if g.parser {
		n := 0
		for _, s := range g.samples {
			n += min(s.Thinking, len(s.Tokens))
		}
		u.CompletionTokensDetails = &wire.CompletionTokensDetails{ReasoningTokens: n}
	}
	return u
}
