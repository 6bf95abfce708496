package ui

import (
	"encoding/json"
	"testing"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

func TestExportTargetEndpoint(t *testing.T) {
	t.Parallel()
	for endpoint, want := range map[string]string{
		"local":                 "",
		"http://gpu:8000":       "http://gpu:8000/v1",
		"https://h.example/v1/": "https://h.example/v1",
		"":                      "",
	} {
		m := New(Config{Endpoint: endpoint})
		if got := m.exportTarget().Endpoint; got != want {
			t.Errorf("endpoint %q: export target %q, want %q", endpoint, got, want)
		}
	}
}

// A chat export carries the whole conversation the playground edits, not only its
// system message and last user turn.
func TestExportCarriesTheConversation(t *testing.T) {
	m := newTestModel(t, &fakeSampler{}, 120, 40)
	m.api = params.Chat
	want := []backend.Message{
		{Role: "system", Content: "be terse"},
		{Role: "user", Content: "first question"},
		{Role: "assistant", Content: "first answer"},
		{Role: "user", Content: "second question"},
	}
	m.convo.setMessages("", "", want)
	out, err := m.exportText("openai")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Messages []backend.Message }
	if err := json.Unmarshal([]byte(out), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Messages) != len(want) {
		t.Fatalf("export has %d messages, want %d:\n%s", len(body.Messages), len(want), out)
	}
	for i, msg := range body.Messages {
		if msg != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, msg, want[i])
		}
	}
}
