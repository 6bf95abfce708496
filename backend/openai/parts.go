package openai

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// A reasoning model behind vLLM's --reasoning-parser streams its thinking as the delta's
// "reasoning" (older servers: "reasoning_content") and its answer as "content"; the
// logprobs cover both and the end-of-thinking token between them, whose text is in
// neither. vLLM's parser decides each chunk's delta from that chunk's tokens and sets
// only the keys it means:
//
//	{"reasoning":"..."}                  thinking tokens (the text may be "" while held back)
//	{}                                   the end-of-thinking token alone
//	{"content":null,"reasoning":"..."}   thinking tokens, then the end-of-thinking token
//	{"content":"...","reasoning":"..."}  thinking, end-of-thinking, answer, in one chunk
//	{"content":"..."}                    answer tokens
//
// So the keys tell a chunk's part; only a chunk that crosses from thinking to answer
// (several tokens in one chunk: stream_interval, speculative decoding) needs its tokens
// split, by how much thinking and answer text it brought.

// textIn is a delta's text field, telling a key that was sent (even as null) from one
// left out, since the keys say which part a chunk's tokens are.
type textIn struct {
	s    string
	sent bool
	null bool
}

func (t *textIn) UnmarshalJSON(b []byte) error {
	*t = textIn{sent: true}
	if string(b) == "null" {
		t.null = true
		return nil
	}
	// The common case, a string with no escapes, is copied as encoding/json would.
	if len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		t.s = string(b[1 : len(b)-1])
		return nil
	}
	return json.Unmarshal(b, &t.s)
}

// deltaKeys is what a chat delta says of its text: the thinking it brought, and which
// keys it set.
type deltaKeys struct {
	reasoning string
	// thinking: "reasoning" or "reasoning_content" with a string (null counts as absent:
	// some servers send every key on every chunk).
	thinking bool
	// content: "content" with a string; contentNull: "content": null.
	content, contentNull bool
}

// keysOf reads a delta's text keys; "reasoning" wins over "reasoning_content" where a
// server sends both (vLLM did while it renamed the field).
func keysOf(content, reasoning, reasoningContent textIn) deltaKeys {
	k := deltaKeys{content: content.sent && !content.null, contentNull: content.null}
	switch {
	case reasoning.sent && !reasoning.null:
		k.reasoning, k.thinking = reasoning.s, true
	case reasoningContent.sent && !reasoningContent.null:
		k.reasoning, k.thinking = reasoningContent.s, true
	}
	return k
}

// partAttributors give every token of a request's choices its part. Completion mode has
// no parser: every token is the answer, and nothing is done.
type partAttributors struct {
	chat    bool
	choices []partAttributor
}

// partAttributor follows one choice. owed is thinking text, in bytes, that arrived
// beyond what the thinking tokens so far account for (negative while vLLM holds text
// back: tokens run ahead of it); lag bounds how far behind the text may fall; held is
// how much text vLLM may hold back for the stop strings.
type partAttributor struct {
	owed int
	lag  int
	held int
}

func newPartAttributors(chat bool, stop params.Stop, n int) *partAttributors {
	a := &partAttributors{chat: chat}
	if !chat {
		return a
	}
	// vLLM holds back up to (longest stop string - 1) characters, and an incomplete
	// UTF-8 character: tokens can run that far ahead of the text. Beyond it (with room
	// for servers that hold back a little more), a shortfall is the tokens' text being
	// longer than the text they stand for, which is not carried on.
	held := 0
	for _, s := range stop.Strings {
		held = max(held, 4*(utf8.RuneCountInString(s)-1))
	}
	a.choices = make([]partAttributor, n)
	for i := range a.choices {
		a.choices[i] = partAttributor{lag: held + 64, held: held}
	}
	return a
}

// assign sets the Part of toks, the tokens of one chunk of choice i whose delta had keys
// k and answer text content.
func (a *partAttributors) assign(i int, k deltaKeys, content string, toks []backend.Token) {
	if !a.chat || i < 0 || i >= len(a.choices) {
		return
	}
	a.choices[i].assign(k, content, toks)
}

func (p *partAttributor) assign(k deltaKeys, content string, toks []backend.Token) {
	switch {
	case !k.thinking && !k.content:
		// No text in either part ({}, or content null alone): the end-of-thinking token,
		// or a start-of-thinking token the model wrote itself.
		setParts(toks, backend.PartBoundary)
	case !k.thinking:
		// The answer (PartAnswer is the zero value the decoder gave every token).
	case !k.content && !k.contentNull:
		setParts(toks, backend.PartThinking)
		p.owed += len(k.reasoning) - tokensCost(toks)
		p.owed = min(0, max(p.owed, -p.lag))
	default:
		p.cross(k.reasoning, content, toks)
	}
}

// cross splits the tokens of a chunk that holds the end of the thinking: first the
// tokens the thinking text accounts for, then the end-of-thinking token, then the
// answer's tokens: as many as the answer text, and what vLLM may still hold back of
// it, account for. Tokens between the end-of-thinking token and those (a delimiter of
// several tokens) are in neither text: the boundary too.
func (p *partAttributor) cross(reasoning, content string, toks []backend.Token) {
	p.owed += len(reasoning)
	i := 0
	for ; i < len(toks) && p.owed > 0; i++ {
		toks[i].Part = backend.PartThinking
		p.owed -= tokenCost(toks[i].Text)
	}
	p.owed = 0 // the thinking is over
	if i == len(toks) {
		return
	}
	toks[i].Part = backend.PartBoundary
	rest := toks[i+1:]
	// The fewest tokens at the start of rest that leave the others within the answer's
	// text plus what may be held back: trailing pieces of a character not yet whole,
	// and the stop strings' allowance.
	budget := len(content) + p.held
	for k := len(rest) - 1; k >= 0 && strings.ContainsRune(rest[k].Text, utf8.RuneError); k-- {
		budget += tokenCost(rest[k].Text)
	}
	k, tail := len(rest), 0
	for k > 0 && tail+tokenCost(rest[k-1].Text) <= budget {
		tail += tokenCost(rest[k-1].Text)
		k--
	}
	setParts(rest[:k], backend.PartBoundary)
	setParts(rest[k:], backend.PartAnswer)
}

func setParts(toks []backend.Token, part backend.Part) {
	for i := range toks {
		toks[i].Part = part
	}
}

// tokenCost is how many bytes of the streamed text a token's text stands for. A token
// holding part of a multibyte character is decoded alone as U+FFFD (3 bytes) but stands
// for at least one byte of the character: it is counted as one, so the count never runs
// ahead of the text by more than the pieces of one character.
func tokenCost(s string) int { return len(s) - 2*strings.Count(s, "\uFFFD") }

func tokensCost(toks []backend.Token) int {
	n := 0
	for i := range toks {
		n += tokenCost(toks[i].Text)
	}
	return n
}
