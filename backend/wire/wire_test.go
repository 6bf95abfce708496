package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestStopReasonJSON(t *testing.T) {
	for in, want := range map[string]StopReason{
		`"###"`:  StopString("###"),
		`128009`: StopToken(128009),
		`null`:   StopNull(),
	} {
		var c struct {
			S StopReason `json:"stop_reason,omitzero"`
		}
		if err := json.Unmarshal([]byte(`{"stop_reason":`+in+`}`), &c); err != nil || c.S != want {
			t.Errorf("%s: %+v %v", in, c.S, err)
		}
		b, _ := Marshal(c)
		if string(b) != `{"stop_reason":`+in+`}` {
			t.Errorf("round trip %s: %s", in, b)
		}
	}
	var c struct {
		S StopReason `json:"stop_reason,omitzero"`
	}
	if b, _ := Marshal(c); string(b) != `{}` {
		t.Errorf("absent stop_reason written: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"stop_reason":[1]}`), &c); err == nil {
		t.Error("a list stop_reason was accepted")
	}
}

func TestChatChunkBytesAsVLLM(t *testing.T) {
	fin := "stop"
	chunks := []struct {
		c    ChatChunk
		want string
	}{
		{ChatChunk{ID: "chatcmpl-1", Object: "chat.completion.chunk", Created: 5, Model: "m", Choices: []ChatChunkChoice{{Index: 0, Delta: Delta{Role: "assistant", Content: Some("")}}}, PromptTokenIDs: Null[[]int]()},
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}`},
		{ChatChunk{ID: "chatcmpl-1", Object: "chat.completion.chunk", Created: 5, Model: "m", Choices: []ChatChunkChoice{{Index: 1, Delta: Delta{Content: Some(" Hi")}, Logprobs: &ChatLogprobs{Content: []ChatLogprob{{Token: " Hi", Logprob: -0.31, Bytes: []int{32, 72, 105}, TopLogprobs: []ChatTopLogprob{{Token: " Hi", Logprob: -0.31, Bytes: []int{32, 72, 105}}}}}}, TokenIDs: Null[[]int]()}}},
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":1,"delta":{"content":" Hi"},"logprobs":{"content":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105],"top_logprobs":[{"token":" Hi","logprob":-0.31,"bytes":[32,72,105]}]}]},"finish_reason":null,"token_ids":null}]}`},
		{ChatChunk{ID: "chatcmpl-1", Object: "chat.completion.chunk", Created: 5, Model: "m", Choices: []ChatChunkChoice{{Index: 0, Delta: Delta{Content: Some("")}, FinishReason: &fin, StopReason: StopNull(), TokenIDs: Null[[]int]()}}},
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null,"token_ids":null}]}`},
		{ChatChunk{ID: "chatcmpl-1", Object: "chat.completion.chunk", Created: 5, Model: "m", Choices: []ChatChunkChoice{}, Usage: &Usage{PromptTokens: 13, TotalTokens: 16, CompletionTokens: 3}},
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":5,"model":"m","choices":[],"usage":{"prompt_tokens":13,"total_tokens":16,"completion_tokens":3}}`},
	}
	for _, c := range chunks {
		b, err := Marshal(c.c)
		if err != nil || string(b) != c.want {
			t.Errorf("got  %s\nwant %s", b, c.want)
		}
		var back ChatChunk
		if err := json.Unmarshal([]byte(c.want), &back); err != nil {
			t.Fatal(err)
		}
		if b2, _ := Marshal(back); string(b2) != c.want {
			t.Errorf("decode+encode changed the bytes:\n%s\n%s", b2, c.want)
		}
	}
}

func TestCompletionChunkBytesAsVLLM(t *testing.T) {
	want := `{"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":1,"text":" world","logprobs":{"text_offset":[5],"token_logprobs":[-0.52],"tokens":[" world"],"top_logprobs":[{" world":-0.52," there":-1.4," all":-2}]},"finish_reason":null,"stop_reason":null}]}`
	var c CompletionChunk
	if err := json.Unmarshal([]byte(want), &c); err != nil {
		t.Fatal(err)
	}
	top := c.Choices[0].Logprobs.TopLogprobs[0]
	if len(top) != 3 || top[0].Token != " world" || top[2].Token != " all" || top[1].Logprob != -1.4 {
		t.Errorf("top_logprobs order lost: %+v", top)
	}
	if b, _ := Marshal(c); string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var null CompletionLogprobs
	if err := json.Unmarshal([]byte(`{"text_offset":[0],"token_logprobs":[null],"tokens":["a"],"top_logprobs":[null]}`), &null); err != nil || null.TokenLogprobs[0] != nil || null.TopLogprobs[0] != nil {
		t.Errorf("nulls: %+v %v", null, err)
	}
}

func TestPromptPositionsKeepOrder(t *testing.T) {
	in := `[null,{"791":{"logprob":-3.2,"rank":7,"decoded_token":" upon"},"12":{"logprob":-0.1,"rank":1,"decoded_token":" a"}}]`
	var ps []PromptPosition
	if err := json.Unmarshal([]byte(in), &ps); err != nil {
		t.Fatal(err)
	}
	if ps[0] != nil || len(ps[1]) != 2 || ps[1][0].TokenID != 791 || *ps[1][0].Rank != 7 || *ps[1][1].DecodedToken != " a" {
		t.Errorf("%+v", ps)
	}
	if b, _ := Marshal(ps); string(b) != in {
		t.Errorf("round trip: %s", b)
	}
}

