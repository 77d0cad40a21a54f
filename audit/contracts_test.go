package audit_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestContractRules: from the public log alone, the auditor reports a run
// of a system whose contract lacks, with no recorded exception, a clause
// the system's task needs (and not once an amendment records the
// exception, nor for a product that is neither AI nor biometric, nor for
// a contract whose import never closed), and an import whose closing
// entry does not close the register entries before it.
func TestContractRules(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	reg := func(ocid, imp string, flags, unexplained []string) journal.Record {
		return journal.Record{Body: entry.Contract{Op: entry.OpRegister, OCID: ocid, Release: "sha256:" + strings.Repeat("a", 64), Buyer: "agency", Vendor: "v",
			ProductFlags: flags, MissingClauses: unexplained, Unexplained: unexplained, Import: imp, By: e.AdminID}}
	}
	closing := func(imp string, n int64) journal.Record {
		return journal.Record{Body: entry.Contract{Op: entry.OpImport, Count: n, Import: imp, By: e.AdminID}}
	}
	system := func(id, task, contract string) {
		write(t, e, journal.Record{Body: entry.Analytic{Op: entry.OpRegister, Name: id, Vendor: "v", Task: task, Classes: []string{"general"},
			Model: "m", ModelVersion: "1", Threshold: 0.5, Contract: contract, System: id, By: e.AdminID}})
	}
	run := func(id, system string) {
		write(t, e, journal.Record{Body: entry.Run{Op: entry.OpStart, Decision: entry.Permit, ModelVersion: "1", Purpose: "p", Classes: []string{"general"},
			Objects: 1, Until: "2099-01-01T00:00:00Z", Run: id, System: system, By: e.AdminID}})
	}
	// The cloud contract lacks human review with no exception; the data
	// broker's lacks data residency, which its task does not need.
	write(t, e, reg("ocds-a", "imp-1", []string{"cloud", "ai"}, []string{"humanReviewOfAIOutputs"}))
	write(t, e, reg("ocds-b", "imp-1", []string{"data_brokerage"}, []string{"dataResidency"}))
	write(t, e, closing("imp-1", 2))
	system("sys-a", "translation", "ocds-a")
	system("sys-b", "transcription", "ocds-b")
	run("run-a1", "sys-a") // reported
	run("run-b1", "sys-b")
	// An import cut short: its contract was never registered.
	write(t, e, reg("ocds-c", "imp-2", []string{"biometric"}, []string{"auditRights"}))
	system("sys-c", "face_identification", "ocds-c")
	run("run-c1", "sys-c")
	// The exception recorded: no more findings for the cloud contract.
	write(t, e, journal.Record{Body: entry.Contract{Op: entry.OpAmend, OCID: "ocds-a", Release: "sha256:" + strings.Repeat("b", 64), Buyer: "agency", Vendor: "v",
		ProductFlags: []string{"cloud", "ai"}, MissingClauses: []string{"humanReviewOfAIOutputs"}, By: e.AdminID}})
	run("run-a2", "sys-a")
	// An import that closes more than it registered.
	write(t, e, reg("ocds-d", "imp-3", nil, nil))
	write(t, e, closing("imp-3", 2))

	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	rep := a.run()
	got := rules(rep.Findings)
	want := []string{audit.RuleRunContractUnexplained, audit.RuleContractImportIncomplete}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v:\n%v", got, want, rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Rule == audit.RuleRunContractUnexplained && (!strings.Contains(f.Message, "ocds-a") || !strings.Contains(f.Message, "humanReviewOfAIOutputs")) {
			t.Errorf("the finding: %s", f.Message)
		}
	}
}
