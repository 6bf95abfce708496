package vllmcheck

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// check runs a body through everything a server does before generating, with a prompt
// of one token per word.
func check(t *testing.T, body string, chat bool, m Model) (*Request, *Error) {
	t.Helper()
	p, e := Decode([]byte(body))
	if e != nil {
		return nil, e
	}
	r, e := Check(p, chat, m)
	if e != nil {
		return nil, e
	}
	ids := r.PromptIDs
	if ids == nil {
		ids = make([]int, len(strings.Fields(r.Prompt+" "+joined(r))))
	}
	return r, r.Tokens(ids, m)
}

func joined(r *Request) string {
	var parts []string
	for _, m := range r.Messages {
		parts = append(parts, m.Content)
	}
	return strings.Join(parts, " ")
}

var chatModel = Model{MaxModelLen: 100, VocabSize: 1000, ChatTemplate: true}

func TestDecodeReadsAsPydantic(t *testing.T) {
	t.Parallel()
	p, e := Decode([]byte(`{"prompt":"a","Temperature":0.1,"TOP_P":0.2,"temperature":0.5,"extra":{"x":1}}`))
	if e != nil || *p.Temperature != 0.5 || p.TopP != nil {
		t.Fatalf("exact names only: %+v %v", p, e)
	}
	p, e = Decode([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"c"}]}`))
	if e != nil || p.Messages[0].Content != "a\nb" || p.Messages[1].Content != "c" {
		t.Fatalf("text parts: %+v %v", p, e)
	}
	for body, want := range map[string]string{
		``:                        "not valid JSON",
		`{"prompt":"a"`:           "not valid JSON",
		`{"prompt":"a"} trailing`: "not valid JSON",
		`null`:                    "must be a JSON object",
		`[{"prompt":"a"}]`:        "must be a JSON object",
		`"text"`:                  "must be a JSON object",
		`{"temperature":"hot"}`:   "temperature: Input should be a valid number, got JSON string",
		`{"n":2.5}`:               "n: Input should be a valid integer, got JSON number 2.5",
		`{"stream":1}`:            "stream: Input should be a valid boolean, got JSON number",
		`{"stop_token_ids":"x"}`:  "stop_token_ids: Input should be a valid list, got JSON string",
		`{"stream_options":[]}`:   "stream_options: Input should be a valid object, got JSON array",
		`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`: "only text content parts are supported",
	} {
		_, e := Decode([]byte(body))
		if e == nil || e.Status != 400 || e.Type != "BadRequestError" || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %+v, want %q", body, e, want)
		}
		if e != nil && (strings.Contains(e.Message, "float64") || strings.Contains(e.Message, "Go struct")) {
			t.Errorf("%s: message names Go types: %q", body, e.Message)
		}
	}
}

func TestReadBodyLimit(t *testing.T) {
	t.Parallel()
	if b, e := ReadBody(bytes.NewReader(make([]byte, MaxBodyBytes))); e != nil || len(b) != MaxBodyBytes {
		t.Fatalf("a body of exactly the limit: %d %v", len(b), e)
	}
	_, e := ReadBody(bytes.NewReader(make([]byte, MaxBodyBytes+1)))
	if e == nil || e.Status != 413 || e.Type != "Request Entity Too Large" || !strings.Contains(e.Message, "too large") {
		t.Fatalf("one byte over: %+v", e)
	}
	rec := httptest.NewRecorder()
	e.Write(rec)
	if rec.Code != 413 || rec.Body.String() != `{"error":{"message":"Request body is too large: more than 8388608 bytes (8 MiB).","type":"Request Entity Too Large","param":null,"code":413}}` {
		t.Fatalf("written: %d %s", rec.Code, rec.Body)
	}
}

func TestCheckDefaultsAsVLLM(t *testing.T) {
	t.Parallel()
	r, e := check(t, `{"prompt":"a b"}`, false, chatModel)
	if e != nil || *r.Sampling.MaxTokens != 16 || r.Sampling.N != 1 || r.Sampling.Temperature != 1 || r.Sampling.TopK != 0 || r.Logprobs != -1 || r.PromptLogprobs != -1 {
		t.Fatalf("completions defaults: %+v %v", r, e)
	}
	// Sent as null, max_tokens runs to the end of the context; chat leaves it there too.
	if r, e := check(t, `{"prompt":"a","max_tokens":null}`, false, chatModel); e != nil || r.Sampling.MaxTokens != nil {
		t.Fatalf("max_tokens null: %+v %v", r, e)
	}
	if r, e := check(t, `{"messages":[{"role":"user","content":"a"}]}`, true, chatModel); e != nil || r.Sampling.MaxTokens != nil {
		t.Fatalf("chat max_tokens: %+v %v", r, e)
	}
	r, e = check(t, `{"prompt":"a","seed":-1,"logprobs":3,"echo":true,"stream":true,"stream_options":{"include_usage":true}}`, false, chatModel)
	if e != nil || r.Seed != nil || r.Logprobs != 3 || *r.Sampling.PromptLogprobs != 3 || r.PromptLogprobs != -1 || !r.IncludeUsage || !r.Echo {
		t.Fatalf("seed -1, echo: %+v %v", r, e)
	}
	r, e = check(t, `{"messages":[{"role":"user","content":"a"}],"logprobs":true}`, true, chatModel)
	if e != nil || r.Logprobs != 0 {
		t.Fatalf("chat logprobs without top_logprobs: %+v %v", r, e)
	}
	r, e = check(t, `{"messages":[{"role":"user","content":"a"}],"logprobs":false,"top_logprobs":0}`, true, chatModel)
	if e != nil || r.Logprobs != -1 {
		t.Fatalf("chat logprobs false: %+v %v", r, e)
	}
	if r, e := check(t, `{"prompt":[[5,6,7]]}`, false, chatModel); e != nil || len(r.PromptIDs) != 3 {
		t.Fatalf("prompt as nested ids: %+v %v", r, e)
	}
}

func TestCheckRefusesAsVLLM(t *testing.T) {
	t.Parallel()
	named := chatModel
	named.Names = []string{"m"}
	noTemplate := chatModel
	noTemplate.ChatTemplate = false
	msgs := `"messages":[{"role":"user","content":"a"}]`
	cases := []struct {
		body   string
		chat   bool
		m      Model
		status int
		param  string
		msg    string
	}{
		// The request models' own checks see the JSON as sent: an empty object is no
		// stream_options, and prompt_logprobs 0 is allowed on a stream.
		{`{"prompt":"a","stream_options":{"include_usage":false}}`, false, chatModel, 400, "stream_options", "Stream options can only be defined when `stream=True`. (parameter=stream_options)"},
		{`{"prompt":"a","stream":true,"prompt_logprobs":-1}`, false, chatModel, 400, "prompt_logprobs", "`prompt_logprobs` are not available when `stream=True`. (parameter=prompt_logprobs)"},
		{`{"prompt":"a","prompt_logprobs":-2}`, false, chatModel, 400, "prompt_logprobs", "`prompt_logprobs` must be a positive value or -1. (parameter=prompt_logprobs, value=-2)"},
		{`{"prompt":"a","logprobs":-1}`, false, chatModel, 400, "logprobs", "`logprobs` must be a positive value. (parameter=logprobs, value=-1)"},
		{`{"prompt":"a","logprobs":true}`, false, chatModel, 400, "logprobs", "logprobs: Input should be a valid integer"},
		{`{` + msgs + `,"top_logprobs":-2,"logprobs":true}`, true, chatModel, 400, "top_logprobs", "`top_logprobs` must be a positive value or -1. (parameter=top_logprobs, value=-2)"},
		{`{` + msgs + `,"top_logprobs":-1}`, true, chatModel, 400, "top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true. (parameter=top_logprobs)"},
		{`{` + msgs + `,"continue_final_message":true,"add_generation_prompt":true,"logprobs":3}`, true, chatModel, 400, "", "Cannot set both `continue_final_message` and `add_generation_prompt` to True."},
		{`{` + msgs + `,"logprobs":3}`, true, chatModel, 400, "logprobs", "logprobs: Input should be a valid boolean"},
		{`{"messages":null}`, true, chatModel, 400, "messages", "messages: Field required"},
		{`{"prompt":null}`, false, chatModel, 400, "", "Either prompt or prompt_embeds must be provided and non-empty."},
		{`{"prompt":["a","b"]}`, false, chatModel, 400, "prompt", "prompt must be a string or a list of one string"},
		{`{"prompt":"a","stop":5}`, false, chatModel, 400, "stop", "stop must be a string or a list of strings"},
		// Then the model name, then the chat template: before any sampling check.
		{`{"prompt":"a","model":"other","top_p":0}`, false, named, 404, "model", "The model `other` does not exist."},
		{`{` + msgs + `,"top_p":0,"n":0}`, true, noTemplate, 400, "", NoChatTemplate},
		{`{` + msgs + `,"stream_options":{"include_usage":true}}`, true, noTemplate, 400, "stream_options", "Stream options"},
		// Then the context, before SamplingParams' checks.
		{`{"prompt":"a b c","max_tokens":98,"top_p":0}`, false, chatModel, 400, "input_tokens", "This model's maximum context length is 100 tokens. However, you requested 98 output tokens and your prompt contains at least 3 input tokens, for a total of at least 101 tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=3)"},
		{`{"prompt":"a","max_tokens":9223372036854775807}`, false, chatModel, 400, "input_tokens", "you requested 9223372036854775807 output tokens and your prompt contains at least 1 input tokens, for a total of at least 9223372036854775807 tokens."},
		{`{"prompt":"a","max_tokens":-9223372036854775808}`, false, chatModel, 400, "max_tokens", "max_tokens must be at least 1, got -9223372036854775808."},
		{`{"prompt":"a","top_p":0}`, false, chatModel, 400, "top_p", "top_p must be in (0, 1], got 0.0."},
		// Then the engine's checks and the prompt's.
		{`{"prompt":"a","stop_token_ids":[1000]}`, false, chatModel, 400, "stop_token_ids", "token_id(s) [1000] in stop_token_ids"},
		{`{"prompt":[3,1000,-4]}`, false, chatModel, 400, "", "Token id 1000 is out of vocabulary"},
		{`{"prompt":[3,-4]}`, false, chatModel, 400, "", "Token id -4 is out of vocabulary"},
		{`{"messages":[{"role":"user","content":"a b"}],"max_tokens":null}`, true, Model{MaxModelLen: 2, ChatTemplate: true}, 400, "", "The decoder prompt (length 2) plus the number of requested output tokens (at least 1) is longer than the maximum model length of 2."},
		{`{"prompt":"   "}`, false, chatModel, 400, "", "The decoder prompt cannot be empty"},
	}
	for _, tc := range cases {
		_, e := check(t, tc.body, tc.chat, tc.m)
		if e == nil || e.Status != tc.status || e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %+v\nwant %d param %q message %q", tc.body, e, tc.status, tc.param, tc.msg)
		}
	}
	for _, ok := range []string{
		`{"prompt":"a","stream_options":{}}`,
		`{"prompt":"a","stream":true,"prompt_logprobs":0}`,
		`{"prompt":"a","model":"m"}`,
		`{"prompt":"a","max_tokens":99}`,
	} {
		if _, e := check(t, ok, false, named); e != nil {
			t.Errorf("%s refused: %v", ok, e)
		}
	}
	// add_generation_prompt is true when omitted, but the check sees the JSON as sent.
	for _, ok := range []string{
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}],"continue_final_message":true}`,
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}],"continue_final_message":true,"add_generation_prompt":false}`,
	} {
		if _, e := check(t, ok, true, chatModel); e != nil {
			t.Errorf("%s refused: %v", ok, e)
		}
	}
}

func TestTextTooLong(t *testing.T) {
	t.Parallel()
	r, e := check(t, `{"prompt":"a","max_tokens":10}`, false, chatModel)
	if e != nil {
		t.Fatal(e)
	}
	// A 100-token context; a token is at most 4 bytes here. Up to 400 bytes the
	// tokenizer decides (the count in a refusal is then exact).
	if e := r.TextTooLong(400, 4, chatModel); e != nil {
		t.Fatalf("400 bytes may hold 100 tokens: %v", e)
	}
	e = r.TextTooLong(401, 4, chatModel)
	if e == nil || e.Param != "input_tokens" || !strings.Contains(e.Message, "you requested 10 output tokens and your prompt contains at least 101 input tokens, for a total of at least 111 tokens") {
		t.Fatalf("401 bytes: %+v", e)
	}
	if e := r.TextTooLong(1<<40, 4, Model{}); e != nil {
		t.Fatalf("no context length, no check: %v", e)
	}
}

// vLLM's other sampling fields: their types as the request models check them, then
// SamplingParams' rules in vLLM's order and words.
func TestCheckAdvancedFieldsAsVLLM(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body  string
		param string
		msg   string
	}{
		{`{"prompt":"a","min_tokens":null}`, "min_tokens", "min_tokens: Input should be a valid integer, got JSON null"},
		{`{"prompt":"a","ignore_eos":null}`, "ignore_eos", "ignore_eos: Input should be a valid boolean, got JSON null"},
		{`{"prompt":"a","include_stop_str_in_output":null}`, "include_stop_str_in_output", "include_stop_str_in_output: Input should be a valid boolean, got JSON null"},
		{`{"prompt":"a","bad_words":null}`, "bad_words", "bad_words: Input should be a valid list, got JSON null"},
		{`{"prompt":"a","bad_words":"x"}`, "bad_words", "bad_words: Input should be a valid list, got JSON string"},
		{`{"prompt":"a","logit_bias":{"5":null}}`, "logit_bias", "logit_bias.5: Input should be a valid number, got JSON null"},
		{`{"prompt":"a","logit_bias":{"5":"x"}}`, "logit_bias", "Input should be a valid number"},
		{`{"prompt":"a","logit_bias":[1]}`, "logit_bias", "logit_bias: Input should be a valid object"},
		// The types come before the model name.
		{`{"prompt":"a","model":"other","logit_bias":{"5":null}}`, "logit_bias", "logit_bias.5: Input should be a valid number"},
		// The context comes before the keys (to_sampling_params runs on the tokenized prompt).
		{`{"prompt":"a b c","max_tokens":98,"logit_bias":{"x":1}}`, "input_tokens", "This model's maximum context length is 100 tokens."},
		{`{"prompt":"a","n":0,"logit_bias":{"x":1,"2":1,"y z":1}}`, "logit_bias", "logit_bias contains key(s) that cannot be converted to integer token IDs: ['x', 'y z'] (parameter=logit_bias, value=['x', 'y z'])"},
		{`{"prompt":"a","logit_bias":{"1000":5,"7":1,"-3":1}}`, "logit_bias", "token_id(s) [1000, -3] in logit_bias contain out-of-vocab token ids. Vocabulary size: 1000 (parameter=logit_bias, value=[1000, -3])"},
		{`{"prompt":"a","min_p":1.5}`, "", "min_p must be in [0, 1], got 1.5."},
		{`{"prompt":"a","presence_penalty":-2.5}`, "", "presence_penalty must be in [-2, 2], got -2.5."},
		{`{"prompt":"a","frequency_penalty":3}`, "", "frequency_penalty must be in [-2, 2], got 3.0."},
		{`{"prompt":"a","min_tokens":-1}`, "", "min_tokens must be greater than or equal to 0, got -1."},
		{`{"prompt":"a","min_tokens":17}`, "", "min_tokens must be less than or equal to max_tokens=16, got 17."},
		{`{"prompt":"a","bad_words":["x",""]}`, "", "bad_words cannot contain an empty string. Got bad_words=['x', '']"},
	}
	for _, tc := range cases {
		_, e := check(t, tc.body, false, chatModel)
		if e == nil || e.Status != 400 || e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %+v\nwant param %q message %q", tc.body, e, tc.param, tc.msg)
		}
	}
	r, e := check(t, `{"prompt":"a","min_p":0.5,"presence_penalty":1,"frequency_penalty":-1,"min_tokens":3,"max_tokens":3,"ignore_eos":true,"include_stop_str_in_output":true,"logit_bias":{"9":200,"8":-1.5,"0_9":-300},"bad_words":["x","x"," y"]}`, false, chatModel)
	if e != nil {
		t.Fatalf("valid advanced fields refused: %v", e)
	}
	s := r.Sampling
	if s.MinP != 0.5 || s.PresencePenalty != 1 || s.FrequencyPenalty != -1 || s.MinTokens != 3 || !r.IgnoreEOS || !r.IncludeStopStr || len(s.BadWords) != 3 {
		t.Fatalf("advanced fields: %+v", r)
	}
	// Keys in the request's order; "0_9" is 9 again, so its bias wins, clamped.
	if len(s.LogitBias) != 3 || s.LogitBias[0].Key != "9" || s.LogitBias[2].Key != "0_9" {
		t.Fatalf("logit_bias as sent: %+v", s.LogitBias)
	}
	if ids := s.LogitBiasIDs(); len(ids) != 2 || ids[9] != -100 || ids[8] != -1.5 {
		t.Fatalf("logit_bias ids: %v", ids)
	}
}
