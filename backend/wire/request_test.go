package wire

import (
	"encoding/json"
	"testing"
)

// A server reads vLLM's logit_bias (keyed by the id as a string) and bad_words.
func TestRequestDecodesLogitBiasAndBadWords(t *testing.T) {
	var r Request
	if err := json.Unmarshal([]byte(`{"logit_bias":{"13":-100,"7":2.5},"bad_words":["foo"," bar"]}`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.LogitBias) != 2 || r.LogitBias["13"] != -100 || r.LogitBias["7"] != 2.5 || len(r.BadWords) != 2 || r.BadWords[1] != " bar" {
		t.Fatalf("got %+v %q", r.LogitBias, r.BadWords)
	}
	b, _ := json.Marshal(Request{})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if _, ok := m["logit_bias"]; ok {
		t.Fatalf("an empty logit_bias is written: %s", b)
	}
}
