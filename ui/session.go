package ui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// Session is a saved playground: the store's session file format with the
// backend's response in it.
type Session = store.Session[backend.SampleResponse]

// snapshot captures the current screen as a Session.
func (m *Model) snapshot() Session {
	s := Session{
		Version: store.SessionVersion, Saved: m.c.Now().UTC(), Endpoint: m.c.Endpoint, Model: m.modelName,
		API: m.api, Prompt: m.prompt.Value(), Params: m.panel.P.Clone(), N: m.panel.O.Samples(),
		Logprobs: m.panel.O.Logprobs, SeedLocked: m.panel.SeedLocked,
		Advanced: store.AdvancedOf(m.panel.O.Advanced), LogprobsMode: string(m.panel.Mode()),
	}
	if m.api == params.Chat {
		s.System, s.Prompt = m.convo.system(), m.convo.lastUser()
	}
	if m.api == params.Chat || !m.convo.single() || m.convo.system() != "" {
		// The conversation is kept in completion mode too, when there is
		// more of it than the prompt. A kept sample's tokens marshal like
		// the response's; nothing in them can fail to.
		s.System = m.convo.system()
		s.Conversation, _ = m.sessionTurns()
	}
	if r, ok := m.Response(); ok {
		s.Response = r
	}
	s.Tree = m.treeJSON()
	labelled := false
	for _, c := range m.samples.cols {
		labelled = labelled || c.Label != ""
	}
	for _, c := range m.samples.cols {
		if labelled {
			s.Labels = append(s.Labels, c.Label)
		}
		var t store.SampleTiming
		if !c.firstTok.IsZero() {
			t.TTFTMillis = c.ttft.Milliseconds()
			t.StreamMillis = c.lastTok.Sub(c.firstTok).Milliseconds()
		}
		s.Timings = append(s.Timings, t)
	}
	return s
}

// showSession puts a session on screen: prompt, parameters and columns.
func (m *Model) showSession(s *Session, path string) {
	if m.streaming() {
		m.run.canceled = true
		m.run.cancel()
	}
	m.run = nil
	m.loaded, m.loadedPath = s, path
	m.api = s.API
	if m.api == "" {
		m.api = params.Chat
	}
	if s.Model != "" {
		m.modelName = s.Model
	}
	m.prompt.SetValue(s.Prompt)
	if len(s.Conversation) > 0 {
		ts, err := turnsFromSession(s.System, s.Conversation)
		if err != nil {
			m.setStatus(path+": "+err.Error(), true)
			ts = nil
		}
		m.convo.setTurns(ts)
	} else {
		m.convo.setMessages(s.System, s.Prompt, nil)
	}
	o := params.Options{N: s.N, Logprobs: s.Logprobs, Advanced: s.Advanced.Params()}
	m.panel = newParamPanel(m.c, s.Params, o)
	m.panel.SetMode(backend.LogprobsMode(s.LogprobsMode))
	m.panel.SeedLocked = s.SeedLocked
	m.seedRun = nil
	if !s.SeedLocked && s.Response.Params.Seed != nil {
		// The seed the saved run drew, shown (and exported) as it was.
		seed := *s.Response.Params.Seed
		m.seedRun = &seed
	}
	r := s.Response
	n := len(r.StopReason)
	if len(r.Trajectories) > n {
		n = len(r.Trajectories)
	}
	base := time.Unix(0, 0)
	cols := make([]*column, n)
	for i := range cols {
		var seed *int64
		if i < len(r.Seeds) {
			seed = r.Seeds[i]
		}
		c := newColumn(i, seed, base)
		if i < len(s.Labels) {
			c.Label = s.Labels[i]
		}
		first, last := base, base
		if i < len(s.Timings) {
			first = base.Add(time.Duration(s.Timings[i].TTFTMillis) * time.Millisecond)
			last = first.Add(time.Duration(s.Timings[i].StreamMillis) * time.Millisecond)
		}
		switch {
		case r.Tokens != nil && i < len(r.Tokens):
			toks := r.Tokens[i]
			if len(toks) > 0 {
				c.AppendTokens(toks[:1], first)
				c.AppendTokens(toks[1:], last)
			} else {
				c.tokens = []backend.Token{}
			}
			if i < len(r.Trajectories) {
				// The saved text, like vLLM's, leaves out a matched stop
				// string that the tokens hold; the tokens are placed in it.
				if msgs := r.Trajectories[i].Messages; len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
					c.AppendParts(nil, msgs[len(msgs)-1].Reasoning, msgs[len(msgs)-1].Content, last)
				}
			}
		case i < len(r.Trajectories):
			msgs := r.Trajectories[i].Messages
			if len(msgs) > 0 {
				c.AppendTextParts(msgs[len(msgs)-1].Reasoning, msgs[len(msgs)-1].Content, first)
			}
		}
		var reason backend.StopReason
		var by backend.StoppedBy
		var err *backend.Error
		if i < len(r.StopReason) {
			reason = r.StopReason[i]
		}
		if i < len(r.StoppedBy) {
			by = r.StoppedBy[i]
		}
		if i < len(r.Errors) {
			err = r.Errors[i]
		}
		if reason == "" {
			reason = backend.StopInterrupted
		}
		// Only the first and last token's times were kept: no rate per part.
		c.think.untimed = true
		c.Finish(reason, by, err)
		cols[i] = c
	}
	m.setShownMode(r.LogprobsMode)
	m.prompt.heat = promptHeat{at: s.Prompt, system: s.System}
	if len(r.PromptTokens) > 0 && len(r.PromptTokens[0]) > 0 {
		m.prompt.heat.tokens = r.PromptTokens[0]
		if m.api == params.Chat && len(r.Trajectories) > 0 {
			// What the run sent is its trajectory less the sample's message;
			// turns that read otherwise now stay uncoloured.
			msgs := r.Trajectories[0].Messages
			var sent []string
			for _, mm := range msgs[:max(0, len(msgs)-1)] {
				sent = append(sent, mm.Content)
			}
			turnOf := m.convo.sentTurns()
			m.convo.setPromptHeat(r.PromptTokens[0], sent, turnOf[:min(len(turnOf), len(sent))])
		}
	}
	m.samples.setColumns(cols)
	m.samples.focus, m.samples.zoom, m.samples.topAsked = 0, -1, 0
	m.noteThinkingCut()
	m.relayout()
	m.setStatus(fmt.Sprintf("session %s: %d sample%s", path, n, plural(n)), false)
	if err := m.showTree(s.Tree); err != nil {
		m.setStatus(fmt.Sprintf("session %s: the branch tree was not read (%v); the samples are shown", path, err), true)
	} else if t := m.explore.tree; t != nil && t.Len() > n {
		m.setStatus(fmt.Sprintf("session %s: %d sample%s and %d more in the branch tree (t)", path, n, plural(n), t.Len()-n), false)
	}
}

