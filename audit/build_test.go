package audit_test

import (
	"strings"
	"testing"

	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestBuildRules: every change of build is listed, across runs; with an
// expected build, each build entry naming another executable is a
// finding; a build entry whose hashes are not SHA-256s is malformed.
func TestBuildRules(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	sha := func(c string) string { return strings.Repeat(c, 64) }
	build := func(bin, rev string) journal.Record {
		return journal.Record{Body: entry.Build{BinarySHA256: bin, BuildVersion: "v0.0.0-20261205120000-" + rev[:12], VCSRevision: rev, GoVersion: "go1.27.3", SBOMSHA256: sha("5")}}
	}
	first := write(t, e, build(sha("a"), strings.Repeat("1", 40)))
	write(t, e, build(sha("a"), strings.Repeat("1", 40))) // a restart of the same build: no change
	second := write(t, e, build(sha("b"), strings.Repeat("2", 40)))

	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	rep := a.expect()
	if len(rep.Builds) != 2 || rep.Builds[0].Index != first || rep.Builds[0].Previous != "" ||
		rep.Builds[1].Index != second || rep.Builds[1].Previous != sha("a") || rep.Builds[1].Revision != strings.Repeat("2", 40) {
		t.Fatalf("build changes %+v", rep.Builds)
	}

	// The next run remembers the build in force: the same build again is
	// no change, the first one back is.
	write(t, e, build(sha("b"), strings.Repeat("2", 40)))
	back := write(t, e, build(sha("a"), strings.Repeat("1", 40)))
	rep = a.expect()
	if len(rep.Builds) != 1 || rep.Builds[0].Index != back || rep.Builds[0].Previous != sha("b") {
		t.Fatalf("build changes of the second run %+v", rep.Builds)
	}

	// Expecting build a, from the start: its entries pass, b's are
	// reported, each of them.
	strict := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Rules: audit.Rules{ExpectBuild: sha("a")}}}
	rep = strict.expect(audit.RuleBuildUnexpected, audit.RuleBuildUnexpected)
	if *rep.Findings[0].Index != second {
		t.Errorf("the unexpected build reported at entry %d, want %d", *rep.Findings[0].Index, second)
	}

	write(t, e, journal.Record{Body: entry.Build{BinarySHA256: "not-a-hash", BuildVersion: "devel", GoVersion: "go1.27.3", SBOMSHA256: sha("5")}})
	a.expect(audit.RuleBuildMalformed)
}
