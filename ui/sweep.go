package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// A sweep runs one variant of the request per value of a parameter (or per
// pair of two), all in one run: the backend sends the variants concurrently
// and numbers their samples one after another. Each sample is a column whose
// header carries its variant's values; cancel stops them all, as any run.

// sweepDialog opens the sweep dialog over the parameters on the panel.
func (m *Model) sweepDialog() *sweepDialog {
	return newSweepDialog(m.c, m.lastSweep, func(axes []params.SweepAxis, own bool) (*sweepPlan, error) {
		// The seed is drawn when the run starts; 1 checks the layout.
		return planSweep(m.panel.P, m.panel.O, 1, axes, own)
	})
}

// planRun lays sw out again over req (its parameters and seed as sent) and
// makes req the sweep's run.
func (m *Model) planRun(req *backend.Request, sw *sweepPlan) (*sweepPlan, error) {
	seed := int64(0)
	if req.Params.Seed != nil {
		seed = *req.Params.Seed
	}
	p, err := planSweep(req.Params, req.Options, seed, sw.axes, sw.ownSeeds)
	if err != nil {
		return nil, err
	}
	p.texts = sw.texts
	req.Variants = nil
	for _, v := range p.variants {
		req.Variants = append(req.Variants, v.Params)
	}
	m.samples.perRow = p.perRow(req.Options.Samples())
	return p, nil
}

// perRow is how many columns a row of the grid holds: a grid sweep keeps
// one row per value of its first parameter; anything else lets the grid
// choose.
func (p *sweepPlan) perRow(n int) int {
	if p == nil || len(p.axes) != 2 {
		return 0
	}
	return len(p.axes[1].Values) * n
}

// title names the swept parameters: "temperature" or "temperature × top_p".
func (p *sweepPlan) title() string {
	var names []string
	for _, a := range p.axes {
		names = append(names, a.Spec.Key)
	}
	return strings.Join(names, " × ")
}

// runLabels heads the run's variants: a sweep's values, or the targets of a
// compare (its name and model; never its key).
func runLabels(req backend.Request, sw *sweepPlan, sampler backend.Sampler) []string {
	if sw != nil {
		return sw.labels
	}
	if b, ok := sampler.(*backend.Batch); ok {
		var out []string
		for i, p := range b.Prompts {
			out = append(out, fmt.Sprintf("prompt %d: %s", i+1, strings.Join(strings.Fields(p), " ")))
		}
		return out
	}
	mt, ok := sampler.(*backend.Multi)
	if !ok {
		return nil
	}
	var out []string
	for _, t := range mt.Targets {
		model := t.Model
		if t.Main {
			model = req.Model
		}
		l := t.Name
		if model != "" {
			l += ": " + model
		}
		out = append(out, l)
	}
	return out
}

// runColumns makes the run's empty columns: n per variant (or target), each
// labelled and seeded as it will be drawn.
func runColumns(req backend.Request, labels []string, started time.Time) []*column {
	n := req.Options.Samples()
	all := req.AllParams()
	groups := max(1, len(labels))
	cols := make([]*column, 0, n*groups)
	for v := range groups {
		p := all[min(v, len(all)-1)]
		k := n
		if p.IsGreedy() {
			k = 1 // greedy is sent as one sample (backend.Request.Validate)
		}
		for i := 0; i < k; i++ {
			var seed *int64
			if p.Seed != nil {
				s := *p.Seed + int64(i)
				seed = &s
			}
			c := newColumn(len(cols), seed, started)
			if v < len(labels) {
				c.Label = labels[v]
			}
			cols = append(cols, c)
		}
	}
	return cols
}

// startVariant follows a variant's start: the backend numbers the samples
// of each variant as it sends them (a greedy variant sends one), so the
// labels go where it says, and once every variant has started the columns
// no variant numbers are dropped.
func (m *Model) startVariant(r *runState, s *backend.StartInfo) {
	if s.Variant < 0 || s.Variant >= len(r.labels) {
		return
	}
	for i := 0; i < s.Count; i++ {
		if c := m.column(s.First + i); c != nil {
			c.Label = r.labels[s.Variant]
		}
	}
	r.sweepStarted++
	r.sweepEnd = max(r.sweepEnd, s.First+s.Count)
	if r.sweepStarted == len(r.labels) && r.sweepEnd < len(m.samples.cols) && r.sweepEnd > 0 {
		m.samples.setColumns(m.samples.cols[:r.sweepEnd])
		// A greedy variant's one sample breaks the rows of a grid.
		m.samples.perRow = 0
		m.relayout()
	}
}

// runSampler is where runs go: the program's sampler, or the compare
// targets that are on (one alone runs as a plain run on it).
func (m *Model) runSampler() backend.Sampler {
	if m.compare == nil {
		return m.c.Sampler
	}
	var on []backend.Target
	for i, t := range m.compare.Targets {
		if m.targetsOn[i] {
			on = append(on, t)
		}
	}
	// One target alone is still a Multi: its column says which it is, and
	// it runs its own model.
	return &backend.Multi{Targets: on}
}

// targetsStatus says where runs go now.
func (m *Model) targetsStatus() string {
	var names []string
	for i, t := range m.compare.Targets {
		if m.targetsOn[i] {
			names = append(names, t.Name)
		}
	}
	if len(names) == 1 {
		return "runs go to " + names[0] + " alone (ctrl+y chooses)"
	}
	return "runs go to " + strings.Join(names, ", ") + " side by side (ctrl+y chooses)"
}

// Most prompts a batch takes: one row of the grid each.
const maxBatch = 8

// startBatch samples each of the prompts in the prompt pane, separated by
// lines of ---, with the same parameters and seed: a row per prompt, a
// column per sample.
func (m *Model) startBatch() tea.Cmd {
	parts := splitBatch(m.prompt.Value())
	switch {
	case len(parts) < 2:
		m.setStatus("a batch is 2 to 8 prompts in the prompt pane, separated by lines of ---; ctrl+q samples each", true)
		return nil
	case len(parts) > maxBatch:
		m.setStatus(fmt.Sprintf("a batch takes up to %d prompts, got %d", maxBatch, len(parts)), true)
		return nil
	}
	return m.launch(nil, parts)
}

// splitBatch splits text at lines that are --- alone; empty prompts are
// left out.
func splitBatch(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if p := strings.TrimSpace(strings.Join(cur, "\n")); p != "" {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == "---" {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return out
}
