package ui

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/backend/vllmtest"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/store"
)

// typeInto types s into whatever has focus, one key per character.
func typeInto(m *Model, s string) {
	for _, r := range s {
		if r == '\n' {
			m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
			continue
		}
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// chatBodies is the messages of every chat request the server received.
func chatBodies(t *testing.T, srv *vllmtest.Server) []map[string]json.RawMessage {
	t.Helper()
	var out []map[string]json.RawMessage
	for _, r := range srv.Requests() {
		if !strings.HasSuffix(r.Path, "/chat/completions") {
			continue
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

func messagesOf(t *testing.T, body map[string]json.RawMessage) []map[string]string {
	t.Helper()
	var msgs []map[string]string
	if err := json.Unmarshal(body["messages"], &msgs); err != nil {
		t.Fatalf("messages %s: %v", body["messages"], err)
	}
	return msgs
}

func chatModel(t *testing.T, w, h int, mutate func(*Config)) (*Model, *vllmtest.Server) {
	return serverModel(t, w, h, func(c *Config) {
		c.API = params.Chat
		c.Prompt = ""
		if mutate != nil {
			mutate(c)
		}
	})
}

// A conversation written with the pane's keys goes out as exactly its turns:
// roles, order and content, the system message first.
func TestConversationIsTheRequestsMessages(t *testing.T) {
	t.Parallel()
	m, srv := chatModel(t, 120, 40, nil)
	drive(t, m, press(m, "alt+up"))
	typeInto(m, "You are terse.")
	drive(t, m, press(m, "alt+down"))
	typeInto(m, "Tell me a story.")
	drive(t, m, press(m, "ctrl+n"))
	typeInto(m, "Once upon a time")
	drive(t, m, press(m, "ctrl+n"))
	typeInto(m, "Go on,\nplease.")
	if got := len(m.convo.turns); got != 4 {
		t.Fatalf("%d turns, want 4", got)
	}
	driveUntil(t, m, m.startRun(), allDone(m))
	bodies := chatBodies(t, srv)
	if len(bodies) != 1 {
		t.Fatalf("%d chat requests", len(bodies))
	}
	want := []map[string]string{
		{"role": "system", "content": "You are terse."},
		{"role": "user", "content": "Tell me a story."},
		{"role": "assistant", "content": "Once upon a time"},
		{"role": "user", "content": "Go on,\nplease."},
	}
	if got := messagesOf(t, bodies[0]); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
	// Changing a role and deleting a turn change the next request alike.
	drive(t, m, press(m, "alt+up", "alt+x", "alt+r"))
	if msgs := m.convo.messages(); len(msgs) != 3 || msgs[1].Role != "user" || msgs[2].Role != "assistant" || msgs[2].Content != "Go on,\nplease." {
		t.Fatalf("after delete and role: %+v", msgs)
	}
}

// Keeping a sample appends the text the server sent, not its tokens joined
// (the split model's tokens are pieces of characters), as the assistant turn,
// and the next run sends it verbatim.
func TestKeptSampleIsSentVerbatim(t *testing.T) {
	t.Parallel()
	m, srv := chatModel(t, 120, 40, func(c *Config) {
		c.Model = vllmtest.SplitModel
		c.Prompt = "Say 好 and é"
		mt := 30
		c.Params.MaxTokens = &mt
	})
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	drive(t, m, press(m, "right", "a"))
	resp := m.run.asm.Response()
	msgs := resp.Trajectories[1].Messages
	sent := msgs[len(msgs)-1].Content
	var joined strings.Builder
	for _, tk := range resp.Tokens[1] {
		joined.WriteString(tk.Text)
	}
	if sent == joined.String() || !strings.Contains(joined.String(), "\ufffd") {
		t.Fatalf("the split model's tokens should not join to the text: %q vs %q", sent, joined.String())
	}
	ts := m.convo.turns
	if len(ts) != 4 || ts[2].Role != "assistant" || ts[2].Content != sent || ts[2].Kept == nil || ts[3].Role != "user" || ts[3].Content != "" {
		t.Fatalf("turns after keep: %+v", ts)
	}
	k := ts[2].Kept
	if k.Sample != 1 || len(k.Tokens) != len(resp.Tokens[1]) || k.Seed == nil || *k.Seed != *resp.Seeds[1] || k.Params.Seed == nil || *k.Params.Seed != *resp.Seeds[1] {
		t.Fatalf("kept sample %+v", k)
	}
	if m.focus != focusPrompt || m.convo.sel != 3 {
		t.Fatalf("focus %v, turn %d: the new user turn should be edited", m.focus, m.convo.sel)
	}
	// The kept turn is coloured by its own tokens, and reads the sent text.
	m.setFocus(focusParams)
	if screen := plainScreen(m); strings.Contains(screen, "\ufffd") || !strings.Contains(screen, "kept s2") {
		t.Fatalf("kept turn on screen:\n%s", screen)
	}
	m.setFocus(focusPrompt)
	typeInto(m, "And then?")
	driveUntil(t, m, m.startRun(), allDone(m))
	bodies := chatBodies(t, srv)
	got := messagesOf(t, bodies[len(bodies)-1])
	if len(got) != 3 || got[1]["role"] != "assistant" || got[1]["content"] != sent || got[2]["content"] != "And then?" {
		t.Fatalf("second request's messages %v; kept %q", got, sent)
	}
}

// A saved session holds the conversation with its kept turn, and reopened it
// sends the same body.
func TestReloadedConversationSendsTheSameBody(t *testing.T) {
	t.Parallel()
	m, srv := chatModel(t, 120, 40, func(c *Config) { c.System = "You are terse."; c.Prompt = "Once upon a time" })
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	drive(t, m, press(m, "a"))
	typeInto(m, "and then?")
	path := filepath.Join(t.TempDir(), "conv.json")
	if msg := saveSessionCmd(m.snapshot(), path)(); msg.(statusMsg).err {
		t.Fatal(msg)
	}
	driveUntil(t, m, m.startRun(), allDone(m))
	bodies := chatBodies(t, srv)
	first := bodies[len(bodies)-1]

	s, err := store.LoadSession[backend.SampleResponse](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Conversation) != 3 || len(s.Conversation[1].Kept) == 0 {
		t.Fatalf("saved conversation %+v", s.Conversation)
	}
	m2, srv2 := chatModel(t, 120, 40, func(c *Config) { c.Session, c.SessionPath = s, path })
	if k := m2.convo.turns[2].Kept; k == nil || len(k.Tokens) == 0 || k.Content != m.convo.turns[2].Content || keptDisplay(k) == nil {
		t.Fatalf("kept turn not reloaded with its placed tokens: %+v", m2.convo.turns[2])
	}
	// A session saved in completion mode keeps the conversation too.
	m2.toggleMode()
	path2 := filepath.Join(t.TempDir(), "completion.json")
	if msg := saveSessionCmd(m2.snapshot(), path2)(); msg.(statusMsg).err {
		t.Fatal(msg)
	}
	if s2, err := store.LoadSession[backend.SampleResponse](path2); err != nil || len(s2.Conversation) != 3 || s2.System != "You are terse." {
		t.Fatalf("completion-mode session: %v %+v", err, s2)
	}
	m2.toggleMode()
	driveUntil(t, m2, m2.startRun(), allDone(m2))
	second := chatBodies(t, srv2)[0]
	// The seed is drawn per run; everything else is the same.
	delete(first, "seed")
	delete(second, "seed")
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	if string(a) != string(b) {
		t.Fatalf("bodies differ:\n%s\n%s", a, b)
	}
}

// Typing asks for no count per key: only the tick of the last change
// tokenizes, and its count is the chat run's prompt_tokens.
func TestContextCountIsDebounced(t *testing.T) {
	t.Parallel()
	m, srv := chatModel(t, 120, 40, func(c *Config) { c.Prompt = "Tell me a long story" })
	tokenizes := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == "/tokenize" {
				n++
			}
		}
		return n
	}
	// Init counted the conversation it started with.
	base := tokenizes()
	var ticks []tea.Cmd
	for _, r := range "and" {
		_, cmd := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		ticks = append(ticks, cmd)
	}
	if len(ticks) != 3 || ticks[2] == nil {
		t.Fatal("a change schedules no count")
	}
	for v := m.convo.ver - 2; v < m.convo.ver; v++ {
		if cmd := m.countNow(v); cmd != nil {
			t.Fatalf("a stale tick (version %d of %d) would tokenize", v, m.convo.ver)
		}
	}
	if n := tokenizes(); n != base {
		t.Fatalf("%d /tokenize requests while typing", n-base)
	}
	drive(t, m, m.countNow(m.convo.ver))
	if n := tokenizes(); n != base+1 || !m.convo.count.ok || m.convo.count.run {
		t.Fatalf("%d /tokenize requests, count %+v", n, m.convo.count)
	}
	before := m.convo.count.n
	if !strings.Contains(plainScreen(m), "(tokenized)") {
		t.Fatalf("no count in the title:\n%s", plainScreen(m))
	}
	driveUntil(t, m, m.startRun(), allDone(m))
	if c := m.convo.count; !c.run || c.n != before {
		t.Fatalf("run's prompt_tokens %+v, tokenized %d", c, before)
	}
	if !strings.Contains(plainScreen(m), "/4096 tokens (last run)") {
		t.Fatalf("no count against max_model_len:\n%s", plainScreen(m))
	}
}

// Prompt logprobs are laid on each turn found in the templated prompt, cut to
// the turn's text; a template that rewrites a turn leaves it uncoloured and
// says so.
func TestAlignTurns(t *testing.T) {
	t.Parallel()
	toks := []backend.Token{tok("<|user|>", -1), tok("Hello", -1), tok(" world", -2), tok("<|end|><|assistant|>", -3),
		tok("Hi", -0.5), tok(" there<|end|>", -0.1), tok("<|assistant|>", -1)}
	per, ok := alignTurns(toks, []string{"Hello world", "Hi there"})
	if !ok || len(per) != 2 {
		t.Fatalf("ok %v per %v", ok, per)
	}
	text := func(ts []backend.Token) string {
		var b strings.Builder
		for _, t := range ts {
			b.WriteString(t.Text)
		}
		return b.String()
	}
	if text(per[0]) != "Hello world" || text(per[1]) != "Hi there" || per[1][1].Logprob != toks[5].Logprob {
		t.Fatalf("turns %q %q", text(per[0]), text(per[1]))
	}
	per, ok = alignTurns(toks, []string{"Hello world", "HI THERE"})
	if ok || per[1] != nil || text(per[0]) != "Hello world" {
		t.Fatalf("a rewritten turn: ok %v %v", ok, per)
	}
}

// fourTurns is a conversation built as a person would: a system message and
// a question, a run, the first sample kept, the next question, and the count.
func fourTurns(t *testing.T, w, h int) *Model {
	t.Helper()
	m, _ := chatModel(t, w, h, func(c *Config) { c.System = "You are terse."; c.Prompt = "Tell me a story." })
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	drive(t, m, press(m, "a"))
	typeInto(m, "Go on.")
	drive(t, m, m.countNow(m.convo.ver))
	if len(m.convo.turns) != 4 || !m.convo.count.ok {
		t.Fatalf("turns %d, count %+v", len(m.convo.turns), m.convo.count)
	}
	return m
}

func TestGoldenConversation(t *testing.T) {
	t.Parallel()
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			t.Parallel()
			m := fourTurns(t, size[0], size[1])
			screen := plainScreen(m)
			for _, want := range []string{"conversation 4/4", "tokens (tokenized)", "Go on."} {
				if !strings.Contains(screen, want) {
					t.Errorf("%q not on screen:\n%s", want, screen)
				}
			}
			checkGolden(t, m)
			// Away from the pane, the kept turn shows its heatmap and mark.
			m.setFocus(focusSamples)
			if !strings.Contains(plainScreen(m), "kept s1") {
				t.Errorf("no kept mark:\n%s", plainScreen(m))
			}
		})
	}
}

