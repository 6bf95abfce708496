package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// convoTurn is one message of the conversation. Turn 0 is always the system
// message (sent only when it holds more than whitespace).
type convoTurn struct {
	Role    string      `json:"role"`
	Content string      `json:"content"`
	Kept    *keptSample `json:"kept,omitempty"`
}

// keptSample is a sample kept as an assistant turn: the text the server sent
// (the response's message, not its tokens joined), its tokens and logprobs,
// and what drew it. Its heatmap colours the turn while the turn still reads
// Content.
type keptSample struct {
	Content string `json:"content"`
	// Reasoning is the sample's thinking, kept apart: it is not sent back,
	// since vLLM's chat templates drop earlier thinking.
	Reasoning string                `json:"reasoning,omitempty"`
	Tokens    []backend.Token       `json:"tokens,omitempty"`
	Logprobs  []backend.Logprob     `json:"logprobs,omitempty"`
	Params    params.SamplingParams `json:"params"`
	Model     string                `json:"model,omitempty"`
	Sample    int                   `json:"sample"`
	Seed      *int64                `json:"seed,omitempty"`
}

// chatTokenizer counts a conversation's tokens as the server's chat template
// renders it (vLLM's /tokenize with messages); openai.Client is one.
type chatTokenizer interface {
	TokenizeMessages(ctx context.Context, model string, msgs []backend.Message) (count, maxModelLen int, err error)
}

// convoCount is the context in use: the conversation's prompt tokens and the
// model's context length, and where the count came from.
type convoCount struct {
	n, max int
	ver    int  // the conversation's version it counts
	run    bool // usage.prompt_tokens of a run, rather than /tokenize
	ok     bool
}

// The debounce before a changed conversation is tokenized: typing sends no
// request per keystroke.
const countDelay = 600 * time.Millisecond

type (
	// convoCountTickMsg fires countDelay after a change; it counts only if
	// nothing changed since.
	convoCountTickMsg struct{ ver int }
	convoCountMsg     struct {
		ver, n, max int
		err         error
	}
)

// convoHeat is the last run's prompt logprobs laid on the turns: per turn,
// its tokens (nil where none were matched) and the content they are of.
type convoHeat struct {
	turns [][]backend.Token
	sent  []string
	// note says why turns are not coloured although prompt logprobs came.
	note string
	ver  int // bumps when the heat changes, for the view's cache
}

// convoPane is the conversation in chat mode: the system message, then user
// and assistant turns, each editable in place. One textarea edits the
// selected turn; the others are drawn as text (or as their heatmap), long
// ones folded to their first lines and a count.
type convoPane struct {
	c     *Common
	turns []convoTurn
	sel   int
	ed    lazyArea
	w, h  int
	top   int // the first line shown
	// ver bumps on every change of the conversation's text or shape.
	ver   int
	heat  convoHeat
	count convoCount

	key   string
	lines []string
	// drawn caches each turn's lines: typing redraws the turn typed in,
	// not every turn of a long conversation.
	drawn []drawnTurn
}

// convoLine is a line of the conversation: the role column and the text.
type convoLine struct{ gut, text string }

// drawnTurn is one turn's lines and what they were drawn from.
type drawnTurn struct {
	content, painter, theme string
	kept                    *keptSample
	heatVer, w, idx         int
	lines                   []string
}

func newConvoPane(c *Common, system, prompt string, msgs []backend.Message) *convoPane {
	p := &convoPane{c: c, ed: newLazyArea(func(t *textarea.Model) {
		t.ShowLineNumbers = false
		t.Placeholder = "write, then ctrl+r to run"
	})}
	p.setMessages(system, prompt, msgs)
	return p
}

