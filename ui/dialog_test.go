package ui

import "testing"

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
