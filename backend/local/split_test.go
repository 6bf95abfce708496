package local

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// TestSplitCharactersAsVLLM: the built-in model writes 世界 as byte tokens. As vLLM does,
// each such token reads "\ufffd" on its own, the streamed text holds a character back
// until its last byte, and a character cut off by max_tokens is never released, not even
// as U+FFFD at the end.
func TestSplitCharactersAsVLLM(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	prompt := `fmt.Println("Hello, 世界 `
	for _, maxTokens := range []int{8, 15, 16} {
		r := Request{Prompt: m.Tok.Encode(prompt), N: 1, Sampling: Sampling{Temperature: 0, TopP: 1, RepetitionPenalty: 1},
			MaxTokens: maxTokens, Logprobs: 0, PromptLogprobs: -1}
		out := generate(t, m, r)
		s := out.res.Samples[0]
		var raw []byte
		partial := 0
		for _, id := range s.TokenIDs {
			b := m.Tok.TokenBytes(id)
			raw = append(raw, b...)
			if !utf8.Valid(b) {
				partial++
				if got := m.Tok.TokenText(id); !strings.Contains(got, "\ufffd") {
					t.Errorf("token %x reads %q", b, got)
				}
			}
		}
		if partial == 0 {
			t.Fatalf("max %d: no token split a character (%q): the test says nothing", maxTokens, s.Text)
		}
		for _, d := range out.deltas {
			if strings.Contains(d.Text, "\ufffd") || !utf8.ValidString(d.Text) {
				t.Errorf("max %d: a delta released part of a character: %q", maxTokens, d.Text)
			}
		}
		whole := string(raw[:wire.CompletePrefix(raw)])
		if s.Text != whole || !strings.Contains(s.Text, "世界") {
			t.Errorf("max %d: text %q, want the whole characters %q", maxTokens, s.Text, whole)
		}
	}
}
