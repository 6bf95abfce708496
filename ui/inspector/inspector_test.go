package inspector

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/params"
	"github.com/twinkle-sh/twinkle/themes"
	"github.com/twinkle-sh/twinkle/ui/heatmap"
)

var show = flag.Bool("show", false, "print renderings")

func lp(p float64) backend.Logprob { return backend.Logprob(math.Log(p)) }

// sampleToken is " the" sampled at p=.55 among five alternatives, given unsorted as chat
// logprobs can arrive (backend sorts; the inspector must not rely on it).
func sampleToken() backend.Token {
	return backend.Token{
		Text: " the", Logprob: lp(.55), ID: 262,
		Top: []backend.Alt{
			{Text: " the", Logprob: lp(.55)},
			{Text: " a", Logprob: lp(.25)},
			{Text: "\n", Logprob: lp(.1)},
			{Text: " an\x1b[31m", Logprob: lp(.06)},
			{Text: "\t", Logprob: lp(.04)},
		},
	}
}

func styles(name string, dark bool) *themes.Styles {
	p, _ := themes.Builtin(name, dark)
	s := themes.NewStyles(p, dark)
	return &s
}

func render(t *testing.T, st *themes.Styles, m heatmap.Mode, prof colorprofile.Profile, tok *backend.Token, pr params.SamplingParams, w, h int) string {
	t.Helper()
	in := New(st, heatmap.NewPainter(st, m, prof))
	in.SetParams(pr)
	if tok != nil {
		in.SetToken(tok, 1, 41)
	}
	out := in.Render(w, h)
	if *show {
		fmt.Println(out)
		fmt.Println(strings.Repeat("-", w))
	}
	return out
}

func tuned() params.SamplingParams {
	p := params.Default()
	p.Temperature, p.TopK, p.TopP = 0.7, 4, 0.9
	return p
}

// issueToken is a top-20 at a position where the cumulative raw mass runs
// .267/.346/.407/.454/.487/.519 (.763 in all), the fifth sampled.
func issueToken() backend.Token {
	ps := []float64{.267, .079, .061, .047, .033, .032, .03, .028, .026, .024, .022, .02, .018, .016, .014, .012, .01, .009, .008, .007}
	tok := backend.Token{Text: " e", Logprob: lp(.033), ID: 5}
	for i, p := range ps {
		tok.Top = append(tok.Top, backend.Alt{Text: " " + string(rune('a'+i)), Logprob: lp(p)})
	}
	return tok
}

