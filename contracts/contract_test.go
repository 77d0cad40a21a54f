package contracts_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud/contracts"
)

// TestRead: the fixture reads as the registry keeps it (its clauses held
// and lacking, the exception, the two clauses left unexplained); a
// circular chain, a chain that misses the buyer, an exception for a
// clause held, and two contracts in one release are refused, each at its
// field.
func TestRead(t *testing.T) {
	c, err := contracts.Read(marshal(t, fixture(t, "cloud-via-reseller.json")))
	if err != nil {
		t.Fatal(err)
	}
	if c.OCID != "ocds-ombud01-2026-0007" || c.Buyer.ID != "agency-police" || c.Vendor() != "cloudco" || !c.NeedsReview() ||
		!slices.Equal(c.Missing, []string{"downstreamUseLimits", "customerKeyCustody", "humanReviewOfAIOutputs"}) ||
		!slices.Equal(c.Unexplained(), []string{"downstreamUseLimits", "humanReviewOfAIOutputs"}) || len(c.Chain) != 2 || c.Amount != 4800000 {
		t.Fatalf("read: %+v, unexplained %v", c, c.Unexplained())
	}
	contract := func(v map[string]any) map[string]any { return v["contracts"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name, path, says string
		edit             func(v map[string]any)
	}{
		{"a circular chain", "/contracts/0/supplyChain", "circular", func(v map[string]any) {
			contract(v)["supplyChain"] = []any{map[string]any{"from": "cloudco", "to": "reseller-1"}, map[string]any{"from": "reseller-1", "to": "cloudco"}}
		}},
		{"a loop beside the path", "/contracts/0/supplyChain", "circular", func(v map[string]any) {
			contract(v)["supplyChain"] = []any{map[string]any{"from": "cloudco", "to": "agency-police"},
				map[string]any{"from": "reseller-1", "to": "reseller-1"}}
		}},
		{"a chain that misses the buyer", "/contracts/0/supplyChain", "not at the buyer", func(v map[string]any) {
			contract(v)["supplyChain"] = []any{map[string]any{"from": "cloudco", "to": "reseller-1"}}
		}},
		{"a link to no party", "/contracts/0/supplyChain/1/to", "not a party", func(v map[string]any) {
			contract(v)["supplyChain"].([]any)[1].(map[string]any)["to"] = "ghost"
		}},
		{"a chain from a reseller", "/contracts/0/supplyChain/0/from", "not a vendor", func(v map[string]any) {
			contract(v)["supplyChain"] = []any{map[string]any{"from": "reseller-1", "to": "agency-police"}}
		}},
		{"an exception for a clause held", "/contracts/0/safeguardExceptions/0/clause", "holds", func(v map[string]any) {
			contract(v)["safeguardExceptions"].([]any)[0].(map[string]any)["clause"] = "auditRights"
		}},
		{"two contracts", "/contracts", "exactly one", func(v map[string]any) {
			v["contracts"] = append(v["contracts"].([]any), map[string]any{"id": "contract-2", "awardID": "award-1"})
		}},
		{"a buyer who is not one", "/buyer/id", "not a party", func(v map[string]any) { v["buyer"] = map[string]any{"id": "cloudco", "name": "CloudCo"} }},
	} {
		v := fixture(t, "cloud-via-reseller.json")
		tc.edit(v)
		_, err := contracts.Read(marshal(t, v))
		var ie *contracts.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.ContainsFunc(ie.Problems, func(p contracts.Problem) bool { return p.Path == tc.path && strings.Contains(p.Message, tc.says) }) {
			t.Errorf("%s: no problem at %s saying %q: %+v", tc.name, tc.path, tc.says, ie.Problems)
		}
	}
}

// FuzzRead: the reader of a release takes any bytes without panicking,
// and what it accepts has one buyer among its parties and a chain that
// ends at it.
func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile("testdata/cloud-via-reseller.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"ocid":"x","id":"1","date":"2026-01-01T00:00:00Z","tag":["contract"],"initiationType":"tender"}`))
	f.Add([]byte(`{"contracts":[{"supplyChain":[{"from":"a","to":"b"},{"from":"b","to":"a"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := contracts.Read(b)
		if err != nil {
			return
		}
		if c.Buyer.ID == "" || len(c.Chain) > 0 && c.Chain[len(c.Chain)-1].To == "" {
			t.Fatalf("accepted %+v", c)
		}
	})
}

// FuzzCheck: a registration's reader (a release or a package, keys given
// twice, every release read) takes any bytes without panicking; what it
// accepts reads again, each release, as the pages read it, with its
// vendor and its intermediaries in the log's code form.
func FuzzCheck(f *testing.F) {
	if b, err := os.ReadFile("testdata/cloud-via-reseller.json"); err == nil {
		f.Add(b)
	}
	// A small package: the fixture package is large, and each input the
	// fuzzer finds interesting is minimised, at a cost that grows with it.
	f.Add([]byte(`{"uri":"https://x.example/p","publishedDate":"2026-01-01T00:00:00Z","publisher":{"name":"p"},"version":"1.1","releases":[` +
		`{"ocid":"ocds-1","id":"r1","date":"2026-01-01T00:00:00Z","tag":["contract"],"initiationType":"tender","buyer":{"id":"b"},` +
		`"parties":[{"id":"b","roles":["buyer"]},{"id":"v","roles":["vendor"]}],"contracts":[{"id":"c","awardID":"a","productFlags":["ai"],` +
		`"safeguards":{"auditRights":true},"safeguardExceptions":[{"clause":"dataResidency","rationale":"r","approvedBy":"x"}],` +
		`"supplyChain":[{"from":"v","to":"b","contract":"ocds-0"}]}]}]}`))
	f.Add([]byte(`{"releases":[{"ocid":"a","ocid":"b"}]}`))
	f.Add([]byte(`{"releases":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := contracts.Check(b)
		var ie *contracts.InvalidError
		if err != nil {
			if errors.As(err, &ie) && len(ie.Problems) == 0 {
				t.Fatal("refused with no problem named")
			}
			return
		}
		if n < 1 {
			t.Fatalf("accepted %d releases", n)
		}
	})
}

// TestLongChain: a chain longer than the log entry's lists may hold is
// refused at its field, not failed when its entry is built.
func TestLongChain(t *testing.T) {
	v := fixture(t, "cloud-via-reseller.json")
	parties := v["parties"].([]any)
	var chain []any
	from := "cloudco"
	for i := range contracts.MaxChain {
		id := fmt.Sprintf("r%d", i)
		parties = append(parties, map[string]any{"id": id, "name": id, "roles": []any{"reseller"}})
		chain = append(chain, map[string]any{"from": from, "to": id})
		from = id
	}
	chain = append(chain, map[string]any{"from": from, "to": "agency-police"})
	v["parties"] = parties
	v["contracts"].([]any)[0].(map[string]any)["supplyChain"] = chain
	_, err := contracts.Read(marshal(t, v))
	var ie *contracts.InvalidError
	if !errors.As(err, &ie) || ie.Problems[0].Path != "/contracts/0/supplyChain" || !strings.Contains(ie.Problems[0].Message, "at most") {
		t.Fatalf("a chain of %d links: %v", len(chain), err)
	}
}

// TestKeysAndStrings: the registration's reader refuses, each at once and
// in time linear in its input, keys that fold alike (with Unicode's
// folding: the Kelvin sign is a k), a key folding to one OCDS reads, the
// envelope's keys given twice, more values than a release holds, and
// half of a surrogate pair; a whole pair, and an escaped backslash before
// a u, pass.
func TestKeysAndStrings(t *testing.T) {
	b, err := os.ReadFile("testdata/cloud-via-reseller.json")
	if err != nil {
		t.Fatal(err)
	}
	single := string(b)
	for _, tc := range []struct{ name, raw, says string }{
		{"keys folding alike", strings.Replace(single, `"language": "en",`, `"x\u212a": 1, "xk": 2, "language": "en",`, 1), "differ only in case"},
		{"a key folding to OCDS's", strings.Replace(single, `"title": "Cloud`, `"\u017f": 1, "Title": "Cloud`, 1), "only in case"},
		{"the envelope's releases twice", `{"releases":[],"releases":[` + single + `]}`, "given twice"},
		{"too many values", strings.Replace(single, `"language": "en",`, `"x": [`+strings.Repeat("0,", contracts.MaxValues)+`0], "language": "en",`, 1), "more than"},
		{"a lone high surrogate", strings.Replace(single, `CloudCo Inc.`, `CloudCo \ud800 Inc.`, 1), "surrogate"},
		{"a lone low surrogate", strings.Replace(single, `CloudCo Inc.`, `CloudCo \udfff Inc.`, 1), "surrogate"},
	} {
		_, err := contracts.Check([]byte(tc.raw))
		var ie *contracts.InvalidError
		if !errors.As(err, &ie) || !strings.Contains(ie.Problems[0].Message, tc.says) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, ok := range []string{
		strings.Replace(single, `CloudCo Inc.`, `CloudCo \ud83d\ude00 Inc.`, 1),
		strings.Replace(single, `CloudCo Inc.`, `CloudCo \\ud800 Inc.`, 1),
	} {
		if _, err := contracts.Check([]byte(ok)); err != nil {
			t.Errorf("refused: %v", err)
		}
	}
	// Linear: 40,000 distinct keys in one object cost no more than a
	// moment (the pairwise check took seconds).
	var keys strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&keys, `"k%d": 0, `, i)
	}
	start := time.Now()
	contracts.Check([]byte(strings.Replace(single, `"language": "en",`, keys.String()+`"language": "en",`, 1)))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("40,000 keys took %v", d)
	}
}
