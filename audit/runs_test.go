package audit_test

import (
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
	"github.com/ombud/ombud/vocab"
)

func analyticRecord(op, version string) journal.Record {
	return journal.Record{Body: entry.Analytic{Op: op, Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location", "general"},
		Model: "anpr", ModelVersion: version, Threshold: 0.9, System: "sys-1", By: "admin1"}}
}

func runStart(run, version, auth string, classes []string, objects []string, until time.Time) journal.Record {
	b := entry.Run{Op: entry.OpStart, Decision: entry.Permit, ModelVersion: version, Purpose: "criminal_investigation", Classes: classes,
		Objects: int64(len(objects)), Until: until.UTC().Format(time.RFC3339Nano), Reasons: []string{"authorization_in_scope"}, Run: run, System: "sys-1",
		Authorization: auth, By: "machine1"}
	if auth != "" {
		b.Use = 1
	}
	return journal.Record{Body: b, Detail: entry.RunDetail{Objects: objects, Principal: "machine1", Run: run}}
}

func runRead(run, obj, class string, position int) journal.Record {
	return journal.Record{Body: entry.Access{Decision: entry.Permit, Class: class, Purpose: "criminal_investigation", Reasons: []string{reason.InRun},
		Object: obj, Subject: []string{subjectPs("plate:B-1")}, Run: run, By: "machine1"},
		Detail: entry.RunReadDetail{Object: obj, Position: position, Run: run}}
}

func runClose(run string) journal.Record {
	return journal.Record{Body: entry.Run{Op: entry.OpClose, ModelVersion: "2.0", Purpose: "criminal_investigation", Objects: 2, Reasons: []string{ombud.RunClosed},
		Read: 2, Bytes: 100, Run: run, System: "sys-1", By: "machine1"}}
}

