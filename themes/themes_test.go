package themes

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// every built-in palette, both terminal backgrounds.
func allBuiltins(t *testing.T) map[string]Palette {
	t.Helper()
	out := map[string]Palette{}
	for _, name := range BuiltinNames() {
		for _, dark := range []bool{true, false} {
			p, ok := Builtin(name, dark)
			if !ok {
				t.Fatalf("Builtin(%q) missing", name)
			}
			bg := "light"
			if dark {
				bg = "dark"
			}
			out[name+"/"+bg] = p
		}
	}
	return out
}

func TestBuiltinsValidate(t *testing.T) {
	for name, p := range allBuiltins(t) {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(p.Heatmap16) != HeatBuckets {
			t.Errorf("%s: built-ins give explicit 16-colour steps", name)
		}
	}
	if _, ok := Builtin("nope", true); ok {
		t.Error("unknown name accepted")
	}
	if p, _ := Builtin(DefaultName, true); !p.Dark {
		t.Error("default on a dark terminal is not the dark palette")
	}
	if p, _ := Builtin(DefaultName, false); p.Dark {
		t.Error("default on a light terminal is the dark palette")
	}
}

// render writes s through a terminal of the given profile, as Bubble Tea would.
func render(p colorprofile.Profile, s string) string {
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: p}
	_, _ = w.WriteString(s)
	return buf.String()
}

// Every style of every theme renders at every profile, and the colours really degrade.
func TestEveryThemeAtEveryProfile(t *testing.T) {
	for name, p := range allBuiltins(t) {
		s := NewStyles(p, p.Dark)
		samples := map[string]lipgloss.Style{
			"header":   s.App.HeaderTitle,
			"slider":   s.Slider.KnobFocused,
			"badge":    s.Badge.Error,
			"legend":   s.Legend.Mode,
			"inspect":  s.Inspector.BarSampled,
			"heat0":    s.Heat.Scale[0],
			"heat7":    s.Heat.Scale[HeatBuckets-1],
			"heatAlt":  s.Heat.Scale[3].Inherit(s.Heat.Alt),
			"unknown":  s.Heat.Unknown,
			"help":     s.Help.ShortKey,
			"status":   s.Status.Error,
			"dialog":   s.Dialog.ItemSelected,
			"column":   s.Column.HeaderFocused,
			"slider2":  s.Slider.Invalid,
			"exportTb": s.Export.TabActive,
		}
		for what, st := range samples {
			raw := st.Render("tok")
			tc := render(colorprofile.TrueColor, raw)
			a256 := render(colorprofile.ANSI256, raw)
			a16 := render(colorprofile.ANSI, raw)
			ascii := render(colorprofile.ASCII, raw)
			strip := func(s string) string { return strings.TrimSpace(ansi.Strip(s)) }
			if strip(tc) != "tok" || strip(a256) != "tok" || strip(a16) != "tok" || strip(ascii) != "tok" {
				t.Fatalf("%s %s: text lost", name, what)
			}
			if strings.Contains(a256, "38;2;") || strings.Contains(a16, "38;2;") || strings.Contains(a16, "38;5;") {
				t.Errorf("%s %s: colour not downsampled: %q / %q", name, what, a256, a16)
			}
			if strings.Contains(ascii, "38;") || strings.Contains(ascii, "48;") {
				t.Errorf("%s %s: colour left at ASCII: %q", name, what, ascii)
			}
		}
	}
}

// Adjacent heatmap buckets must not collapse into one colour after downsampling to ANSI-256,
// nor (with their 16-colour steps) at 16 colours, nor (with their attributes) without colour
// in pairs beyond what the four monochrome looks allow.
func TestHeatBucketsStayDistinct(t *testing.T) {
	for name, p := range allBuiltins(t) {
		s := NewStyles(p, p.Dark)
		for i := 1; i < HeatBuckets; i++ {
			a := colorprofile.ANSI256.Convert(s.Heat.Colors[i-1])
			b := colorprofile.ANSI256.Convert(s.Heat.Colors[i])
			if sameColor(a, b) {
				t.Errorf("%s: buckets %d and %d both become %v at ANSI-256", name, i-1, i, a)
			}
			r16a := render(colorprofile.ANSI, s.Heat.Scale16[i-1].Render("x"))
			r16b := render(colorprofile.ANSI, s.Heat.Scale16[i].Render("x"))
			if r16a == r16b {
				t.Errorf("%s: buckets %d and %d look the same at 16 colours: %q", name, i-1, i, r16a)
			}
			if i%2 == 0 { // four monochrome looks for eight buckets: pairs share one
				ma := render(colorprofile.ASCII, s.Heat.Mono[i-1].Render("x"))
				mb := render(colorprofile.ASCII, s.Heat.Mono[i].Render("x"))
				if ma == mb {
					t.Errorf("%s: mono buckets %d and %d look the same: %q", name, i-1, i, ma)
				}
			}
		}
		// Unknown is never a scale colour, at any profile.
		for _, prof := range []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256, colorprofile.ANSI, colorprofile.ASCII} {
			u := render(prof, s.Heat.Unknown.Render("x"))
			for i := range HeatBuckets {
				st := s.Heat.Scale[i]
				if prof == colorprofile.ANSI {
					st = s.Heat.Scale16[i]
				}
				if prof == colorprofile.ASCII {
					st = s.Heat.Mono[i]
				}
				if render(prof, st.Render("x")) == u {
					t.Errorf("%s at %v: unknown looks like bucket %d", name, prof, i)
				}
			}
		}
	}
}

