package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/backend/wire"
	"github.com/twinkle-sh/twinkle/params"
)

func reasoningReq(maxTok *int, n int, k *int) backend.Request {
	r := chatReq(sampling(0.8, i64(3), maxTok), n, k)
	r.Model = vllmtest.ReasoningModel
	return r
}

// joinParts joins a sample's token texts part by part.
func joinParts(toks []backend.Token) (thinking, boundary, answer string) {
	var b [3]strings.Builder
	for _, t := range toks {
		b[t.Part].WriteString(t.Text)
	}
	return b[backend.PartThinking].String(), b[backend.PartBoundary].String(), b[backend.PartAnswer].String()
}

// A reasoning model's sample keeps its thinking apart: the trajectory's assistant
// message has it as "reasoning", and its tokens join to the thinking, the end-of-thinking
// token and the answer, however many tokens a chunk carries and whichever field name
// the server uses.
func TestReasoningTrajectoryAndParts(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		for _, per := range []int{1, 2, 3, 4, 7, 40} {
			srv, c, _ := newTest(t)
			// vLLM holds text back only for stop strings (never met here).
			lag := per % 3
			srv.SetDefault(vllmtest.Script{TokensPerChunk: per, ReasoningContent: legacy, TextLag: lag})
			req := reasoningReq(ip(64), 3, ip(2))
			if lag > 0 {
				req.Params.Stop = params.Stop{Strings: []string{"THE END OF THE STORY"}}
			}
			_, r, a := collect(t, context.Background(), c, req)
			want := vllmtest.GenerateReasoning(3, i64(3), ip(64), vllmtest.Thinking{})
			for i, s := range want {
				msg := r.Trajectories[i].Messages[1]
				var think, answer strings.Builder
				for k, tok := range s.Tokens {
					switch {
					case k < s.Thinking:
						think.WriteString(tok.Text)
					case k > s.Thinking:
						answer.WriteString(tok.Text)
					}
				}
				if msg.Role != "assistant" || msg.Reasoning != think.String() || msg.Content != answer.String() {
					t.Fatalf("legacy %v, %d per chunk, sample %d: message %+v, want reasoning %q content %q", legacy, per, i, msg, think.String(), answer.String())
				}
				gotThink, gotEnd, gotAnswer := joinParts(r.Tokens[i])
				if gotThink != msg.Reasoning || gotEnd != vllmtest.EndOfThinking || gotAnswer != msg.Content {
					t.Fatalf("legacy %v, %d per chunk, sample %d: tokens join to %q + %q + %q", legacy, per, i, gotThink, gotEnd, gotAnswer)
				}
				if a.Reasoning(i) != msg.Reasoning || a.Thinking(i) != (backend.ThinkingState{Thought: true, Ended: true}) {
					t.Fatalf("assembler: %q %+v", a.Reasoning(i), a.Thinking(i))
				}
			}
			if r.StoppedWhileThinking == nil || r.StoppedWhileThinking[0] || r.StopReason[0] != backend.StopStop {
				t.Fatalf("stopped_while_thinking %v, stop %v", r.StoppedWhileThinking, r.StopReason)
			}
		}
	}
}

// The JSON `twinkle sample` prints: reasoning on the assistant message, each token's
// part, and a sample cut off while thinking said to be so.
func TestReasoningJSON(t *testing.T) {
	_, c, _ := newTest(t)
	var out bytes.Buffer
	r, err := backend.RunSample(context.Background(), c, reasoningReq(ip(10), 2, ip(1)), false, &out)
	if err != nil {
		t.Fatal(err)
	}
	// Sample 0 thinks for 6 tokens, sample 1 for 7: 10 tokens stop both in their
	// answers; 4 stop both while thinking.
	var got struct {
		Trajectories []struct {
			Messages []map[string]any `json:"messages"`
		} `json:"trajectories"`
		Tokens               [][]map[string]any `json:"tokens"`
		StopReason           []string           `json:"stop_reason"`
		StoppedWhileThinking []bool             `json:"stopped_while_thinking"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	msg := got.Trajectories[0].Messages[1]
	if m := r.Trajectories[0].Messages[1]; msg["reasoning"] != m.Reasoning || m.Reasoning == "" || msg["content"] != m.Content || !strings.HasPrefix(m.Content, "\n\n") {
		t.Fatalf("message %v", msg)
	}
	if _, ok := got.Trajectories[0].Messages[0]["reasoning"]; ok {
		t.Error("the user message has a reasoning field")
	}
	parts := map[string]int{}
	for _, tok := range got.Tokens[0] {
		p, _ := tok["part"].(string)
		parts[p]++
	}
	if parts["thinking"] != 6 || parts["boundary"] != 1 || parts[""] != 3 || len(parts) != 3 {
		t.Fatalf("parts %v", parts)
	}
	if len(got.StoppedWhileThinking) != 2 || got.StoppedWhileThinking[0] || got.StopReason[0] != "length" {
		t.Fatalf("stop %v %v", got.StopReason, got.StoppedWhileThinking)
	}

	out.Reset()
	r, err = backend.RunSample(context.Background(), c, reasoningReq(ip(4), 2, nil), false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"stop_reason":["length","length"]`)) || !bytes.Contains(out.Bytes(), []byte(`"stopped_while_thinking":[true,true]`)) {
		t.Fatalf("cut off while thinking:\n%s", out.Bytes())
	}
	if m := r.Trajectories[1].Messages[1]; m.Content != "" || m.Reasoning == "" {
		t.Fatalf("message %+v", m)
	}
}

