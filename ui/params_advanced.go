package ui

import (
	"errors"
	"fmt"
	"github.com/charmbracelet/x/ansi"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
)

// The advanced group: vLLM's fields beyond the seven (the spec table's
// Advanced rows) and the logprobs mode claimed for the server, below a
// header row. Collapsed, the group shows only the rows that differ from
// their default (and the focused one), so a used field is never hidden.

// headerRow is the cursor's value on the group's header.
const headerRow = -1

// logprobsModeKey is the panel's own row for the logprobs mode: not a
// sampling field (params knows nothing of it) but what the numbers shown
// are, which the API does not report.
const logprobsModeKey = "logprobs_mode"

// logprobsModeSpec is the logprobs mode row, shaped as a Choice row so it
// steps, types and draws like the reasoning_effort row.
func logprobsModeSpec() params.Spec {
	s := params.Spec{Key: logprobsModeKey, Label: "lp_mode", Kind: params.Choice, Advanced: true,
		Help:     "the --logprobs-mode the server runs with, which the API does not report: it names the numbers shown (raw or processed, logprobs or logits) and what they are checked against",
		Floor:    "as configured",
		Nullable: true, Strict: true, Fine: 1, Coarse: 1}
	// The row names a mode in a word that fits its value column; typed, the
	// full names are read.
	short := map[backend.LogprobsMode]string{backend.RawLogprobs: "raw", backend.RawLogits: "raw logits",
		backend.ProcessedLogprobs: "processed", backend.ProcessedLogits: "proc. logits"}
	for i, m := range backend.LogprobsModes {
		s.Choices = append(s.Choices, string(m))
		s.Specials = append(s.Specials, params.Special{Value: float64(i), Word: short[m]})
	}
	s.Max = float64(len(s.Choices) - 1)
	return s
}

// panelSpecs is every row the panel can show: the main rows, then the
// advanced ones and the logprobs mode.
func panelSpecs() []params.Spec { return append(params.Specs(), logprobsModeSpec()) }

// visible lists the rows shown, in order: spec indices, with headerRow
// where the group's header sits.
func (pp *paramPanel) visible() []int {
	out := make([]int, 0, len(pp.specs)+1)
	header := false
	for i, s := range pp.specs {
		if !s.Advanced {
			out = append(out, i)
			continue
		}
		if !header {
			out, header = append(out, headerRow), true
		}
		if pp.advOpen || i == pp.cursor || pp.used(i) {
			out = append(out, i)
		}
	}
	return out
}

// used reports whether advanced row i differs from its default.
func (pp *paramPanel) used(i int) bool {
	s := pp.specs[i]
	a := pp.O.Advanced
	switch s.Kind {
	case params.BiasList:
		return len(a.LogitBias) > 0
	case params.WordList:
		return len(a.BadWords) > 0
	}
	if s.Key == logprobsModeKey {
		return pp.mode != ""
	}
	return pp.Value(i) != s.Default
}

// usedCount is how many advanced rows differ from their default.
func (pp *paramPanel) usedCount() int {
	n := 0
	for i, s := range pp.specs {
		if s.Advanced && pp.used(i) {
			n++
		}
	}
	return n
}

// ToggleAdvanced opens or closes the advanced group. Closing with the
// cursor on a row that would hide moves it to the header.
func (pp *paramPanel) ToggleAdvanced() {
	pp.advOpen = !pp.advOpen
	if !pp.advOpen && pp.cursor >= 0 && pp.specs[pp.cursor].Advanced && !pp.used(pp.cursor) {
		pp.cursor = headerRow
	}
}

// AdvancedOpen reports whether the whole group is shown.
func (pp *paramPanel) AdvancedOpen() bool { return pp.advOpen }

// OnHeader reports whether the cursor is on the group's header.
func (pp *paramPanel) OnHeader() bool { return pp.cursor == headerRow }

// Toggle flips the focused on/off row (a nullable one goes unset → on →
// off → unset), or the group on its header; false when the row is neither.
func (pp *paramPanel) Toggle() bool {
	if pp.cursor == headerRow {
		pp.ToggleAdvanced()
		return true
	}
	s := pp.specs[pp.cursor]
	if s.Kind != params.Bool {
		return false
	}
	v := pp.Value(pp.cursor)
	switch {
	case s.Nullable && !v.Set:
		v = params.V(1)
	case s.Nullable && v.V == 1:
		v = params.V(0)
	case s.Nullable:
		v = params.Value{}
	default:
		v = params.V(1 - v.V)
	}
	pp.set(pp.cursor, v)
	return true
}

// headerText is the group's header line's words in w cells: the key's hint
// shortens, then goes, before anything is cut (the count of rows set and the
// open mark matter more than the reminder of a key the help lists).
func (pp *paramPanel) headerText(w int) string {
	set := ""
	if n := pp.usedCount(); n > 0 {
		set = fmt.Sprintf(" · %d set", n)
	}
	head, hints := "advanced ▹", []string{set + " · a: show all", set + " · a: all", set, ""}
	if pp.advOpen {
		head, hints = "advanced ▿", []string{set + " · a: hide unused", set + " · a: hide", set, ""}
	}
	for _, h := range hints {
		if ansi.StringWidth(head+h) <= w {
			return head + h
		}
	}
	return ansi.Truncate(head, w, "…")
}

// SetAPI says where runs go: completion requests carry no chat-only field,
// which the rows then say.
func (pp *paramPanel) SetAPI(api params.API) {
	if c := api == params.Completion; c != pp.completion {
		pp.completion = c
		pp.revalidate()
	}
}

// Mode is the logprobs mode claimed for the server; "" leaves the
// sampler's own setting.
func (pp *paramPanel) Mode() backend.LogprobsMode { return pp.mode }

