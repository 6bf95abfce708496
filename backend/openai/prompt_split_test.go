package openai

import (
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// Without prompt_token_ids, the prompt token of each position is found by joining texts
// back into the prompt; a token that holds part of a character reads "\ufffd" there, and
// matches the bytes that decode to it.
func TestPromptTokensMatchSplitCharacters(t *testing.T) {
	prompt := "say 好"
	pos := []wire.PromptPosition{nil,
		{entry(11, " the", -2, 1), entry(10, " \ufffd", -1, 2)},
		{entry(13, " a", -1, 1), entry(12, "\ufffd", -0.5, 2)},
	}
	toks, align := promptTokens(pos, nil, 1, &prompt)
	if align != backend.PromptMatched || strings.Join(texts(toks), "|") != "| \ufffd|\ufffd" {
		t.Fatalf("%q %q", align, texts(toks))
	}
}
