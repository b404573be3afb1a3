package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestNoLiteralUIStrings keeps every word on screen in app/i18n: a string
// literal with letters in a screen file is a string someone forgot to
// translate. Preference keys (prefs.go), the help-desk diagnostics
// (diag.go, English on purpose), network code (cert.go), the installer preset
// (preset.go), the font resource's name (theme.go) and log calls are
// the exceptions.
func TestNoLiteralUIStrings(t *testing.T) {
	allowFiles := map[string]bool{"prefs.go": true, "diag.go": true, "cert.go": true, "preset.go": true, "theme.go": true}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || allowFiles[f] {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec, *ast.Field: // import paths, struct tags
				return false
			case *ast.CallExpr: // log messages and sentinel errors are for IT, in English
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.SelectorExpr); ok && x.Sel.Name == "log" {
						return false
					}
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "errors" && sel.Sel.Name == "New" {
						return false
					}
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(n.Value)
				if hasLetter(s) {
					t.Errorf("%s: literal %s on a screen; add it to app/i18n", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
	}
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// TestEveryKeyIsUsed keeps the tables free of strings no screen shows any
// more (translators should not maintain dead text).
func TestEveryKeyIsUsed(t *testing.T) {
	keysSrc, err := os.ReadFile(filepath.Join("..", "i18n", "keys.go"))
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder
	for _, glob := range []string{"*.go", filepath.Join("..", "tray", "*.go")} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			code.Write(b)
		}
	}
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", keysSrc, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if !regexp.MustCompile(`\bi18n\.` + n.Name + `\b`).MatchString(code.String()) {
					t.Errorf("i18n.%s is not used by any screen or the tray", n.Name)
				}
			}
		}
	}
}
