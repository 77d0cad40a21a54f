package journal_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ombud/ombud/journal"
)

// TestEveryOperationIsListed: every operation the package declares (a
// package-level journal.Operation value) is in journal.Operations, so that
// the stores' tests walk it. Each file lists its own operations; one
// declared and not listed would escape every test of the operation table.
func TestEveryOperationIsListed(t *testing.T) {
	listed := map[journal.Op]bool{}
	for _, o := range journal.Operations {
		if listed[o.Name()] {
			t.Errorf("%s is listed twice", o.Name())
		}
		listed[o.Name()] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, v := range vs.Values {
					lit, ok := v.(*ast.CompositeLit)
					if !ok {
						continue
					}
					ix, ok := lit.Type.(*ast.IndexExpr)
					if !ok {
						continue
					}
					if id, ok := ix.X.(*ast.Ident); !ok || id.Name != "Operation" {
						continue
					}
					declared++
					op := opField(lit)
					if op == "" {
						t.Errorf("%s: %s has no Op", fset.Position(v.Pos()), vs.Names[i].Name)
					} else if !listed[journal.Op(op)] {
						t.Errorf("%s: %s (%s) is not in journal.Operations: add it to its file's list", fset.Position(v.Pos()), vs.Names[i].Name, op)
					}
				}
			}
		}
	}
	if declared != len(journal.Operations) {
		t.Errorf("%d operations declared, %d listed", declared, len(journal.Operations))
	}
}

// opField returns the string literal of a composite literal's Op field.
func opField(lit *ast.CompositeLit) string {
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Op" {
			if b, ok := kv.Value.(*ast.BasicLit); ok && b.Kind == token.STRING {
				return strings.Trim(b.Value, `"`)
			}
		}
	}
	return ""
}
