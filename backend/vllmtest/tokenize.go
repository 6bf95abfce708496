package vllmtest

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/twinkle-sh/twinkle/backend/vllmcheck"
	"github.com/twinkle-sh/twinkle/backend/wire"
)

// The test models' tokenizer: each word with the whitespace before it is one token, and
// whitespace at the end is one more. A word of the story Generate writes has the id its
// samples give it (1000+w with its leading space), so a prefix re-tokenized comes back as
// the ids that were sampled; the alternatives Generate offers with an "s" added are
// 1100+w; a word without a leading space 1200+w; anything else a hash above 5000. It
// adds no special tokens, so add_special_tokens changes nothing.
const (
	spacedWordID  = 1000
	pluralWordID  = 1100
	bareWordID    = 1200
	otherTokenIDs = 5000
	// generationPromptID stands for a chat template's generation prompt (the opening of
	// the assistant turn), added to a chat prompt's ids unless it continues a message.
	generationPromptID = 2
)

// TokenIDs tokenizes text as the test models do.
func TokenIDs(text string) []int {
	var ids []int
	for len(text) > 0 {
		i := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			ids = append(ids, tokenID(text))
			break
		}
		j := strings.IndexFunc(text[i:], unicode.IsSpace)
		if j < 0 {
			j = len(text) - i
		}
		ids = append(ids, tokenID(text[:i+j]))
		text = text[i+j:]
	}
	return ids
}

func tokenID(piece string) int {
	word, spaced := strings.CutPrefix(piece, " ")
	if w := slices.Index(words, word); w >= 0 {
		if spaced {
			return spacedWordID + w
		}
		return bareWordID + w
	}
	if w := slices.Index(words, strings.TrimSuffix(word, "s")); spaced && w >= 0 && strings.HasSuffix(word, "s") {
		return pluralWordID + w
	}
	h := fnv.New32a()
	h.Write([]byte(piece))
	return otherTokenIDs + int(h.Sum32()%100000)
}

// promptIDs is the prompt a request runs, as return_token_ids reports it: the ids it
// sent, or its text tokenized; in chat the messages' contents, then the generation
// prompt unless the last message is continued.
func promptIDs(r *vllmcheck.Request, req *wire.Request) []int {
	if r.PromptIDs != nil {
		return r.PromptIDs
	}
	if !r.Chat {
		return TokenIDs(r.Prompt)
	}
	ids := []int{}
	for _, m := range r.Messages {
		ids = append(ids, TokenIDs(m.Content)...)
	}
	if !req.ContinueFinalMessage && (req.AddGenerationPrompt == nil || *req.AddGenerationPrompt) {
		ids = append(ids, generationPromptID)
	}
	return ids
}

// tokenize answers vLLM's /tokenize for a text prompt.
func (s *Server) tokenize(w http.ResponseWriter, rec Recorded) {
	var req struct {
		Model    string          `json:"model"`
		Prompt   *string         `json:"prompt"`
		Messages json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		(&vllmcheck.Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: "request body is not valid JSON"}).Write(w)
		return
	}
	if req.Prompt == nil {
		(&vllmcheck.Error{Status: http.StatusBadRequest, Type: "BadRequestError", Message: "this test server tokenizes a prompt, not messages", Param: "prompt"}).Write(w)
		return
	}
	ids := TokenIDs(*req.Prompt)
	if ids == nil {
		ids = []int{}
	}
	writeJSON(w, http.StatusOK, wire.TokenizeResponse{Count: len(ids), MaxModelLen: maxModelLen, Tokens: ids})
}

// chatPromptIDs is the role chunk's prompt_token_ids: the ids with return_token_ids,
// else null, as vLLM sends them.
func (g *gen) chatPromptIDs(i int) wire.Opt[[]int] {
	if o := g.promptOnce(i); o.Present {
		return o
	}
	return wire.Null[[]int]()
}