// setMessages replaces the conversation: msgs when given (a leading system
// message becomes the system turn), else a system message and one user turn.
func (p *convoPane) setMessages(system, prompt string, msgs []backend.Message) {
	p.turns = []convoTurn{{Role: "system", Content: system}}
	if len(msgs) > 0 {
		if msgs[0].Role == "system" {
			p.turns[0].Content = msgs[0].Content
			msgs = msgs[1:]
		}
		for _, m := range msgs {
			t := convoTurn{Role: m.Role, Content: m.Content}
			if m.Reasoning != "" {
				t.Kept = &keptSample{Content: m.Content, Reasoning: m.Reasoning, Sample: -1}
			}
			p.turns = append(p.turns, t)
		}
	}
	if len(p.turns) == 1 {
		p.turns = append(p.turns, convoTurn{Role: "user", Content: prompt})
	}
	p.heat = convoHeat{ver: p.heat.ver + 1}
	p.top = 0
	p.load(len(p.turns) - 1)
	p.changed()
}

// setTurns replaces the conversation with saved turns.
func (p *convoPane) setTurns(ts []convoTurn) {
	if len(ts) == 0 || ts[0].Role != "system" {
		ts = append([]convoTurn{{Role: "system"}}, ts...)
	}
	p.turns = slices.Clone(ts)
	if len(p.turns) == 1 {
		p.turns = append(p.turns, convoTurn{Role: "user"})
	}
	p.heat = convoHeat{ver: p.heat.ver + 1}
	p.top = 0
	p.load(len(p.turns) - 1)
	p.changed()
}

// load puts turn i in the editor.
func (p *convoPane) load(i int) {
	p.sel = max(0, min(i, len(p.turns)-1))
	p.ed.SetValue(p.turns[p.sel].Content)
	p.fitEditor()
}

func (p *convoPane) changed() { p.ver++ }

// SetSize gives the pane its inner size.
func (p *convoPane) SetSize(w, h int) {
	p.w, p.h = max(1, w), max(1, h)
	p.ed.SetWidth(max(1, p.w-p.gutter()))
	p.fitEditor()
}

// gutter is the width of the role column.
func (p *convoPane) gutter() int {
	if p.w >= 50 {
		return len(" assistant ")
	}
	return len(" asst ")
}

// fitEditor makes the editor as tall as its turn, within the pane.
func (p *convoPane) fitEditor() {
	n := len(wrapPlain(p.ed.Value(), max(1, p.w-p.gutter()-1)))
	p.ed.SetHeight(max(1, min(n, p.h)))
}

func (p *convoPane) Focus() { p.ed.Focus() }
func (p *convoPane) Blur()  { p.ed.Blur() }

// system is the system message's text.
func (p *convoPane) system() string { return p.turns[0].Content }

// lastUser is the text of the last user turn.
func (p *convoPane) lastUser() string {
	for i := len(p.turns) - 1; i > 0; i-- {
		if p.turns[i].Role == "user" {
			return p.turns[i].Content
		}
	}
	return ""
}

// single reports whether the conversation is one user turn (and a system
// message): what a completion prompt can stand for.
func (p *convoPane) single() bool { return len(p.turns) == 2 && p.turns[1].Role == "user" }

// messages is the conversation as sent: the system message when it holds more
// than whitespace, then every turn as written, in order. Kept thinking is not
// sent.
func (p *convoPane) messages() []backend.Message {
	var out []backend.Message
	if strings.TrimSpace(p.turns[0].Content) != "" {
		out = append(out, backend.Message{Role: "system", Content: p.turns[0].Content})
	}
	for _, t := range p.turns[1:] {
		out = append(out, backend.Message{Role: t.Role, Content: t.Content})
	}
	return out
}

// sentTurns is the turn each message of messages() comes from.
func (p *convoPane) sentTurns() []int {
	var out []int
	if strings.TrimSpace(p.turns[0].Content) != "" {
		out = append(out, 0)
	}
	for i := 1; i < len(p.turns); i++ {
		out = append(out, i)
	}
	return out
}

