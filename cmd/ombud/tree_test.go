package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the package's tests if any of them left a file in the
// source tree: every test must write only into its own temporary
// directory.
func TestMain(m *testing.M) {
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
