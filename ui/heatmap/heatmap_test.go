package heatmap

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/twinkle-sh/twinkle/backend"
	"github.com/twinkle-sh/twinkle/themes"
)

func lp(p float64) backend.Logprob { return backend.Logprob(math.Log(p)) }

func tok(text string, p float64, top ...float64) backend.Token {
	t := backend.Token{Text: text, Logprob: lp(p), ID: backend.NoTokenID}
	for i, q := range top {
		alt := fmt.Sprintf("alt%d", i)
		if q == p {
			alt = text
		}
		t.Top = append(t.Top, backend.Alt{Text: alt, Logprob: lp(q)})
	}
	return t
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestValues(t *testing.T) {
	if !near(SurprisalBits(lp(0.5)), 1) || !near(SurprisalBits(lp(0.125)), 3) {
		t.Error("surprisal")
	}
	if !math.IsNaN(Prob(backend.Unknown())) || !math.IsNaN(SurprisalBits(backend.Unknown())) {
		t.Error("unknown should be NaN")
	}
	h, ok := EntropyBits([]backend.Alt{{Text: "a", Logprob: lp(.25)}, {Text: "b", Logprob: lp(.25)}, {Text: "c", Logprob: lp(.25)}, {Text: "d", Logprob: lp(.25)}})
	if !ok || !near(h, 2) {
		t.Errorf("uniform over 4: %v", h)
	}
	// Renormalised: two equal alternatives that leave mass in the tail are still 1 bit.
	if h, _ := EntropyBits([]backend.Alt{{Text: "a", Logprob: lp(.1)}, {Text: "b", Logprob: lp(.1)}}); !near(h, 1) {
		t.Errorf("renormalised pair: %v", h)
	}
	if h, _ := EntropyBits([]backend.Alt{{Text: "a", Logprob: 0}}); h != 0 {
		t.Errorf("certain: %v", h)
	}
	if _, ok := EntropyBits(nil); ok {
		t.Error("entropy of nothing")
	}
	if _, ok := EntropyBits([]backend.Alt{{Text: "a", Logprob: backend.Unknown()}}); ok {
		t.Error("entropy of unknowns")
	}
	// Very small logprobs must not underflow to NaN.
	if h, ok := EntropyBits([]backend.Alt{{Text: "a", Logprob: -2000}, {Text: "b", Logprob: -2000}}); !ok || !near(h, 1) {
		t.Errorf("underflow: %v %v", h, ok)
	}
}

func TestRank(t *testing.T) {
	cases := []struct {
		name    string
		tk      backend.Token
		rank    int
		atLeast bool
		ok      bool
	}{
		{"top1", tok("a", .6, .6, .3, .1), 1, false, true},
		{"second", tok("b", .3, .6, .3, .1), 2, false, true},
		{"last of list: maybe lower", tok("c", .05, .6, .3, .05), 3, true, true},
		{"only one alternative", tok("a", .9, .9), 1, false, true},
		{"no alternatives", tok("a", .9), 0, false, false},
		{"unknown logprob", backend.Token{Text: "x", Logprob: backend.Unknown(), Top: []backend.Alt{{Text: "x", Logprob: -1}}}, 0, false, false},
		{"tie with first", tok("a", .4, .4, .4, .2), 1, false, true},
	}
	for _, c := range cases {
		r, al, ok := RankOf(&c.tk)
		if r != c.rank || al != c.atLeast || ok != c.ok {
			t.Errorf("%s: got %d %v %v, want %d %v %v", c.name, r, al, ok, c.rank, c.atLeast, c.ok)
		}
	}
}

func TestBuckets(t *testing.T) {
	unknown := backend.Token{Text: "?", Logprob: backend.Unknown()}
	cases := []struct {
		m      Mode
		tk     backend.Token
		bucket int
		ok     bool
	}{
		{Probability, tok("a", 1), 0, true},
		{Probability, tok("a", .9), 0, true},
		{Probability, tok("a", .8), 1, true},
		{Probability, tok("a", .5), 4, true},
		{Probability, tok("a", .01), 7, true},
		{Probability, unknown, 0, false},
		{Surprisal, tok("a", .95), 0, true},  // 0.07 bits
		{Surprisal, tok("a", .5), 3, true},   // 1 bit: [1,2)
		{Surprisal, tok("a", .2), 4, true},   // 2.3 bits
		{Surprisal, tok("a", .001), 7, true}, // 10 bits
		{Surprisal, unknown, 0, false},
		{Rank, tok("a", .6, .6, .3), 0, true},
		{Rank, tok("b", .3, .6, .3, .1), 3, true},
		{Rank, tok("b", .1, .6, .3, .1), 7, true}, // last: rank ≥ 3
		{Rank, tok("b", .1), 0, false},
		{Entropy, tok("a", 1, 1), 0, true},
		{Entropy, tok("a", .5, .5, .5), 4, true}, // 1 bit
		{Entropy, tok("a", .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05, .05), 7, true},
		{Entropy, tok("a", .5), 0, false},
		{Off, tok("a", .5), 0, false},
	}
	for _, c := range cases {
		b, ok := c.m.Bucket(&c.tk)
		if b != c.bucket || ok != c.ok {
			t.Errorf("%v %q p=%v: bucket %d %v, want %d %v", c.m, c.tk.Text, c.tk.Logprob.Prob(), b, ok, c.bucket, c.ok)
		}
	}
	if _, ok := Surprisal.Bucket(nil); ok {
		t.Error("nil token has a bucket")
	}
}

func TestModes(t *testing.T) {
	seen := map[Mode]bool{}
	m := Off
	for range Modes() {
		seen[m] = true
		back, ok := ParseMode(m.String())
		if !ok || back != m {
			t.Errorf("ParseMode(%q) = %v", m, back)
		}
		m = m.Next()
	}
	if m != Off || len(seen) != 5 {
		t.Errorf("cycle broken: %v", seen)
	}
	if _, ok := ParseMode("sparkle"); ok {
		t.Error("bad mode parsed")
	}
}

func styles(name string, dark bool) *themes.Styles {
	p, _ := themes.Builtin(name, dark)
	s := themes.NewStyles(p, dark)
	return &s
}

func TestPainterLooks(t *testing.T) {
	st := styles("dark", true)
	for _, prof := range []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256, colorprofile.ANSI, colorprofile.ASCII} {
		p := NewPainter(st, Surprisal, prof)
		var looks []string
		for b := range themes.HeatBuckets {
			looks = append(looks, p.Paint(b, true, 0, "x"))
		}
		for b := 1; b < len(looks); b++ {
			distinctNeeded := prof > colorprofile.ASCII || b%2 == 0 // mono: four looks
			if distinctNeeded && looks[b] == looks[b-1] {
				t.Errorf("%v: buckets %d and %d look the same: %q", prof, b-1, b, looks[b])
			}
		}
		unk := p.Paint(0, false, 0, "x")
		for b, l := range looks {
			if l == unk {
				t.Errorf("%v: unknown looks like bucket %d", prof, b)
			}
		}
		if prof <= colorprofile.ASCII && strings.Contains(strings.Join(looks, ""), "38;") {
			t.Errorf("%v: colour in monochrome looks", prof)
		}
		if prof == colorprofile.ANSI && strings.Contains(strings.Join(looks, ""), "38;2") {
			t.Errorf("ANSI: true colour in 16-colour looks")
		}
		for _, l := range looks {
			if ansi.Strip(l) != "x" {
				t.Errorf("%v: text changed: %q", prof, l)
			}
		}
	}
}