// Prompt logprobs colour every turn of the conversation.
func TestGoldenConversationPromptLogprobs(t *testing.T) {
	t.Parallel()
	m := fourTurns(t, 120, 40)
	m.setFocus(focusSamples)
	m.Update(keyMsg("P"))
	driveUntil(t, m, m.startRun(), allDone(m))
	for i, ts := range m.convo.heat.turns {
		if len(ts) == 0 {
			t.Fatalf("turn %d not coloured: %+v", i, m.convo.heat)
		}
	}
	if m.convo.heat.note != "" {
		t.Fatalf("note %q", m.convo.heat.note)
	}
	checkGolden(t, m)
}

// A conversation longer than its pane folds the turns that are not edited to
// their first lines and a count, and scrolls to the selected turn.
func TestConversationFoldsAndScrolls(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("line\n", 11) + "last"
	msgs := []backend.Message{{Role: "user", Content: "first question"}, {Role: "assistant", Content: long}, {Role: "user", Content: "q2"},
		{Role: "assistant", Content: long}, {Role: "user", Content: "final question"}}
	m, _ := chatModel(t, 80, 24, func(c *Config) { c.Messages = msgs })
	screen := plainScreen(m)
	if !strings.Contains(screen, "… 11 more lines") || !strings.Contains(screen, "final question") || !strings.Contains(screen, "↑") {
		t.Fatalf("folded and scrolled to the last turn:\n%s", screen)
	}
	// Moving to the first turn scrolls back up; the rest is below.
	drive(t, m, press(m, "alt+up", "alt+up", "alt+up", "alt+up", "alt+up"))
	if m.convo.sel != 0 {
		t.Fatalf("selected %d", m.convo.sel)
	}
	screen = plainScreen(m)
	if !strings.Contains(screen, "▸system") || !strings.Contains(screen, "↓") || strings.Contains(screen, "final question") {
		t.Fatalf("scrolled to the top:\n%s", screen)
	}
	// The turn being edited is never folded.
	drive(t, m, press(m, "alt+down", "alt+down"))
	if screen = plainScreen(m); strings.Count(screen, "┃ line") < 5 || strings.Contains(screen, "more lines") {
		t.Fatalf("edited turn folded:\n%s", screen)
	}
}