// The truncation view against vLLM's rule: the words and numbers shown, as goldens, with
// the facts that matter asserted on the plain text.
func TestGoldenTruncation(t *testing.T) {
	st := styles("dark", true)
	issue := issueToken()
	// Hand-computed at temperature 0.7: .5 .2 .1 .05 weigh .37150 .10035 .03726 .01384 and
	// the .15 not shown at most .04153; the mass above .1 is [.8359, .9023], so top_p .85
	// cannot decide it, and the three above .05 make every token not shown cut.
	t07 := backend.Token{Text: " b", Logprob: lp(.2), ID: 2, Top: []backend.Alt{
		{Text: " a", Logprob: lp(.5)}, {Text: " b", Logprob: lp(.2)}, {Text: " c", Logprob: lp(.1)}, {Text: " d", Logprob: lp(.05)},
	}}
	// The three shown hold .8 and at most .9 can rank above .1, so all are kept at .95.
	beyond := backend.Token{Text: " b", Logprob: lp(.2), ID: 2, Top: []backend.Alt{
		{Text: " a", Logprob: lp(.5)}, {Text: " b", Logprob: lp(.2)}, {Text: " c", Logprob: lp(.1)},
	}}
	overfull := backend.Token{Text: " b", Logprob: lp(.5), ID: 2, Top: []backend.Alt{
		{Text: " a", Logprob: lp(.8)}, {Text: " b", Logprob: lp(.5)},
	}}
	with := func(temp float64, topK int, topP float64) params.SamplingParams {
		p := params.Default()
		p.Temperature, p.TopK, p.TopP = temp, topK, topP
		return p
	}
	cases := []struct {
		name   string
		tok    *backend.Token
		params params.SamplingParams
		w, h   int
		want   []string
		absent []string
	}{
		{"top-p-0.5-keeps-six", &issue, with(1, -1, .5), 80, 32,
			[]string{"kept 6 of 20 shown", "exact:", " .267 ", "cut top_p"},
			[]string{"would be cut", "uncertain", "bounds:"}},
		{"top-p-0.9-cut-beyond", &issue, with(1, -1, .9), 80, 32,
			[]string{"kept 19 of 20 shown, 1 uncertain (bounds); the cut may lie beyond the shown alternatives", "bounds: the tokens not shown hold .237", ".267–.297"},
			[]string{"cut top_p", "would be cut", "exact:"}},
		{"top-p-0.9-narrow", &issue, with(1, -1, .9), 44, 32,
			[]string{".033→.033–.037", "uncertain"},
			[]string{"cut top_p"}},
		{"top-p-0.95-cut-beyond", &beyond, with(1, -1, .95), 80, 12,
			[]string{"kept 3 of 3 shown; the cut lies beyond the shown alternatives", "bounds: the tokens not shown hold .200", ".500–.527"},
			[]string{"cut top_p", "uncertain"}},
		{"not-a-distribution", &overfull, with(1, -1, .9), 80, 12,
			[]string{"the shown probabilities sum to 1.3, past 1: these logprobs are not one distribution"},
			[]string{"exact", "bounds"}},
		{"temperature-0.7-top-p-0.8", &t07, with(.7, -1, .8), 80, 12,
			[]string{"kept 2 of 4 shown", "exact:", ".787", ".213", "cut top_p"},
			[]string{"uncertain"}},
		{"temperature-0.7-top-p-0.85", &t07, with(.7, -1, .85), 80, 12,
			[]string{"kept 2 of 4 shown, 1 uncertain (bounds)", ".729–.788", "uncertain (bounds)", "cut top_p"},
			[]string{"beyond"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := render(t, st, heatmap.Surprisal, colorprofile.TrueColor, c.tok, c.params, c.w, c.h)
			checkBlock(t, out, c.w, c.h)
			// Notes wrap: match on the text with its whitespace runs made one space.
			plain := strings.Join(strings.Fields(ansi.Strip(out)), " ")
			for _, w := range c.want {
				if !strings.Contains(plain, w) {
					t.Errorf("missing %q in\n%s", w, plain)
				}
			}
			for _, w := range c.absent {
				if strings.Contains(plain, w) {
					t.Errorf("%q shown in\n%s", w, plain)
				}
			}
			golden.RequireEqual(t, pinned(colorprofile.TrueColor, out))
		})
	}
}

// pinned renders at a fixed colour profile, as a terminal of that kind would receive it.
func pinned(prof colorprofile.Profile, s string) string {
	var b strings.Builder
	w := &colorprofile.Writer{Forward: &b, Profile: prof}
	_, _ = w.WriteString(s)
	return b.String()
}

var goldenThemes = []struct {
	name string
	dark bool
}{{"dark", true}, {"light", false}, {"high-contrast", true}, {"high-contrast", false}}

func themeLabel(name string, dark bool) string {
	if dark {
		return name + "-on-dark"
	}
	return name + "-on-light"
}

// Golden screens: every mode under every built-in theme, true colour.
func TestGoldenModesAndThemes(t *testing.T) {
	tok := sampleToken()
	for _, th := range goldenThemes {
		for _, m := range heatmap.Modes() {
			t.Run(themeLabel(th.name, th.dark)+"/"+m.String(), func(t *testing.T) {
				st := styles(th.name, th.dark)
				out := render(t, st, m, colorprofile.TrueColor, &tok, tuned(), 72, 16)
				golden.RequireEqual(t, pinned(colorprofile.TrueColor, out))
			})
		}
	}
}

