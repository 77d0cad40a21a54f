package publish_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/report"
)

func TestCSVCellsAreNotFormulas(t *testing.T) {
	r := &report.Report{Authorizations: []report.AuthRow{{Kind: "court_order", Issuer: "=2-1", Outcome: "registered"}}}
	if b := string(publish.CSV(r, report.Capabilities{})); !strings.Contains(b, ",'=2-1,") {
		t.Fatalf("a formula-like key is not quoted:\n%s", b)
	}
}

// TestCSVSaysNotOffered: a section of a capability the deployment lacks
// is one "not offered" row, never a zero count; a deployment that offers
// it gets its counts; rows the log holds anyway are kept.
func TestCSVSaysNotOffered(t *testing.T) {
	r := report.Compute(report.Options{Origin: "o", Period: report.Period{Name: "2026-11"}}, func(func([]byte) bool) {})
	sections := map[string]func(*report.Capabilities){
		"exports":                   func(c *report.Capabilities) { c.Sharing = true },
		"tips":                      func(c *report.Capabilities) { c.Tips = true },
		"contracts":                 func(c *report.Capabilities) { c.Contracts = true },
		"contracts_missing_clauses": func(c *report.Capabilities) { c.Contracts = true },
	}
	rowOf := func(caps report.Capabilities, r *report.Report, section string) []string {
		rows, err := csv.NewReader(strings.NewReader(string(publish.CSV(r, caps)))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row[0] == section {
				return row
			}
		}
		return nil
	}
	for section, offer := range sections {
		if row := rowOf(report.Capabilities{}, r, section); row == nil || row[4] != publish.NotOffered {
			t.Errorf("%s, not offered: row %q", section, row)
		}
		var caps report.Capabilities
		offer(&caps)
		if row := rowOf(caps, r, section); row != nil && row[4] == publish.NotOffered {
			t.Errorf("%s, offered: row %q", section, row)
		}
	}
	if row := rowOf(report.Capabilities{Sharing: true, Tips: true, Contracts: true}, r, "tips"); row == nil || row[4] != "0" {
		t.Errorf("tips offered: row %q", row)
	}
	// Entries of the kind in the log are counted even when not offered.
	r.Tips = report.Count{N: 12, Band: 9}
	if row := rowOf(report.Capabilities{}, r, "tips"); row == nil || row[4] != "12" {
		t.Errorf("tips in the log, not offered: row %q", row)
	}
}
