package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// One style layer: the theme builds every style the playground draws with.
// No file of ui (or of its packages) makes a style or a colour of its own.
func TestUIBuildsNoStyles(t *testing.T) {
	t.Parallel()
	banned := map[string]bool{
		"lipgloss.NewStyle": true, "lipgloss.Color": true, "lipgloss.LightDark": true,
		"textarea.DefaultStyles": true, "textinput.DefaultStyles": true,
		"textinput.DefaultDarkStyles": true, "textinput.DefaultLightStyles": true,
		"textarea.DefaultDarkStyles": true, "textarea.DefaultLightStyles": true,
	}
	files, _ := filepath.Glob("*.go")
	more, _ := filepath.Glob("*/*.go")
	files = append(files, more...)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "testdata") {
			continue
		}
		fs := token.NewFileSet()
		file, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && banned[x.Name+"."+sel.Sel.Name] {
				t.Errorf("%s: %s.%s: styles come from themes.NewStyles", fs.Position(sel.Pos()), x.Name, sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d files", checked)
	}
}
