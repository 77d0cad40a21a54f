package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTesting: the server binary carries no test code.
// Conformance suites live in …test packages (blob/blobtest,
// store/storetest), which only tests import. The package list of the
// build says so without building: no package of the testing tree is
// among ombud's dependencies, so none can be linked.
func TestBinaryLinksNoTesting(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed %d packages; expected ombud's whole tree", len(deps))
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || strings.HasSuffix(p, "test") && strings.HasPrefix(p, "github.com/ombud/ombud/") {
			t.Errorf("the binary links %s", p)
		}
	}
}
