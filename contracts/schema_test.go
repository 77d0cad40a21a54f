package contracts_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ombud/ombud/contracts"
)

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValidateRelease: the article's pathway (a cloud provider's storage
// and compute bought by an agency through a reseller, flagged cloud and
// AI) is a valid release with the extension; each kind of bad input is
// refused with a problem at its field.
func TestValidateRelease(t *testing.T) {
	good := fixture(t, "cloud-via-reseller.json")
	if err := contracts.ValidateRelease(marshal(t, good)); err != nil {
		t.Fatalf("the fixture: %v", err)
	}
	contract := func(v map[string]any) map[string]any { return v["contracts"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name, path, says string
		edit             func(v map[string]any)
	}{
		{"no ocid", "/", "ocid", func(v map[string]any) { delete(v, "ocid") }},
		{"an unknown role", "/parties/1/roles/0", "unknown role", func(v map[string]any) {
			v["parties"].([]any)[1].(map[string]any)["roles"] = []any{"middleman"}
		}},
		{"an unknown product flag", "/contracts/0/productFlags/1", "", func(v map[string]any) { contract(v)["productFlags"] = []any{"cloud", "quantum"} }},
		{"an unknown clause", "/contracts/0/safeguards", "", func(v map[string]any) { contract(v)["safeguards"].(map[string]any)["escrow"] = true }},
		{"an exception without its rationale", "/contracts/0/safeguardExceptions/0", "rationale", func(v map[string]any) {
			delete(contract(v)["safeguardExceptions"].([]any)[0].(map[string]any), "rationale")
		}},
		{"a supply link without its end", "/contracts/0/supplyChain/1", "to", func(v map[string]any) {
			delete(contract(v)["supplyChain"].([]any)[1].(map[string]any), "to")
		}},
		{"a date that is not one", "/date", "", func(v map[string]any) { v["date"] = "yesterday" }},
	} {
		v := fixture(t, "cloud-via-reseller.json")
		tc.edit(v)
		err := contracts.ValidateRelease(marshal(t, v))
		var ie *contracts.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		found := false
		for _, p := range ie.Problems {
			if p.Path == tc.path && strings.Contains(p.Message, tc.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no problem at %s saying %q: %+v", tc.name, tc.path, tc.says, ie.Problems)
		}
	}
	if err := contracts.ValidateRelease([]byte("{not json")); err == nil {
		t.Error("not JSON passes")
	}
}

// TestValidatePackage: a release package of the fixture passes the
// published OCDS 1.1 release package schema alone, and with the
// extension; one without its publisher does not.
func TestValidatePackage(t *testing.T) {
	pkg := map[string]any{
		"uri": "https://ombud.example/contracts/export.json", "version": "1.1", "publishedDate": "2026-12-05T00:00:00Z",
		"publisher": map[string]any{"name": "ombud.example"},
		"releases":  []any{fixture(t, "cloud-via-reseller.json")},
	}
	for _, plain := range []bool{true, false} {
		if err := contracts.ValidatePackage(marshal(t, pkg), plain); err != nil {
			t.Fatalf("plain %v: %v", plain, err)
		}
	}
	delete(pkg, "publisher")
	if err := contracts.ValidatePackage(marshal(t, pkg), true); err == nil {
		t.Fatal("a package without its publisher passes")
	}
}
