package convo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Line is one prompt of a JSONL batch: a prompt string, or a conversation.
type Line struct {
	// N is the line's 1-based number in the file.
	N int
	// Prompt is the text of a string line.
	Prompt string
	// Conversation is set for a line holding a list of messages or {"messages": [...]}.
	Conversation *Conversation
	// Err says what is wrong with the line (a *ParseError naming the file and line);
	// Prompt and Conversation are empty then.
	Err error
}

// MaxBatchLines bounds a batch, so a hostile file cannot queue millions of requests.
const MaxBatchLines = 100000

// ReadBatch reads a JSONL batch of prompts: one JSON value a line, either a prompt string
// ("Once upon a time") or a conversation as Read takes it, on one line. Blank lines are
// skipped. Each line is read on its own, so a bad line costs that line only: it comes back
// with Err set and its number, in file order with the good ones.
func ReadBatch(name string, data []byte) []Line {
	var out []Line
	for n := 1; len(data) > 0; n++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if len(out) == MaxBatchLines {
			out = append(out, Line{N: n, Err: &ParseError{[]string{fmt.Sprintf("%s:%d: too many lines (at most %d prompts a batch)", name, n, MaxBatchLines)}}})
			break
		}
		out = append(out, readLine(name, n, text))
	}
	return out
}

// readLine reads one batch line.
func readLine(name string, n int, text []byte) Line {
	r := reader{name: name, data: text, base: n - 1, expect: "a prompt string, a list of messages or {\"messages\": [...]}"}
	r.dec = json.NewDecoder(bytes.NewReader(text))
	r.dec.UseNumber()
	first := bytes.TrimLeft(text, " \t")
	if len(first) > 0 && first[0] == '"' {
		tok, ok := r.token()
		if ok {
			if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
				r.add("unexpected data after the prompt string")
			}
		}
		if len(r.problems) > 0 {
			return Line{N: n, Err: &ParseError{r.problems}}
		}
		return Line{N: n, Prompt: tok.(string)}
	}
	c, err := r.whole()
	if err != nil {
		return Line{N: n, Err: err}
	}
	return Line{N: n, Conversation: &c}
}
