package vllmtest

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// events returns a stream's data payloads, [DONE] left out.
func events(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data line", ev)
		}
		if d != "[DONE]" {
			out = append(out, d)
		}
	}
	return out
}

// splitTruth is what the split model's sample 0 holds for a request: its tokens' bytes
// and the text vLLM would send (whole characters of the visible tokens).
func splitTruth(t *testing.T, max int, stop []string) Sample {
	t.Helper()
	m := max
	s := splitSamples(Generate(1, nil, &m, stop, nil))[0]
	return s
}

const replacementBytes = "[239,191,189]"

func TestSplitModelChatStream(t *testing.T) {
	srv := New()
	defer srv.Close()
	_, body := post(t, srv, "/chat/completions", `{"model":"`+SplitModel+`","messages":[{"role":"user","content":"x"}],"max_tokens":40,"logprobs":true,"top_logprobs":5,"stream":true}`)
	truth := splitTruth(t, 40, nil)
	var content strings.Builder
	var raw []byte
	partial := 0
	for _, d := range events(t, body) {
		var c wire.ChatChunk
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("%v: %s", err, d)
		}
		ch := c.Choices[0]
		if ch.Logprobs != nil {
			for _, e := range ch.Logprobs.Content {
				tk := truth.Tokens[len(raw2tok(raw, truth.Tokens))]
				raw = append(raw, tk.Text...)
				if e.Token != wire.Lossy([]byte(tk.Text)) {
					t.Fatalf("token %q reported as %q", tk.Text, e.Token)
				}
				if !utf8.ValidString(tk.Text) {
					partial++
					if e.Token != "\ufffd" && !strings.Contains(e.Token, "\ufffd") {
						t.Fatalf("partial token %q reported as %q", tk.Text, e.Token)
					}
				}
				// bytes are those of the reported text, not the raw bytes.
				if b, _ := json.Marshal(e.Bytes); strings.Contains(e.Token, "\ufffd") && !strings.Contains(string(b), strings.Trim(replacementBytes, "[]")) {
					t.Fatalf("bytes %s for %q", b, e.Token)
				}
			}
		}
		if ch.Delta.Content.Valid {
			text := ch.Delta.Content.V
			if strings.Contains(text, "\ufffd") || !utf8.ValidString(text) {
				t.Fatalf("content chunk %q holds part of a character", text)
			}
			content.WriteString(text)
			// Never ahead of the tokens: whatever was sent is whole characters of them.
			if !strings.HasPrefix(string(raw), content.String()) {
				t.Fatalf("content %q runs ahead of the tokens' bytes %q", content.String(), raw)
			}
		}
	}
	if partial == 0 {
		t.Fatal("no partial tokens: the test says nothing")
	}
	want := string(raw[:wire.CompletePrefix(raw)])
	if content.String() != want {
		t.Fatalf("content %q, want %q", content.String(), want)
	}
}

// raw2tok is the tokens already consumed, by their bytes' length.
func raw2tok(raw []byte, toks []Tok) []Tok {
	n := 0
	for i, t := range toks {
		if n == len(raw) {
			return toks[:i]
		}
		n += len(t.Text)
	}
	return toks
}

