package params

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

// Flags are the parameter flags every command that takes parameters shares. They are
// built from the spec table, so their names, ranges and help never drift from the
// sliders. Values are kept as typed text and parsed in Resolve, so every bad value is
// reported at once, each naming its flag.
type Flags struct {
	fs         *pflag.FlagSet
	raw        map[string]*string
	lists      map[string]*[]string // the repeatable rows (logit_bias, bad_words), by key
	stops      []string
	stopIDs    []string
	paramsFile string
	options    bool
}

// FlagError is a bad flag value; commands exit with status 2 on it.
type FlagError struct{ Problems []string }

func (e *FlagError) Error() string { return strings.Join(e.Problems, "\n") }

// RegisterFlags adds the parameter flags to fs. withOptions adds -n and --logprobs
// (and --prompt-logprobs) too, for commands that send requests.
func RegisterFlags(fs *pflag.FlagSet, withOptions bool) *Flags {
	f := &Flags{fs: fs, raw: map[string]*string{}, lists: map[string]*[]string{}, options: withOptions}
	for _, s := range Specs() {
		if s.Kind == StopList || (s.Options && !withOptions) {
			continue
		}
		if s.Kind.IsList() {
			v := new([]string)
			f.lists[s.Key] = v
			fs.StringArrayVarP(v, s.Flag, s.Short, nil, s.Help)
			continue
		}
		v := new(string)
		f.raw[s.Key] = v
		help := s.Help
		if r := s.RangeText(); r != "" {
			help += " (" + r + ")"
		}
		fs.StringVarP(v, s.Flag, s.Short, "", help)
		if s.Kind == Bool && !s.Nullable {
			// --ignore-eos alone turns it on; --ignore-eos=false still reads. A row that
			// can be left unset takes its value (--thinking off).
			fs.Lookup(s.Flag).NoOptDefVal = "true"
		}
	}
	if withOptions {
		v := new(string)
		f.raw["prompt_logprobs"] = v
		fs.StringVar(v, "prompt-logprobs", "", fmt.Sprintf("top-K logprobs per prompt token, fetched by a separate request (0 to %d)", MaxLogprobs))
	}
	fs.StringArrayVar(&f.stops, "stop", nil, "stop string, repeatable; escapes \\n, \\t, \\\\, \\xNN, \\uNNNN are read")
	fs.StringArrayVar(&f.stopIDs, "stop-token-id", nil, "stop token id, repeatable (sent as vLLM's stop_token_ids)")
	fs.StringVar(&f.paramsFile, "params", "", "read SamplingParams from a JSON file first; flags then override its fields")
	return f
}

// flagFor maps a validation field to the flag a person typed.
func flagFor(field string) string {
	switch field {
	case "stop":
		return "--stop/--stop-token-id"
	case "prompt_logprobs":
		return "--prompt-logprobs"
	}
	if s, ok := Lookup(field); ok {
		if s.Short != "" {
			return "-" + s.Short + "/--" + s.Flag
		}
		return "--" + s.Flag
	}
	return field
}

