package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/explore"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// stepDialog is step mode: a sample grown from the prompt a few tokens at a
// time (max_tokens 1, 10 or the rest, logprobs on), showing the alternatives
// at the last token. Keeping the sampled token steps on; choosing another
// forks there (a branch of the tree) and steps on from the branch.
type stepDialog struct {
	c    *Common
	tree *explore.Tree
	node int
	// pick: 0 keeps the sampled token, i > 0 is alts[i-1].
	pick picker
	alts []backend.Alt
	run  func(plan *explore.Plan, n int, step bool) tea.Cmd
	// busy is the plan of the step in flight; note says how the last went.
	busy *explore.Plan
	note string
	bad  bool
}

func newStepDialog(c *Common, t *explore.Tree, node int, run func(*explore.Plan, int, bool) tea.Cmd) *stepDialog {
	d := &stepDialog{c: c, tree: t, node: node, run: run}
	d.note = "n steps one token from the prompt"
	d.follow()
	return d
}

// follow lists the alternatives at the node's last token.
func (d *stepDialog) follow() {
	d.alts, d.pick.idx = nil, 0
	toks := d.tree.Sample(d.node).Tokens
	if len(toks) == 0 {
		return
	}
	last := toks[len(toks)-1]
	for _, a := range last.Top {
		if a.Text != last.Text {
			d.alts = append(d.alts, a)
		}
	}
}

func (d *stepDialog) open() tea.Cmd { return nil }

func (d *stepDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case exploreRunMsg:
		if msg.plan == nil || msg.plan != d.busy {
			return nil
		}
		d.busy = nil
		if msg.err != nil || len(msg.ids) == 0 {
			d.note, d.bad = "the step failed: "+sanitize.Line(errString(msg.err)), true
			return nil
		}
		d.node, d.bad = msg.ids[0], false
		how := "as token ids"
		if msg.req.Continue == nil {
			how = "from the prompt"
		} else if msg.req.Continue.IDs == nil {
			how = "as text"
		}
		d.note = fmt.Sprintf("sent max_tokens %s with logprobs, prefix %s", maxTokensWords(msg.req), how)
		d.follow()
	case tea.KeyPressMsg:
		dk, ek := &d.c.Keys.Dialog, &d.c.Keys.Explore
		switch {
		case key.Matches(msg, dk.Close):
			if len(d.tree.Sample(d.node).Tokens) == 0 {
				return closeDialog{}
			}
			return actions{closeDialog{}, showNode{d.node}}
		case d.pick.move(msg, dk, len(d.alts)+1):
		case key.Matches(msg, ek.Next1):
			return d.step(1)
		case key.Matches(msg, ek.Next10):
			return d.step(10)
		case key.Matches(msg, ek.ToEnd):
			return d.step(0)
		}
	}
	return nil
}

func maxTokensWords(req backend.Request) string {
	if req.Params.MaxTokens == nil {
		return "unset"
	}
	return fmt.Sprint(*req.Params.MaxTokens)
}

// step asks for the next n tokens (0: to the end), after the sampled last
// token or, when another is chosen, after that one in a new branch.
func (d *stepDialog) step(n int) action {
	if d.busy != nil {
		return nil
	}
	var plan *explore.Plan
	var err error
	if d.pick.idx > 0 && d.pick.idx <= len(d.alts) {
		toks := d.tree.Sample(d.node).Tokens
		plan, err = d.tree.PlanFork(d.node, len(toks)-1, d.alts[d.pick.idx-1])
	} else {
		plan, err = d.tree.PlanStep(d.node)
	}
	if err != nil {
		d.note, d.bad = sanitize.Line(err.Error()), true
		return nil
	}
	d.busy, d.note, d.bad = plan, "stepping…", false
	return runCmd{d.run(plan, n, true)}
}

func (d *stepDialog) draw(r rect) []string {
	in := inner(r)
	st := d.c.Styles.Dialog
	s := d.tree.Sample(d.node)
	var lines []string
	// The choice at the last token takes the lower part; the text so far the
	// rest, its end in view.
	var choice []string
	if n := len(s.Tokens); n > 0 {
		last := s.Tokens[n-1]
		choice = append(choice, wrapStyled(st.Title, fmt.Sprintf("token %d: keep the sampled one, or choose another: the next step forks there", n-1), in.W)...)
		room := max(1, min(len(d.alts)+1, in.H/2-2))
		choice = append(choice, d.pick.lines(d.c.Styles, len(d.alts)+1, room, func(i int) string {
			if i == 0 {
				return "keep " + tokenWords(last.Text, last.Logprob)
			}
			a := d.alts[i-1]
			return "fork " + tokenWords(a.Text, a.Logprob)
		})...)
	}
	status := st.Hint
	if d.bad {
		status = st.Error
	}
	foot := []string{"", status.Render(d.note)}
	if s.Ended() {
		foot = append(foot, st.Hint.Render("the sample has ended; esc shows it as a column"))
	}
	textH := max(1, in.H-len(choice)-len(foot)-1)
	text := wrapStyled(st.Item, sanitize.Text(s.Content), in.W)
	if len(s.Tokens) == 0 {
		text = []string{st.Hint.Render("(nothing yet)")}
	}
	if len(text) > textH {
		text = text[len(text)-textH:]
	}
	lines = append(lines, text...)
	lines = append(lines, "")
	lines = append(lines, choice...)
	lines = append(lines, foot...)
	return dialogBox(d.c, r, fmt.Sprintf("step mode · %d tokens · %s", len(s.Tokens), stateWords(s)), lines)
}

func stateWords(s explore.Sample) string {
	switch {
	case s.Reason == "":
		return "from the prompt"
	case s.Ended():
		return "ended"
	case s.Reason == backend.StopLength:
		return "n for more"
	}
	return string(s.Reason)
}

func (d *stepDialog) helpID() string { return "step" }

func (d *stepDialog) ShortHelp() []key.Binding {
	dk, ek := &d.c.Keys.Dialog, &d.c.Keys.Explore
	return []key.Binding{ek.Next1, ek.Next10, ek.ToEnd, withHelp(dk.Down, "choose token"), withHelp(dk.Close, "done")}
}

func (d *stepDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