// Golden screens of one theme at every colour profile: the heat look of the token and the
// bars degrade (16 colours use the theme's 16-colour steps; no colour keeps attributes).
func TestGoldenProfiles(t *testing.T) {
	tok := sampleToken()
	st := styles("dark", true)
	for _, prof := range []colorprofile.Profile{colorprofile.ANSI256, colorprofile.ANSI, colorprofile.ASCII, colorprofile.NoTTY} {
		t.Run(prof.String(), func(t *testing.T) {
			out := render(t, st, heatmap.Surprisal, prof, &tok, tuned(), 72, 16)
			got := pinned(prof, out)
			if prof <= colorprofile.ASCII && strings.Contains(got, "38;") {
				t.Errorf("colour left at %v", prof)
			}
			golden.RequireEqual(t, got)
		})
	}
}

// Golden screens of the edge cases.
func TestGoldenCases(t *testing.T) {
	st := styles("dark", true)
	tok := sampleToken()
	outside := backend.Token{ // sampled from outside the top-k: vLLM lists it in place of the k-th
		Text: " zebra", Logprob: lp(.001), ID: 1,
		Top: []backend.Alt{{Text: " the", Logprob: lp(.6)}, {Text: " a", Logprob: lp(.3)}, {Text: " zebra", Logprob: lp(.001)}},
	}
	unknown := backend.Token{Text: "\u202e\x1b]52;c;AAAA\x07", Logprob: backend.Unknown(), ID: backend.NoTokenID}
	noAlts := backend.Token{Text: "\n", Logprob: lp(.8), ID: 198}
	greedy := params.Default()
	greedy.Temperature = 0
	cases := []struct {
		name   string
		tok    *backend.Token
		params params.SamplingParams
		w, h   int
		across []*backend.Token
		div    int
	}{
		{"empty", nil, tuned(), 60, 5, nil, -1},
		{"narrow", &tok, tuned(), 44, 16, nil, -1},
		{"short", &tok, tuned(), 72, 8, nil, -1},
		{"untruncated", &tok, params.Default(), 72, 16, nil, -1},
		{"greedy", &tok, greedy, 72, 16, nil, -1},
		{"sampled-outside-top-k", &outside, tuned(), 72, 16, nil, -1},
		{"unknown-logprob-hostile-text", &unknown, tuned(), 72, 10, nil, -1},
		{"no-alternatives", &noAlts, tuned(), 72, 10, nil, -1},
		{"across-diverge-here", &tok, tuned(), 72, 18, []*backend.Token{&outside, &tok, nil}, 41},
		{"across-agree", &tok, tuned(), 72, 18, []*backend.Token{&tok, &tok}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := New(st, heatmap.NewPainter(st, heatmap.Surprisal, colorprofile.TrueColor))
			in.SetParams(c.params)
			if c.tok != nil {
				in.SetToken(c.tok, 1, 41)
			}
			in.SetAcross(c.across, c.div)
			out := in.Render(c.w, c.h)
			if *show {
				fmt.Println(out)
			}
			checkBlock(t, out, c.w, c.h)
			golden.RequireEqual(t, pinned(colorprofile.TrueColor, out))
		})
	}
}

// checkBlock: exactly w x h cells, and nothing but SGR escape sequences.
func checkBlock(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("line %d is %d cells, want %d: %q", i, got, w, l)
		}
	}
	plain := ansi.Strip(out)
	if strings.ContainsAny(plain, "\x1b\u009b\u202e\x07") {
		t.Errorf("control characters reached the screen: %q", plain)
	}
	// Every escape in the output is an SGR sequence twinkle wrote.
	rest := out
	for {
		i := strings.IndexByte(rest, 0x1b)
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], 'm')
		if j < 0 || rest[i+1] != '[' || strings.ContainsAny(rest[i+2:i+j], "\x1b]\x07") {
			t.Fatalf("non-SGR escape in output: %q", rest[i:min(len(rest), i+20)])
		}
		rest = rest[i+j:]
	}
}

