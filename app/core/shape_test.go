package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestNoPackageState: core keeps its flow state in its Client. No init()
// registration, and no package-level variable that holds state (maps,
// slices, mutexes, sync.Map): two Clients in one process, as the tests
// run them, never share anything.
func TestNoPackageState(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for name, f := range pkg.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && d.Name.Name == "init" {
						t.Errorf("%s: func init", name)
					}
				case *ast.GenDecl:
					if d.Tok != token.VAR {
						continue
					}
					for _, spec := range d.Specs {
						vs := spec.(*ast.ValueSpec)
						for i, id := range vs.Names {
							if id.Name == "_" {
								continue // compile-time pins
							}
							if stateful(vs.Type) || (i < len(vs.Values) && statefulValue(vs.Values[i])) {
								t.Errorf("%s: package-level %s holds state; keep it in Client", name, id.Name)
							}
						}
					}
				}
			}
		}
	}
}

func stateful(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.MapType, *ast.ArrayType, *ast.ChanType:
		return true
	case *ast.SelectorExpr:
		return e.Sel.Name == "Map" || e.Sel.Name == "Mutex" || e.Sel.Name == "RWMutex"
	}
	return false
}

func statefulValue(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.CompositeLit:
		return stateful(e.Type)
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "make" {
			return true
		}
	}
	return false
}