// Resolve builds SamplingParams and Options from the flags: defaults, then --params,
// then each flag that was set. It returns a *FlagError listing every problem.
func (f *Flags) Resolve() (SamplingParams, Options, error) {
	p := Default()
	o := Options{N: 1}
	var problems []string
	if f.paramsFile != "" {
		data, err := os.ReadFile(f.paramsFile)
		if err != nil {
			return p, o, &FlagError{[]string{"--params: " + err.Error()}}
		}
		fp, err := Parse(f.paramsFile, data)
		var pe *ParseError
		switch {
		case errors.As(err, &pe):
			// The flags are still read, so every problem shows at once.
			for _, msg := range pe.Problems {
				problems = append(problems, "--params: "+msg)
			}
		case err != nil:
			problems = append(problems, "--params: "+err.Error())
		default:
			p = fp
		}
	}
	for _, s := range Specs() {
		raw, ok := f.raw[s.Key]
		if !ok || !f.fs.Changed(s.Flag) {
			continue
		}
		v, err := s.Parse(*raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q is not a valid value: %v", flagFor(s.Key), *raw, strings.TrimPrefix(err.Error(), s.Key+": ")))
			continue
		}
		if v.Set && s.Kind == Int && (v.V > 1<<53 || v.V < -(1<<53)) {
			problems = append(problems, fmt.Sprintf("%s: %s is out of range", flagFor(s.Key), *raw))
			continue
		}
		if v.Set && s.Strict && (v.V < s.Min || v.V > s.Max) {
			msg := fmt.Sprintf("%s: must be in [%s, %s], got %s", flagFor(s.Key), s.FormatNumber(s.Min), s.FormatNumber(s.Max), strings.TrimSpace(*raw))
			if s.Nullable {
				msg += fmt.Sprintf(" (leave it out for %s)", s.Floor)
			}
			problems = append(problems, msg)
			continue
		}
		s.Put(&p, &o, v)
	}
	if v, ok := f.lists["logit_bias"]; ok && f.fs.Changed("logit-bias") {
		var biases []LogitBias
		for _, raw := range *v {
			b, err := ParseLogitBias(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("--logit-bias: %q: %v", raw, err))
				continue
			}
			biases = append(biases, b)
		}
		o.Advanced.LogitBias = biases
	}
	if v, ok := f.lists["bad_words"]; ok && f.fs.Changed("bad-words") {
		var words []string
		for _, raw := range *v {
			w, err := Unescape(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("--bad-words: %q: %v", raw, err))
				continue
			}
			words = append(words, w)
		}
		o.Advanced.BadWords = words
	}
	if f.options && f.fs.Changed("prompt-logprobs") {
		n, err := strconv.Atoi(strings.TrimSpace(*f.raw["prompt_logprobs"]))
		if err != nil {
			problems = append(problems, fmt.Sprintf("--prompt-logprobs: %q is not an integer", *f.raw["prompt_logprobs"]))
		} else {
			o.PromptLogprobs = &n
		}
	}
	if f.fs.Changed("stop") || f.fs.Changed("stop-token-id") {
		var stop Stop
		for _, s := range f.stops {
			u, err := Unescape(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("--stop: %q: %v", s, err))
				continue
			}
			stop.Strings = append(stop.Strings, u)
		}
		for _, s := range f.stopIDs {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				problems = append(problems, fmt.Sprintf("--stop-token-id: %q is not an integer", s))
				continue
			}
			stop.TokenIDs = append(stop.TokenIDs, n)
		}
		p.Stop = stop
	}
	var es Errors
	if err := p.Validate(); errors.As(err, &es) {
		for _, e := range es {
			problems = append(problems, flagFor(e.Field)+": "+e.Msg)
		}
	}
	// Without the request flags o holds their defaults, so what is wrong is the
	// advanced fields, which every command takes.
	if err := o.Validate(p); errors.As(err, &es) {
		for _, e := range es {
			problems = append(problems, flagFor(e.Field)+": "+e.Msg)
		}
	}
	if len(problems) > 0 {
		return p, o, &FlagError{problems}
	}
	return p, o, nil
}

// Unescape reads the backslash escapes a person types for stop strings: \n, \t, \r,
// \\, \", \', \0, \xNN (a byte), \uNNNN and \UNNNNNNNN. Any other backslash sequence is
// an error, so a typo never silently becomes a different stop string.
func Unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("trailing backslash (write \\\\ for a backslash)")
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case '\\', '"', '\'':
			b.WriteByte(s[i])
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[i]]
			if i+width >= len(s) {
				return "", fmt.Errorf("\\%c needs %d hex digits", s[i], width)
			}
			hex := s[i+1 : i+1+width]
			n, err := strconv.ParseUint(hex, 16, 32)
			if err != nil {
				return "", fmt.Errorf("\\%c%s: not %d hex digits", s[i], hex, width)
			}
			if s[i] == 'x' {
				b.WriteByte(byte(n))
			} else {
				if !utf8.ValidRune(rune(n)) {
					return "", fmt.Errorf("\\%c%s is not a valid character", s[i], hex)
				}
				b.WriteRune(rune(n))
			}
			i += width
		default:
			return "", fmt.Errorf("unknown escape \\%c (known: \\n \\t \\r \\0 \\\\ \\\" \\' \\xNN \\uNNNN \\UNNNNNNNN)", s[i])
		}
	}
	return b.String(), nil
}

// Escape is Unescape's inverse for display and editing: the result holds no control
// characters, so "\n" shows as the two characters \n.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case (r >= 0x80 && r < 0xa0) || isBidiOrFormat(r) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isBidiOrFormat(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c || r == 0xfeff
}