func TestHostileTokenTextIsSanitized(t *testing.T) {
	st := styles("dark", true)
	payloads := []string{"\x1b]52;c;ZXZpbA==\x07", "\x1b]0;title\x1b\\", "\x9b6n", "\u009b31m", "a\u202eb", "\x1bc", "\x1b]8;;http://x\x1b\\"}
	for _, p := range payloads {
		tok := backend.Token{Text: p, Logprob: lp(.5), Top: []backend.Alt{{Text: p, Logprob: lp(.5)}, {Text: p + "x", Logprob: lp(.3)}}}
		for _, m := range heatmap.Modes() {
			in := New(st, heatmap.NewPainter(st, m, colorprofile.TrueColor))
			in.SetToken(&tok, 0, 0)
			in.SetAcross([]*backend.Token{&tok, &tok}, -1)
			for _, w := range []int{30, 80} {
				checkBlock(t, in.Render(w, 14), w, 14)
			}
		}
	}
}

func TestRenderSizes(t *testing.T) {
	st := styles("dark", true)
	tok := sampleToken()
	in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
	in.SetToken(&tok, 0, 0)
	if in.Render(0, 5) != "" || in.Render(5, 0) != "" {
		t.Error("empty size drew something")
	}
	for _, w := range []int{1, 3, 10, 25, 44, 61, 120} {
		for _, h := range []int{1, 2, 7, 20} {
			checkBlock(t, in.Render(w, h), w, h)
		}
	}
	in.Clear()
	if !strings.Contains(ansi.Strip(in.Render(80, 3)), "no token") {
		t.Error("cleared inspector does not say so")
	}
}