func TestParseErrorShapes(t *testing.T) {
	for in, want := range map[string]string{
		`{"error":{"message":"top_p must be in (0, 1]","type":"BadRequestError","param":"top_p","code":400}}`:     "top_p must be in (0, 1]|top_p|400",
		`{"object":"error","message":"The model does not exist.","type":"NotFoundError","param":null,"code":404}`: "The model does not exist.||404",
		`{"error":"plain text"}`:                 "plain text||0",
		`{"error":{"message":"m","code":"500"}}`: "m||500",
	} {
		info, ok := ParseError([]byte(in))
		param := ""
		if info.Param != nil {
			param = *info.Param
		}
		got := info.Message + "|" + param + "|" + itoa(info.StatusCode())
		if !ok || got != want {
			t.Errorf("%s: %q ok=%v, want %q", in, got, ok, want)
		}
	}
	for _, not := range []string{`{"id":"x","choices":[]}`, `[DONE]`, `{"error":null,"choices":[]}`, `nonsense`, `{"object":"chat.completion.chunk"}`} {
		if _, ok := ParseError([]byte(not)); ok {
			t.Errorf("%s taken for an error", not)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRequestHelpers(t *testing.T) {
	var r Request
	_ = json.Unmarshal([]byte(`{"prompt":["hi"],"stop":"###","logprobs":3}`), &r)
	p, err := r.PromptText()
	s, _ := r.StopStrings()
	k, _ := r.LogprobsK(false)
	if err != nil || p != "hi" || len(s) != 1 || s[0] != "###" || *k != 3 {
		t.Errorf("%q %v %v %v", p, err, s, k)
	}
	var c Request
	_ = json.Unmarshal([]byte(`{"logprobs":false,"top_logprobs":2}`), &c)
	if _, err := c.LogprobsK(true); err == nil {
		t.Error("top_logprobs without logprobs accepted")
	}
}

// decoderScan is what scanObject must agree with: encoding/json's own tokenizer.
func decoderScan(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, tok.(string)+"="+string(raw))
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

func TestScanObjectAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":-1.5e-3 , "b" : null,"c":true}`,
		`{"\u00e9t\u00e9":-1,"tab\there":2,"q\"uote":3,"back\\slash":4,"é":5}`,
		`{"s":"x,}{\"]","o":{"k":[1,{"z":"}"}]},"e":[]}`,
		"{\n\t\"a\" :\r\n[ 1 , 2 ]\n}",
	} {
		want, err := decoderScan([]byte(in))
		if err != nil {
			t.Fatalf("reference failed on %s: %v", in, err)
		}
		var got []string
		if err := scanObject([]byte(in), func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		}); err != nil {
			t.Errorf("scanObject(%s): %v", in, err)
			continue
		}
		// The decoder compacts nothing inside a value; both keep its bytes as sent.
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("scanObject(%s) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":"x}`, `{"a":{"b":1}`, `{a:1}`, `{"a":1}x`, `{"a` + "\x01" + `":1}`} {
		if err := scanObject([]byte(bad), func(string, []byte) error { return nil }); err == nil {
			t.Errorf("scanObject(%q) accepted malformed input", bad)
		}
	}
}

// FuzzParseError reads what a server sends as an error, in any shape or none. It must
// never panic; it recognises only JSON objects; and what it recognises survives being
// written back in both of vLLM's shapes.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"message":"top_p must be in (0, 1], got 0.0.","type":"BadRequestError","param":"top_p","code":400}}`,
		`{"object":"error","message":"n must be 1 when using greedy sampling, got 3.","type":"BadRequestError","param":null,"code":400}`,
		`{"error":"quota exceeded"}`,
		`{"error":{"message":"x","code":"429"}}`,
		`{"error":null,"object":"error","message":"flat"}`,
		`{"error":{"message":1}}`,
		`{"choices":[]}`, ` {"error":{}} `, `[{"error":"x"}]`, `"error"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok := ParseError(b)
		if !ok {
			if info.Message != "" || info.Type != "" || info.Param != nil {
				t.Fatalf("not an error, yet %+v", info)
			}
			return
		}
		if !json.Valid(b) || bytes.TrimSpace(b)[0] != '{' {
			t.Fatalf("%q is not a JSON object, yet read as an error", b)
		}
		_ = info.StatusCode()
		nested, err := Marshal(NewErrorBody(400, info.Type, info.Message, info.Param))
		if err != nil {
			t.Fatal(err)
		}
		flat, err := Marshal(FlatErrorBody{Object: "error", ErrorInfo: ErrorInfo{Message: info.Message, Type: info.Type, Param: info.Param, Code: json.RawMessage("400")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range [][]byte{nested, flat} {
			back, ok := ParseError(body)
			if !ok || back.Message != info.Message || back.Type != info.Type || (back.Param == nil) != (info.Param == nil) ||
				(back.Param != nil && *back.Param != *info.Param) || back.StatusCode() != 400 {
				t.Fatalf("%+v written as %s reads back as %+v (%v)", info, body, back, ok)
			}
		}
	})
}
