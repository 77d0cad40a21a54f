package api_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/receipt"
)

var updateReceipt = flag.Bool("update-receipt", false, "rewrite receipt/testdata/ from a live in-process log")

// TestReceiptVector: the receipt the API serves for an entry verifies
// offline against the log's key alone, as the receipt package's test
// vector (receipt/testdata) does. With -update-receipt it rewrites that
// vector from this live log.
func TestReceiptVector(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("the vector is of one log's fixed layout, the set-up mode's")
	}
	e := ombudtest.New(t)
	for i := range 5 {
		e.AddPrincipal(t, fmt.Sprint("p", i), ombud.RoleAnalyst)
	}
	e.AwaitSize(t, 6)
	raw := ombudtest.Get(t, e.URL+"/v1/receipts/3")
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(e.Dir.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, en, err := receipt.Verify(r, v)
	if err != nil {
		t.Fatalf("the served receipt does not verify: %v", err)
	}
	if en.Kind != entry.KindPrincipal || cp.Size < 4 || r.Index != 3 {
		t.Fatalf("verified %s at %d in size %d", en.Kind, r.Index, cp.Size)
	}
	if !*updateReceipt {
		return
	}
	dir := filepath.Join("..", "receipt", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"receipt.json": raw, "log.pub": []byte(strings.TrimSpace(e.Dir.VerifierKey) + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
