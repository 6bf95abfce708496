package vllmtest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend/wire"
)

// deltas returns each data event's first choice's delta, as sent, and its finish_reason.
func deltas(t *testing.T, body string) (ds []string, finish []string, usage string) {
	t.Helper()
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		d, _ := strings.CutPrefix(ev, "data: ")
		if d == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta        json.RawMessage `json:"delta"`
				FinishReason *string         `json:"finish_reason"`
			} `json:"choices"`
			Usage json.RawMessage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if len(c.Choices) == 0 {
			usage = string(c.Usage)
			continue
		}
		ds = append(ds, string(c.Choices[0].Delta))
		f := ""
		if c.Choices[0].FinishReason != nil {
			f = *c.Choices[0].FinishReason
		}
		finish = append(finish, f)
	}
	return ds, finish, usage
}

func reasoningSample() Sample {
	toks := []Tok{{Text: "Okay", Logprob: -0.5}, {Text: " so", Logprob: -1}, {Text: EndOfThinking, ID: EndOfThinkingID, Logprob: -0.25}, {Text: "\n\n", Logprob: -0.01}, {Text: "Hi", Logprob: -2}}
	return Sample{Tokens: toks, Thinking: 2, Finish: "stop", StopReason: wire.StopNull()}
}

// The thinking streams as "reasoning", the end-of-thinking token alone in a chunk with
// an empty delta (its logprobs only), the answer as "content": the keys vLLM's parser
// sets and no others.
func TestReasoningStreamShape(t *testing.T) {
	cases := []struct {
		name   string
		script Script
		want   []string
	}{
		{"one token a chunk", Script{}, []string{`{"role":"assistant","content":""}`, `{"reasoning":"Okay"}`, `{"reasoning":" so"}`, `{}`, `{"content":"\n\n"}`, `{"content":"Hi"}`, `{"content":""}`}},
		{"older servers", Script{ReasoningContent: true}, []string{`{"role":"assistant","content":""}`, `{"reasoning_content":"Okay"}`, `{"reasoning_content":" so"}`, `{}`, `{"content":"\n\n"}`, `{"content":"Hi"}`, `{"content":""}`}},
		{"two a chunk", Script{TokensPerChunk: 2}, []string{`{"role":"assistant","content":""}`, `{"reasoning":"Okay so"}`, `{"content":"\n\n","reasoning":""}`, `{"content":"Hi"}`, `{"content":""}`}},
		{"three a chunk", Script{TokensPerChunk: 3}, []string{`{"role":"assistant","content":""}`, `{"content":null,"reasoning":"Okay so"}`, `{"content":"\n\nHi"}`, `{"content":""}`}},
		{"text held back", Script{TokensPerChunk: 2, TextLag: 1}, []string{`{"role":"assistant","content":""}`, `{"reasoning":"Okay"}`, `{"content":null,"reasoning":" so"}`, `{"content":"\n\n"}`, `{"content":"Hi"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := New()
			defer srv.Close()
			sc := c.script
			sc.Samples = []Sample{reasoningSample()}
			srv.Push(sc)
			_, body := post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"stream":true,"stream_options":{"include_usage":true}}`)
			got, finish, usage := deltas(t, body)
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("deltas\n%s\nwant\n%s", strings.Join(got, " "), strings.Join(c.want, " "))
			}
			if finish[len(finish)-1] != "stop" || usage != `{"prompt_tokens":5,"total_tokens":10,"completion_tokens":5,"completion_tokens_details":{"reasoning_tokens":2}}` {
				t.Errorf("finish %v usage %s", finish, usage)
			}
			if !strings.Contains(body, `"delta":{},"logprobs":{"content":[{"token":"</think>","logprob":-0.25,"bytes":[60,47,116,104,105,110,107,62],"top_logprobs":[]}]}`) && c.name == "one token a chunk" {
				t.Errorf("the end-of-thinking chunk:\n%s", body)
			}
		})
	}
}