// update handles a message for the focused pane: the conversation's keys,
// else the editor's. It reports whether the conversation changed.
func (p *convoPane) update(msg tea.Msg) (tea.Cmd, bool) {
	before := p.ver
	ed := p.ed.get() // the pane is in use: its textarea is made
	if k, ok := msg.(tea.KeyPressMsg); ok {
		ck := &p.c.Keys.Convo
		switch {
		case key.Matches(k, ck.Add):
			p.addTurn()
			return nil, true
		case key.Matches(k, ck.Delete):
			p.deleteTurn()
			return nil, true
		case key.Matches(k, ck.Role):
			p.cycleRole()
			return nil, p.ver != before
		case key.Matches(k, ck.Prev):
			p.load(p.sel - 1)
			return nil, false
		case key.Matches(k, ck.Next):
			p.load(p.sel + 1)
			return nil, false
		case k.String() == "up" && ed.Line() == 0 && ed.LineInfo().RowOffset == 0 && p.sel > 0:
			p.load(p.sel - 1)
			return nil, false
		case k.String() == "down" && ed.Line() == ed.LineCount()-1 && ed.LineInfo().RowOffset == ed.LineInfo().Height-1 && p.sel < len(p.turns)-1:
			p.load(p.sel + 1)
			ed.MoveToBegin()
			return nil, false
		}
	}
	// The turn takes the editor's text only when this message changed it:
	// the editor drops control characters and widens tabs of a text it is
	// given, which must not rewrite a turn merely selected.
	was := ed.Value()
	var cmd tea.Cmd
	*ed, cmd = ed.Update(msg)
	if v := ed.Value(); v != was {
		p.turns[p.sel].Content = v
		p.fitEditor()
		p.changed()
	}
	return cmd, p.ver != before
}

// addTurn opens a turn below the selected one, of the other role.
func (p *convoPane) addTurn() {
	role := "user"
	if p.turns[p.sel].Role == "user" {
		role = "assistant"
	}
	p.turns = slices.Insert(p.turns, p.sel+1, convoTurn{Role: role})
	p.reshaped()
	p.load(p.sel + 1)
}

// deleteTurn removes the selected turn; the system message is emptied
// instead, and the last turn left becomes an empty user turn.
func (p *convoPane) deleteTurn() {
	if p.sel == 0 {
		p.turns[0] = convoTurn{Role: "system"}
	} else {
		p.turns = slices.Delete(p.turns, p.sel, p.sel+1)
		if len(p.turns) == 1 {
			p.turns = append(p.turns, convoTurn{Role: "user"})
		}
	}
	p.reshaped()
	p.load(min(p.sel, len(p.turns)-1))
}

// cycleRole turns a user turn into an assistant turn and back; the system
// message stays the system message.
func (p *convoPane) cycleRole() {
	if p.sel == 0 {
		return
	}
	t := &p.turns[p.sel]
	if t.Role == "user" {
		t.Role = "assistant"
	} else {
		t.Role = "user"
	}
	p.reshaped()
}

// reshaped drops the prompt heatmap, whose turns no longer line up.
func (p *convoPane) reshaped() {
	p.heat = convoHeat{ver: p.heat.ver + 1}
	p.changed()
}

// keep appends a kept sample as an assistant turn and opens a user turn below
// it, which gets the editor.
func (p *convoPane) keep(ks keptSample) {
	last := len(p.turns) - 1
	if t := p.turns[last]; t.Role == "user" && t.Content == "" && last > 1 {
		// An empty user turn at the end was opened by the last keep and
		// never written: the kept sample takes its place.
		p.turns = p.turns[:last]
	}
	p.turns = append(p.turns, convoTurn{Role: "assistant", Content: ks.Content, Kept: &ks}, convoTurn{Role: "user"})
	p.reshaped()
	p.load(len(p.turns) - 1)
}

// ---------------------------------------------------------------------------
// Prompt logprobs and the context count
// ---------------------------------------------------------------------------

