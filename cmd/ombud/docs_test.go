package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommandsDocumented: every command has its row in docs/CLI.md's
// table, and every synopsis there names a command, so that the table
// cannot drift from the program (as TestExitCodes keeps its exit codes).
// A row may give several commands (`run close RUN` / `run status RUN`) and
// alternatives in one word (`hold set\|release ID`).
func TestCommandsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CLI.md"))
	if err != nil {
		t.Fatal(err)
	}
	table, _, _ := strings.Cut(string(doc), "\n## ")
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(strings.ReplaceAll(line[2:], `\|`, "\x00"), " | ")
		for _, span := range strings.Split(cell, "` / `") {
			span = strings.Trim(span, "`")
			var found []string
			for _, syn := range expand(span) {
				for _, n := range names {
					if syn == n || strings.HasPrefix(syn, n+" ") {
						found = append(found, n)
					}
				}
			}
			if len(found) == 0 {
				t.Errorf("docs/CLI.md documents `%s`, which names no command", strings.ReplaceAll(span, "\x00", `\|`))
			}
			for _, n := range found {
				documented[n] = true
			}
		}
	}
	for _, n := range names {
		if !documented[n] {
			t.Errorf("command %q has no row in docs/CLI.md", n)
		}
	}
	if len(documented) == 0 || !slices.Contains(names, "contest resolve") {
		t.Fatalf("read %d documented commands of %d", len(documented), len(names))
	}
}

// expand turns a synopsis whose first words hold alternatives ("hold
// set\x00release ID") into one synopsis per alternative.
func expand(syn string) []string {
	words := strings.Fields(syn)
	for i, w := range words[:min(len(words), 3)] {
		if !strings.Contains(w, "\x00") {
			continue
		}
		var out []string
		for _, alt := range strings.Split(w, "\x00") {
			out = append(out, expand(strings.Join(slices.Concat(words[:i], []string{alt}, words[i+1:]), " "))...)
		}
		return out
	}
	return []string{syn}
}
