package ui

import (
	"context"
	"fmt"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// The determinism check's run count: at least two to compare, at most eight
// to keep a slow server's wait bounded.
const (
	minRepeat     = 2
	maxRepeat     = 8
	defaultRepeat = 3
)

// nearTie is the logprob gap (nats) under which a flip reads as a near-tie:
// a numerical difference that small tips the choice; the threshold is the
// playground's rule of thumb, and the report says so.
const nearTie = 0.1

// determinismMsg is k runs of one request, compared.
type determinismMsg struct {
	d   backend.Determinism
	err error
}

// checkDeterminism runs req k times, one after the other, and compares them.
func checkDeterminism(ctx context.Context, s backend.Sampler, req backend.Request, k int) tea.Msg {
	runs := make([]backend.SampleResponse, 0, k)
	for range k {
		ch, err := s.Start(ctx, req)
		if err != nil {
			return determinismMsg{err: err}
		}
		asm := backend.NewAssembler(req)
		for ev := range ch {
			asm.Apply(ev)
		}
		if err := asm.Err(); err != nil {
			return determinismMsg{err: err}
		}
		runs = append(runs, asm.Response())
	}
	return determinismMsg{d: backend.CheckDeterminism(runs)}
}

// determinismDialog re-runs the last run's request with the same seed k
// times and says whether the samples came out the same; if not, where they
// first parted and by how much the model preferred one token there.
type determinismDialog struct {
	c       *Common
	req     backend.Request
	k       int
	run     func(k int) tea.Cmd
	running bool
	report  []string
	bad     bool
}

func newDeterminismDialog(c *Common, req backend.Request, run func(int) tea.Cmd) *determinismDialog {
	return &determinismDialog{c: c, req: req, k: defaultRepeat, run: run}
}

func (d *determinismDialog) open() tea.Cmd { return nil }

func (d *determinismDialog) handle(msg tea.Msg) action {
	switch msg := msg.(type) {
	case determinismMsg:
		d.running = false
		if msg.err != nil {
			d.report, d.bad = []string{"the check could not run: " + sanitize.Line(msg.err.Error())}, true
			return nil
		}
		d.report, d.bad = determinismReport(msg.d), msg.d.Identical == nil || !*msg.d.Identical
	case tea.KeyPressMsg:
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(msg, dk.Close):
			return closeDialog{}
		case d.running:
		case key.Matches(msg, dk.Left), key.Matches(msg, dk.Down):
			d.k = max(minRepeat, d.k-1)
		case key.Matches(msg, dk.Right), key.Matches(msg, dk.Up):
			d.k = min(maxRepeat, d.k+1)
		case key.Matches(msg, dk.Accept):
			d.running, d.report = true, nil
			return runCmd{d.run(d.k)}
		}
	}
	return nil
}

// determinismReport writes the verdict in words.
func determinismReport(d backend.Determinism) []string {
	if d.Identical == nil {
		return []string{"not compared: " + sanitize.Line(d.Note)}
	}
	maxDiff := "no logprobs to compare"
	if d.MaxLogprobDiff != nil {
		maxDiff = "largest logprob difference where they agree: " + strconv.FormatFloat(*d.MaxLogprobDiff, 'g', 3, 64)
	}
	if *d.Identical {
		return []string{fmt.Sprintf("identical: all %d runs drew the same tokens and stop reasons", d.Runs), maxDiff}
	}
	out := []string{fmt.Sprintf("not identical: %d of %d re-runs differ from run 0", d.DifferingRuns, d.Runs-1)}
	f := d.FirstDifference
	if f == nil {
		return append(out, maxDiff)
	}
	tok := func(s string) string {
		if s == "" {
			return "(ended)"
		}
		return sanitize.Line(strconv.Quote(s))
	}
	out = append(out, fmt.Sprintf("first difference: sample %d, %s %d: %s in run 0, %s in run %d",
		f.Sample+1, f.Unit, f.Position, tok(f.Tokens[0]), tok(f.Tokens[1]), f.Run))
	switch {
	case f.Gap == nil:
		out = append(out, "logprob gap unknown (the other token was not among the alternatives returned)")
	default:
		g := strconv.FormatFloat(*f.Gap, 'f', 3, 64)
		at := ""
		if f.GapAtLeast {
			at = "at least "
		}
		out = append(out, fmt.Sprintf("logprob gap between the two tokens: %s%s nats (from %s's alternatives)", at, g, f.From))
		switch {
		case *f.Gap > nearTie:
			out = append(out, fmt.Sprintf("not a near-tie (gap > %g): points at the server; vLLM's seeded serving is reproducible only with batch invariance on", nearTie))
		case f.GapAtLeast:
			out = append(out, "the other token was outside the alternatives returned, so whether it was a near-tie is not known")
		default:
			out = append(out, fmt.Sprintf("near-tie (gap ≤ %g): a tiny numerical difference between runs explains the flip", nearTie))
		}
	}
	return append(out, maxDiff)
}

func (d *determinismDialog) draw(r rect) []string {
	st := d.c.Styles.Dialog
	seed := "no seed (the server draws one: runs cannot match)"
	if s := d.req.Params.Seed; s != nil {
		seed = "seed " + strconv.FormatInt(*s, 10)
	}
	n := d.req.Options.Samples()
	lines := append(wrapStyled(st.Hint, fmt.Sprintf("re-runs the last run's request (%d sample%s, %s) k times and compares the samples", n, plural(n), seed), inner(r).W),
		"",
		st.Item.Render(fmt.Sprintf("k = %d   (←/→ %d-%d, enter runs)", d.k, minRepeat, maxRepeat)),
		"")
	switch {
	case d.running:
		lines = append(lines, st.Hint.Render(fmt.Sprintf("running %d times…", d.k)))
	case d.report != nil:
		s := st.Item
		if d.bad {
			s = st.Error
		}
		for _, l := range d.report {
			lines = append(lines, wrapStyled(s, l, inner(r).W)...)
		}
	}
	return dialogBox(d.c, r, "determinism check", lines)
}

func (d *determinismDialog) helpID() string { return "determinism" }

func (d *determinismDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{withHelp(k.Right, "more runs"), withHelp(k.Left, "fewer"), withHelp(k.Accept, "run the check"), k.Close}
}

func (d *determinismDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