// setPromptHeat lays a run's prompt tokens on the turns it sent (sent[j] is
// the content of message j, from turn turnOf[j]).
func (p *convoPane) setPromptHeat(toks []backend.Token, sent []string, turnOf []int) {
	per, ok := alignTurns(toks, sent)
	h := convoHeat{turns: make([][]backend.Token, len(p.turns)), sent: make([]string, len(p.turns)), ver: p.heat.ver + 1}
	for j, ti := range turnOf {
		if ti < len(p.turns) && j < len(per) {
			h.turns[ti], h.sent[ti] = per[j], sent[j]
		}
	}
	if !ok {
		h.note = "prompt logprobs: some turns could not be matched in the templated prompt and are not coloured"
	}
	p.heat = h
}

// setHeatNote says why the prompt logprobs colour nothing.
func (p *convoPane) setHeatNote(note string) {
	p.heat.note = note
	p.heat.ver++
}

// alignTurns finds each content, in order, in the text of the prompt's tokens
// (the chat template's rendering of the conversation) and returns per content
// the tokens over it, each cut to the content's bytes. ok is false when some
// non-empty content was not found (a template that rewrites the text); those
// get nil.
func alignTurns(toks []backend.Token, contents []string) ([][]backend.Token, bool) {
	out := make([][]backend.Token, len(contents))
	if len(toks) == 0 {
		return out, false
	}
	var text string
	var places []backend.Place
	partial := slices.ContainsFunc(toks, func(t backend.Token) bool { return backend.Partial(t.Text) })
	joined := strings.Join(contents, "")
	if pl := backend.AlignPrompt(toks, joined); pl != nil {
		// A template that adds nothing: the tokens are the messages' text,
		// the first (which vLLM reports without text) included.
		text, places = joined, pl
	} else if partial {
		text, places = backend.Reconstruct(toks, contents...)
	} else {
		var b strings.Builder
		places = make([]backend.Place, len(toks))
		for k, t := range toks {
			places[k] = backend.Place{Kind: backend.InText, Start: b.Len(), End: b.Len() + len(t.Text)}
			b.WriteString(t.Text)
		}
		text = b.String()
	}
	ok, pos := true, 0
	for i, c := range contents {
		if strings.TrimSpace(c) == "" {
			continue
		}
		a := strings.Index(text[pos:], c)
		if a < 0 {
			// Templates often strip a message's edges.
			c = strings.TrimSpace(c)
			a = strings.Index(text[pos:], c)
		}
		if a < 0 {
			ok = false
			continue
		}
		a += pos
		b := a + len(c)
		covered := a
		var ts []backend.Token
		for k, pl := range places {
			if !pl.In() || pl.End <= a || pl.Start >= b || pl.End > len(text) {
				continue
			}
			s, e := max(pl.Start, a), min(pl.End, b)
			if s > covered {
				break // a gap no token covers: not a faithful colouring
			}
			t := toks[k]
			t.Text, t.Place = text[s:e], nil
			ts = append(ts, t)
			covered = e
		}
		if covered < b {
			ok = false
			continue
		}
		out[i], pos = wholeGraphemes(ts), b
	}
	return out, ok
}

// wholeGraphemes regroups consecutive pieces of one text so that no piece
// holds part of a character: a character split over tokens is shown once,
// coloured as the least likely of its tokens (as the prompt pane does).
func wholeGraphemes(pieces []backend.Token) []backend.Token {
	var all strings.Builder
	starts := make([]int, len(pieces)+1)
	for k, t := range pieces {
		starts[k] = all.Len()
		all.WriteString(t.Text)
	}
	starts[len(pieces)] = all.Len()
	s := all.String()
	if utf8.ValidString(s) && !slices.ContainsFunc(pieces, func(t backend.Token) bool { return !utf8.ValidString(t.Text) }) {
		return pieces
	}
	var out []backend.Token
	k, prev := 0, -1
	for x := 0; x < len(s); {
		g, _ := ansi.FirstGraphemeCluster(s[x:], ansi.GraphemeWidth)
		if g == "" {
			break
		}
		for k+1 < len(pieces) && starts[k+1] <= x {
			k++
		}
		last, worst := k, k
		for last+1 < len(pieces) && starts[last+1] < x+len(g) {
			last++
			if lp := pieces[last].Logprob; lp.Known() && (!pieces[worst].Logprob.Known() || lp < pieces[worst].Logprob) {
				worst = last
			}
		}
		if last == k && prev == k {
			out[len(out)-1].Text += g
		} else {
			t := pieces[worst]
			t.Text = g
			out = append(out, t)
		}
		prev = k
		if last > k {
			prev = -1
		}
		x += len(g)
	}
	return out
}