func (m *Model) defaultSessionPath() string {
	return m.c.Store.WorkPath("twinkle-session-" + m.c.Now().UTC().Format("20060102-150405") + ".json")
}

// saveSessionCmd writes the snapshot atomically; nothing on screen changes.
func saveSessionCmd(s Session, path string) tea.Cmd {
	return func() tea.Msg {
		if err := store.SaveSession(path, &s); err != nil {
			return statusMsg{"save: " + err.Error(), true}
		}
		return statusMsg{"session saved to " + path, false}
	}
}

// loadSessionCmd opens a session, or a conversation file (openFileCmd).
func loadSessionCmd(path string) tea.Cmd { return openFileCmd(path) }

// ---------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------

func (m *Model) savePresetCmd(name string) tea.Cmd {
	st := m.c.Store
	mode := string(m.panel.Mode())
	adv := store.AdvancedOf(m.panel.O.Advanced)
	if adv == nil {
		adv = &store.Advanced{} // written as {}: loading it resets what the screen has set
	}
	p := store.Preset{Params: m.panel.P.Clone(), N: m.panel.O.Samples(), Logprobs: m.panel.O.Logprobs, Advanced: adv, LogprobsMode: &mode}
	if !m.panel.SeedLocked {
		p.Params.Seed = nil
	}
	return func() tea.Msg {
		path, err := st.SavePreset(name, p)
		if err != nil {
			return statusMsg{err.Error(), true}
		}
		return statusMsg{"preset saved to " + path, false}
	}
}

func (m *Model) applyPreset(p store.Preset) {
	o := m.panel.O
	if p.N > 0 {
		o.N = p.N
	}
	if p.Logprobs != nil {
		o.Logprobs = p.Logprobs
	}
	// A preset from before presets held these says nothing of them: the screen's stay.
	if p.Advanced != nil {
		o.Advanced = p.Advanced.Params()
	}
	row, mode, open := m.panel.Row(), m.panel.Mode(), m.panel.AdvancedOpen()
	if p.LogprobsMode != nil {
		mode = backend.LogprobsMode(*p.LogprobsMode)
	}
	m.panel = newParamPanel(m.c, p.Params, o)
	m.panel.SetMode(mode)
	m.panel.advOpen = open
	m.panel.Select(row)
	m.relayout() // the new panel gets its size
}
