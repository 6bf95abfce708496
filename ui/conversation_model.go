package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/convo"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// conversationLoadedMsg is a conversation file opened in the playground.
type conversationLoadedMsg struct {
	msgs []backend.Message
	path string
}

// keepSample appends the focused sample as the conversation's assistant turn
// and opens a user turn below it.
func (m *Model) keepSample() tea.Cmd {
	if m.api != params.Chat {
		m.setStatus("keeping a sample builds a conversation: chat mode only (ctrl+t)", true)
		return nil
	}
	if m.streaming() {
		m.setStatus("the run is still streaming: keep a sample once it is done (esc cancels)", true)
		return nil
	}
	resp, ok := m.Response()
	i := m.samples.focus
	if !ok || i < 0 || i >= len(resp.Trajectories) || len(resp.Trajectories[i].Messages) == 0 {
		m.setStatus("no sample to keep", true)
		return nil
	}
	msgs := resp.Trajectories[i].Messages
	last := msgs[len(msgs)-1]
	if last.Role != "assistant" || (last.Content == "" && last.Reasoning == "") {
		m.setStatus(fmt.Sprintf("sample %d has no text to keep", i+1), true)
		return nil
	}
	ks := keptSample{Content: last.Content, Reasoning: last.Reasoning, Sample: i, Model: resp.Model, Params: resp.Params.Clone()}
	for _, v := range resp.Variants {
		if i >= v.First && i < v.First+v.Count {
			ks.Params = v.Params.Clone()
		}
	}
	if i < len(resp.Seeds) && resp.Seeds[i] != nil {
		s := *resp.Seeds[i]
		ks.Seed = &s
		ks.Params.Seed = &s
	}
	if i < len(resp.Tokens) {
		ks.Tokens = resp.Tokens[i]
	}
	if i < len(resp.Logprobs) {
		ks.Logprobs = resp.Logprobs[i]
	}
	// The sample answers the messages its run sent; say so when the
	// conversation on screen is no longer those.
	sent := make([]backend.Message, len(msgs)-1)
	for j, mm := range msgs[:len(msgs)-1] {
		sent[j] = backend.Message{Role: mm.Role, Content: mm.Content}
	}
	same := slices.Equal(sent, m.convo.messages())
	if n := len(m.convo.turns); !same && n >= 4 && m.convo.turns[n-2].Kept != nil && m.convo.turns[n-1].Content == "" {
		// Another sample of the same run was kept just before: this one
		// takes its place rather than answering it.
		prev := m.convo.messages()
		if slices.Equal(sent, prev[:len(prev)-2]) {
			m.convo.turns = m.convo.turns[:n-2]
			same = true
		}
	}
	m.convo.keep(ks)
	m.setFocus(focusPrompt)
	st := fmt.Sprintf("sample %d kept as the assistant turn; write the next user turn, ctrl+r runs", i+1)
	if ks.Reasoning != "" {
		st += "; its thinking is kept apart and not sent back (vLLM's chat templates drop earlier thinking)"
	}
	if !same {
		st += "; note: the conversation changed since this sample was drawn"
	}
	m.setStatus(st, false)
	m.relayout()
	return m.countSoon()
}

// countSoon asks for the conversation's token count once it has not changed
// for countDelay: one request when typing stops, not one per key.
func (m *Model) countSoon() tea.Cmd {
	if m.api != params.Chat {
		return nil
	}
	if _, ok := m.c.Sampler.(chatTokenizer); !ok {
		return nil
	}
	ver := m.convo.ver
	return tea.Tick(countDelay, func(time.Time) tea.Msg { return convoCountTickMsg{ver} })
}

// countNow tokenizes the conversation if it is still at version ver.
func (m *Model) countNow(ver int) tea.Cmd {
	tk, ok := m.c.Sampler.(chatTokenizer)
	if !ok || m.api != params.Chat {
		return nil
	}
	return m.convo.countCmd(tk, m.c.Ctx, m.modelName, ver)
}

// maxModelLen is the context length the server lists for the model, 0 when
// it does not say.
func (m *Model) maxModelLen() int {
	for _, mo := range m.models {
		if mo.ID == m.modelName {
			return mo.MaxModelLen
		}
	}
	return 0
}

// openConversation puts a conversation read from a file in the playground,
// in chat mode; the samples on screen stay.
func (m *Model) openConversation(msgs []backend.Message, path string) {
	if m.api != params.Chat {
		m.api = params.Chat
	}
	m.convo.setMessages("", "", msgs)
	m.setFocus(focusPrompt)
	m.relayout()
	m.setStatus(fmt.Sprintf("conversation from %s: %d message%s", path, len(msgs), plural(len(msgs))), false)
}

// openFileCmd opens a session file, or a conversation file (a twinkle
// Trajectory or a list of messages, read by backend/convo): a file with a
// "version" field is a session and its errors are a session's.
func openFileCmd(path string) tea.Cmd {
	return func() tea.Msg {
		s, err := store.LoadSession[backend.SampleResponse](path)
		if err == nil {
			return sessionLoadedMsg{s: s, path: path}
		}
		data, rerr := os.ReadFile(path)
		if rerr != nil || isSessionFile(data) {
			return sessionLoadedMsg{path: path, err: err}
		}
		c, cerr := convo.Read(path, data)
		if cerr != nil {
			return sessionLoadedMsg{path: path, err: fmt.Errorf("not a session or a conversation: %w", cerr)}
		}
		return conversationLoadedMsg{msgs: c.Messages, path: path}
	}
}

// isSessionFile reports whether data is a JSON object with a "version": what
// every session file has and no conversation does.
func isSessionFile(data []byte) bool {
	var top map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(data)).Decode(&top) != nil {
		return false
	}
	_, ok := top["version"]
	return ok
}

// sessionTurns is the conversation as a session saves it: every turn after
// the system message, a kept sample in the program's own JSON.
func (m *Model) sessionTurns() ([]store.Turn, error) {
	var out []store.Turn
	for _, t := range m.convo.turns[1:] {
		st := store.Turn{Role: t.Role, Content: t.Content}
		if t.Kept != nil {
			b, err := json.Marshal(t.Kept)
			if err != nil {
				return nil, err
			}
			st.Kept = b
		}
		out = append(out, st)
	}
	return out, nil
}

// turnsFromSession reads a session's conversation back; a kept sample that
// does not decode is refused with the turn it is in.
func turnsFromSession(system string, ts []store.Turn) ([]convoTurn, error) {
	out := []convoTurn{{Role: "system", Content: system}}
	for i, st := range ts {
		t := convoTurn{Role: st.Role, Content: st.Content}
		if len(st.Kept) > 0 && string(st.Kept) != "null" {
			dec := json.NewDecoder(bytes.NewReader(st.Kept))
			dec.DisallowUnknownFields()
			var ks keptSample
			if err := dec.Decode(&ks); err != nil {
				return nil, fmt.Errorf("field conversation[%d].kept: %v", i, err)
			}
			t.Kept = &ks
		}
		out = append(out, t)
	}
	return out, nil
}
