package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// Every declared Key must have a Japanese string; otherwise the screen shows
// the raw key.
func TestEveryKeyIsTranslated(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		key, _ := strconv.Unquote(lit.Value)
		n++
		if _, ok := ja[Key(key)]; !ok {
			t.Errorf("key %s (%q) has no Japanese string", vs.Names[0].Name, key)
		}
		return true
	})
	if n < 50 || n != len(ja) {
		t.Errorf("keys.go declares %d keys, ja has %d", n, len(ja))
	}
}
