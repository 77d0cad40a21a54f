package audit_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/tips"
)

// TestTipRules plants tip entries that break the intake's public rules,
// and promises of filing the log did not keep, and one of each kept.
func TestTipRules(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	c := func(ch string) string { return strings.Repeat(ch, 64) }
	tip := func(op, commitment, ref string, at time.Time) journal.Record {
		return journal.Record{Body: entry.Tip{Op: op, Commitment: commitment, Tip: ref}, Time: at}
	}
	promise := func(commitment string, filed time.Time) tips.Promise {
		msg, err := tips.SignPromise(tips.Promise{Commitment: commitment, Filed: ombud.Day(filed), LoggedBy: ombud.Day(filed.AddDate(0, 0, tips.LoggedWithin))}, e.Dir.Signer)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tips.OpenPromise(msg, e.Dir.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Kept: filed yesterday, logged today, answered the same day.
	write(t, e, tip(entry.OpFiled, c("a"), c("a"), today.AddDate(0, 0, -1)))
	write(t, e, journal.Record{Body: entry.Tip{Op: entry.OpAcknowledged, Commitment: c("b"), Tip: c("a"), By: e.AdminID}})
	kept := promise(c("a"), today.AddDate(0, 0, -1))
	notYet := promise(c("f"), today) // not logged, not yet due
	// Broken: logged ten days after its day; logged under another day
	// than promised; never logged, long past its day.
	write(t, e, tip(entry.OpFiled, c("c"), c("c"), today.AddDate(0, 0, -10)))
	late := promise(c("c"), today.AddDate(0, 0, -10))
	write(t, e, tip(entry.OpFiled, c("d"), c("d"), today))
	moved := promise(c("d"), today.AddDate(0, 0, -1))
	dropped := promise(c("e"), today.AddDate(0, 0, -9))
	// A submission with a time of day; a follow-up and an answer of no tip.
	// Yesterday afternoon: a time of day, never in the future whatever the
	// hour the test runs at.
	write(t, e, tip(entry.OpFiled, c("9"), c("9"), today.AddDate(0, 0, -1).Add(13*time.Hour+7*time.Minute)))
	write(t, e, tip(entry.OpFollowedUp, c("8"), c("7"), today))
	write(t, e, journal.Record{Body: entry.Tip{Op: entry.OpAnswered, Commitment: c("6"), Tip: c("5"), By: e.AdminID}})

	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier,
		TipPromises: []tips.Promise{kept, notYet, late, moved, dropped}}}
	rep := a.run()
	got := rules(rep.Findings)
	want := []string{audit.RuleTipLoggedLate, audit.RuleTipNotAcknowledged, audit.RuleTipDated, audit.RuleTipUnknown, audit.RuleTipUnknown,
		audit.RuleTipPromiseBroken, audit.RuleTipPromiseBroken, audit.RuleTipPromiseBroken}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v:\n%v", got, want, rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Rule == audit.RuleTipPromiseBroken && (strings.Contains(f.Message, c("a")) || strings.Contains(f.Message, c("f"))) {
			t.Errorf("a promise kept, or not yet due, reported: %s", f.Message)
		}
		if f.Rule == audit.RuleTimeBackwards {
			t.Errorf("a tip's day taken for a time going back: %s", f.Message)
		}
	}
}
