package themes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// FileError is a user theme refused: the file, and where known the line and field at fault.
type FileError struct {
	File  string
	Line  int    // 0 when unknown
	Field string // the TOML key, "" when the file as a whole is at fault
	Msg   string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("theme ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// A user theme is a TOML file NAME.toml in the themes folder (the config folder's themes/, which
// the store finds), chosen by NAME. Every key is optional
// when base names a built-in theme to start from:
//
//	base = "dark"                # a built-in: default, dark, light, high-contrast
//	name = "dusk"                # defaults to the file name
//	dark = true                  # meant for a dark background
//	primary = "#ff8800"          # colours: "#rrggbb", "#rgb" or an ANSI number "0".."255"
//	foreground = ""              # empty: the terminal's own colour
//	subtle = "244"
//	border = "#444"
//	error = "#ff5f5f"
//	warning = "#ffaf00"
//	success = "#5fd787"
//	focus = "#00afff"
//	heatmap = ["#31688e", "#35b779", "#fde725"]  # expected -> surprising, 2 to 16 stops
//	heatmap_16 = ["4", "12", "6", "14", "2", "10", "3", "11"]  # optional: 8 ANSI 0-15
//	unknown = "#8a8a8a"          # tokens whose logprob is unknown
//	boundary = "underline"       # or "background", "none"
//	boundary_step = "#3a3f52"

// themeFile is a theme as written in TOML: a Palette, optionally on top of a built-in one.
type themeFile struct {
	// Base names a built-in theme whose colours fill whatever the file leaves out.
	Base string `toml:"base"`
	Palette
}

// LoadFile reads a user theme. isDark chooses the variant of a built-in base that follows
// the terminal. A file that cannot be used is refused whole with a *FileError (or several,
// joined): the file, line and field named.
func LoadFile(path string, isDark bool) (Palette, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Palette{}, &FileError{File: path, Msg: err.Error()}
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))

	var head struct {
		Base string `toml:"base"`
	}
	if _, err := toml.Decode(string(data), &head); err != nil {
		return Palette{}, parseError(path, err)
	}
	f := themeFile{Base: head.Base}
	if head.Base != "" {
		base, ok := Builtin(head.Base, isDark)
		if !ok {
			return Palette{}, &FileError{File: path, Line: keyLine(data, "base"), Field: "base",
				Msg: fmt.Sprintf("no built-in theme %q (have %s)", head.Base, strings.Join(BuiltinNames(), ", "))}
		}
		f.Palette = base
		// A palette given in the file replaces the base's scale whole; its own 16-colour
		// steps would not match it.
		f.Heatmap16 = nil
	} else {
		f.Dark = isDark
	}
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return Palette{}, parseError(path, err)
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, &FileError{File: path, Line: keyLine(data, k[len(k)-1]), Field: k.String(),
			Msg: "unknown field (known: " + strings.Join(knownFields(), ", ") + ")"})
	}
	if head.Base != "" && !md.IsDefined("heatmap_16") && !md.IsDefined("heatmap") {
		base, _ := Builtin(head.Base, isDark)
		f.Heatmap16 = base.Heatmap16
	}
	if f.Name == "" {
		f.Name = name
	}
	if err := f.Palette.Validate(); err != nil {
		errs = append(errs, validationErrors(path, data, f.Palette)...)
	}
	if len(errs) > 0 {
		return Palette{}, errors.Join(errs...)
	}
	return f.Palette, nil
}

