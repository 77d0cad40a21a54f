package reason

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestEveryReasonDocumented reads this package's constants, the one table
// of reasons, and requires each to be unique and named in the docs, in
// backquotes, where the API or the authorization format says when it is
// given.
func TestEveryReasonDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "reason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var docs []byte
	paths, _ := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b...)
	}
	seen := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			code, err := strconv.Unquote(v.Values[0].(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			name := v.Names[0].Name
			if other, dup := seen[code]; dup {
				t.Errorf("%s and %s are both %q", other, name, code)
			}
			seen[code] = name
			if !regexp.MustCompile("`" + regexp.QuoteMeta(code) + "`").Match(docs) {
				t.Errorf("%s (%q) is named nowhere in docs/", name, code)
			}
		}
	}
	if len(seen) < 40 {
		t.Fatalf("read %d reasons; the parse missed some", len(seen))
	}
}