// TestPlantedRunViolations: a clean run audits clean; each violation of a
// run's rules, planted, is found.
func TestPlantedRunViolations(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	auditorTok := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier,
		Details: &audit.HTTPDetails{Server: e.URL, Token: auditorTok}}}
	until := time.Now().Add(24 * time.Hour)
	write(t, e, issuerRecord("4a1f9c2e"))
	write(t, e, registration("auth-1", "plate:B-1", []string{"criminal_investigation"}, 3))
	write(t, e, analyticRecord(entry.OpRegister, "2.0"))
	write(t, e, runStart("run-1", "2.0", "auth-1", []string{"location"}, []string{"obj-1", "obj-2"}, until))
	write(t, e, runRead("run-1", "obj-1", "location", 0))
	write(t, e, runRead("run-1", "obj-2", "location", 1))
	write(t, e, runClose("run-1"))
	a.expect()

	t.Run("a read outside the run's list", func(t *testing.T) {
		a.t = t
		write(t, e, runStart("run-2", "2.0", "auth-1", []string{"location"}, []string{"obj-1", "obj-2"}, until))
		write(t, e, runRead("run-2", "obj-9", "location", 1)) // not the object at 1
		write(t, e, runRead("run-2", "obj-1", "location", 7)) // past the list
		write(t, e, runRead("run-2", "obj-3", "general", 0))  // a class the run did not declare
		a.expect("run_read_outside_list", "run_read_outside_list", "run_read_outside_list", "run_read_outside_list")
	})
	t.Run("a run of an unregistered version", func(t *testing.T) {
		a.t = t
		write(t, e, runStart("run-3", "9.9", "auth-1", []string{"location"}, []string{"obj-1"}, until))
		a.expect("run_version_unregistered")
	})
	t.Run("a run of a retired version", func(t *testing.T) {
		a.t = t
		write(t, e, analyticRecord(entry.OpRetire, "2.0"))
		write(t, e, analyticRecord(entry.OpVersion, "3.0"))
		write(t, e, runStart("run-4", "2.0", "", []string{"general"}, []string{"obj-5"}, until))
		a.expect("run_version_retired")
	})
	t.Run("a sensitive run without an authorization", func(t *testing.T) {
		a.t = t
		write(t, e, runStart("run-5", "3.0", "", []string{"location"}, []string{"obj-1"}, until))
		a.expect("run_authorization_missing")
	})
	t.Run("a read after the run's close", func(t *testing.T) {
		a.t = t
		write(t, e, runRead("run-1", "obj-1", "location", 0))
		a.expect("run_read_after_close")
	})
	t.Run("a read past the run's time limit", func(t *testing.T) {
		a.t = t
		write(t, e, runStart("run-6", "3.0", "", []string{"general"}, []string{"obj-5"}, time.Now().Add(-time.Minute)))
		write(t, e, runRead("run-6", "obj-5", "general", 0))
		a.expect("run_read_after_close")
	})
	t.Run("a read in a run whose starter was disabled", func(t *testing.T) {
		a.t = t
		start := runStart("run-8", "3.0", "", []string{"general"}, []string{"obj-5", "obj-6"}, until)
		start = edit(start, func(b *entry.Run) { b.By = "analyst2" })
		start.Detail = entry.RunDetail{Objects: []string{"obj-5", "obj-6"}, Principal: "analyst2", Run: "run-8"}
		write(t, e, start)
		write(t, e, runRead("run-8", "obj-5", "general", 0))
		a.expect()
		write(t, e, journal.Record{Body: entry.Principal{Op: entry.OpDisable, Roles: []string{"analyst"}, Principal: "analyst2", By: "admin1"}})
		write(t, e, runRead("run-8", "obj-6", "general", 1))
		a.expect("access_by_disabled_principal")
	})
	t.Run("a flag whose input its run did not read", func(t *testing.T) {
		a.t = t
		write(t, e, runStart("run-7", "3.0", "", []string{"general"}, []string{"obj-5", "obj-6"}, until))
		write(t, e, runRead("run-7", "obj-5", "general", 0))
		flag := func(id, input string) journal.Record {
			return journal.Record{Body: entry.Flag{System: "plate-reader", ModelVersion: "3.0", Flag: id, Input: []string{input}, Run: "run-7", By: "machine1"},
				Detail: entry.FlagDetail{Flag: id, Inputs: []string{input}, Run: "run-7"}}
		}
		// In one audit with the run's start: the details of the run's
		// reads are what the check reads.
		write(t, e, flag("flag-r1", "obj-5"))
		write(t, e, flag("flag-r2", "obj-6"))
		a.expect("flag_input_not_read")
	})
	t.Run("a review without a rationale", func(t *testing.T) {
		a.t = t
		write(t, e, evidenceRead("flag-r1", "obj-5", vocab.PurposeReview, "reviewer1"))
		write(t, e, journal.Record{Body: entry.Review{Outcome: entry.Confirm, Flag: "flag-r1", By: "reviewer1"}, Detail: entry.ReviewDetail{Flag: "flag-r1", Rationale: "matches the source image"}})
		a.expect()
		write(t, e, evidenceRead("flag-r1", "obj-5", vocab.PurposeReview, "reviewer2"))
		write(t, e, journal.Record{Body: entry.Review{Outcome: entry.Confirm, Flag: "flag-r1", By: "reviewer2"}, Detail: entry.ReviewDetail{Flag: "flag-r1", Rationale: "  "}})
		a.expect("review_without_rationale")
	})
	t.Run("a confirmation without a viewing", func(t *testing.T) {
		a.t = t
		// A rejection needs no viewing; a confirmation does, by its own
		// reviewer: another's viewing does not count.
		write(t, e, journal.Record{Body: entry.Review{Outcome: entry.Reject, Flag: "flag-r2", By: "reviewer3"}, Detail: entry.ReviewDetail{Flag: "flag-r2", Rationale: "blurred"}})
		a.expect()
		write(t, e, evidenceRead("flag-r2", "obj-6", vocab.PurposeReview, "reviewer4"))
		write(t, e, journal.Record{Body: entry.Review{Outcome: entry.Confirm, Flag: "flag-r2", By: "reviewer5"}, Detail: entry.ReviewDetail{Flag: "flag-r2", Rationale: "agree"}})
		a.expect("confirmation_unviewed")
	})
	t.Run("a contest past its deadline", func(t *testing.T) {
		a.t = t
		now := time.Now()
		a.cfg.Now = func() time.Time { return now }
		defer func() { a.cfg.Now = nil }()
		write(t, e, journal.Record{Body: entry.Contest{Op: entry.OpFiled, DeadlineDays: 30, Action: "act-1", Contest: "contest-1"}, Detail: entry.ContestFiledDetail{Action: "act-1", Contest: "contest-1", Statement: "not me"}})
		write(t, e, journal.Record{Body: entry.Contest{Op: entry.OpFiled, DeadlineDays: 30, Action: "act-2", Contest: "contest-2"}, Detail: entry.ContestFiledDetail{Action: "act-2", Contest: "contest-2", Statement: "not me"}})
		a.expect()
		// Thirty-one days on, from the public entries alone, both open
		// contests are overdue, each reported once.
		now = now.Add(31 * 24 * time.Hour)
		a.expect("contest_overdue", "contest_overdue")
		a.expect()
	})
	t.Run("a read in a run never started", func(t *testing.T) {
		a.t = t
		write(t, e, runRead("run-404", "obj-5", "general", 0))
		a.expect("run_unknown")
	})
}

// TestPlantedReadAfterRetirement: a read in a run started before its
// version's retirement audits clean before the retirement entry; a
// permitted read after it is found, and a denied one is not.
func TestPlantedReadAfterRetirement(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	until := time.Now().Add(24 * time.Hour)
	write(t, e, analyticRecord(entry.OpRegister, "2.0"))
	write(t, e, runStart("run-1", "2.0", "", []string{"general"}, []string{"obj-1", "obj-2", "obj-3"}, until))
	write(t, e, runRead("run-1", "obj-1", "general", 0))
	a.expect()
	write(t, e, analyticRecord(entry.OpRetire, "2.0"))
	denied := runRead("run-1", "obj-2", "general", 1)
	body := denied.Body.(entry.Access)
	body.Decision, body.Reasons = entry.Deny, []string{reason.VersionRetired}
	denied.Body = body
	write(t, e, denied)
	a.expect()
	write(t, e, runRead("run-1", "obj-3", "general", 2))
	a.expect(audit.RuleRunReadAfterRetirement)
}

