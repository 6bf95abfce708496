package ui

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/ui/sanitize"
)

// sweepDialog asks for one swept parameter (2 to 8 values) or two (a grid up
// to 4 x 4) and whether the variants share one seed; enter runs the sweep with
// everything else as the panel holds it. A sweep that cannot run says why in
// the dialog and keeps what was typed.
type sweepDialog struct {
	c      *Common
	inputs [2]textinput.Model
	// row is the field with focus: 0 and 1 the axes, 2 the seed toggle.
	row      int
	ownSeeds bool
	problems []string
	// plan lays the variants out over the panel's parameters as they are when
	// enter is pressed.
	plan func(axes []params.SweepAxis, ownSeeds bool) (*sweepPlan, error)
}

// sweepPlan is a sweep ready to run: one variant per cell, each with its label.
type sweepPlan struct {
	axes     []params.SweepAxis
	variants []params.SweepVariant
	labels   []string
	ownSeeds bool
	// texts are the axes as typed, offered again the next time the dialog opens.
	texts [2]string
}

// runSweep asks the root to run a sweep.
type runSweep struct{ plan *sweepPlan }

func (runSweep) isAction() {}

func newSweepDialog(c *Common, last *sweepPlan, plan func([]params.SweepAxis, bool) (*sweepPlan, error)) *sweepDialog {
	d := &sweepDialog{c: c, plan: plan}
	for i := range d.inputs {
		d.inputs[i] = newTextInput(c.Styles)
	}
	d.inputs[0].Placeholder = "temperature=0..1.5:0.5"
	d.inputs[1].Placeholder = "optional, for a grid: top_p=0.5,0.9"
	if last != nil {
		for i, t := range last.texts {
			d.inputs[i].SetValue(t)
			d.inputs[i].CursorEnd()
		}
		d.ownSeeds = last.ownSeeds
	}
	return d
}

func (d *sweepDialog) open() tea.Cmd { return d.inputs[0].Focus() }

func (d *sweepDialog) focusRow(r int) tea.Cmd {
	d.row = (r + 3) % 3
	var cmd tea.Cmd
	for i := range d.inputs {
		if i == d.row {
			cmd = d.inputs[i].Focus()
		} else {
			d.inputs[i].Blur()
		}
	}
	return cmd
}

func (d *sweepDialog) handle(msg tea.Msg) action {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		dk := &d.c.Keys.Dialog
		switch {
		case key.Matches(k, dk.Close):
			return closeDialog{}
		case key.Matches(k, dk.Accept), key.Matches(k, d.c.Keys.Global.Run):
			return d.accept()
		case key.Matches(k, dk.NextField), key.Matches(k, dk.Down) && d.row < 2 && k.Text == "":
			return runCmd{d.focusRow(d.row + 1)}
		case key.Matches(k, dk.PrevField), key.Matches(k, dk.Up) && k.Text == "":
			return runCmd{d.focusRow(d.row - 1)}
		case d.row == 2 && (k.String() == "space" || key.Matches(k, dk.Left) || key.Matches(k, dk.Right)):
			d.ownSeeds = !d.ownSeeds
			return nil
		}
	}
	if d.row == 2 {
		return nil
	}
	var cmd tea.Cmd
	d.inputs[d.row], cmd = d.inputs[d.row].Update(msg)
	return runCmd{cmd}
}

// accept parses the axes and plans the sweep; problems stay in the dialog.
func (d *sweepDialog) accept() action {
	d.problems = nil
	var axes []params.SweepAxis
	var texts [2]string
	for i := range d.inputs {
		t := strings.TrimSpace(d.inputs[i].Value())
		texts[i] = t
		if t == "" {
			continue
		}
		a, err := params.ParseSweep(t)
		if err != nil {
			d.problems = append(d.problems, fmt.Sprintf("sweep %d: %v", i+1, err))
			continue
		}
		axes = append(axes, a)
	}
	if len(axes) == 0 && len(d.problems) == 0 {
		d.problems = []string{"type a parameter and its values, such as temperature=0,0.5,1 or temperature=0..1.5:0.5"}
	}
	if len(d.problems) > 0 {
		return nil
	}
	p, err := d.plan(axes, d.ownSeeds)
	if err != nil {
		var se *params.SweepError
		if errors.As(err, &se) {
			d.problems = se.Problems
		} else {
			d.problems = []string{err.Error()}
		}
		return nil
	}
	p.texts = texts
	return actions{closeDialog{}, runSweep{p}}
}

