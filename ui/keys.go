package ui

import (
	"fmt"
	"slices"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key binding of the playground, grouped by where focus is.
// Keys that work while typing in the prompt use ctrl, alt or function keys;
// plain letters belong to the panels that do not take text.
type KeyMap struct {
	Global  GlobalKeys
	Params  ParamKeys
	Samples SampleKeys
	Inspect InspectKeys
	Dialog  DialogKeys
	Explore ExploreKeys
}

// GlobalKeys work from every focus.
type GlobalKeys struct {
	Run, Cancel, Next, Prev, Mode, Models, Export, Save, Open, Presets, Heatmap, HeatSource, PromptHeat, Theme, Help, Quit key.Binding
}

// ParamKeys act on the parameter panel.
type ParamKeys struct {
	Up, Down, Left, Right, CoarseLeft, CoarseRight, Edit, Reset, ResetAll, Lock, Advanced key.Binding
}

// SampleKeys act on the sample area.
type SampleKeys struct {
	Left, Right, Up, Down, PageUp, PageDown, Top, Bottom, Zoom, Inspect, FoldThinking key.Binding
}

// InspectKeys move the token cursor while the inspector is open; they take
// precedence over SampleKeys then.
type InspectKeys struct {
	Left, Right, WordLeft, WordRight, First, Last, PrevSample, NextSample key.Binding
}

// ExploreKeys act on the samples (forks, step mode, the trees, the
// determinism check, the diff) and inside the dialogs they open.
type ExploreKeys struct {
	Fork, Step, Tree, Merged, Determinism, Diff, Next1, Next10, ToEnd key.Binding
}

// DialogKeys act inside an open dialog (export, pickers, file names).
type DialogKeys struct {
	Up, Down, Left, Right, Accept, Close, Copy, Write, SavePreset key.Binding
}

// DefaultKeyMap returns a fresh key map; each program owns its copy.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		Global: GlobalKeys{
			Run:        b([]string{"ctrl+r", "f5"}, "ctrl+r", "run"),
			Cancel:     b([]string{"esc"}, "esc", "cancel run"),
			Next:       b([]string{"tab"}, "tab", "next pane"),
			Prev:       b([]string{"shift+tab"}, "shift+tab", "previous pane"),
			Mode:       b([]string{"ctrl+t"}, "ctrl+t", "chat/completion"),
			Models:     b([]string{"ctrl+l"}, "ctrl+l", "pick model"),
			Export:     b([]string{"ctrl+x", "x"}, "x/ctrl+x", "export params"),
			Save:       b([]string{"ctrl+s"}, "ctrl+s", "save session"),
			Open:       b([]string{"ctrl+o"}, "ctrl+o", "open session"),
			Presets:    b([]string{"ctrl+p"}, "ctrl+p", "presets"),
			Heatmap:    b([]string{"m", "f2"}, "m/f2", "heatmap mode"),
			HeatSource: b([]string{"p", "f6"}, "p/f6", "raw/processed heat"),
			Theme:      b([]string{"T", "f3"}, "T/f3", "next theme"),
			PromptHeat: b([]string{"f4", "P"}, "P/f4", "prompt logprobs"),
			Help:       b([]string{"f1", "?"}, "?/f1", "more keys"),
			Quit:       b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		},
		Params: ParamKeys{
			Up:          b([]string{"up", "k"}, "↑/k", "previous slider"),
			Down:        b([]string{"down", "j"}, "↓/j", "next slider"),
			Left:        b([]string{"left", "h"}, "←/h", "step down"),
			Right:       b([]string{"right", "l"}, "→/l", "step up"),
			CoarseLeft:  b([]string{"shift+left", "H"}, "shift+←", "big step down"),
			CoarseRight: b([]string{"shift+right", "L"}, "shift+→", "big step up"),
			Edit:        b([]string{"enter"}, "enter/0-9", "type exact value"),
			Reset:       b([]string{"r"}, "r", "reset slider to default"),
			ResetAll:    b([]string{"R"}, "R", "reset all to defaults"),
			Lock:        b([]string{"space"}, "space", "lock seed / toggle"),
			Advanced:    b([]string{"a"}, "a", "advanced samplers"),
		},
		Samples: SampleKeys{
			Left:     b([]string{"left", "h"}, "←/h", "previous sample"),
			Right:    b([]string{"right", "l"}, "→/l", "next sample"),
			Up:       b([]string{"up", "k"}, "↑/k", "scroll up"),
			Down:     b([]string{"down", "j"}, "↓/j", "scroll down"),
			PageUp:   b([]string{"pgup", "b"}, "pgup", "page up"),
			PageDown: b([]string{"pgdown", "f", "space"}, "pgdn", "page down"),
			Top:      b([]string{"home", "g"}, "g/home", "top"),
			Bottom:   b([]string{"end", "G"}, "G/end", "follow tail"),
			Zoom:     b([]string{"z"}, "z", "zoom sample"),
			Inspect:  b([]string{"i"}, "i/click", "inspect tokens"),
			// A reasoning model's thinking, in every column.
			FoldThinking: b([]string{"t"}, "t", "fold thinking"),
		},
		Inspect: InspectKeys{
			Left:       b([]string{"left", "h"}, "←/h", "previous token"),
			Right:      b([]string{"right", "l"}, "→/l", "next token"),
			WordLeft:   b([]string{"ctrl+left", "alt+left", "b"}, "ctrl+←/b", "previous word"),
			WordRight:  b([]string{"ctrl+right", "alt+right", "w"}, "ctrl+→/w", "next word"),
			First:      b([]string{"home", "g"}, "home/g", "first token"),
			Last:       b([]string{"end", "G"}, "end/G", "last token"),
			PrevSample: b([]string{"["}, "[", "previous sample"),
			NextSample: b([]string{"]"}, "]", "next sample"),
		},
		Explore: ExploreKeys{
			Fork:        b([]string{"a"}, "a", "fork here"),
			Step:        b([]string{"s"}, "s", "step"),
			Tree:        b([]string{"B"}, "B", "branches"),
			Merged:      b([]string{"M"}, "M", "merged tree"),
			Determinism: b([]string{"D"}, "D", "determinism"),
			Diff:        b([]string{"d"}, "d", "diff"),
			Next1:       b([]string{"n"}, "n", "next token"),
			Next10:      b([]string{"N"}, "N", "next 10"),
			ToEnd:       b([]string{"e"}, "e", "run to the end"),
		},
		Dialog: DialogKeys{
			Up:         b([]string{"up", "k"}, "↑/k", "up"),
			Down:       b([]string{"down", "j"}, "↓/j", "down"),
			Left:       b([]string{"left", "h"}, "←/h", "previous"),
			Right:      b([]string{"right", "l"}, "→/l", "next"),
			Accept:     b([]string{"enter"}, "enter", "choose"),
			Close:      b([]string{"esc"}, "esc", "close"),
			Copy:       b([]string{"c"}, "c", "copy (OSC 52)"),
			Write:      b([]string{"w"}, "w", "write to file"),
			SavePreset: b([]string{"s"}, "s", "save current as…"),
		},
	}
}

// withoutFiles takes the keys that need files (sessions, presets, writing an
// export) out of the help, for a program with no store. They stop matching
// too; pressed still finds them, so they can say why they do nothing.
func (k *KeyMap) withoutFiles() {
	for _, b := range []*key.Binding{&k.Global.Save, &k.Global.Open, &k.Global.Presets, &k.Dialog.Write, &k.Dialog.SavePreset} {
		b.SetEnabled(false)
	}
}

// pressed reports whether msg is one of b's keys, enabled or not.
func pressed(msg fmt.Stringer, b key.Binding) bool { return slices.Contains(b.Keys(), msg.String()) }