// keptDisplay is a kept sample's answer tokens cut to its content, so the
// heatmap shows exactly the text the server sent; text no token is placed in
// is shown with an unknown logprob.
func keptDisplay(ks *keptSample) []backend.Token {
	var out []backend.Token
	at := 0
	for _, t := range ks.Tokens {
		pl := t.Place
		if t.Part != backend.PartAnswer || pl == nil || !pl.In() || pl.Start < at || pl.Start >= len(ks.Content) {
			continue
		}
		if pl.Start > at {
			out = append(out, backend.Token{Text: ks.Content[at:pl.Start], Logprob: backend.Unknown()})
		}
		e := min(pl.End, len(ks.Content))
		t.Text, t.Place = ks.Content[pl.Start:e], nil
		out = append(out, t)
		at = e
	}
	if at < len(ks.Content) {
		if out == nil {
			return nil
		}
		out = append(out, backend.Token{Text: ks.Content[at:], Logprob: backend.Unknown()})
	}
	return wholeGraphemes(out)
}

// countCmd tokenizes the conversation if it has not changed since the tick.
func (p *convoPane) countCmd(tk chatTokenizer, ctx context.Context, model string, ver int) tea.Cmd {
	if ver != p.ver || (p.count.ok && p.count.ver == ver) {
		return nil
	}
	msgs := p.messages()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, mx, err := tk.TokenizeMessages(ctx, model, msgs)
		return convoCountMsg{ver: ver, n: n, max: mx, err: err}
	}
}

// countTitle is the context in use for the title: tokens against the
// model's context length, saying where the count came from.
func (p *convoPane) countTitle(maxLen int) string {
	c := p.count
	if !c.ok {
		return ""
	}
	if c.max > 0 {
		maxLen = c.max
	}
	s := fmt.Sprintf("%d", c.n)
	if maxLen > 0 {
		s += fmt.Sprintf("/%d", maxLen)
	}
	s += " tokens"
	switch {
	case c.ver != p.ver && c.run:
		s += " at last run (changed since)"
	case c.ver != p.ver:
		s += " (changed since)"
	case c.run:
		s += " (last run)"
	default:
		s += " (tokenized)"
	}
	return s
}

