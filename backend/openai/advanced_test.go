package openai

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// vLLM's fields beyond the seven reach the wire: min_p always (a server fills an
// omitted one from generation_config), the others only when set.
func TestAdvancedFieldsOnTheWire(t *testing.T) {
	srv, c, _ := newTest(t)
	req := chatReq(sampling(0.8, i64(7), ip(6)), 1, nil)
	collect(t, context.Background(), c, req)
	body := srv.Requests()[1].Fields()
	if v, ok := body["min_p"]; !ok || v != 0.0 {
		t.Errorf("min_p = %v (present %v), want an explicit 0", v, ok)
	}
	for _, k := range []string{"presence_penalty", "frequency_penalty", "min_tokens", "ignore_eos", "include_stop_str_in_output", "logit_bias", "bad_words"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s sent at its default", k)
		}
	}

	req.Options.Advanced = params.Advanced{MinP: 0.05, PresencePenalty: 0.5, FrequencyPenalty: -0.5, MinTokens: 2, IgnoreEOS: true,
		IncludeStopStrInOutput: true, LogitBias: []params.LogitBias{{ID: 13, Bias: -100}}, BadWords: []string{"foo"}}
	collect(t, context.Background(), c, req)
	reqs := srv.Requests()
	checkBody(t, reqs[len(reqs)-1].Fields(), map[string]any{
		"model": "twinkle-test/tiny-chat", "n": 1, "max_tokens": 6, "temperature": 0.8, "top_p": 1, "top_k": -1, "min_p": 0.05,
		"repetition_penalty": 1, "seed": 7, "stop": []string{}, "stop_token_ids": []int{}, "presence_penalty": 0.5,
		"frequency_penalty": -0.5, "min_tokens": 2, "ignore_eos": true, "include_stop_str_in_output": true,
		"logit_bias": map[string]any{"13": -100}, "bad_words": []string{"foo"},
		"stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}},
	})

	// Text a server has not resolved to a token id cannot be sent.
	req.Options.Advanced.LogitBias = []params.LogitBias{{Text: "hello", Bias: 1}}
	n := len(srv.Requests())
	evs, _, _ := collect(t, context.Background(), c, req)
	last := evs[len(evs)-1]
	var be *backend.Error
	if !errors.As(last.Err, &be) || be.Kind != backend.KindConfig || !strings.Contains(be.Error(), "/tokenize") || len(srv.Requests()) != n {
		t.Fatalf("unresolved logit_bias text: %v, %d requests sent", last.Err, len(srv.Requests())-n)
	}
}
