package ombud_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestDependenciesJustified: every module go.mod requires directly has its
// row in docs/DEPENDENCIES.md, and every row names such a module.
func TestDependenciesJustified(t *testing.T) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct := map[string]bool{}
	for _, r := range f.Require {
		if !r.Indirect {
			direct[r.Mod.Path] = true
		}
	}
	doc, err := os.ReadFile("docs/DEPENDENCIES.md")
	if err != nil {
		t.Fatal(err)
	}
	// The modules' table comes first; the tools CI runs, in a section of
	// their own, are not go.mod's.
	modules, _, _ := strings.Cut(string(doc), "\n## ")
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(modules, -1) {
		rows[m[1]] = true
	}
	for m := range direct {
		if !rows[m] {
			t.Errorf("go.mod requires %s directly, and docs/DEPENDENCIES.md has no row for it: say what it is for, its licence and why it was chosen", m)
		}
	}
	for m := range rows {
		if !direct[m] && !strings.Contains(m, " ") {
			t.Errorf("docs/DEPENDENCIES.md has a row for %s, which go.mod does not require directly", m)
		}
	}
	if len(direct) == 0 || len(rows) == 0 {
		t.Fatalf("found %d direct requirements and %d rows", len(direct), len(rows))
	}
}