// validationErrors turns Palette.Validate's findings into one FileError per field.
func validationErrors(path string, data []byte, p Palette) []error {
	var errs []error
	add := func(field, msg string) {
		errs = append(errs, &FileError{File: path, Line: keyLine(data, field), Field: field, Msg: msg})
	}
	if n := len(p.Heatmap); n < 2 || n > 16 {
		add("heatmap", fmt.Sprintf("want 2 to 16 colour stops, got %d", n))
	}
	for i, c := range p.Heatmap {
		if c == "" {
			add("heatmap", fmt.Sprintf("stop %d is empty", i))
		}
	}
	if n := len(p.Heatmap16); n > 0 && n != HeatBuckets {
		add("heatmap_16", fmt.Sprintf("want exactly %d ANSI colours, got %d", HeatBuckets, n))
	}
	for i, c := range p.Heatmap16 {
		var n int
		if _, err := fmt.Sscanf(string(c), "%d", &n); err != nil || n < 0 || n > 15 || strings.HasPrefix(string(c), "#") {
			add("heatmap_16", fmt.Sprintf("entry %d (%q) is not an ANSI colour number 0-15", i, c))
		}
	}
	if len(errs) == 0 {
		// Anything else Validate found (colours are checked while decoding, so rarely this).
		if err := p.Validate(); err != nil {
			errs = append(errs, &FileError{File: path, Msg: err.Error()})
		}
	}
	return errs
}

func parseError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if msg == "" {
			msg = err.Error()
		}
		return &FileError{File: path, Line: pe.Position.Line, Field: pe.LastKey, Msg: msg}
	}
	// Type mismatches come back as plain errors that carry the position only in their text.
	msg := err.Error()
	if m := decodeErrPos.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FileError{File: path, Line: line, Field: m[2], Msg: strings.TrimSpace(msg[len(m[0]):])}
	}
	return &FileError{File: path, Msg: msg}
}

var decodeErrPos = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\):`)

// keyLine finds the line where key is assigned; 0 when it cannot tell. TOML's MetaData
// keeps key positions to itself, and a theme file is small and flat.
func keyLine(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			rest, ok = strings.CutPrefix(line, `"`+key+`"`)
		}
		if ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}

func knownFields() []string {
	return []string{"base", "name", "dark", "primary", "foreground", "subtle", "background", "border",
		"error", "warning", "success", "focus", "heatmap", "heatmap_16", "unknown", "boundary", "boundary_step"}
}

// Registry is one program's view of the themes it can use: the built-ins and the TOML files
// in one folder. It holds no palettes, so two programs never share one by accident.
type Registry struct {
	dir string
}

// NewRegistry serves built-in themes and user themes from dir ("" for built-ins only).
func NewRegistry(dir string) Registry { return Registry{dir: dir} }

// Names lists the themes in cycling order: built-ins, then user themes sorted by name. A
// user theme named like a built-in one is listed once and wins.
func (r Registry) Names() []string {
	names := BuiltinNames()
	if r.dir == "" {
		return names
	}
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return names
	}
	var user []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok && !e.IsDir() && n != "" {
			if !slices.Contains(names, n) {
				user = append(user, n)
			}
		}
	}
	slices.Sort(user)
	return append(names, user...)
}

// Next is the theme after name in Names, wrapping round.
func (r Registry) Next(name string) string {
	names := r.Names()
	i := slices.Index(names, name)
	return names[(i+1)%len(names)]
}

// Load returns the palette called name for a dark or light terminal. A user file of that
// name comes first; a built-in otherwise. When the file is malformed, or nothing has that
// name, it returns the default palette together with the error, so the caller can say why
// and go on.
func (r Registry) Load(name string, isDark bool) (Palette, error) {
	def, _ := Builtin(DefaultName, isDark)
	if r.dir != "" && name != "" && !strings.ContainsAny(name, `/\`) && name != "." && name != ".." {
		path := filepath.Join(r.dir, name+".toml")
		if _, err := os.Stat(path); err == nil {
			p, err := LoadFile(path, isDark)
			if err != nil {
				return def, err
			}
			return p, nil
		}
	}
	if p, ok := Builtin(name, isDark); ok {
		return p, nil
	}
	return def, fmt.Errorf("no theme %q (have %s)", name, strings.Join(r.Names(), ", "))
}
