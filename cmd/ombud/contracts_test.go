package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud/contracts"
)

// TestClusterContracts: two gateways on one store and one log keep one
// registry. The fixture package is imported through the first with
// ombud contracts add; the same new contract sent to both at once is
// registered once, the other refused as a duplicate ocid; an amendment
// through the second is listed and exported by the first, whose export
// validates against the published OCDS 1.1 package schema.
func TestClusterContracts(t *testing.T) {
	c, _ := twoGateways(t)
	env := func(i int) map[string]string {
		return map[string]string{"OMBUD_SERVER": c.gateways[i].url, "OMBUD_TOKEN": c.admin}
	}
	pkg := filepath.Join("..", "..", "contracts", "testdata", "registry-package.json")
	if code, o, e := run(t, env(0), "contracts", "add", pkg); code != 0 || !strings.Contains(o, "Imported 6 contract(s) at once") {
		t.Fatalf("contracts add: %d\n%s%s", code, o, e)
	}
	single, err := os.ReadFile(filepath.Join("..", "..", "contracts", "testdata", "cloud-via-reseller.json"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.json")
	if err := os.WriteFile(fresh, []byte(strings.ReplaceAll(string(single), "ocds-ombud01-2026-0007", "ocds-ombud01-2026-0200")), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes, errs := make([]int, 2), make([]string, 2)
	for i := range codes {
		wg.Go(func() { codes[i], _, errs[i] = run(t, env(i), "contracts", "add", fresh) })
	}
	wg.Wait()
	if (codes[0] == 0) == (codes[1] == 0) || !strings.Contains(errs[0]+errs[1], "duplicate_ocid") {
		t.Fatalf("one contract sent to both gateways at once: %v\n%s", codes, errs)
	}
	amend := filepath.Join(t.TempDir(), "amend.json")
	s := strings.Replace(string(single), `"id": "ocds-ombud01-2026-0007-award-1"`, `"id": "ocds-ombud01-2026-0007-amendment-1"`, 1)
	s = strings.Replace(s, `"date": "2026-03-02T00:00:00Z"`, `"date": "2026-04-10T00:00:00Z"`, 1)
	s = strings.Replace(s, `"safeguardExceptions": [`, `"safeguardExceptions": [{"clause": "humanReviewOfAIOutputs", "rationale": "Translation only, read by an officer.", "approvedBy": "Ethics board"},`, 1)
	if err := os.WriteFile(amend, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, o, e := run(t, env(1), "contracts", "amend", "ocds-ombud01-2026-0007", amend); code != 0 || !strings.Contains(o, "Recorded release 2 of ocds-ombud01-2026-0007") {
		t.Fatalf("contracts amend on the second gateway: %d\n%s%s", code, o, e)
	}
	code, o, e := run(t, env(0), "contracts", "list")
	if code != 0 || !strings.Contains(o, "ocds-ombud01-2026-0200") {
		t.Fatalf("contracts list on the first gateway: %d\n%s%s", code, o, e)
	}
	for _, line := range strings.Split(o, "\n") {
		if strings.HasPrefix(line, "ocds-ombud01-2026-0007 ") && (strings.Contains(line, "humanReviewOfAIOutputs") || !strings.Contains(line, "downstreamUseLimits")) {
			t.Fatalf("the amended contract, listed by the first gateway: %s", line)
		}
	}
	resp, err := http.Get(c.gateways[0].url + "/contracts/export.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var exp struct{ Releases []json.RawMessage }
	if err := json.Unmarshal(raw, &exp); err != nil || len(exp.Releases) != 8 {
		t.Fatalf("the export: %d releases, %v", len(exp.Releases), err)
	}
	if err := contracts.ValidatePackage(raw, true); err != nil {
		t.Fatalf("the export is not a valid OCDS 1.1 release package: %v", err)
	}
}