// A user scale that does not specify 16-colour steps is downsampled, and the monochrome
// attribute keeps neighbours apart even where their colours merge.
func TestDerivedScale16KeepsNeighboursApart(t *testing.T) {
	p := Dark()
	p.Heatmap16 = nil
	p.Heatmap = []Color{"#202060", "#2a2a70"} // nearly one colour
	s := NewStyles(p, true)
	for i := 2; i < HeatBuckets; i += 2 {
		a := render(colorprofile.ANSI, s.Heat.Scale16[i-1].Render("x"))
		b := render(colorprofile.ANSI, s.Heat.Scale16[i].Render("x"))
		if a == b {
			t.Errorf("buckets %d and %d merge at 16 colours: %q", i-1, i, a)
		}
	}
}

func TestHeatColorsBlend(t *testing.T) {
	p := Palette{Heatmap: []Color{"#000000", "#ffffff"}}
	cs := p.HeatColors()
	if len(cs) != HeatBuckets {
		t.Fatalf("got %d colours", len(cs))
	}
	if !sameColor(cs[0], lipgloss.Color("#000000")) || !sameColor(cs[HeatBuckets-1], lipgloss.Color("#ffffff")) {
		t.Errorf("ends not kept: %v %v", cs[0], cs[HeatBuckets-1])
	}
	prev := -1.0
	for _, c := range cs {
		r, _, _, _ := c.RGBA()
		if float64(r) <= prev {
			t.Errorf("not increasing: %v", cs)
		}
		prev = float64(r)
	}
}

func TestColorValidate(t *testing.T) {
	for _, ok := range []Color{"", "#fff", "#a0B1c2", "0", "255"} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []Color{"#ggg", "#12345", "red", "256", "-1", "#"} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func writeTheme(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadUserTheme(t *testing.T) {
	dir := t.TempDir()
	writeTheme(t, dir, "mine", `
# a full theme
dark = true
primary = "#ff8800"
foreground = "#eeeeee"
subtle = "244"
border = "#444"
error = "#ff0000"
warning = "#ffaa00"
success = "#00ff00"
focus = "#00aaff"
heatmap = ["#000080", "#ffff00"]
unknown = "#808080"
boundary = "background"
boundary_step = "#303030"
`)
	writeTheme(t, dir, "tweak", "base = \"light\"\nprimary = \"#123456\"\n")
	r := NewRegistry(dir)
	p, err := r.Load("mine", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "mine" || p.Primary != "#ff8800" || p.Boundary != BoundaryBackground || len(p.Heatmap) != 2 {
		t.Errorf("decoded wrong: %+v", p)
	}
	q, err := r.Load("tweak", true)
	if err != nil {
		t.Fatal(err)
	}
	light := Light()
	if q.Primary != "#123456" || q.Error != light.Error || len(q.Heatmap16) != HeatBuckets || q.Dark {
		t.Errorf("base not applied: %+v", q)
	}
	names := r.Names()
	if strings.Join(names, ",") != "default,dark,light,high-contrast,mine,tweak" {
		t.Errorf("names: %v", names)
	}
	if r.Next("tweak") != "default" || r.Next("default") != "dark" {
		t.Errorf("cycling wrong")
	}
}

func TestMalformedThemesAreRefusedWithFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		line       int
		field      string
		msg        string
	}{
		{"syntax", "primary = \"#fff\"\nerror = [\n", 2, "", "expected value"},
		{"badcolour", "base = \"dark\"\n\nprimary = \"#zzzzzz\"\n", 3, "primary", "not hexadecimal"},
		{"badnumber", "base = \"dark\"\nsubtle = \"300\"\n", 2, "subtle", "0-255"},
		{"unknownkey", "base = \"dark\"\nprimray = \"#fff\"\n", 2, "primray", "unknown field"},
		{"shortscale", "base = \"dark\"\nheatmap = [\"#fff\"]\n", 2, "heatmap", "2 to 16"},
		{"badstop", "base = \"dark\"\nheatmap = [\"#fff\", \"blue\"]\n", 2, "heatmap", "blue"},
		{"bad16", "base = \"dark\"\nheatmap_16 = [\"1\",\"2\"]\n", 2, "heatmap_16", "exactly 8"},
		{"badbase", "\nbase = \"nope\"\n", 2, "base", "no built-in theme"},
		{"badboundary", "base = \"dark\"\nboundary = \"sparkles\"\n", 2, "boundary", "sparkles"},
		{"wrongtype", "base = \"dark\"\ndark = \"yes\"\n", 2, "dark", "boolean"},
	}
	r := NewRegistry(dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTheme(t, dir, c.name, c.body)
			p, err := r.Load(c.name, true)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			def, _ := Builtin(DefaultName, true)
			if p.Name != def.Name || p.Primary != def.Primary {
				t.Errorf("did not fall back to the default: %+v", p)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("not a FileError: %T %v", err, err)
			}
			if fe.File != path {
				t.Errorf("file %q, want %q", fe.File, path)
			}
			if fe.Line != c.line {
				t.Errorf("line %d, want %d (%v)", fe.Line, c.line, err)
			}
			if c.field != "" && fe.Field != c.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("message %q lacks %q or the path", err, c.msg)
			}
		})
	}
}

