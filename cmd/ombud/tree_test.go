package main

import (
	"fmt"
	"os"
	"testing"
)

// runAsOmbud, set in a child's environment, makes the test binary run
// main with its arguments instead of the tests: the tests' children (a
// server to kill, the README's tour) run this binary as ombud.
const runAsOmbud = "OMBUD_TEST_RUN_AS_OMBUD"

// TestMain fails the package's tests if any of them left a file in the
// source tree: every test must write only into its own temporary
// directory.
func TestMain(m *testing.M) {
	if os.Getenv(runAsOmbud) == "1" {
		main()
		return
	}
	// Inherited by every child, through the shell of the tour too.
	os.Setenv(runAsOmbud, "1")
	before := listDir(".")
	code := m.Run()
	for name := range listDir(".") {
		if !before[name] {
			fmt.Fprintf(os.Stderr, "a test wrote %q into the source tree; tests must write only into t.TempDir()\n", name)
			os.Remove(name)
			code = 1
		}
	}
	os.Exit(code)
}

func listDir(dir string) map[string]bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		panic(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}
