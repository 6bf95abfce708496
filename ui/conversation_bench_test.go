package ui

import (
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// benchConversation is a 200x60 chat playground holding a 40-turn
// conversation whose assistant turns are kept samples of 200 tokens.
func benchConversation(b *testing.B) *Model {
	m := newTestModel(b, &fakeSampler{}, 200, 60)
	m.api = params.Chat
	var msgs []backend.Message
	for i := range 40 {
		msgs = append(msgs, backend.Message{Role: "user", Content: "question " + strings.Repeat("word ", 30)})
		_ = i
	}
	m.convo.setMessages("You are terse.", "", msgs)
	for i := 2; i < len(m.convo.turns); i += 2 {
		var text strings.Builder
		toks := make([]backend.Token, 200)
		for k := range toks {
			w := " " + benchWords[(i+k)%len(benchWords)]
			toks[k] = tok(w, -0.3)
			toks[k].Place = &backend.Place{Kind: backend.InText, Start: text.Len(), End: text.Len() + len(w)}
			text.WriteString(w)
		}
		ks := keptSample{Content: text.String(), Tokens: toks, Sample: 0}
		m.convo.turns[i] = convoTurn{Role: "assistant", Content: ks.Content, Kept: &ks}
	}
	m.convo.changed()
	m.focus = focusSamples
	m.relayout()
	return m
}

// BenchmarkConversationFrame is a frame while samples stream: the
// conversation has not changed, so its lines come from the cache.
func BenchmarkConversationFrame(b *testing.B) {
	m := benchConversation(b)
	m.convo.view(false)
	b.ReportAllocs()
	for b.Loop() {
		m.convo.view(false)
	}
}

// BenchmarkConversationRedraw draws the 40 turns again, as after a keystroke
// or a kept sample.
func BenchmarkConversationRedraw(b *testing.B) {
	m := benchConversation(b)
	b.ReportAllocs()
	for b.Loop() {
		m.convo.changed()
		m.convo.view(false)
	}
}