func TestRenderToken(t *testing.T) {
	st := styles("dark", true)
	p := NewPainter(st, Probability, colorprofile.TrueColor)
	a, b := tok(" the", .9), tok(" cat", .9)
	ra, rb := p.Render(&a, 0, " the"), p.Render(&b, 1, " cat")
	if ansi.Strip(ra) != " the" || ansi.Strip(rb) != " cat" {
		t.Fatalf("text changed: %q %q", ra, rb)
	}
	// Same bucket, neighbouring tokens: the boundary mark tells them apart.
	if strings.TrimSuffix(ra, " the\x1b[m") == strings.TrimSuffix(rb, " cat\x1b[m") {
		t.Errorf("no boundary between neighbours: %q %q", ra, rb)
	}
	// Even tokens share a look.
	c := tok(" sat", .9)
	if strings.TrimSuffix(p.Render(&c, 2, " sat"), " sat\x1b[m") != strings.TrimSuffix(ra, " the\x1b[m") {
		t.Error("even tokens differ")
	}
	// Whitespace-only tokens stay visible.
	sp := tok("  ", .2)
	if got := ansi.Strip(p.Render(&sp, 3, "  ")); got != "··" {
		t.Errorf("blank token shows as %q", got)
	}
	// Without logprobs, or with the heatmap off, text is plain body text.
	if got := ansi.Strip(p.Render(nil, 0, "plain")); got != "plain" {
		t.Errorf("nil token: %q", got)
	}
	off := NewPainter(st, Off, colorprofile.TrueColor)
	if got := off.Render(&sp, 0, "  "); ansi.Strip(got) != "  " {
		t.Errorf("off mode changed blank token: %q", got)
	}
	if off.Render(&a, 0, " the") == ra {
		t.Error("off mode coloured a token")
	}
	if p.Render(&a, 0, "") != "" {
		t.Error("empty fragment rendered")
	}
	// Unknown logprob gets the unknown look, not the hot one.
	u := backend.Token{Text: "?", Logprob: backend.Unknown()}
	hot := tok("?", .001)
	if p.Render(&u, 0, "?") == p.Render(&hot, 0, "?") {
		t.Error("unknown looks unlikely")
	}
	// The cursor is the same look reversed.
	if cur := p.RenderCursor(&a, 0, " the"); !strings.Contains(cur, "\x1b[7m") || ansi.Strip(cur) != " the" {
		t.Errorf("cursor: %q", cur)
	}
	nl := tok("\n", .3)
	if m := p.NewlineMark(&nl, 4); ansi.Strip(m) != "⏎" || ansi.StringWidth(m) != 1 {
		t.Errorf("newline mark %q", m)
	}
	if off.NewlineMark(&nl, 4) != "" {
		t.Error("newline mark with heatmap off")
	}
}