func TestInspectorNumbers(t *testing.T) {
	st := styles("dark", true)
	tok := sampleToken()
	in := New(st, heatmap.NewPainter(st, heatmap.Off, colorprofile.TrueColor))
	in.SetParams(tuned())
	in.SetToken(&tok, 0, 0)
	plain := ansi.Strip(in.Render(100, 20))
	for _, want := range []string{
		`" the"`, "4 bytes", "logprob -0.5978", "p 0.5500", "surprisal 0.86 bits", "rank #1",
		"entropy (top-5) 1.74 bits", "▶ ·the", ".550", ".755", "cut top_p", "cut top_k",
		"after T=0.7 k=4 p=0.9*", "kept 2 of 5 shown", "exact: vLLM's temperature, top_k and top_p",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("missing %q in\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "repetition_penalty") {
		t.Error("repetition_penalty 1 changes nothing, yet the pane mentions it")
	}
	p := tuned()
	p.RepetitionPenalty = 1.2
	in.SetParams(p)
	if flat := strings.Join(strings.Fields(ansi.Strip(in.Render(100, 20))), " "); !strings.Contains(flat, "repetition_penalty not applied, so approximate") {
		t.Errorf("a repetition_penalty the view leaves out is not owned up to:\n%s", flat)
	}
	// Alternatives are listed most likely first whatever order they came in.
	if strings.Index(plain, "·a ") > strings.Index(plain, "⇥") {
		t.Error("alternatives not sorted")
	}
}

func TestFirstDivergence(t *testing.T) {
	mk := func(texts ...string) []backend.Token {
		var out []backend.Token
		for _, s := range texts {
			out = append(out, backend.Token{Text: s})
		}
		return out
	}
	cases := []struct {
		name    string
		samples [][]backend.Token
		want    int
	}{
		{"one sample", [][]backend.Token{mk("a", "b")}, -1},
		{"identical", [][]backend.Token{mk("a", "b"), mk("a", "b")}, -1},
		{"differ at 1", [][]backend.Token{mk("a", "b"), mk("a", "c"), mk("a", "b")}, 1},
		{"differ at 0", [][]backend.Token{mk("x"), mk("y")}, 0},
		{"one ends early", [][]backend.Token{mk("a", "b", "c"), mk("a", "b")}, 2},
		{"empty sample", [][]backend.Token{mk("a"), nil}, 0},
	}
	for _, c := range cases {
		if got := FirstDivergence(c.samples); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Any token text, any logprob, any size: the pane is exactly w x h cells and nothing but
// twinkle's own SGR sequences reaches the terminal.
func FuzzRender(f *testing.F) {
	f.Add(" the", -0.5, " a", -1.5, uint8(60), uint8(12))
	f.Add("\x1b]52;c;AAAA\x07", -9999.0, "\u202e\x9b", 0.0, uint8(20), uint8(5))
	f.Add("\t\n\r", 1.0, "", -1e308, uint8(1), uint8(1))
	st := styles("dark", true)
	f.Fuzz(func(t *testing.T, text string, lp float64, alt string, altLP float64, w, h uint8) {
		tok := backend.Token{Text: text, Logprob: backend.LogprobFromWire(lp),
			Top: []backend.Alt{{Text: text, Logprob: backend.LogprobFromWire(lp)}, {Text: alt, Logprob: backend.LogprobFromWire(altLP)}}}
		in := New(st, heatmap.NewPainter(st, heatmap.Entropy, colorprofile.TrueColor))
		in.SetParams(tuned())
		in.SetToken(&tok, 0, 0)
		in.SetAcross([]*backend.Token{&tok, nil}, 0)
		width, height := int(w%120)+1, int(h%30)+1
		checkBlock(t, in.Render(width, height), width, height)
	})
}

// The pane is cached between frames: every setter that changes what it shows must redraw it,
// and passing the same parameters every frame must not.
func TestInspectorRedrawsOnChange(t *testing.T) {
	st := styles("dark", true)
	tok, other := sampleToken(), sampleToken()
	other.Text = " other"
	in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
	in.SetParams(tuned())
	in.SetToken(&tok, 0, 0)
	first := in.Render(100, 20)
	in.SetParams(tuned())
	if in.Render(100, 20) != first {
		t.Fatal("same parameters, different pane")
	}
	steps := []struct {
		name   string
		change func()
	}{
		{"temperature", func() { p := tuned(); p.Temperature = 1.3; in.SetParams(p) }},
		{"top_k", func() { p := tuned(); p.Temperature, p.TopK = 1.3, 2; in.SetParams(p) }},
		{"top_p", func() { p := tuned(); p.Temperature, p.TopK, p.TopP = 1.3, 2, 0.5; in.SetParams(p) }},
		{"repetition_penalty", func() {
			p := tuned()
			p.Temperature, p.TopK, p.TopP, p.RepetitionPenalty = 1.3, 2, 0.5, 1.2
			in.SetParams(p)
		}},
		{"token", func() { in.SetToken(&other, 0, 0) }},
		{"index", func() { in.SetToken(&other, 1, 3) }},
		{"across", func() { in.SetAcross([]*backend.Token{&other, &tok}, 0) }},
		{"painter", func() { in.SetPainter(heatmap.NewPainter(st, heatmap.Surprisal, colorprofile.TrueColor)) }},
		{"styles", func() { in.SetStyles(styles("light", false)) }},
		{"clear", func() { in.Clear() }},
	}
	prev := first
	for _, s := range steps {
		s.change()
		got := in.Render(100, 20)
		if got == prev {
			t.Errorf("%s changed but the pane did not", s.name)
		}
		prev = got
	}
	if in.Render(90, 20) == prev {
		t.Error("a new width did not redraw")
	}
}

// Short of height, the alternatives are drawn before the notes, and a note is shown whole
// or not at all.
func TestShortPaneKeepsAlternativesBeforeNotes(t *testing.T) {
	st := styles("dark", true)
	tok := sampleToken()
	in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
	in.SetParams(tuned())
	in.SetToken(&tok, 0, 0)
	full := ansi.Strip(in.Render(72, 40))
	footnote := "* exact: vLLM's temperature, top_k and top_p on the raw logprobs"
	if !strings.Contains(full, footnote) || !strings.Contains(full, "kept 2 of 5 shown") {
		t.Fatalf("a tall pane lacks the notes:\n%s", full)
	}
	alts := []string{"▶ ·the", "·a ", "⏎", "·an", "⇥"}
	for h := 6; h <= 12; h++ {
		plain := ansi.Strip(in.Render(72, h))
		lines := strings.Split(plain, "\n")
		head := -1
		for i, l := range lines {
			if strings.Contains(l, "alt ") {
				head = i
			}
		}
		if head < 0 {
			t.Fatalf("height %d: no table header:\n%s", h, plain)
		}
		want := min(len(alts), len(lines)-head-1)
		for i, a := range alts[:want] {
			l := lines[head+1+i]
			if more := fmt.Sprintf("… %d more rows", len(alts)-i); i == want-1 && want < len(alts) && strings.Contains(l, more) {
				break // the last line counts the rows left out
			}
			if !strings.Contains(l, a) {
				t.Errorf("height %d: row %d is not %q, the notes took its place:\n%s", h, i, a, plain)
			}
		}
		if strings.Contains(plain, "* exact") && !strings.Contains(plain, footnote) {
			t.Errorf("height %d: the footnote is cut:\n%s", h, plain)
		}
	}
}

// Short of height, a sampled token that ranks low keeps its ▶ row, and the rows left out
// are counted: the lines shown and the counts add up to every alternative.
func TestShortPaneKeepsTheSampledRow(t *testing.T) {
	st := styles("dark", true)
	tok := sampleToken()
	tok.Text, tok.Logprob = "\t", lp(.04) // the fifth alternative
	in := New(st, heatmap.NewPainter(st, heatmap.Probability, colorprofile.TrueColor))
	in.SetParams(tuned())
	in.SetToken(&tok, 0, 0)
	other := sampleToken()
	for _, across := range []bool{false, true} {
		if across {
			// The other samples' tokens give way before the table has no room.
			in.SetAcross([]*backend.Token{&tok, &other}, 0)
		}
		for h := 6; h <= 12; h++ {
			plain := ansi.Strip(in.Render(72, h))
			lines := strings.Split(plain, "\n")
			head := -1
			for i, l := range lines {
				if strings.Contains(l, "alt ") {
					head = i
				}
			}
			if head < 0 || head == len(lines)-1 {
				if across && h >= 7 {
					t.Errorf("height %d: no room for the table:\n%s", h, plain)
				}
				continue
			}
			rows, more, sampled := 0, 0, false
			for _, l := range lines[head+1:] {
				var n int
				switch {
				case strings.Contains(l, "▶ ⇥"):
					sampled = true
					rows++
				case strings.HasPrefix(strings.TrimSpace(l), "…"):
					if _, err := fmt.Sscanf(strings.TrimSpace(l), "… %d more", &n); err != nil {
						t.Fatalf("height %d: %q: %v", h, l, err)
					}
					more += n
				case strings.HasPrefix(l, "  ·") || strings.HasPrefix(l, "  ⏎"):
					rows++
				}
			}
			if !sampled {
				t.Errorf("height %d: the sampled row is not shown:\n%s", h, plain)
			}
			if len(lines)-head-1 >= 2 && rows+more != 5 { // one line holds the ▶ row alone
				t.Errorf("height %d: %d rows shown and %d counted, want 5 in all:\n%s", h, rows, more, plain)
			}
		}
	}
}

// pickRows fits room, keeps the sampled row, and counts every row it leaves out.
func TestPickRows(t *testing.T) {
	for n := 0; n <= 8; n++ {
		for sampled := -1; sampled < n; sampled++ {
			for room := 0; room <= 10; room++ {
				slots := pickRows(n, sampled, room)
				if len(slots) > room {
					t.Fatalf("n %d sampled %d room %d: %d lines", n, sampled, room, len(slots))
				}
				total, has := 0, false
				for _, s := range slots {
					if s.more > 0 {
						total += s.more
						continue
					}
					total++
					has = has || s.row == sampled
				}
				if room > 0 && sampled >= 0 && !has {
					t.Errorf("n %d sampled %d room %d: sampled row left out: %v", n, sampled, room, slots)
				}
				if room >= 2 && total != n {
					t.Errorf("n %d sampled %d room %d: %d rows accounted for: %v", n, sampled, room, total, slots)
				}
			}
		}
	}
}
