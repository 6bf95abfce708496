package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The packages' never-rules, checked on what each really imports: go list
// -deps names every package a build needs, directly or not (tests left out).
func TestImportRules(t *testing.T) {
	t.Parallel()
	const mod = "github.com/twinkle-sh/twinkle"
	under := func(d, p string) bool { return d == p || strings.HasPrefix(d, p+"/") }
	rules := []struct {
		pkgs   string
		forbid func(dep string) bool
		rule   string
	}{
		{"./params", func(d string) bool { return under(d, mod) && !under(d, mod+"/params") },
			"params imports nothing of the project"},
		{"./backend/...", func(d string) bool {
			return under(d, mod+"/ui") || under(d, mod+"/themes") || under(d, mod+"/store") ||
				under(d, "charm.land/bubbletea/v2") || under(d, "charm.land/lipgloss/v2") ||
				under(d, "github.com/charmbracelet/bubbletea") || under(d, "github.com/charmbracelet/lipgloss")
		}, "backend never imports ui, themes, bubbletea or lipgloss"},
		{"./themes", func(d string) bool { return under(d, mod+"/ui") || under(d, mod+"/backend") },
			"themes imports neither ui nor backend"},
		{"./store", func(d string) bool { return under(d, mod+"/ui") || under(d, mod+"/backend") || under(d, mod+"/themes") },
			"store imports neither ui nor backend (nor themes)"},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", r.pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", r.pkgs, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 2 {
			t.Fatalf("go list %s listed %q", r.pkgs, deps)
		}
		for _, d := range deps {
			if r.forbid(d) {
				t.Errorf("%s: %s needs %s", r.rule, r.pkgs, d)
			}
		}
	}
}
