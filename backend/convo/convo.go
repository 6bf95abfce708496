// Package convo reads conversations from files: a twinkle Trajectory ({"messages": [...]},
// as twinkle.data_format and `twinkle sample` write it) or a bare list of messages, and
// JSONL batches of prompts where each line is a prompt string or such a conversation.
// `twinkle sample --messages` and `--prompts` read through it, and the playground can open
// the same files with it, so one reader decides what a file means and every caller
// reports a bad file the same way: the file, the line and the field.
//
// It is its own package, not part of backend, because it reads people's files rather than
// talking to models; it imports backend only for backend.Message, and never ui, themes or
// a terminal library.
//
// Roles follow vLLM's rule: a message must have a role, and it must be a string. vLLM
// accepts any role name (CustomChatCompletionMessageParam "enables custom roles") and
// leaves it to the model's chat template, so a role outside OpenAI's set is passed through,
// not refused; CustomRoles names such roles so a caller can say so.
package convo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twinkle-sh/twinkle/backend"
)

// StandardRoles returns the roles of OpenAI's chat message types, which chat templates
// are written for.
func StandardRoles() []string {
	return []string{"system", "developer", "user", "assistant", "tool", "function"}
}

// Conversation is a decoded conversation and where each message starts in its file.
type Conversation struct {
	Messages []backend.Message
	// Lines holds the 1-based line each message starts on.
	Lines []int
	name  string
}

// CustomRoles says, one line each, which messages have a role outside StandardRoles:
// vLLM sends them to the chat template, which may reject or ignore them.
func (c Conversation) CustomRoles() []string {
	var out []string
	std := StandardRoles()
	for i, m := range c.Messages {
		if !slices.Contains(std, m.Role) {
			out = append(out, fmt.Sprintf("%s:%d: messages[%d]: role %q is not one of %s; vLLM passes it to the chat template, which may refuse or ignore it",
				c.name, c.Lines[i], i, m.Role, strings.Join(std, ", ")))
		}
	}
	return out
}

// ParseError is every problem found in a conversation, each "name:line: where: what", in
// file order.
type ParseError struct{ Problems []string }

func (e *ParseError) Error() string { return strings.Join(e.Problems, "\n") }

// MaxMessages bounds a conversation, so a hostile file cannot make the reader hold
// millions of messages.
const MaxMessages = 10000

// Read decodes a conversation: a Trajectory object {"messages": [...]} or a bare list of
// messages, each {"role": "...", "content": "..."}. Everything is checked and every
// problem reported at once (a *ParseError): JSON syntax, field names (matched exactly,
// each once), types, a missing role, an empty conversation. Content may be a string or
// null (vLLM reads null as empty); a list of content parts and fields twinkle cannot send
// (name, tool_calls, ...) are refused rather than dropped. name labels the source in
// messages (a file path, "stdin").
func Read(name string, data []byte) (Conversation, error) {
	r := reader{name: name, data: data, expect: "the conversation, {\"messages\": [...]} or a list of messages"}
	if len(bytes.TrimSpace(data)) == 0 {
		return Conversation{}, &ParseError{[]string{name + ": empty: expected " + r.expect}}
	}
	return r.whole()
}

// reader walks one JSON value with a token decoder, so every problem names the line it
// is on.
type reader struct {
	name     string
	data     []byte
	base     int    // the line before data's first line (0, or a JSONL line's number - 1)
	expect   string // what the whole value should be, for messages
	dec      *json.Decoder
	problems []string
}

// whole reads all of r.data as one conversation.
func (r *reader) whole() (Conversation, error) {
	r.dec = json.NewDecoder(bytes.NewReader(r.data))
	r.dec.UseNumber()
	c, ok := r.value()
	if ok {
		if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
			r.add("unexpected data after the conversation")
		}
	}
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b string) int { return problemLine(a, r.name) - problemLine(b, r.name) })
		return Conversation{}, &ParseError{Problems: r.problems}
	}
	c.name = r.name
	return c, nil
}

// line is the file's line number at byte offset off of r.data.
func (r *reader) line(off int) int { return r.base + lineOf(r.data, off) }

// addLine reports a problem on a line of the file.
func (r *reader) addLine(line int, format string, a ...any) {
	r.problems = append(r.problems, fmt.Sprintf("%s:%d: ", r.name, line)+fmt.Sprintf(format, a...))
}

// add reports a problem at the end of the token just read.
func (r *reader) add(format string, a ...any) {
	r.addLine(r.line(int(r.dec.InputOffset())), format, a...)
}

