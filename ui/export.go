package ui

import (
	"strings"

	"github.com/twinkle-sh/twinkle/params"
)

// exportTarget describes the current screen for params' exporters.
func (m *Model) exportTarget() params.Target {
	t := params.Target{API: m.api, Model: m.modelName, Prompt: m.prompt.Value(), Options: m.panel.O}
	if m.api == params.Chat {
		// The export carries the conversation as a run sends it: every turn, in order.
		for _, msg := range m.convo.messages() {
			t.Messages = append(t.Messages, params.Message{Role: msg.Role, Content: msg.Content})
		}
		t.Prompt = m.convo.lastUser()
	}
	// Only a URL is an address a curl command can reach; the built-in model ("local")
	// is left to params' default, where `twinkle serve-model` listens.
	if strings.HasPrefix(m.c.Endpoint, "http://") || strings.HasPrefix(m.c.Endpoint, "https://") {
		t.Endpoint = strings.TrimSuffix(m.c.Endpoint, "/")
		if !strings.HasSuffix(t.Endpoint, "/v1") {
			t.Endpoint += "/v1"
		}
	}
	if m.api == params.Chat {
		t.System = m.convo.system()
	}
	return t
}

// exportParams returns the parameters an export shows: with an unlocked seed,
// the seed the last run drew, so the export reproduces what is on screen.
func (m *Model) exportParams() params.SamplingParams {
	p := m.panel.P.Clone()
	if !m.panel.SeedLocked && p.Seed == nil && m.seedRun != nil {
		s := *m.seedRun
		p.Seed = &s
	}
	return p
}

// exportText is the screen's export in a format, as it is now.
func (m *Model) exportText(format string) (string, error) {
	return params.Export(format, m.exportParams(), m.exportTarget())
}