// The reasoning model, as a request names it: max_tokens too small stops it while still
// thinking, with no content at all; the non-streamed message carries both fields.
func TestReasoningModel(t *testing.T) {
	srv := New()
	defer srv.Close()
	_, body := post(t, srv, "/chat/completions", `{"model":"`+ReasoningModel+`","messages":[{"role":"user","content":"x"}],"max_tokens":4,"seed":1,"stream":true}`)
	got, finish, _ := deltas(t, body)
	for _, d := range got[1:] {
		if !strings.HasPrefix(d, `{"reasoning":`) {
			t.Errorf("cut off while thinking, a delta %s", d)
		}
	}
	if len(got) != 6 || finish[5] != "length" {
		t.Errorf("%v %v", got, finish)
	}
	_, body = post(t, srv, "/chat/completions", `{"model":"`+ReasoningModel+`","messages":[{"role":"user","content":"x"}],"max_tokens":4,"seed":1}`)
	if !strings.Contains(body, `"message":{"role":"assistant","content":null,"refusal":null,"annotations":null,"audio":null,"function_call":null,"reasoning":"Okay`) ||
		!strings.Contains(body, `"finish_reason":"length"`) || !strings.Contains(body, `"completion_tokens_details":{"reasoning_tokens":4}`) {
		t.Errorf("non-streamed, cut off:\n%s", body)
	}
	_, body = post(t, srv, "/chat/completions", `{"model":"`+ReasoningModel+`","messages":[{"role":"user","content":"x"}],"max_tokens":100,"seed":1}`)
	var r wire.ChatResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	m := r.Choices[0].Message
	if !m.Reasoning.Valid || !strings.HasPrefix(m.Reasoning.V, "Okay") || strings.Contains(m.Reasoning.V, EndOfThinking) || !strings.HasPrefix(m.Content.V, "\n\n") || *r.Choices[0].FinishReason != "stop" {
		t.Errorf("non-streamed: %s", body)
	}
	// A plain model says reasoning null, as vLLM does without a parser.
	_, body = post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":2}`)
	if !strings.Contains(body, `"function_call":null,"reasoning":null},`) || strings.Contains(body, "completion_tokens_details") {
		t.Errorf("plain: %s", body)
	}
	// Completions have no parser: the text is everything.
	_, body = post(t, srv, "/completions", `{"model":"`+ReasoningModel+`","prompt":"x","max_tokens":100,"seed":1}`)
	if !strings.Contains(body, `"text":"Okay`) || !strings.Contains(body, EndOfThinking+`\n\n`) || strings.Contains(body, `"reasoning`) {
		t.Errorf("completions: %s", body)
	}
}

// The switches act as on a hybrid model: thinking off, or effort none, answers at once;
// effort sets how long it thinks.
func TestReasoningModelSwitches(t *testing.T) {
	srv := New()
	defer srv.Close()
	cases := []struct {
		extra string
		think int // sample 0's thinking tokens
	}{
		{``, 6},
		{`,"chat_template_kwargs":{"enable_thinking":false}`, 0},
		{`,"chat_template_kwargs":{"enable_thinking":true}`, 6},
		{`,"reasoning_effort":"none"`, 0},
		{`,"reasoning_effort":"none","chat_template_kwargs":{"enable_thinking":true}`, 6},
		{`,"reasoning_effort":"low"`, 3},
		{`,"reasoning_effort":"medium"`, 6},
		{`,"reasoning_effort":"high"`, 12},
	}
	for _, c := range cases {
		_, body := post(t, srv, "/chat/completions", `{"model":"`+ReasoningModel+`","messages":[{"role":"user","content":"x"}],"max_tokens":100`+c.extra+`}`)
		var r wire.ChatResponse
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		m := r.Choices[0].Message
		n := 0
		if m.Reasoning.Valid {
			n = len(strings.Fields(m.Reasoning.V))
		}
		if n != c.think || m.Content.V == "" || (c.think == 0) == m.Reasoning.Valid || (c.think == 0 && strings.HasPrefix(m.Content.V, "\n")) {
			t.Errorf("%s: %d thinking words, message %+v", c.extra, n, m)
		}
	}
	_, body := post(t, srv, "/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}],"chat_template_kwargs":"no"}`)
	if !strings.Contains(body, `"param":"chat_template_kwargs"`) {
		t.Errorf("a wrongly typed field: %s", body)
	}
}

func TestReasoningHandlerListsTheModelFirst(t *testing.T) {
	s := NewReasoningHandler()
	if len(s.Models) != 2 || s.Models[0] != ReasoningModel {
		t.Fatal(s.Models)
	}
}