func TestLoadUnknownNameFallsBack(t *testing.T) {
	p, err := NewRegistry(t.TempDir()).Load("nothing-here", false)
	if err == nil || !strings.Contains(err.Error(), "nothing-here") {
		t.Errorf("err = %v", err)
	}
	if p.Dark {
		t.Error("fallback ignored the light terminal")
	}
	if _, err := NewRegistry("").Load("../etc/passwd", true); err == nil {
		t.Error("path in a theme name accepted")
	}
}

// NO_COLOR: the profile Bubble Tea detects is ASCII, and a heat style rendered through it
// keeps its attributes and loses every colour.
func TestNoColorDegrades(t *testing.T) {
	prof := colorprofile.Env([]string{"NO_COLOR=1", "TERM=xterm-256color"})
	if prof > colorprofile.ASCII {
		t.Fatalf("NO_COLOR gave %v", prof)
	}
	s := NewStyles(Dark(), true)
	out := render(prof, s.Heat.Mono[HeatBuckets-1].Render("hot"))
	if strings.Contains(out, "38;") || ansi.Strip(out) != "hot" || !strings.Contains(out, "\x1b[1;") {
		t.Errorf("mono hot bucket at %v: %q", prof, out)
	}
}

// The format documented in load.go loads as written.
func TestDocumentedExampleLoads(t *testing.T) {
	src, err := os.ReadFile("load.go")
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	in := false
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "//\tbase = ") {
			in = true
		}
		if in {
			if !strings.HasPrefix(l, "//\t") {
				break
			}
			body = append(body, strings.TrimPrefix(l, "//\t"))
		}
	}
	if len(body) < 10 {
		t.Fatalf("example not found (%d lines)", len(body))
	}
	dir := t.TempDir()
	writeTheme(t, dir, "dusk", strings.Join(body, "\n"))
	p, err := NewRegistry(dir).Load("dusk", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "dusk" || len(p.Heatmap) != 3 || len(p.Heatmap16) != HeatBuckets || p.Primary != "#ff8800" {
		t.Errorf("loaded %+v", p)
	}
}

func TestLint(t *testing.T) {
	for name, p := range allBuiltins(t) {
		if l := p.Lint(); len(l) > 0 {
			t.Errorf("%s: %v", name, l)
		}
	}
	p := Dark()
	p.Heatmap = []Color{"#202060", "#2a2a70"}
	p.Unknown = "#202060"
	l := p.Lint()
	if len(l) < 2 || !strings.Contains(strings.Join(l, "\n"), "look the same at 256 colours") || !strings.Contains(strings.Join(l, "\n"), "unknown looks like heatmap step 0") {
		t.Errorf("lint: %v", l)
	}
}

// A dumb terminal keeps text attributes, as NO_COLOR does; output that is not a terminal
// keeps none. TTY_FORCE=1 makes colorprofile take the output for a terminal.
func TestTerminalProfile(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cases := []struct {
		env  []string
		want colorprofile.Profile
	}{
		{[]string{"TTY_FORCE=1", "TERM=dumb"}, colorprofile.ASCII},
		{[]string{"TTY_FORCE=1"}, colorprofile.ASCII},
		{[]string{"TTY_FORCE=1", "TERM=dumb", "NO_COLOR=1"}, colorprofile.ASCII},
		{[]string{"TTY_FORCE=1", "TERM=xterm", "NO_COLOR=1"}, colorprofile.ASCII},
		{[]string{"TTY_FORCE=1", "TERM=xterm-256color"}, colorprofile.ANSI256},
		{[]string{"TTY_FORCE=1", "TERM=xterm", "COLORTERM=truecolor"}, colorprofile.TrueColor},
		{[]string{"TERM=dumb"}, colorprofile.NoTTY},           // a pipe, not a terminal
		{[]string{"TERM=xterm-256color"}, colorprofile.NoTTY}, // likewise
	}
	for _, c := range cases {
		if got := TerminalProfile(w, c.env); got != c.want {
			t.Errorf("%v: %v, want %v (colorprofile.Detect says %v)", c.env, got, c.want, colorprofile.Detect(w, c.env))
		}
	}
}