// token reads the next token; a decoder error is reported and ends the walk.
func (r *reader) token() (json.Token, bool) {
	tok, err := r.dec.Token()
	if err == nil {
		return tok, true
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		r.addLine(r.line(int(syn.Offset)), "invalid JSON: %s", syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		r.addLine(r.line(len(r.data)), "invalid JSON: the text ends inside a value")
	default:
		r.addLine(r.line(len(r.data)), "invalid JSON: %v", err)
	}
	return nil, false
}

// value reads a conversation: an object holding messages, or a list of messages. ok is
// false when the JSON could not be read to its end.
func (r *reader) value() (Conversation, bool) {
	tok, ok := r.token()
	if !ok {
		return Conversation{}, false
	}
	switch tok {
	case json.Delim('['):
		return r.messages("messages")
	case json.Delim('{'):
		return r.trajectory()
	}
	r.add("expected %s, got %s", r.expect, describe(tok))
	return Conversation{}, true
}

// trajectory reads a Trajectory object after its '{'.
func (r *reader) trajectory() (Conversation, bool) {
	var c Conversation
	found := false
	seen := map[string]int{}
	for r.dec.More() {
		key, line, ok := r.key(seen)
		if !ok {
			return c, false
		}
		if key != "messages" {
			hint := ""
			if strings.EqualFold(key, "messages") {
				hint = " (names are matched exactly)"
			}
			r.addLine(line, "unknown field %q: a trajectory holds \"messages\"%s", key, hint)
			if !r.skip() {
				return c, false
			}
			continue
		}
		found = true
		tok, ok := r.token()
		if !ok {
			return c, false
		}
		if tok != json.Delim('[') {
			r.add("messages: expected a list of messages, got %s", describe(tok))
			if !r.skipRest(tok) {
				return c, false
			}
			continue
		}
		if c, ok = r.messages("messages"); !ok {
			return c, false
		}
	}
	if _, ok := r.token(); !ok { // '}'
		return c, false
	}
	if !found {
		r.add("no \"messages\": a trajectory is {\"messages\": [...]}")
	}
	return c, true
}

// key reads an object key, reporting one seen before. line is the key's line.
func (r *reader) key(seen map[string]int) (key string, line int, ok bool) {
	tok, ok := r.token()
	if !ok {
		return "", 0, false
	}
	key, _ = tok.(string)
	line = r.line(int(r.dec.InputOffset()))
	if prev, dup := seen[key]; dup {
		r.addLine(line, "field %s: set twice (first on line %d)", key, prev)
	} else {
		seen[key] = line
	}
	return key, line, true
}

// messages reads a list of messages after its '['.
func (r *reader) messages(field string) (Conversation, bool) {
	var c Conversation
	for i := 0; r.dec.More(); i++ {
		tok, ok := r.token()
		if !ok {
			return c, false
		}
		line := r.line(int(r.dec.InputOffset()))
		where := fmt.Sprintf("%s[%d]", field, i)
		if tok != json.Delim('{') {
			r.addLine(line, "%s: expected a message, {\"role\": ..., \"content\": ...}, got %s", where, describe(tok))
			if !r.skipRest(tok) {
				return c, false
			}
			continue
		}
		m, ok := r.message(where, line)
		if !ok {
			return c, false
		}
		switch {
		case i == MaxMessages:
			r.addLine(line, "%s: too many messages (at most %d)", where, MaxMessages)
		case i < MaxMessages:
			c.Messages = append(c.Messages, m)
			c.Lines = append(c.Lines, line)
		}
	}
	if _, ok := r.token(); !ok { // ']'
		return c, false
	}
	if len(c.Messages) == 0 && len(r.problems) == 0 {
		r.add("%s: the list is empty: a conversation needs at least one message", field)
	}
	return c, true
}

// message reads one message after its '{'.
func (r *reader) message(where string, line int) (backend.Message, bool) {
	var m backend.Message
	seen := map[string]int{}
	hasRole, badRole := false, false
	for r.dec.More() {
		key, kline, ok := r.key(seen)
		if !ok {
			return m, false
		}
		if key != "role" && key != "content" {
			r.addLine(kline, "%s: %s", where, unknownField(key))
			if !r.skip() {
				return m, false
			}
			continue
		}
		tok, ok := r.token()
		if !ok {
			return m, false
		}
		s, isString := tok.(string)
		switch {
		case isString && key == "role":
			m.Role, hasRole = s, true
		case isString:
			m.Content = s
		case key == "content" && tok == nil:
			m.Content = "" // vLLM reads a null content as empty
		case key == "content" && tok == json.Delim('['):
			r.add("%s.content: a list of content parts is not supported: write the text as one string", where)
		case key == "role":
			badRole = true
			r.add("%s.role: expected a string, got %s", where, describe(tok))
		default:
			r.add("%s.content: expected a string or null, got %s", where, describe(tok))
		}
		if !r.skipRest(tok) {
			return m, false
		}
	}
	if _, ok := r.token(); !ok { // '}'
		return m, false
	}
	if !hasRole && !badRole {
		r.addLine(line, "%s: role is required (vLLM refuses a message without one)", where)
	}
	return m, true
}

// unknownField explains a message field twinkle does not send.
func unknownField(key string) string {
	for _, k := range []string{"role", "content"} {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf("unknown field %q (did you mean %q? names are matched exactly)", key, k)
		}
	}
	switch key {
	case "name", "tool_calls", "tool_call_id", "reasoning", "reasoning_content", "tools", "refusal", "function_call", "audio", "task":
		return fmt.Sprintf("field %q is not supported: twinkle sends role and content only, and drops nothing silently", key)
	}
	return fmt.Sprintf("unknown field %q (a message has role and content)", key)
}

// skip skips the value at the decoder.
func (r *reader) skip() bool {
	tok, ok := r.token()
	return ok && r.skipRest(tok)
}

// skipRest skips to the end of the object or list tok opened, if it opened one.
func (r *reader) skipRest(tok json.Token) bool {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return true
	}
	for depth := 1; depth > 0; {
		tok, ok := r.token()
		if !ok {
			return false
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return true
}

// describe names a JSON token in JSON's words.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "the number " + v.String()
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

// lineOf turns a byte offset into a 1-based line number.
func lineOf(data []byte, off int) int {
	off = max(0, min(off, len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// problemLine reads the line number back out of a "name:line: ..." problem, so problems
// found in different passes read in file order.
func problemLine(problem, name string) int {
	rest := strings.TrimPrefix(problem, name+":")
	n, _ := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ':'))])
	return n
}