func TestPainterKey(t *testing.T) {
	st := styles("dark", true)
	a := NewPainter(st, Surprisal, colorprofile.TrueColor).Key()
	if a == NewPainter(st, Probability, colorprofile.TrueColor).Key() ||
		a == NewPainter(st, Surprisal, colorprofile.ANSI).Key() ||
		a == NewPainter(styles("light", false), Surprisal, colorprofile.TrueColor).Key() {
		t.Error("key ignores mode, profile or theme")
	}
}

func TestLegend(t *testing.T) {
	st := styles("dark", true)
	for _, m := range Modes() {
		for _, prof := range []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ASCII} {
			p := NewPainter(st, m, prof)
			full := ansi.Strip(Legend(st, p, 200, "m: mode"))
			if !strings.Contains(full, m.Title()) {
				t.Errorf("%v: no title in %q", m, full)
			}
			if m == Off {
				continue
			}
			if !strings.Contains(full, RawNote) || !strings.Contains(full, "unknown") {
				t.Errorf("%v: legend lacks note or unknown: %q", m, full)
			}
			for _, tk := range m.Ticks() {
				if tk != "" && !strings.Contains(full, tk) {
					t.Errorf("%v: tick %q missing from %q", m, tk, full)
				}
			}
			if prof == colorprofile.ASCII && !strings.Contains(full, "no colour") {
				t.Errorf("mono legend does not say so: %q", full)
			}
			// Narrower legends keep the raw note (and the no-colour note) while they can.
			mid := ansi.Strip(Legend(st, p, 80, "m: mode"))
			if !strings.Contains(mid, "raw") || prof > colorprofile.ASCII && !strings.Contains(mid, "unknown") {
				t.Errorf("%v at 80: %q", m, mid)
			}
			if prof == colorprofile.ASCII && !strings.Contains(mid, "no colour") {
				t.Errorf("mono legend at 80 does not say so: %q", mid)
			}
			for _, w := range []int{0, 5, 20, 40, 60} {
				if got := Legend(st, p, w, "m: mode"); ansi.StringWidth(got) > w {
					t.Errorf("%v width %d: %d cells: %q", m, w, ansi.StringWidth(got), ansi.Strip(got))
				}
			}
		}
	}
}

func TestClassMatchesRender(t *testing.T) {
	st := styles("dark", true)
	toks := benchTokens(300, 5)
	toks = append(toks, backend.Token{Text: "?", Logprob: backend.Unknown()}, tok("   ", .4, .4, .3), tok("x", .2))
	for _, m := range Modes() {
		p := NewPainter(st, m, colorprofile.TrueColor)
		for i := range toks {
			c := Classify(&toks[i])
			want := p.Render(&toks[i], i, toks[i].Text)
			if got := p.RenderClass(c, i, toks[i].Text); got != want {
				t.Fatalf("%v token %d: RenderClass %q, Render %q", m, i, got, want)
			}
			var b strings.Builder
			p.WriteClass(&b, c, i, toks[i].Text)
			if b.String() != want {
				t.Fatalf("%v token %d: WriteClass %q, Render %q", m, i, b.String(), want)
			}
		}
	}
}

