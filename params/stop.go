package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Stop is twinkle's stop union: a lone string, a list of strings, or a list of token
// ids. vLLM takes strings and ids at once, so Stop may hold both; its JSON is then a
// mixed list. A lone string round-trips as a lone string.
type Stop struct {
	Strings  []string
	TokenIDs []int
	lone     bool // decoded from (or built as) a bare JSON string
}

// StopString builds the lone-string form, as Python's stop="###".
func StopString(s string) Stop { return Stop{Strings: []string{s}, lone: true} }

// IsZero reports whether no stop condition is set.
func (s Stop) IsZero() bool { return len(s.Strings) == 0 && len(s.TokenIDs) == 0 }

// Clone deep-copies the lists.
func (s Stop) Clone() Stop {
	return Stop{Strings: slices.Clone(s.Strings), TokenIDs: slices.Clone(s.TokenIDs), lone: s.lone}
}

// Equal compares the stop conditions and their JSON form.
func (s Stop) Equal(t Stop) bool {
	return slices.Equal(s.Strings, t.Strings) && slices.Equal(s.TokenIDs, t.TokenIDs) && s.isLone() == t.isLone()
}

func (s Stop) isLone() bool { return s.lone && len(s.Strings) == 1 && len(s.TokenIDs) == 0 }

// StopError explains why a JSON value is not a valid stop union.
type StopError struct{ Msg string }

func (e *StopError) Error() string { return "stop: " + e.Msg }

// MarshalJSON writes null, a lone string, or a list (strings first, then ids).
func (s Stop) MarshalJSON() ([]byte, error) {
	if s.IsZero() {
		return []byte("null"), nil
	}
	if s.isLone() {
		return marshalNoHTML(s.Strings[0])
	}
	items := make([]any, 0, len(s.Strings)+len(s.TokenIDs))
	for _, v := range s.Strings {
		items = append(items, v)
	}
	for _, v := range s.TokenIDs {
		items = append(items, v)
	}
	return marshalNoHTML(items)
}

// UnmarshalJSON accepts null, a string, or a list of strings and/or integers. Anything
// else — a number, an object, a nested list, a float id — is a StopError.
func (s *Stop) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*s = Stop{}
	if len(data) == 0 {
		return &StopError{"empty value"}
	}
	switch data[0] {
	case 'n':
		if string(data) == "null" {
			return nil
		}
	case '"':
		var str string
		if err := json.Unmarshal(data, &str); err != nil {
			return &StopError{"invalid string: " + err.Error()}
		}
		*s = StopString(str)
		return nil
	case '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return &StopError{"invalid list: " + err.Error()}
		}
		out := Stop{}
		for i, item := range raw {
			item = bytes.TrimSpace(item)
			switch {
			case len(item) > 0 && item[0] == '"':
				var str string
				if err := json.Unmarshal(item, &str); err != nil {
					return &StopError{fmt.Sprintf("item %d: %v", i, err)}
				}
				out.Strings = append(out.Strings, str)
			case len(item) > 0 && (item[0] == '-' || (item[0] >= '0' && item[0] <= '9')):
				id, err := strconv.ParseInt(string(item), 10, 64)
				if err != nil || id > math.MaxInt32 || id < math.MinInt32 {
					return &StopError{fmt.Sprintf("item %d: token ids are integers, got %s", i, item)}
				}
				out.TokenIDs = append(out.TokenIDs, int(id))
			default:
				return &StopError{fmt.Sprintf("item %d: expected a string or an integer token id, got %s", i, describeJSON(item))}
			}
		}
		*s = out
		return nil
	}
	return &StopError{"expected a string, a list of strings or a list of token ids, got " + describeJSON(data)}
}

func describeJSON(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "a string"
	}
	return "the number " + string(b)
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	if !bytes.ContainsFunc(out, isBidiOrFormat) {
		return out, nil
	}
	// Invisible direction overrides can only sit inside JSON strings; escaping them
	// keeps the JSON identical in meaning and makes it safe to show or paste.
	var esc bytes.Buffer
	for _, r := range string(out) {
		if isBidiOrFormat(r) {
			fmt.Fprintf(&esc, `\u%04x`, r)
		} else {
			esc.WriteRune(r)
		}
	}
	return esc.Bytes(), nil
}
