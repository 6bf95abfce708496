package params

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A sweep varies one parameter over a few values, or two as a grid, with everything else
// held, so the differences between the samples come from the parameter alone. It is
// typed as NAME=V1,V2,... or NAME=START..END:STEP (END included when a step lands on it):
// temperature=0,0.5,1 and temperature=0..1.5:0.5 are the same sweep plus 1.5. NAME is a
// spec row's key or flag name (top_p or top-p); values are read as the row's flag reads
// them.

// Sweep limits: 2 to 8 values for one parameter; up to 4 x 4 for a grid of two.
const (
	SweepMinValues  = 2
	SweepMaxValues  = 8
	SweepMaxGridRow = 4
)

// SweepAxis is one swept parameter and its values, in the order given.
type SweepAxis struct {
	Spec   Spec
	Values []Value
}

// SweepError is a sweep that cannot run, with every problem.
type SweepError struct{ Problems []string }

func (e *SweepError) Error() string { return strings.Join(e.Problems, "\n") }

// ParseSweep reads one sweep: NAME=V1,V2,... or NAME=START..END:STEP.
func ParseSweep(text string) (SweepAxis, error) {
	name, list, ok := strings.Cut(text, "=")
	name = strings.TrimSpace(name)
	fail := func(format string, a ...any) (SweepAxis, error) {
		return SweepAxis{}, fmt.Errorf("%q: %s", text, fmt.Sprintf(format, a...))
	}
	if !ok || name == "" {
		return fail("expected NAME=V1,V2,... or NAME=START..END:STEP, such as temperature=0,0.5,1 or temperature=0..1.5:0.5")
	}
	s, found := Lookup(name)
	switch {
	case !found:
		return fail("%s is not a parameter (sweepable: %s)", name, strings.Join(SweepableNames(), ", "))
	case !sweepable(s):
		return fail("%s cannot be swept: it is %s (sweepable: %s)", name, whyNotSweepable(s), strings.Join(SweepableNames(), ", "))
	}
	var values []Value
	var err error
	if strings.Contains(list, "..") {
		values, err = sweepRange(s, list)
	} else {
		values, err = sweepList(s, list)
	}
	if err != nil {
		return fail("%v", err)
	}
	if len(values) < SweepMinValues || len(values) > SweepMaxValues {
		return fail("%d values: a sweep takes %d to %d", len(values), SweepMinValues, SweepMaxValues)
	}
	for i, v := range values {
		if slices.Index(values, v) < i {
			return fail("%s is given twice", describeValue(s, v))
		}
	}
	return SweepAxis{Spec: s, Values: values}, nil
}

// sweepable reports whether a row holds one number a request samples with: not a list,
// not a request knob (samples, logprobs).
func sweepable(s Spec) bool { return whyNotSweepable(s) == "" }

func whyNotSweepable(s Spec) string {
	switch {
	case s.Options:
		return "a request setting, not a sampling parameter"
	case s.Kind == StopList:
		return "a list, not one value"
	case s.Kind != Int && s.Kind != Float:
		return "not a number a sweep can step"
	}
	return ""
}

// SweepableNames lists the rows a sweep can vary, by key.
func SweepableNames() []string {
	var out []string
	for _, s := range Specs() {
		if sweepable(s) {
			out = append(out, s.Key)
		}
	}
	return out
}

