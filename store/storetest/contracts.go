package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// testContract is release n of a contract ocid, from a vendor through a
// reseller to an agency, linked to the upstream contracts up.
func testContract(ocid string, n int, now time.Time, up ...string) *ombud.Contract {
	body := fmt.Sprintf(`{"ocid":%q,"id":"%s-%d"}`, ocid, ocid, n)
	sum := sha256.Sum256([]byte(body))
	return &ombud.Contract{OCID: ocid, N: n, ReleaseID: fmt.Sprintf("%s-%d", ocid, n), Release: []byte(body), SHA256: fmt.Sprintf("sha256:%x", sum),
		Title: "Cloud storage", Buyer: "agency", Vendor: "cloudco", Intermediaries: []string{"reseller-1"}, Flags: []string{"cloud", "ai"},
		Missing: []string{"auditRights", "humanReviewOfAIOutputs"}, Unexplained: []string{"humanReviewOfAIOutputs"}, Upstream: up,
		Amount: 1000, Currency: "EUR", Registered: now}
}

// importOf is an import of cs, as change id.
func importOf(t *testing.T, id string, cs ...*ombud.Contract) *journal.Change {
	p := journal.ContractImportPayload{ID: id, Contracts: cs}
	for _, c := range cs {
		sum := sha256.Sum256([]byte(c.OCID))
		p.Leaves = append(p.Leaves, sum[:])
	}
	return change(t, journal.ContractImport, id, p)
}