// title is the pane's title: the selected turn, the context in use and what
// colours the turns.
func (p *convoPane) title(maxLen int, promptHeat bool) string {
	t := fmt.Sprintf("conversation %d/%d", p.sel+1, len(p.turns))
	if c := p.countTitle(maxLen); c != "" {
		t += " · " + c
	}
	switch {
	case promptHeat && p.heat.note != "":
		t += " · " + p.heat.note
	case p.heat.turns != nil:
		t += " · prompt logprobs"
	}
	return t
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

// view is the pane's content, w by h cells.
func (p *convoPane) view(focused bool) []string {
	pk := ""
	if p.c.Painter != nil {
		pk = p.c.Painter.Key()
	}
	ed := p.ed.get()
	key := fmt.Sprint(p.ver, p.sel, focused, p.w, p.h, p.c.ThemeKey, pk, p.heat.ver, ed.Line(), ed.Column(), ed.ScrollYOffset(), ed.Focused())
	if key == p.key {
		return p.lines
	}
	gw := p.gutter()
	cw := max(1, p.w-gw)
	// Turns are folded to their first lines only when the whole conversation
	// does not fit; the turn being edited never is.
	bodies := make([][]string, len(p.turns))
	total := 0
	for i := range p.turns {
		if focused && i == p.sel {
			bodies[i] = strings.Split(visibleFormatting(ed.View()), "\n")
		} else {
			bodies[i] = p.cachedTurnLines(i, cw, pk)
		}
		total += max(len(bodies[i]), 2)
	}
	fold := max(2, p.h/3)
	blankGut := strings.Repeat(" ", gw)
	var all []convoLine
	selStart, selEnd := 0, 0
	for i := range p.turns {
		t := &p.turns[i]
		body := bodies[i]
		if !(focused && i == p.sel) && total > p.h && len(body) > fold {
			// Blank lines first (an answer after thinking often starts
			// with two) would fill the preview: it starts at the text.
			blank := 0
			for blank < len(body)-1 && strings.Trim(ansi.Strip(body[blank]), " ⏎") == "" {
				blank++
			}
			shown := body[blank:min(len(body), blank+fold-1)]
			more := fmt.Sprintf("… %d more lines", len(body)-len(shown))
			body = append(slices.Clone(shown), p.c.Styles.App.Hint.Render(more))
		}
		if t.Kept != nil && t.Kept.Reasoning != "" {
			body = append(body, p.c.Styles.App.Hint.Render("(thinking kept apart, not sent back: vLLM's templates drop it)"))
		}
		gut := []string{p.roleLabel(t.Role, i == p.sel, focused, gw)}
		if t.Kept != nil && t.Kept.Sample >= 0 {
			mark := fmt.Sprintf(" kept s%d", t.Kept.Sample+1)
			if t.Content != t.Kept.Content {
				mark = fmt.Sprintf(" s%d edited", t.Kept.Sample+1)
			}
			gut = append(gut, p.c.Styles.App.Hint.Render(fitCells(mark, gw)))
		}
		for len(body) < len(gut) {
			body = append(body, "")
		}
		if i == p.sel {
			selStart = len(all)
		}
		for j, l := range body {
			g := blankGut
			if j < len(gut) {
				g = gut[j]
			}
			all = append(all, convoLine{g, l})
		}
		if i == p.sel {
			selEnd = len(all)
		}
	}
	// Scroll so the selected turn is on screen, its end while it is edited.
	if selStart < p.top {
		p.top = selStart
	}
	if selEnd > p.top+p.h {
		p.top = max(selStart, selEnd-p.h)
		if selEnd-selStart > p.h && focused {
			p.top = selEnd - p.h
		}
	}
	p.top = max(0, min(p.top, len(all)-p.h))
	if len(all) < p.h {
		p.top = 0
	}
	// Only the lines on screen are cut and padded.
	shown := slices.Clone(all[p.top:min(len(all), p.top+p.h)])
	if p.top > 0 && len(shown) > 0 {
		shown[0].gut = p.c.Styles.App.Hint.Render(fitCells(fmt.Sprintf(" ↑ %d", p.top), gw))
	}
	if below := len(all) - p.top - len(shown); below > 0 && len(shown) > 0 {
		shown[len(shown)-1].gut = p.c.Styles.App.Hint.Render(fitCells(fmt.Sprintf(" ↓ %d", below), gw))
	}
	vis := make([]string, len(shown))
	for j, l := range shown {
		vis[j] = l.gut + padTo(ansi.Truncate(l.text, cw, ""), cw)
	}
	p.key, p.lines = key, textLines(strings.Join(vis, "\n"), p.w, p.h)
	return p.lines
}

// turnLines is turn i drawn as text, or coloured by its logprobs: the prompt
// logprobs of the last run where the turn still reads what was sent, else a
// kept sample's own while it reads what was kept.
func (p *convoPane) turnLines(i, cw int) []string {
	t := &p.turns[i]
	if pt := p.c.Painter; pt != nil {
		if i < len(p.heat.turns) && p.heat.turns[i] != nil && p.heat.sent[i] == t.Content {
			return trimPadded(heatmap.Lines(pt, p.heat.turns[i], cw))
		}
		if k := t.Kept; k != nil && k.Content == t.Content {
			if toks := keptDisplay(k); toks != nil {
				return trimPadded(heatmap.Lines(pt, toks, cw))
			}
		}
	}
	if t.Content == "" {
		what := "(empty)"
		if i == 0 {
			what = "(no system message)"
		}
		return []string{p.c.Styles.App.Hint.Render(what)}
	}
	lines := wrapPlain(sanitize.Text(t.Content), cw)
	for j, l := range lines {
		lines[j] = p.c.Styles.Prompt.Text.Render(l)
	}
	return lines
}

// cachedTurnLines is turnLines, drawn again only when what it shows changed.
func (p *convoPane) cachedTurnLines(i, cw int, pk string) []string {
	if len(p.drawn) != len(p.turns) {
		p.drawn = make([]drawnTurn, len(p.turns))
	}
	t := &p.turns[i]
	d := &p.drawn[i]
	if d.lines != nil && d.content == t.Content && d.kept == t.Kept && d.heatVer == p.heat.ver && d.w == cw && d.idx == i &&
		d.painter == pk && d.theme == p.c.ThemeKey {
		return d.lines
	}
	*d = drawnTurn{content: t.Content, kept: t.Kept, heatVer: p.heat.ver, w: cw, idx: i, painter: pk, theme: p.c.ThemeKey, lines: p.turnLines(i, cw)}
	return d.lines
}

// visibleFormatting shows the bidi and other format characters of the
// editor's drawing as the sanitizer does: the editor drops control
// characters itself, but would draw a turn's U+202E (a kept sample's, a
// conversation file's) raw. The editor's own styling is left as it is.
func visibleFormatting(s string) string {
	var b strings.Builder
	started := false
	for i, r := range s {
		safe := ""
		if r >= 0x80 {
			if v := sanitize.Line(string(r)); v != string(r) {
				safe = v
			}
		}
		switch {
		case safe == "" && started:
			b.WriteRune(r)
		case safe != "":
			if !started {
				started = true
				b.WriteString(s[:i])
			}
			b.WriteString(safe)
		}
	}
	if !started {
		return s
	}
	return b.String()
}

// trimPadded drops the empty line a trailing newline leaves.
func trimPadded(ls []string) []string {
	if len(ls) > 1 && strings.TrimSpace(ansi.Strip(ls[len(ls)-1])) == "" {
		return ls[:len(ls)-1]
	}
	return ls
}

func (p *convoPane) roleLabel(role string, sel, focused bool, gw int) string {
	name := role
	if gw < len(" assistant ") {
		switch role {
		case "system":
			name = "sys"
		case "assistant":
			name = "asst"
		}
	}
	mark := " "
	st := p.c.Styles.Prompt.Label
	if sel {
		mark = "▸"
		if focused {
			st = p.c.Styles.Prompt.LabelFocused
		}
	}
	return st.Render(fitCells(mark+sanitize.Line(name), gw))
}

// fitCells cuts or pads s to exactly w cells.
func fitCells(s string, w int) string { return padTo(ansi.Truncate(s, w, "…"), w) }

// wrapPlain wraps text to w cells, keeping its line breaks; an empty text is
// one empty line.
func wrapPlain(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, w, " "), "\n")
}

func (p *convoPane) helpID() string { return "conversation" }

func (p *convoPane) ShortHelp() []key.Binding {
	g, k := &p.c.Keys.Global, &p.c.Keys.Convo
	return []key.Binding{g.Run, k.Next, k.Add, k.Role, k.Delete, g.Next, g.Mode, g.Help}
}

func (p *convoPane) FullHelp() [][]key.Binding {
	g, k := &p.c.Keys.Global, &p.c.Keys.Convo
	return [][]key.Binding{{k.Prev, k.Next, k.Add, k.Delete, k.Role}, {g.Run, g.Cancel, g.Save, g.Open}}
}