func evidenceRead(flagID, obj, purpose, by string) journal.Record {
	return journal.Record{Body: entry.Access{Decision: entry.Permit, Class: "biometric", Purpose: purpose, Reasons: []string{"review_evidence"},
		Object: obj, Subject: []string{subjectPs("person:17")}, Flag: flagID, By: by},
		Detail: entry.AccessDetail{Flag: flagID, Object: obj, Principal: by, Purpose: purpose}}
}

// TestPlantedEvidenceReads: a reviewer's viewing of a logged flag's
// evidence audits clean, though the class is sensitive and no
// authorization is cited; a viewing of a flag never logged, for another
// purpose, or by the flag's creator is found.
func TestPlantedEvidenceReads(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	write(t, e, flag("flag-1", "machine1"))
	write(t, e, evidenceRead("flag-1", "obj-1", "review", "reviewer1"))
	a.expect()
	for _, tc := range []struct {
		name string
		r    journal.Record
	}{
		{"a flag never logged", evidenceRead("flag-9", "obj-1", "review", "reviewer1")},
		{"another purpose", evidenceRead("flag-1", "obj-1", "criminal_investigation", "reviewer1")},
		{"the flag's creator", evidenceRead("flag-1", "obj-1", "review", "machine1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			write(t, e, tc.r)
			a.expect(audit.RuleEvidenceReadInvalid)
		})
	}
	t.Run("after the reader's review", func(t *testing.T) {
		a.t = t
		write(t, e, review("flag-1", "reviewer1", entry.Confirm))
		write(t, e, evidenceRead("flag-1", "obj-1", "review", "reviewer1"))
		a.expect(audit.RuleEvidenceReadInvalid)
	})
	t.Run("after the action, and during its contest", func(t *testing.T) {
		a.t = t
		write(t, e, review("flag-1", "reviewer2", entry.Confirm))
		write(t, e, action("flag-1", 2))
		write(t, e, evidenceRead("flag-1", "obj-1", "review", "reviewer3")) // no contest open
		a.expect(audit.RuleEvidenceReadInvalid)
		write(t, e, journal.Record{Body: entry.Contest{Op: entry.OpFiled, Action: "act-flag-1", Contest: "c-1"}, Detail: entry.ContestFiledDetail{Action: "act-flag-1", Contest: "c-1", Statement: "x"}})
		write(t, e, evidenceRead("flag-1", "obj-1", "review", "reviewer3")) // the resolver's
		a.expect()
		write(t, e, journal.Record{Body: entry.Contest{Op: entry.OpResolved, Outcome: "upheld", Action: "act-flag-1", Contest: "c-1", By: "reviewer3"}, Detail: entry.ContestResolvedDetail{Contest: "c-1", Outcome: "upheld", Rationale: "x"}})
		write(t, e, evidenceRead("flag-1", "obj-1", "review", "reviewer3"))
		a.expect(audit.RuleEvidenceReadInvalid)
	})
	t.Run("a second action", func(t *testing.T) {
		a.t = t
		write(t, e, action("flag-1", 2))
		a.expect(audit.RuleActionRepeated)
	})
	// A flag of a run under an authorization, with its input.
	a.t = t
	write(t, e, analyticRecord(entry.OpRegister, "2.0"))
	write(t, e, issuerRecord("5b2e8d1f"))
	write(t, e, registration("auth-r", "plate:B-1", []string{"criminal_investigation"}, 3))
	write(t, e, runStart("run-r", "2.0", "auth-r", []string{"location"}, []string{"obj-7"}, time.Now().Add(time.Hour)))
	write(t, e, journal.Record{Body: entry.Flag{System: "frs", Model: "m", ModelVersion: "2.0", Class: "location", Flag: "flag-2", Input: []string{"obj-7"},
		Run: "run-r", By: "machine1"}})
	write(t, e, evidenceRead("flag-2", "obj-7", "review", "reviewer1"))
	a.expect()
	t.Run("an object not the flag's", func(t *testing.T) {
		a.t = t
		write(t, e, evidenceRead("flag-2", "obj-8", "review", "reviewer1"))
		a.expect(audit.RuleEvidenceReadInvalid)
	})
	t.Run("the run's starter", func(t *testing.T) {
		a.t = t
		write(t, e, evidenceRead("flag-2", "obj-7", "review", "machine1"))
		a.expect(audit.RuleEvidenceReadInvalid)
	})
	t.Run("after the run's authorization was revoked", func(t *testing.T) {
		a.t = t
		write(t, e, journal.Record{Body: entry.Authorization{Op: entry.OpRevoke, Reason: "order_quashed", Authorization: "auth-r", By: "admin1"}})
		write(t, e, evidenceRead("flag-2", "obj-7", "review", "reviewer2"))
		a.expect(audit.RuleEvidenceReadInvalid)
	})
}
