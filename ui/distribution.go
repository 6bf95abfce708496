package ui

import (
	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

// Which distribution the numbers on screen come from. The API does not say:
// a run's StartInfo names the mode the client was told (the config, the flag
// or the panel's claim), a session keeps it, and the legend and the
// inspector say it beside every number.

// setShownMode records the logprobs mode of the samples on screen; logits
// are not probabilities, so the heatmap stops colouring by them.
func (m *Model) setShownMode(mode backend.LogprobsMode) {
	mode = mode.OrDefault()
	if mode == m.samples.lpMode {
		return
	}
	m.samples.lpMode = mode
	m.samples.insp.SetLogprobsMode(mode)
	m.rebuildPainter()
}

// painterMode is the heatmap mode the painter colours with: the chosen one,
// or off while the numbers on screen are logits.
func (m *Model) painterMode() heatmap.Mode {
	if m.samples != nil && m.samples.lpMode.Logits() && !m.c.HeatProcessed {
		return heatmap.Off
	}
	return m.c.HeatMode
}

// hasProcessed reports whether any token on screen carries processed
// logprobs beside its raw ones (the built-in model gives both).
func (p *samplesPane) hasProcessed() bool {
	for _, c := range p.cols {
		for i := range c.tokens {
			if c.tokens[i].Processed != nil {
				return true
			}
		}
	}
	return false
}

// toggleHeatProcessed switches the heatmap between the raw probability and
// the processed one, the probability each token was really drawn with.
func (m *Model) toggleHeatProcessed() {
	if !m.c.HeatProcessed && !m.samples.hasProcessed() {
		m.setStatus("no processed values on screen: the built-in model (--endpoint local) gives them beside the raw ones; a server gives one kind, which the logprobs mode names", true)
		return
	}
	m.c.HeatProcessed = !m.c.HeatProcessed
	m.rebuildPainter()
	if m.c.HeatProcessed {
		m.setStatus("heatmap colours by the processed probability: the one each token was drawn with", false)
	} else {
		m.setStatus("heatmap colours by the raw probability: the model's, before sampling", false)
	}
}