// The open dialog's loader opens a conversation file as well as a session,
// and a malformed conversation is refused with its file and line.
func TestOpenFileTakesConversations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conv := filepath.Join(dir, "conv.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(conv, []byte(`[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("{\"messages\": [\n {\"content\": \"x\"}]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := serverModel(t, 120, 40, nil) // completion mode: opening switches to chat
	msg := openFileCmd(conv)()
	if _, ok := msg.(conversationLoadedMsg); !ok {
		t.Fatalf("%T %+v", msg, msg)
	}
	m.Update(msg)
	if m.api != params.Chat || len(m.convo.turns) != 3 || m.convo.turns[2].Content != "Hello" {
		t.Fatalf("api %s turns %+v", m.api, m.convo.turns)
	}
	if msg, ok := openFileCmd(bad)().(sessionLoadedMsg); !ok || msg.err == nil || !strings.Contains(msg.err.Error(), bad+":2:") {
		t.Fatalf("malformed: %+v", msg)
	}
}

// Keeping another sample of the same run replaces the one kept before it.
func TestKeepingAnotherSampleReplacesTheLast(t *testing.T) {
	t.Parallel()
	m, _ := chatModel(t, 120, 40, func(c *Config) { c.Prompt = "Tell me a story." })
	driveUntil(t, m, m.startRun(), allDone(m))
	m.setFocus(focusSamples)
	drive(t, m, press(m, "a"))
	m.setFocus(focusSamples)
	drive(t, m, press(m, "right", "a"))
	ts := m.convo.turns
	if len(ts) != 4 || ts[2].Kept == nil || ts[2].Kept.Sample != 1 || strings.Contains(m.status, "changed since") {
		t.Fatalf("turns %+v, status %q", ts, m.status)
	}
}

// A turn holding a bidi override (a file's, a model's) is edited without the
// override reaching the terminal, and a turn merely selected is not
// rewritten by the editor (which widens tabs).
func TestConversationEditorIsSafe(t *testing.T) {
	t.Parallel()
	msgs := []backend.Message{{Role: "user", Content: "evil \u202egnp.exe"}, {Role: "assistant", Content: "a\tb"}, {Role: "user", Content: "last"}}
	m, _ := chatModel(t, 120, 40, func(c *Config) { c.Messages = msgs })
	drive(t, m, press(m, "alt+up", "alt+up"))
	if m.convo.sel != 1 {
		t.Fatalf("selected %d", m.convo.sel)
	}
	if v := m.View().Content; strings.Contains(v, "\u202e") || !strings.Contains(plainScreen(m), "gnp.exe") {
		t.Fatalf("U+202E reached the screen, or the turn is not shown")
	}
	drive(t, m, press(m, "alt+down", "right", "left", "alt+down"))
	if got := m.convo.turns[2].Content; got != "a\tb" {
		t.Fatalf("a selected turn was rewritten: %q", got)
	}
}