func (d *sweepDialog) draw(r rect) []string {
	in := inner(r)
	st := &d.c.Styles.Dialog
	for i := range d.inputs {
		d.inputs[i].SetWidth(max(1, in.W-14))
	}
	mark := func(row int) string {
		if row == d.row {
			return "▸ "
		}
		return "  "
	}
	seeds := "[ ] own seed per variant (off: one shared seed)"
	if d.ownSeeds {
		seeds = "[x] own seed per variant (variant v: seed+v×n)"
	}
	w := max(1, in.W)
	lines := wrapStyled(st.Hint, "one parameter, 2-8 values, or two as a grid up to 4x4: NAME=V1,V2,… or NAME=START..END:STEP", w)
	lines = append(lines, "",
		mark(0)+"sweep 1  "+d.inputs[0].View(),
		mark(1)+"sweep 2  "+d.inputs[1].View(),
		mark(2)+seeds,
		"",
	)
	for _, p := range d.problems {
		lines = append(lines, wrapStyled(st.Error, sanitize.Line(p), w)...)
	}
	lines = append(lines, wrapStyled(st.Hint, "sweepable: "+strings.Join(params.SweepableNames(), ", "), w)...)
	lines = append(lines, wrapStyled(st.Hint, "enter runs · tab next field · space toggles seeds · esc closes", w)...)
	return dialogBox(d.c, r, "sweep", lines)
}

func (d *sweepDialog) helpID() string { return "sweep" }

func (d *sweepDialog) ShortHelp() []key.Binding {
	k := &d.c.Keys.Dialog
	return []key.Binding{k.Accept, k.NextField, k.Close}
}

func (d *sweepDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

// planSweep lays a sweep out over the parameters and options on the panel:
// every variant gets the run's seed (shared), or seed+v×n with ownSeeds so no
// two samples of the sweep share one. A swept seed is left as swept.
func planSweep(base params.SamplingParams, o params.Options, seed int64, axes []params.SweepAxis, ownSeeds bool) (*sweepPlan, error) {
	vs, err := params.SweepVariants(base, o, axes)
	if err != nil {
		return nil, err
	}
	p := &sweepPlan{axes: axes, variants: vs, ownSeeds: ownSeeds}
	n := int64(o.Samples())
	for i := range vs {
		if !reflect.DeepEqual(vs[i].Options, o) {
			return nil, fmt.Errorf("%s is a request option: the playground sweeps sampling parameters only", axes[0].Spec.Key)
		}
		if _, swept := vs[i].Values.Get("seed"); !swept {
			s := seed
			if ownSeeds {
				s += int64(i) * n
				if s > math.MaxInt32 {
					return nil, fmt.Errorf("own seeds: variant %d would need seed %d, above %d; lock a lower seed", i+1, s, math.MaxInt32)
				}
			}
			vs[i].Params.Seed = &s
		}
		p.labels = append(p.labels, sweepLabel(vs[i].Values))
	}
	return p, nil
}

// sweepLabel is a variant's swept values as its column header shows them.
func sweepLabel(f params.Fields) string {
	var parts []string
	for _, x := range f {
		v := "null"
		switch n := x.Value.(type) {
		case float64:
			v = fmt.Sprint(n)
		case int64:
			v = fmt.Sprint(n)
		}
		parts = append(parts, x.Key+"="+v)
	}
	return strings.Join(parts, " ")
}
