package themes

import "testing"

func TestBuiltinsValidate(t *testing.T) {
	for _, name := range BuiltinNames() {
		for _, dark := range []bool{true, false} {
			p, ok := Builtin(name, dark)
			if !ok {
				t.Fatalf("Builtin(%q) missing", name)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("%s dark=%v: %v", name, dark, err)
			}
			s := NewStyles(p, dark)
			if got := s.Heat.Scale[0].Render("x"); got == "x" {
				t.Errorf("%s: heat bucket 0 has no colour: %q", name, got)
			}
		}
	}
	if _, ok := Builtin("nope", true); ok {
		t.Error("unknown name accepted")
	}
}
