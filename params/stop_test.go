package params

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStopUnion(t *testing.T) {
	cases := []struct {
		in      string
		strs    []string
		ids     []int
		out     string
		wantErr bool
	}{
		{in: `null`, out: `null`},
		{in: `"###"`, strs: []string{"###"}, out: `"###"`},
		{in: `["a","b"]`, strs: []string{"a", "b"}, out: `["a","b"]`},
		{in: `["a"]`, strs: []string{"a"}, out: `["a"]`},
		{in: `[2, 128009]`, ids: []int{2, 128009}, out: `[2,128009]`},
		{in: `["###", 2]`, strs: []string{"###"}, ids: []int{2}, out: `["###",2]`},
		{in: `[]`, out: `null`},
		{in: `"<b>&"`, strs: []string{"<b>&"}, out: `"<b>&"`},
		{in: `3.5`, wantErr: true},
		{in: `7`, wantErr: true},
		{in: `{"a":1}`, wantErr: true},
		{in: `[["a"]]`, wantErr: true},
		{in: `[1.5]`, wantErr: true},
		{in: `[1e3]`, wantErr: true},
		{in: `[true]`, wantErr: true},
		{in: `[null]`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `[99999999999999999999]`, wantErr: true},
	}
	for _, c := range cases {
		var s Stop
		err := json.Unmarshal([]byte(c.in), &s)
		if c.wantErr {
			var se *StopError
			if !errors.As(err, &se) {
				t.Errorf("%s: want StopError, got %v", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !sliceEq(s.Strings, c.strs) || !sliceEq(s.TokenIDs, c.ids) {
			t.Errorf("%s: got %q %v", c.in, s.Strings, s.TokenIDs)
		}
		b, _ := marshalNoHTML(s)
		if string(b) != c.out {
			t.Errorf("%s: marshals to %s, want %s", c.in, b, c.out)
		}
	}
}

func TestStopErrorNamesStopInsideParams(t *testing.T) {
	var p SamplingParams
	err := json.Unmarshal([]byte(`{"stop": {"x": 1}}`), &p)
	if err == nil || !containsAll(err.Error(), "stop", "object") {
		t.Fatalf("got %v", err)
	}
}

// FuzzStopJSON: any input either is refused or round-trips — decode, encode, decode
// gives the same stop, and encoding again gives the same bytes.
func FuzzStopJSON(f *testing.F) {
	for _, s := range []string{`null`, `"###"`, `["a","b"]`, `[1,2]`, `["x",2]`, `[]`, `3.5`, `{"a":1}`, `[["a"]]`, `"\u0000\n"`, `[-1]`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Stop
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		b1, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal %q: %v", data, err)
		}
		var s2 Stop
		if err := json.Unmarshal(b1, &s2); err != nil {
			t.Fatalf("re-decode %s (from %q): %v", b1, data, err)
		}
		if !s.Equal(s2) {
			t.Fatalf("round trip changed %q -> %s -> %+v", data, b1, s2)
		}
		b2, _ := json.Marshal(s2)
		if string(b1) != string(b2) {
			t.Fatalf("not stable: %s vs %s", b1, b2)
		}
	})
}

func sliceEq[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