// SetMode sets the logprobs mode claimed.
func (pp *paramPanel) SetMode(m backend.LogprobsMode) { pp.mode = m }

// formatBiasList writes logit_bias entries as the editor shows and reads
// them: `13=-100 "hello"=5`.
func formatBiasList(bs []params.LogitBias) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = params.FormatLogitBias(b)
	}
	return strings.Join(parts, " ")
}

// listItems splits an editor line into items at spaces, commas and tabs
// outside double quotes; each comes with the column where it starts.
func listItems(field, text string) (items []string, cols []int, err error) {
	i := 0
	for i < len(text) {
		if c := text[i]; c == ' ' || c == ',' || c == '\t' {
			i++
			continue
		}
		j, quoted := i, false
		for j < len(text) {
			c := text[j]
			if c == '\\' && quoted {
				j += 2
				continue
			}
			if c == '"' {
				quoted = !quoted
			} else if !quoted && (c == ' ' || c == ',' || c == '\t') {
				break
			}
			j++
		}
		if quoted {
			return nil, nil, fmt.Errorf("%s: the quote at column %d has no closing quote", field, i+1)
		}
		items, cols = append(items, text[i:min(j, len(text))]), append(cols, i+1)
		i = j
	}
	return items, cols, nil
}

// parseBiasList reads what formatBiasList writes; every bad entry is named
// at once, by column, so a typo is easy to find.
func parseBiasList(text string) ([]params.LogitBias, error) {
	items, cols, err := listItems("logit_bias", text)
	if err != nil {
		return nil, err
	}
	var out []params.LogitBias
	var bad []string
	for k, it := range items {
		b, err := params.ParseLogitBias(it)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s at column %d: %v", strconv.Quote(it), cols[k], err))
			continue
		}
		out = append(out, b)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("logit_bias: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

// formatWordList writes bad words quoted, escapes visible: `"foo" "a b"`.
func formatWordList(ws []string) string {
	return formatStopList(params.Stop{Strings: ws})
}

// parseWordList reads what formatWordList writes: quoted strings only.
func parseWordList(text string) ([]string, error) {
	st, err := parseStopList(text)
	if err != nil {
		return nil, fmt.Errorf("bad_words%s", strings.TrimPrefix(err.Error(), "stop"))
	}
	if len(st.TokenIDs) > 0 {
		return nil, fmt.Errorf("bad_words: %d is a token id; bad words are text, in double quotes", st.TokenIDs[0])
	}
	return st.Strings, nil
}

// biasResolvedMsg carries logit_bias text resolved through the server's
// /tokenize: before is the list it was resolved from, so a list edited
// meanwhile is left alone.
type biasResolvedMsg struct {
	before []params.LogitBias
	after  params.Advanced
	err    error
}

// resolveBiasCmd resolves the logit_bias entries given as text through
// the sampler's tokenizer, when it has one; nil when nothing needs it or
// nothing can (the row then says why, see biasProblem).
func (m *Model) resolveBiasCmd() tea.Cmd {
	pp := m.panel
	if len(pp.O.Advanced.Unresolved()) == 0 {
		return nil
	}
	tk, ok := m.c.Sampler.(backend.Tokenizer)
	if !ok {
		return nil
	}
	pp.resolving = true
	pp.revalidate()
	a, ctx, model := pp.O.Advanced.Clone(), m.c.Ctx, m.modelName
	return func() tea.Msg {
		after, err := a.ResolveText(func(text string) ([]int, error) {
			ids, err := tk.Tokenize(ctx, model, text, false)
			out := make([]int, len(ids))
			for i, id := range ids {
				out[i] = int(id)
			}
			return out, err
		})
		return biasResolvedMsg{before: a.LogitBias, after: after, err: err}
	}
}

// onBiasResolved applies resolved ids if the list has not changed since.
func (m *Model) onBiasResolved(msg biasResolvedMsg) {
	pp := m.panel
	if !slices.Equal(pp.O.Advanced.LogitBias, msg.before) {
		return
	}
	pp.resolving = false
	if msg.err != nil {
		var es params.Errors
		if errors.As(msg.err, &es) {
			words := make([]string, len(es))
			for i, e := range es {
				words[i] = e.Msg
			}
			pp.biasErr = strings.Join(words, "; ")
		} else {
			pp.biasErr = msg.err.Error()
		}
		pp.revalidate()
		m.setStatus("logit_bias: "+pp.biasErr, true)
		return
	}
	var said []string
	for i, b := range msg.before {
		if b.Text != "" {
			said = append(said, fmt.Sprintf("%s is token %d", b.Key(), msg.after.LogitBias[i].ID))
		}
	}
	pp.O.Advanced.LogitBias = msg.after.LogitBias
	delete(pp.serverErr, "logit_bias")
	pp.revalidate()
	m.setStatus("logit_bias: "+strings.Join(said, ", ")+" (the server's /tokenize)", false)
}

// biasProblem is what the logit_bias row says about entries still given as
// text: a run cannot carry them (vLLM's logit_bias takes ids only).
func (pp *paramPanel) biasProblem() string {
	texts := pp.O.Advanced.Unresolved()
	if len(texts) == 0 {
		return ""
	}
	switch {
	case pp.resolving:
		return "resolving text through the server's /tokenize…"
	case pp.biasErr != "":
		return pp.biasErr
	}
	if !pp.canTokenize {
		q := make([]string, len(texts))
		for i, t := range texts {
			q[i] = strconv.Quote(t)
		}
		return strings.Join(q, ", ") + ": text needs the server's /tokenize, which this server does not offer; give the token id"
	}
	return (&params.UnresolvedError{Texts: texts}).Error()
}
