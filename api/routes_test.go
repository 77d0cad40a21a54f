package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRoutesDocumented: every route the API serves has its row in
// docs/API.md, and every row of the API's paths is a route, so that the
// table cannot drift from the code (as TestExitCodes keeps docs/CLI.md's
// exit codes). The routes are read from the calls that register them, in
// every non-test file of the package; a pattern that is not a literal
// fails the test rather than go unchecked. HEAD routes exist only to
// refuse HEAD on a GET that logs a decision: the GET's row says so.
func TestRoutesDocumented(t *testing.T) {
	t.Parallel()
	routes := servedRoutes(t)
	if len(routes) == 0 {
		t.Fatal("found no route registrations")
	}
	rows := documentedRoutes(t)
	if len(rows) == 0 {
		t.Fatal("docs/API.md: found no endpoint rows")
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		if method == "HEAD" {
			if row, ok := rows["GET "+path]; !ok || !strings.Contains(row, "`HEAD`") {
				t.Errorf("route %s: docs/API.md's row for GET %s does not say what HEAD does", r, path)
			}
			continue
		}
		if _, ok := rows[r]; !ok {
			t.Errorf("route %s has no row in docs/API.md", r)
		}
	}
	for r := range rows {
		method, path, _ := strings.Cut(r, " ")
		if !isAPIPath(path) {
			continue // the site's (package web)
		}
		if method == "" || !slices.Contains(routes, r) {
			t.Errorf("docs/API.md documents %q, which the API does not serve", r)
		}
	}
}

// servedRoutes returns the patterns "METHOD /path" registered with
// Handle or HandleFunc in the package's non-test files, but for the
// catch-all "/" that answers unknown paths.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// Handle(pattern, h) and HandleFunc(pattern, h); the
			// privileged operations' routes are privilegedRoutes'.
			var arg ast.Expr
			switch {
			case (sel.Sel.Name == "Handle" || sel.Sel.Name == "HandleFunc") && len(call.Args) == 2:
				arg = call.Args[0]
			default:
				return true
			}
			if id, ok := arg.(*ast.Ident); ok && id.Name == "pattern" && sel.Sel.Name == "Handle" {
				return true // privileged's own registration of its route
			}
			lit, ok := arg.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route whose pattern is not a literal; this test cannot check its row", fset.Position(call.Pos()))
				return true
			}
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			if p != "/" {
				routes = append(routes, p)
			}
			return true
		})
	}
	for _, p := range privilegedRoutes {
		routes = append(routes, p)
	}
	return routes
}

// documentedRoutes reads the endpoint table of docs/API.md: for every
// "METHOD /path" its first cell names, the whole row. A cell may name
// several paths after one method (`GET /log/checkpoint`, `/log/key`) and
// a method alone before the next (`GET`, `POST /contest`); a path's query
// (?from=…) and a trailing "…" (a prefix) are dropped.
func documentedRoutes(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "API.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## Endpoints\n")
	if !ok {
		t.Fatal("docs/API.md has no Endpoints section")
	}
	table, _, _ = strings.Cut(table, "\n#")
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| method") {
			continue
		}
		var methods, pending []string
		for _, span := range codeSpans(firstCell(line)) {
			word, rest, _ := strings.Cut(span, " ")
			switch {
			case isMethod(word) && rest == "":
				pending = append(pending, word)
				continue
			case isMethod(word) && strings.HasPrefix(rest, "/"):
				methods = append(pending, word)
				pending = nil
				span = rest
			case !strings.HasPrefix(span, "/"):
				continue // a body, a header
			}
			path, _, _ := strings.Cut(span, "?")
			path = strings.TrimSuffix(path, "…")
			if len(methods) == 0 {
				rows[" "+path] = line
			}
			for _, m := range methods {
				rows[m+" "+path] = line
			}
		}
	}
	return rows
}

// firstCell is the first cell of a table row, where "\|" is a pipe inside
// the cell.
func firstCell(line string) string {
	line = strings.TrimPrefix(line, "| ")
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			return line[:i]
		}
	}
	return line
}

// codeSpans returns the text between pairs of backticks, in order.
func codeSpans(s string) []string {
	var spans []string
	for {
		_, after, ok := strings.Cut(s, "`")
		if !ok {
			return spans
		}
		span, rest, ok := strings.Cut(after, "`")
		if !ok {
			return spans
		}
		spans = append(spans, span)
		s = rest
	}
}

func isMethod(s string) bool {
	switch s {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}