// TestContracts: an import registers all its contracts at once, with
// their entries; a pending import is not read; an ocid is registered
// once, even by two imports at once; chains that loop across contracts
// are refused; an amendment becomes the contract's latest release; an
// undone import leaves its ocids free.
func TestContracts(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b := testContract("ocds-a", 1, now), testContract("ocds-b", 1, now, "ocds-a")
	imp := importOf(t, "import-1", a, b)
	if err := s.Reserve(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.Contracts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("a pending import is read: %d, %v", len(cs), err)
	}
	if err := s.Reserve(ctx, importOf(t, "import-2", testContract("ocds-b", 1, now))); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a pending ocid imported again: %v, want ErrExists", err)
	}
	var p journal.ContractImportPayload
	_, pp, err := journal.ContractImport.Decode(imp)
	if err != nil {
		t.Fatal(err)
	}
	p = *pp
	p.Indices = []uint64{7, 8}
	imp.Payload = mustJSON(t, p)
	if err := s.Commit(ctx, imp, 9); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Contracts(ctx)
	if err != nil || len(cs) != 2 {
		t.Fatalf("Contracts: %d, %v", len(cs), err)
	}
	got := cs[1]
	if got.OCID != "ocds-b" || got.Index != 8 || got.Import != 9 || string(got.Release) != string(b.Release) || got.SHA256 != b.SHA256 ||
		!slices.Equal(got.Upstream, []string{"ocds-a"}) || !slices.Equal(got.Unexplained, b.Unexplained) || !slices.Equal(got.Intermediaries, b.Intermediaries) ||
		got.Amount != 1000 || got.Currency != "EUR" || !got.Registered.Equal(now) || got.Title != b.Title || got.Vendor != "cloudco" || got.Buyer != "agency" {
		t.Fatalf("read back: %+v", got)
	}
	if err := s.Reserve(ctx, importOf(t, "import-3", testContract("ocds-a", 1, now))); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a registered ocid imported again: %v, want ErrExists", err)
	}

	// Two imports of one ocid at once, under different targets: the
	// store takes one.
	for round := range 4 {
		ocid := fmt.Sprintf("ocds-race-%d", round)
		var errs [2]error
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				c := importOf(t, fmt.Sprintf("race-%d-%d", round, i), testContract(ocid, 1, now))
				if errs[i] = s.Reserve(ctx, c); errs[i] == nil {
					errs[i] = s.Commit(ctx, c, uint64(100+round))
				}
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs[:]...), ombud.ErrExists) {
			t.Fatalf("two imports of %s at once: %v and %v, want one refused with ErrExists", ocid, errs[0], errs[1])
		}
	}

	// A loop across contracts: c names d upstream, then d names c.
	apply(t, s, importOf(t, "import-c", testContract("ocds-c", 1, now, "ocds-d")), 20)
	err = s.Reserve(ctx, importOf(t, "import-d", testContract("ocds-d", 1, now, "ocds-c")))
	var oe *ombud.Error
	if !errors.As(err, &oe) || oe.Reason != "circular_chain" {
		t.Fatalf("a loop across contracts: %v, want circular_chain", err)
	}
	if _, err := s.ContractReleases(ctx, "ocds-d"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("the refused import left ocds-d: %v", err)
	}
	// … and within one import.
	err = s.Reserve(ctx, importOf(t, "import-ef", testContract("ocds-e", 1, now, "ocds-f"), testContract("ocds-f", 1, now, "ocds-e")))
	if !errors.As(err, &oe) || oe.Reason != "circular_chain" {
		t.Fatalf("a loop within an import: %v, want circular_chain", err)
	}

	// An amendment: the latest release is read, every release is kept.
	a2 := testContract("ocds-a", 2, now.Add(time.Second))
	a2.Unexplained = nil
	apply(t, s, change(t, journal.ContractAmend, "ocds-a", journal.ContractAmendPayload{Contract: a2}), 30)
	cs, err = s.Contracts(ctx)
	if err != nil || cs[0].OCID != "ocds-a" || cs[0].N != 2 || cs[0].Index != 30 || len(cs[0].Unexplained) != 0 {
		t.Fatalf("after the amendment: %+v, %v", cs[0], err)
	}
	rs, err := s.ContractReleases(ctx, "ocds-a")
	if err != nil || len(rs) != 2 || rs[0].N != 1 || rs[1].N != 2 {
		t.Fatalf("releases of ocds-a: %d, %v", len(rs), err)
	}
	all, err := s.ContractReleases(ctx, "")
	if err != nil || len(all) != 2+1+4+1 {
		t.Fatalf("every release: %d, %v", len(all), err)
	}
	for _, tc := range []struct {
		name string
		c    *ombud.Contract
		want error
	}{
		{"an amendment of no contract", testContract("ocds-none", 2, now), ombud.ErrNotFound},
		{"an amendment built on an old release", testContract("ocds-a", 2, now), ombud.ErrStale},
	} {
		if err := s.Reserve(ctx, change(t, journal.ContractAmend, tc.c.OCID, journal.ContractAmendPayload{Contract: tc.c})); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	dup := testContract("ocds-a", 3, now)
	dup.ReleaseID = "ocds-a-2"
	if err := s.Reserve(ctx, change(t, journal.ContractAmend, "ocds-a", journal.ContractAmendPayload{Contract: dup})); !errors.Is(err, ombud.ErrExists) {
		t.Errorf("an amendment with a release id of its contract: %v, want ErrExists", err)
	}

	// A pending amendment that drops a link hides nothing: the committed
	// release's link counts until the amendment is, so that an undone
	// amendment cannot leave a loop behind.
	apply(t, s, importOf(t, "import-h", testContract("ocds-h", 1, now, "ocds-i")), 50)
	drop := change(t, journal.ContractAmend, "ocds-h", journal.ContractAmendPayload{Contract: testContract("ocds-h", 2, now)})
	if err := s.Reserve(ctx, drop); err != nil {
		t.Fatal(err)
	}
	err = s.Reserve(ctx, importOf(t, "import-i", testContract("ocds-i", 1, now, "ocds-h")))
	if !errors.As(err, &oe) || oe.Reason != "circular_chain" {
		t.Fatalf("a loop through a contract whose amendment is pending: %v, want circular_chain", err)
	}
	if err := s.Undo(ctx, drop); err != nil {
		t.Fatal(err)
	}
	// A loop elsewhere is no concern of an unrelated import.
	apply(t, s, importOf(t, "import-j", testContract("ocds-j", 1, now)), 51)

	// An undone import leaves its ocids free.
	g := importOf(t, "import-g", testContract("ocds-g", 1, now))
	if err := s.Reserve(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.Undo(ctx, g); err != nil {
		t.Fatal(err)
	}
	apply(t, s, importOf(t, "import-g2", testContract("ocds-g", 1, now)), 40)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
