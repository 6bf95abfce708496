package backend_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

func part(text string, lp float64, p backend.Part) backend.Token {
	return backend.Token{Text: text, Logprob: backend.Logprob(lp), ID: backend.NoTokenID, Part: p}
}

// The JSON a reasoning model's run makes: the thinking on the assistant message as
// "reasoning", each token's part, and stopped_while_thinking for every sample.
func TestReasoningJSONContract(t *testing.T) {
	req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: params.Default(), Options: params.Options{N: 2, Logprobs: ip(0)}}
	a := backend.NewAssembler(req)
	for _, ev := range []backend.Event{
		{Kind: backend.EventStart, Start: &backend.StartInfo{First: 0, Count: 2, Requested: 2, Model: "m", Params: params.Default(), Seeds: []*int64{nil, nil}}},
		{Kind: backend.EventTokens, Sample: 0, Reasoning: "Hm", Tokens: []backend.Token{part("Hm", -1, backend.PartThinking)}},
		{Kind: backend.EventTokens, Sample: 1, Reasoning: "So", Tokens: []backend.Token{part("So", -0.5, backend.PartThinking)}},
		{Kind: backend.EventTokens, Sample: 0, Tokens: []backend.Token{part("</think>", -0.25, backend.PartBoundary)}},
		{Kind: backend.EventTokens, Sample: 0, Text: "Hi", Tokens: []backend.Token{part("Hi", -2, backend.PartAnswer)}},
		{Kind: backend.EventFinish, Sample: 0, Reason: backend.StopStop, StoppedBy: backend.StoppedBy{Kind: backend.StoppedByEOS}},
		{Kind: backend.EventFinish, Sample: 1, Reason: backend.StopLength},
		{Kind: backend.EventDone},
	} {
		a.Apply(ev)
	}
	b, err := json.Marshal(a.Response())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"trajectories":[{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hi","reasoning":"Hm"}]},{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","reasoning":"So"}]}],` +
		`"logprobs":[[-1,-0.25,-2],[-0.5]],"prompt_logprobs":null,"stop_reason":["stop","length"],"stopped_by":["eos",null],` +
		`"tokens":[[{"text":"Hm","logprob":-1,"part":"thinking","start":0,"end":2},{"text":"\u003c/think\u003e","logprob":-0.25,"part":"boundary","start":null,"end":null},{"text":"Hi","logprob":-2,"start":0,"end":2}],[{"text":"So","logprob":-0.5,"part":"thinking","start":0,"end":2}]],` +
		`"seeds":[null,null],"usage":{"prompt_tokens":0,"completion_tokens":0},"model":"m","params":` + mustJSON(params.Default()) +
		`,"logprobs_mode":"raw_logprobs","stopped_while_thinking":[false,true]}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if a.Reasoning(1) != "So" || !a.Thinking(1).Still() || a.Thinking(0).Still() || a.Reasoning(9) != "" {
		t.Error("Assembler accessors")
	}
	var back backend.SampleResponse
	if err := json.Unmarshal(b, &back); err != nil || back.Tokens[0][1].Part != backend.PartBoundary || back.Trajectories[0].Messages[1].Reasoning != "Hm" {
		t.Fatalf("read back: %v %+v", err, back.Tokens)
	}
	var ev map[string]any
	line, _ := json.Marshal(backend.Event{Kind: backend.EventTokens, Sample: 1, Reasoning: "So"})
	if json.Unmarshal(line, &ev); ev["reasoning"] != "So" {
		t.Errorf("stream line %s", line)
	}
}