// A plain model's JSON is as it was: no reasoning, no parts, no stopped_while_thinking.
func TestPlainModelJSONUnchanged(t *testing.T) {
	_, c, _ := newTest(t)
	for _, api := range []params.API{params.Chat, params.Completion} {
		req := chatReq(sampling(0.8, i64(3), ip(5)), 2, ip(2))
		if api == params.Completion {
			req = backend.Request{API: api, Prompt: "Once", Params: req.Params, Options: req.Options}
		}
		var out bytes.Buffer
		if _, err := backend.RunSample(context.Background(), c, req, false, &out); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"reasoning"`, `"part"`, `"stopped_while_thinking"`} {
			if bytes.Contains(out.Bytes(), []byte(k)) {
				t.Errorf("%s: %s in %s", api, k, out.Bytes())
			}
		}
	}
}

// Completion mode has no parser: the reasoning model's text is everything, the
// end-of-thinking token included, and every token is the answer.
func TestReasoningModelCompletionMode(t *testing.T) {
	_, c, _ := newTest(t)
	req := backend.Request{API: params.Completion, Model: vllmtest.ReasoningModel, Prompt: "Once", Params: sampling(0.8, i64(3), ip(16)), Options: params.Options{N: 1, Logprobs: ip(1)}}
	_, r, _ := collect(t, context.Background(), c, req)
	text := r.Trajectories[0].Messages[1].Content
	if !strings.Contains(text, vllmtest.EndOfThinking) || r.Trajectories[0].Messages[1].Reasoning != "" || r.StoppedWhileThinking != nil {
		t.Fatalf("%+v", r.Trajectories[0])
	}
	if think, end, answer := joinParts(r.Tokens[0]); think != "" || end != "" || answer != text {
		t.Fatalf("parts %q %q %q", think, end, answer)
	}
}

// The switches reach the request body only when set, and the reasoning model obeys
// them: thinking off answers at once; effort changes how long it thinks.
func TestReasoningSwitchesReachTheServer(t *testing.T) {
	off := false
	cases := []struct {
		name   string
		a      params.Advanced
		fields map[string]string // JSON of each field, "" for absent
		think  int               // tokens sample 0 thinks
	}{
		{"unset", params.Advanced{}, map[string]string{"reasoning_effort": "", "chat_template_kwargs": ""}, 6},
		{"off", params.Advanced{EnableThinking: &off}, map[string]string{"reasoning_effort": "", "chat_template_kwargs": `{"enable_thinking":false}`}, 0},
		{"low", params.Advanced{ReasoningEffort: "low"}, map[string]string{"reasoning_effort": `"low"`, "chat_template_kwargs": ""}, 3},
		{"high", params.Advanced{ReasoningEffort: "high"}, map[string]string{"reasoning_effort": `"high"`, "chat_template_kwargs": ""}, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cl, _ := newTest(t)
			req := reasoningReq(ip(64), 1, ip(1))
			req.Options.Advanced = c.a
			_, r, _ := collect(t, context.Background(), cl, req)
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(srv.Requests()[0].Body, &raw); err != nil {
				t.Fatal(err)
			}
			for k, want := range c.fields {
				if string(raw[k]) != want {
					t.Errorf("%s = %s, want %q", k, raw[k], want)
				}
			}
			think, end, answer := backend.CountParts(r.Tokens[0])
			if think != c.think || (end == 1) != (c.think > 0) || answer == 0 {
				t.Errorf("parts %d %d %d, want %d thinking", think, end, answer, c.think)
			}
			if (c.think == 0) != (r.StoppedWhileThinking == nil) {
				t.Errorf("stopped_while_thinking %v", r.StoppedWhileThinking)
			}
		})
	}
}

// The attribution of one chunk at a time, from the delta's keys and, in a chunk that
// crosses from thinking to answer, from how much text each part brought.
func TestPartAttribution(t *testing.T) {
	type chunk struct {
		delta string // the chunk's delta JSON
		toks  []string
		want  string // one letter a token: t thinking, b boundary, a answer
	}
	cases := []struct {
		name   string
		stop   []string
		chunks []chunk
	}{
		{"one token a chunk", nil, []chunk{
			{`{"role":"assistant","content":""}`, nil, ""},
			{`{"reasoning":"Okay"}`, []string{"Okay"}, "t"},
			{`{"reasoning":" so"}`, []string{" so"}, "t"},
			{`{}`, []string{"</think>"}, "b"},
			{`{"content":"\n\n"}`, []string{"\n\n"}, "a"},
			{`{"content":"Hi"}`, []string{"Hi"}, "a"},
		}},
		{"crossing with answer", nil, []chunk{
			{`{"reasoning":"Okay so"}`, []string{"Okay", " so"}, "tt"},
			{`{"content":"\n\nHi","reasoning":" yes"}`, []string{" yes", "</think>", "\n\n", "Hi"}, "tbaa"},
		}},
		{"crossing without answer", nil, []chunk{
			{`{"content":null,"reasoning":" yes"}`, []string{" yes", "</think>"}, "tb"},
			{`{"content":"Hi"}`, []string{"Hi"}, "a"},
		}},
		{"crossing at the start of a chunk", nil, []chunk{
			{`{"reasoning":"Okay"}`, []string{"Okay"}, "t"},
			{`{"content":"Hi","reasoning":""}`, []string{"</think>", "Hi"}, "ba"},
		}},
		{"older servers' field", nil, []chunk{
			{`{"reasoning_content":"Okay"}`, []string{"Okay"}, "t"},
			{`{"content":"Hi","reasoning_content":" yes"}`, []string{" yes", "</think>", "Hi"}, "tba"},
		}},
		{"both names, as vLLM sent while renaming", nil, []chunk{
			{`{"reasoning":"Okay","reasoning_content":"Okay"}`, []string{"Okay"}, "t"},
			{`{}`, []string{"</think>"}, "b"},
		}},
		{"every key on every chunk, nulls", nil, []chunk{
			{`{"content":null,"reasoning_content":"Okay"}`, []string{"Okay"}, "t"},
			{`{"content":null,"reasoning_content":null}`, []string{"</think>"}, "b"},
			{`{"content":"Hi","reasoning_content":null}`, []string{"Hi"}, "a"},
		}},
		{"a start-of-thinking token", nil, []chunk{
			{`{}`, []string{"<think>"}, "b"},
			{`{"reasoning":"Okay"}`, []string{"Okay"}, "t"},
		}},
		{"a character split across tokens", nil, []chunk{
			{`{"reasoning":""}`, []string{"\ufffd"}, "t"},
			{`{"reasoning":"é"}`, []string{"\ufffd"}, "t"},
			{`{"content":"Hi","reasoning":" ok"}`, []string{" ok", "</think>", "Hi"}, "tba"},
		}},
		{"a split character in the crossing chunk", nil, []chunk{
			{`{"content":"Hi","reasoning":"é"}`, []string{"\ufffd", "\ufffd", "</think>", "Hi"}, "ttba"},
		}},
		{"thinking text held back, then released", []string{"Okay so"}, []chunk{
			{`{"reasoning":""}`, []string{"Okay"}, "t"},
			{`{"content":"Hi","reasoning":"Okay yes"}`, []string{" yes", "</think>", "Hi"}, "tba"},
		}},
		{"answer held back for a stop string", []string{"###"}, []chunk{
			{`{"content":null,"reasoning":" yes"}`, []string{" yes", "</think>", "\n\n"}, "tba"},
			{`{"content":"\n\nHi"}`, []string{"Hi"}, "a"},
		}},
		{"no stop string: nothing held back", nil, []chunk{
			{`{"content":null,"reasoning":" yes"}`, []string{" yes", "</think>", "\n\n"}, "tbb"},
		}},
		{"a delimiter of several tokens", nil, []chunk{
			{`{"content":"Hi","reasoning":" yes"}`, []string{" yes", "<|end|>", "<|start|>", "Hi"}, "tbba"},
		}},
		{"a character not yet whole at the end of the answer", nil, []chunk{
			{`{"content":"Hi","reasoning":""}`, []string{"</think>", "Hi", "\ufffd"}, "baa"},
		}},
		{"token text shorter than the thinking text", nil, []chunk{
			{`{"reasoning":"  Okay"}`, []string{"Okay"}, "t"},
			{`{"content":"Hi","reasoning":""}`, []string{"</think>", "Hi"}, "ba"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newPartAttributors(true, params.Stop{Strings: c.stop}, 1)
			for k, ch := range c.chunks {
				d := newDecoder(true, true)
				var lp []string
				for _, tok := range ch.toks {
					b, _ := json.Marshal(tok)
					lp = append(lp, `{"token":`+string(b)+`,"logprob":-1,"top_logprobs":[]}`)
				}
				data := `{"choices":[{"index":0,"delta":` + ch.delta + `,"logprobs":{"content":[` + strings.Join(lp, ",") + `]},"finish_reason":null}]}`
				if err := d.decode([]byte(data)); err != nil {
					t.Fatal(err)
				}
				dc := d.choices[0]
				a.assign(0, dc.delta, dc.text, dc.tokens)
				var got strings.Builder
				for _, tok := range dc.tokens {
					got.WriteByte("atb"[tok.Part])
				}
				if got.String() != ch.want {
					t.Errorf("chunk %d %s: parts %q, want %q", k, ch.delta, got.String(), ch.want)
				}
			}
		})
	}
}

// Completion mode attributes nothing.
func TestPartAttributionCompletion(t *testing.T) {
	a := newPartAttributors(false, params.Stop{}, 1)
	toks := []backend.Token{{Text: "</think>"}}
	a.assign(0, deltaKeys{}, "", toks)
	if toks[0].Part != backend.PartAnswer {
		t.Fatal(toks[0].Part)
	}
}

func TestTextInDecodesAsEncodingJSON(t *testing.T) {
	for _, in := range []string{`"plain"`, `""`, `"esc\"aped\n\u00e9"`, "\"bad \xff utf8\"", `"é ok"`} {
		var want string
		_ = json.Unmarshal([]byte(in), &want)
		var got textIn
		if err := got.UnmarshalJSON([]byte(in)); err != nil || got.s != want || !got.sent || got.null {
			t.Errorf("%s: %+v %v, want %q", in, got, err, want)
		}
	}
	var v struct {
		A, B textIn
	}
	if err := json.Unmarshal([]byte(`{"A":null}`), &v); err != nil || !v.A.sent || !v.A.null || v.B.sent {
		t.Errorf("null: %+v %v", v, err)
	}
}

// Split characters in both parts: each part's tokens are placed in that part's text.
func TestReasoningSplitCharactersPlaced(t *testing.T) {
	tok := func(text string) vllmtest.Tok { return vllmtest.Tok{Text: text, Logprob: -1} }
	s := vllmtest.Sample{Thinking: 4, Finish: "stop", StopReason: wire.StopNull(), Tokens: []vllmtest.Tok{
		tok("Ok"), tok("\xc3"), tok("\xa9"), tok(" so"), {Text: vllmtest.EndOfThinking, Logprob: -0.1}, tok("\n\n"), tok("\xe5\xa5"), tok("\xbd"),
	}}
	for _, per := range []int{1, 2, 3, 8} {
		srv, c, _ := newTest(t)
		srv.Push(vllmtest.Script{Samples: []vllmtest.Sample{s}, TokensPerChunk: per})
		_, r, _ := collect(t, context.Background(), c, chatReq(sampling(0.8, nil, ip(8)), 1, ip(0)))
		msg := r.Trajectories[0].Messages[1]
		if msg.Reasoning != "Oké so" || msg.Content != "\n\n好" {
			t.Fatalf("%d per chunk: %+v", per, msg)
		}
		// Each part's tokens cover its text, byte after byte.
		end := map[backend.Part]int{}
		for k, tk := range r.Tokens[0] {
			pl := tk.Place
			if tk.Part == backend.PartBoundary {
				if pl == nil || pl.In() {
					t.Fatalf("%d per chunk: the boundary is placed: %+v", per, pl)
				}
				continue
			}
			if pl == nil || !pl.In() || pl.Start != end[tk.Part] {
				t.Fatalf("%d per chunk: token %d %q at %+v, want it at %d", per, k, tk.Text, pl, end[tk.Part])
			}
			end[tk.Part] = pl.End
		}
		if end[backend.PartThinking] != len(msg.Reasoning) || end[backend.PartAnswer] != len(msg.Content) {
			t.Errorf("%d per chunk: places end at %v", per, end)
		}
	}
}
