package web

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud/contracts"
)

// TestPathwayDiagram: the diagram draws each party once, in its column,
// each step with its contracts and totals, names escaped, and says the
// same in its description for screen readers.
func TestPathwayDiagram(t *testing.T) {
	b, err := os.ReadFile("../contracts/testdata/cloud-via-reseller.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contracts.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	direct := *c
	direct.OCID, direct.Amount = "ocds-ombud01-2026-0009", 1000
	direct.Chain = []contracts.Link{{From: "cloudco", To: "agency-police"}}
	direct.Parties = append([]contracts.Party(nil), c.Parties...)
	direct.Parties[2].Name = `CloudCo <script>alert(1)</script>`
	svg := string(PathwayDiagram("paths", []*contracts.Contract{c, &direct}))
	for _, want := range []string{`role="img"`, "Vendors, manufacturers", "Resellers, integrators", "Agencies",
		">EUR 4,800,000<", ">EUR 1,000<", "Public Sector Cloud Re", "Metropolitan police a",
		"to Public Sector Cloud Resellers Ltd: 1 contract"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the diagram does not show %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") {
		t.Fatal("a party's name is not escaped")
	}
	// The second contract names its vendor otherwise: a party of its
	// own, not a renaming of the first contract's.
	if n := strings.Count(svg, "<rect"); n != 4 || !strings.Contains(svg, ">CloudCo Inc.<") {
		t.Fatalf("%d parties drawn, want 4 (the vendor named two ways is two)", n)
	}
	if got := string(PathwayDiagram("none", nil)); !strings.Contains(got, "No contract") {
		t.Fatalf("no contracts: %s", got)
	}
	if money(-1100) != "-1,100" || money(math.Inf(1)) != "not a number" {
		t.Errorf("money: %q %q", money(-1100), money(math.Inf(1)))
	}
	if money(1234567) != "1,234,567" || money(12) != "12" {
		t.Fatal(money(1234567))
	}
}

// TestRegistrySlots: the reads of the whole registry are bounded; one
// that finds every slot taken for its wait is answered busy, and a slot
// given back is taken again.
func TestRegistrySlots(t *testing.T) {
	s := &Site{registryReads: make(chan struct{}, registryReadSlots), registryWait: 20 * time.Millisecond}
	var releases []func()
	for range registryReadSlots {
		r, err := s.registrySlot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, err := s.registrySlot(t.Context()); !errors.Is(err, errBusy) {
		t.Fatalf("a read beyond the slots: %v, want busy", err)
	}
	releases[0]()
	if _, err := s.registrySlot(t.Context()); err != nil {
		t.Fatalf("a slot given back: %v", err)
	}
}