func sweepList(s Spec, list string) ([]Value, error) {
	var out []Value
	for _, part := range strings.Split(list, ",") {
		v, err := sweepValue(s, part)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// sweepValue reads one value as the row's flag would, held to the row's stated range.
func sweepValue(s Spec, text string) (Value, error) {
	if strings.TrimSpace(text) == "" {
		return Value{}, errors.New("an empty value (values are separated by commas)")
	}
	v, err := s.Parse(text)
	if err != nil {
		return Value{}, errors.New(strings.TrimPrefix(err.Error(), s.Key+": "))
	}
	if v.Set && s.Kind == Int && (v.V > 1<<53 || v.V < -(1<<53)) {
		return Value{}, fmt.Errorf("%s is out of range", strings.TrimSpace(text))
	}
	if v.Set && s.Strict && (v.V < s.Min || v.V > s.Max) {
		return Value{}, fmt.Errorf("%s: must be in [%s, %s]", strings.TrimSpace(text), s.FormatNumber(s.Min), s.FormatNumber(s.Max))
	}
	return v, nil
}

// sweepRange reads START..END:STEP.
func sweepRange(s Spec, text string) ([]Value, error) {
	bounds, stepText, ok := strings.Cut(text, ":")
	from, to, _ := strings.Cut(bounds, "..")
	if !ok {
		return nil, errors.New("a range needs a step: START..END:STEP, such as 0..1.5:0.5")
	}
	lo, err := sweepValue(s, from)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	hi, err := sweepValue(s, to)
	if err != nil {
		return nil, fmt.Errorf("end: %w", err)
	}
	step, err := strconv.ParseFloat(strings.TrimSpace(stepText), 64)
	switch {
	case err != nil || !finite(step):
		return nil, fmt.Errorf("step %q is not a number", stepText)
	case step <= 0:
		return nil, fmt.Errorf("step must be positive, got %s", strings.TrimSpace(stepText))
	case s.Kind == Int && step != math.Trunc(step):
		return nil, fmt.Errorf("%s takes integers, so the step must be one, got %s", s.Key, strings.TrimSpace(stepText))
	case !lo.Set || !hi.Set:
		return nil, fmt.Errorf("a range runs between numbers; list %s's %q with the others instead", s.Key, s.Floor)
	case hi.V <= lo.V:
		return nil, fmt.Errorf("the end (%s) must be above the start (%s)", strings.TrimSpace(to), strings.TrimSpace(from))
	}
	// A tolerance of a millionth of a step lets 0..1.5:0.1 reach 1.5 despite rounding.
	n := int(math.Floor((hi.V-lo.V)/step+1e-6)) + 1
	if n > SweepMaxValues {
		return nil, fmt.Errorf("%d values: a sweep takes %d to %d", n, SweepMinValues, SweepMaxValues)
	}
	out := make([]Value, n)
	for i := range out {
		// Rounded to 12 significant digits, so 0.1*3 is 0.3 and not 0.30000000000000004.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(lo.V+float64(i)*step, 'g', 12, 64), 64)
		out[i] = V(f)
	}
	return out, nil
}

func describeValue(s Spec, v Value) string {
	if !v.Set {
		return s.Floor
	}
	return strconv.FormatFloat(v.V, 'g', -1, 64)
}

// SweepVariant is one cell of a sweep: the parameters and options it runs with and the
// swept values that set them, by key in axis order.
type SweepVariant struct {
	Params  SamplingParams
	Options Options
	Values  Fields
}

// SweepVariants lays out the variants of a sweep over base: one per value with one axis,
// one per pair with two (the first axis outer, so variants run row by row). Every
// variant is checked as a request would be (vLLM's rules); a *SweepError holds every
// problem, each naming the variant's values.
func SweepVariants(base SamplingParams, o Options, axes []SweepAxis) ([]SweepVariant, error) {
	var problems []string
	switch {
	case len(axes) == 0 || len(axes) > 2:
		return nil, &SweepError{[]string{fmt.Sprintf("one or two parameters can be swept, got %d", len(axes))}}
	case len(axes) == 2 && axes[0].Spec.Key == axes[1].Spec.Key:
		return nil, &SweepError{[]string{axes[0].Spec.Key + " is swept twice: a grid sweeps two different parameters"}}
	}
	if len(axes) == 2 {
		for _, a := range axes {
			if len(a.Values) > SweepMaxGridRow {
				problems = append(problems, fmt.Sprintf("%s has %d values: a grid of two parameters takes up to %d x %d", a.Spec.Key, len(a.Values), SweepMaxGridRow, SweepMaxGridRow))
			}
		}
		if len(problems) > 0 {
			return nil, &SweepError{problems}
		}
	}
	cells := [][]Value{{}}
	for _, a := range axes {
		var next [][]Value
		for _, c := range cells {
			for _, v := range a.Values {
				next = append(next, append(slices.Clone(c), v))
			}
		}
		cells = next
	}
	out := make([]SweepVariant, 0, len(cells))
	for _, c := range cells {
		p, vo := base.Clone(), o
		var values Fields
		var label []string
		for k, a := range axes {
			a.Spec.Put(&p, &vo, c[k])
			values = append(values, Field{a.Spec.Key, jsonValue(a.Spec, c[k])})
			label = append(label, a.Spec.Key+"="+describeValue(a.Spec, c[k]))
		}
		for _, err := range []error{p.Validate(), vo.Validate(p)} {
			var es Errors
			if errors.As(err, &es) {
				for _, e := range es {
					problems = append(problems, fmt.Sprintf("%s: %s: %s", strings.Join(label, " "), e.Field, e.Msg))
				}
			}
		}
		out = append(out, SweepVariant{Params: p, Options: vo, Values: values})
	}
	if len(problems) > 0 {
		return nil, &SweepError{problems}
	}
	return out, nil
}

// jsonValue is how a swept value reads in JSON: an integer for integer rows, null for a
// nullable row left unset.
func jsonValue(s Spec, v Value) any {
	switch {
	case !v.Set && s.Nullable:
		return nil
	case s.Kind == Int:
		return int64(math.Round(v.V))
	}
	return v.V
}