func TestBoundaryChoices(t *testing.T) {
	a, b := tok(" the", .9), tok(" cat", .9)
	for _, bd := range []themes.Boundary{themes.BoundaryUnderline, themes.BoundaryBackground, themes.BoundaryNone} {
		pal := themes.Dark()
		pal.Boundary = bd
		st := themes.NewStyles(pal, true)
		p := NewPainter(&st, Probability, colorprofile.TrueColor)
		even := strings.TrimSuffix(p.Render(&a, 0, "x"), "x\x1b[m")
		odd := strings.TrimSuffix(p.Render(&b, 1, "x"), "x\x1b[m")
		switch bd {
		case themes.BoundaryUnderline:
			if !strings.Contains(odd, "4:4") || strings.Contains(even, "4:4") {
				t.Errorf("underline: even %q odd %q", even, odd)
			}
		case themes.BoundaryBackground:
			if !strings.Contains(odd, "48;2;") || strings.Contains(even, "48;") {
				t.Errorf("background: even %q odd %q", even, odd)
			}
		case themes.BoundaryNone:
			if even != odd {
				t.Errorf("none: even %q odd %q", even, odd)
			}
		}
		// Below true colour the underline is a plain one: no 58 (underline colour) or 4:4.
		if bd == themes.BoundaryUnderline {
			p256 := NewPainter(&st, Probability, colorprofile.ANSI256)
			odd := pinned(colorprofile.ANSI256, p256.Render(&b, 1, "x"))
			if strings.Contains(odd, "58;") || strings.Contains(odd, "4:") || !strings.Contains(odd, "4") {
				t.Errorf("ANSI-256 boundary: %q", odd)
			}
		}
		// Without colour the boundary is an underline, unless the theme wants none.
		mono := NewPainter(&st, Probability, colorprofile.ASCII)
		if drawn := mono.Render(&a, 0, "x") != mono.Render(&b, 1, "x"); drawn != (bd != themes.BoundaryNone) {
			t.Errorf("%s: mono boundary drawn %v", bd, drawn)
		}
	}
}

// sgrAttrs is the set of SGR parameters a look turns on ("1", "4", "7"...), its colours
// left out.
func sgrAttrs(look string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\x1b\[([0-9;:]*)m`).FindAllStringSubmatch(look, -1) {
		ps := strings.Split(m[1], ";")
		for i := 0; i < len(ps); i++ {
			switch ps[i] {
			case "38", "48", "58":
				i += 2
				if i < len(ps) && ps[i-1] == "2" {
					i += 2
				}
				continue
			case "", "0":
				continue
			}
			out[ps[i]] = true
		}
	}
	return out
}

// Without colour (NO_COLOR, a dumb terminal) heat and token boundaries must use different
// attributes: every heat tier differs from its neighbours, a boundary shows on every tier
// and never looks like another tier, and the cursor shows on every look.
func TestMonoKeepsHeatAndBoundariesApart(t *testing.T) {
	st := styles("dark", true)
	for _, prof := range []colorprofile.Profile{colorprofile.ASCII, colorprofile.NoTTY} {
		p := NewPainter(st, Probability, prof)
		var even, odd []string
		for b := range themes.HeatBuckets {
			even = append(even, pinned(colorprofile.ASCII, p.Paint(b, true, 0, "x")))
			odd = append(odd, pinned(colorprofile.ASCII, p.Paint(b, true, 1, "x")))
		}
		boundary := map[string]bool{}
		for b := range odd {
			if even[b] == odd[b] {
				t.Fatalf("%v: bucket %d: no boundary between neighbours: %q", prof, b, even[b])
			}
			for k := range sgrAttrs(odd[b]) {
				if !sgrAttrs(even[b])[k] {
					boundary[k] = true
				}
			}
			for c := range even {
				if c != b && (odd[b] == even[c] || even[b] == odd[c]) {
					t.Errorf("%v: bucket %d's boundary reads as bucket %d: %q", prof, b, c, odd[b])
				}
			}
		}
		for b, l := range even {
			for k := range sgrAttrs(l) {
				if boundary[k] {
					t.Errorf("%v: bucket %d's heat uses the boundary's attribute %s: %q", prof, b, k, l)
				}
			}
		}
		// Heat tiers: four looks, more shouting as tokens grow less likely.
		for b := 2; b < len(even); b += 2 {
			if even[b] == even[b-2] {
				t.Errorf("%v: buckets %d and %d look the same: %q", prof, b-2, b, even[b])
			}
		}
		// The cursor shows on every tier, reversed ones included.
		for _, q := range []float64{.99, .6, .3, .05, .001} {
			tk := tok(" x", q)
			for i := range 2 {
				if p.Render(&tk, i, "x") == p.RenderCursor(&tk, i, "x") {
					t.Errorf("%v: cursor invisible on p=%v", prof, q)
				}
				cur := pinned(colorprofile.ASCII, p.RenderCursor(&tk, i, "x"))
				for _, l := range append(even, odd...) {
					if cur == l {
						t.Errorf("%v: cursor on p=%v looks like a token: %q", prof, q, cur)
					}
				}
			}
		}
	}
}