func TestSplitModelCompletions(t *testing.T) {
	srv := New()
	defer srv.Close()
	for _, stream := range []bool{true, false} {
		body := `{"model":"` + SplitModel + `","prompt":"x","max_tokens":30,"logprobs":5,"stream":` + map[bool]string{true: "true", false: "false"}[stream] + `}`
		_, got := post(t, srv, "/completions", body)
		truth := splitTruth(t, 30, nil)
		var text strings.Builder
		var lp wire.CompletionLogprobs
		var rawTops []json.RawMessage
		add := func(c wire.CompletionChunkChoice, tops []json.RawMessage) {
			text.WriteString(c.Text)
			if c.Logprobs != nil {
				lp.TextOffset = append(lp.TextOffset, c.Logprobs.TextOffset...)
				lp.Tokens = append(lp.Tokens, c.Logprobs.Tokens...)
				lp.TopLogprobs = append(lp.TopLogprobs, c.Logprobs.TopLogprobs...)
				rawTops = append(rawTops, tops...)
			}
		}
		type rawChoice struct {
			Logprobs *struct {
				TopLogprobs []json.RawMessage `json:"top_logprobs"`
			} `json:"logprobs"`
		}
		tops := func(d string) []json.RawMessage {
			var r struct{ Choices []rawChoice }
			_ = json.Unmarshal([]byte(d), &r)
			if len(r.Choices) == 0 || r.Choices[0].Logprobs == nil {
				return nil
			}
			return r.Choices[0].Logprobs.TopLogprobs
		}
		if stream {
			for _, d := range events(t, got) {
				var c wire.CompletionChunk
				if err := json.Unmarshal([]byte(d), &c); err != nil {
					t.Fatal(err)
				}
				add(c.Choices[0], tops(d))
			}
		} else {
			var r wire.CompletionResponse
			if err := json.Unmarshal([]byte(got), &r); err != nil {
				t.Fatal(err)
			}
			if r.Choices[0].Logprobs == nil {
				t.Fatal("a non-streamed completion without the logprobs asked for")
			}
			c := r.Choices[0]
			add(wire.CompletionChunkChoice{Text: c.Text, Logprobs: c.Logprobs}, tops(got))
		}
		var raw []byte
		off := 0
		collapsed := false
		for i, tk := range truth.Tokens {
			raw = append(raw, tk.Text...)
			if lp.Tokens[i] != wire.Lossy([]byte(tk.Text)) || lp.TextOffset[i] != off {
				t.Fatalf("stream %v token %d: %q at %d, want %q at %d", stream, i, lp.Tokens[i], lp.TextOffset[i], wire.Lossy([]byte(tk.Text)), off)
			}
			off += utf8.RuneCountInString(lp.Tokens[i]) // vLLM counts code points
			// Keyed by decoded text, as a Python dict: "\ufffd" at most once, though several
			// partial alternatives decode to it.
			keys := map[string]bool{}
			for _, e := range lp.TopLogprobs[i] {
				if keys[e.Token] {
					t.Fatalf("token %d: top_logprobs key %q twice: %s", i, e.Token, rawTops[i])
				}
				keys[e.Token] = true
			}
			partials := 0
			if !utf8.ValidString(tk.Text) {
				partials++
			}
			for _, a := range tk.Alts[:min(len(tk.Alts), 5)] {
				if !utf8.ValidString(a.Text) {
					partials++
				}
			}
			collapsed = collapsed || (partials > 1 && keys["\ufffd"])
		}
		if !collapsed {
			t.Errorf("stream %v: no top_logprobs where partial alternatives collapsed", stream)
		}
		if want := string(raw[:wire.CompletePrefix(raw)]); text.String() != want {
			t.Errorf("stream %v: text %q, want %q", stream, text.String(), want)
		}
	}
}

func TestSplitModelChatNonStreamAndPrompt(t *testing.T) {
	srv := New()
	defer srv.Close()
	_, got := post(t, srv, "/chat/completions", `{"model":"`+SplitModel+`","messages":[{"role":"user","content":"say 好 and é"}],"max_tokens":25,"logprobs":true,"top_logprobs":3,"prompt_logprobs":2}`)
	var r wire.ChatResponse
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatal(err)
	}
	truth := splitTruth(t, 25, nil)
	var raw []byte
	for i, e := range r.Choices[0].Logprobs.Content {
		raw = append(raw, truth.Tokens[i].Text...)
		if e.Token != wire.Lossy([]byte(truth.Tokens[i].Text)) {
			t.Fatalf("token %d reported as %q", i, e.Token)
		}
	}
	if want := string(raw[:wire.CompletePrefix(raw)]); r.Choices[0].Message.Content.V != want {
		t.Errorf("content %q, want %q", r.Choices[0].Message.Content.V, want)
	}
	// The prompt's 好 and é are split too: decoded_token "\ufffd".
	var decoded []string
	for _, pos := range r.PromptLogprobs[1:] {
		decoded = append(decoded, *pos[0].DecodedToken)
	}
	if got := strings.Join(decoded, "|"); got != " |\ufffd|\ufffd| and| |\ufffd|\ufffd" {
		t.Errorf("prompt tokens %q", got)
	}
}

func TestTextBetweenHoldsCharactersBack(t *testing.T) {
	toks := []Tok{{Text: "a"}, {Text: "\xe5\xa5"}, {Text: "\xbd"}, {Text: "\xf0"}, {Text: "\x9f\x99"}}
	var got []string
	for i := range toks {
		got = append(got, textBetween(toks, i, i+1))
	}
	if strings.Join(got, "|") != "a||好||" {
		t.Errorf("released %q", got)
	}
	if textBetween(toks, 0, 5) != "a好" {
		t.Errorf("all at once %q (the cut-off 🙂 is never sent)", textBetween(toks, 0, 5))
	}
}
