package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTesting: the server binary carries no test code.
// Conformance suites live in …test packages (blob/blobtest,
// store/storetest), which only tests import.
func TestBinaryLinksNoTesting(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(f[len(f)-1], "testing.") {
			t.Fatalf("the binary links the testing package: %s", line)
		}
	}
}