func TestThinkingState(t *testing.T) {
	cases := []struct {
		name   string
		evs    []backend.Event
		want   backend.ThinkingState
		cutOff bool
	}{
		{"no thinking", []backend.Event{{Kind: backend.EventTokens, Text: "Hi", Tokens: []backend.Token{part("Hi", -1, backend.PartAnswer)}}}, backend.ThinkingState{}, false},
		{"thinking text", []backend.Event{{Kind: backend.EventTokens, Reasoning: "Hm"}}, backend.ThinkingState{Thought: true}, true},
		{"a start token is not an end", []backend.Event{
			{Kind: backend.EventTokens, Tokens: []backend.Token{part("<think>", -1, backend.PartBoundary)}},
			{Kind: backend.EventTokens, Reasoning: "Hm", Tokens: []backend.Token{part("Hm", -1, backend.PartThinking)}},
		}, backend.ThinkingState{Thought: true}, true},
		{"the end token ends it", []backend.Event{
			{Kind: backend.EventTokens, Reasoning: "Hm", Tokens: []backend.Token{part("Hm", -1, backend.PartThinking)}},
			{Kind: backend.EventTokens, Tokens: []backend.Token{part("</think>", -1, backend.PartBoundary)}},
		}, backend.ThinkingState{Thought: true, Ended: true}, false},
		{"answer text ends it (no logprobs)", []backend.Event{{Kind: backend.EventTokens, Reasoning: "Hm", Text: "Hi"}}, backend.ThinkingState{Thought: true, Ended: true}, false},
	}
	for _, c := range cases {
		var s backend.ThinkingState
		for _, ev := range c.evs {
			s.Add(ev)
		}
		if s != c.want || s.StoppedWhileThinking(backend.StopLength) != c.cutOff || s.StoppedWhileThinking(backend.StopStop) {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
}

func TestPartsOf(t *testing.T) {
	if backend.PartsOf([]backend.Token{part("a", -1, backend.PartAnswer)}) != nil || backend.StatsOf(nil).Parts != nil {
		t.Error("no thinking: no parts")
	}
	toks := []backend.Token{part("a", -1, backend.PartThinking), part("b", -3, backend.PartThinking), {Text: "c", Logprob: backend.Unknown(), Part: backend.PartThinking},
		part("</think>", -0.5, backend.PartBoundary), part("x", -2, backend.PartAnswer)}
	st := backend.StatsOf(toks)
	p := st.Parts
	if p == nil || p.Thinking.Tokens != 3 || p.Thinking.Scored != 2 || !near(p.Thinking.MeanLogprob, -2) || !near(p.Thinking.MeanSurprisalBits, 2/math.Ln2) ||
		p.Boundary.Tokens != 1 || !near(p.Boundary.MeanLogprob, -0.5) || p.Answer.Tokens != 1 || !near(p.Answer.MeanSurprisalBits, 2/math.Ln2) || st.Tokens != 5 {
		t.Fatalf("%+v", p)
	}
	b, _ := json.Marshal(backend.PartsOf([]backend.Token{part("a", -1, backend.PartThinking)}))
	if !strings.Contains(string(b), `"answer":{"tokens":0,"scored":0,"mean_logprob":null,"mean_surprisal_bits":null}`) {
		t.Errorf("%s", b)
	}
	if th, bo, an := backend.CountParts(toks); th != 3 || bo != 1 || an != 1 {
		t.Errorf("count %d %d %d", th, bo, an)
	}
	var q backend.Part
	if err := json.Unmarshal([]byte(`"thinking"`), &q); err != nil || q != backend.PartThinking || json.Unmarshal([]byte(`"other"`), &q) == nil {
		t.Errorf("part JSON: %v %v", q, err)
	}
}

// The collector times the thinking and the answer apart: by their tokens with logprobs,
// by their texts without.
func TestCollectorTimesParts(t *testing.T) {
	for _, withTokens := range []bool{true, false} {
		req := backend.Request{API: params.Chat, Messages: []backend.Message{{Role: "user", Content: "hi"}}, Params: params.Default(), Options: params.Options{N: 1}}
		clock := &stepClock{t: time.Unix(0, 0), step: 10 * time.Millisecond}
		c := backend.NewCollector(req, clock.now) // 10ms
		ev := func(reasoning, text string, toks ...backend.Token) backend.Event {
			if !withTokens {
				toks = nil
			}
			return backend.Event{Kind: backend.EventTokens, Reasoning: reasoning, Text: text, Tokens: toks}
		}
		for _, e := range []backend.Event{
			{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1, Params: params.Default()}},
			ev("a", "", part("a", -1, backend.PartThinking)),                                       // 20ms
			ev("bc", "", part("b", -1, backend.PartThinking), part("c", -1, backend.PartThinking)), // 30ms
			ev("d", "", part("d", -1, backend.PartThinking)),                                       // 40ms
			ev("", "", part("</think>", -1, backend.PartBoundary)),                                 // 50ms
			ev("", "x", part("x", -1, backend.PartAnswer)),                                         // 60ms
			ev("", "y", part("y", -1, backend.PartAnswer)),                                         // 70ms
			{Kind: backend.EventFinish, Reason: backend.StopStop},
			{Kind: backend.EventDone},
		} {
			if !withTokens && e.Kind == backend.EventTokens && e.Text == "" && e.Reasoning == "" {
				continue // without logprobs the end token sends nothing
			}
			c.Apply(e)
		}
		tm := c.Results()[0].Timings[0]
		p := tm.Parts
		if p == nil || !near(p.Thinking.Millis, 20) || !near(p.Answer.Millis, 10) {
			t.Fatalf("tokens %v: %+v", withTokens, p)
		}
		if withTokens {
			if *p.Thinking.Tokens != 4 || !near(p.Thinking.TokensPerSecond, 3/0.020) || *p.Answer.Tokens != 2 || !near(p.Answer.TokensPerSecond, 1/0.010) {
				t.Errorf("thinking %v %v, answer %v %v", *p.Thinking.Tokens, *p.Thinking.TokensPerSecond, *p.Answer.Tokens, *p.Answer.TokensPerSecond)
			}
		} else if p.Thinking.Tokens != nil || p.Thinking.TokensPerSecond != nil {
			t.Errorf("no tokens without logprobs: %+v", p.Thinking)
		}
		if resp := c.Results()[0].Response; resp.Trajectories[0].Messages[1].Reasoning != "abcd" || resp.StoppedWhileThinking[0] {
			t.Errorf("%+v", resp)
		}
	}
	// A sample without thinking has no parts.
	c := backend.NewCollector(backend.Request{API: params.Completion, Prompt: "p", Params: params.Default()}, (&stepClock{step: time.Millisecond}).now)
	c.Apply(backend.Event{Kind: backend.EventStart, Start: &backend.StartInfo{Count: 1, Requested: 1}})
	c.Apply(backend.Event{Kind: backend.EventTokens, Text: "x"})
	c.Apply(backend.Event{Kind: backend.EventFinish, Reason: backend.StopStop})
	if c.Results()[0].Timings[0].Parts != nil {
		t.Error("parts without thinking")
	}
}

// Coalescing a frame's events keeps the thinking, apart from the answer.
func TestCoalesceKeepsReasoning(t *testing.T) {
	in := []backend.Event{
		{Kind: backend.EventTokens, Sample: 0, Reasoning: "Hm", Tokens: []backend.Token{part("Hm", -1, backend.PartThinking)}},
		{Kind: backend.EventTokens, Sample: 0, Reasoning: " ok", Tokens: []backend.Token{part(" ok", -1, backend.PartThinking)}},
		{Kind: backend.EventTokens, Sample: 0, Tokens: []backend.Token{part("</think>", -1, backend.PartBoundary)}},
		{Kind: backend.EventTokens, Sample: 0, Text: "Hi", Tokens: []backend.Token{part("Hi", -1, backend.PartAnswer)}},
	}
	out := backend.Coalesce(in)
	if len(out) != 1 || out[0].Reasoning != "Hm ok" || out[0].Text != "Hi" || len(out[0].Tokens) != 4 || out[0].Tokens[2].Part != backend.PartBoundary {
		t.Fatalf("%+v", out)
	}
}
