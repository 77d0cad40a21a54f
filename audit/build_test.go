package audit_test

import (
	"strings"
	"testing"

	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestBuildRules: every change of build is listed, across runs; with
// expected builds, each build entry naming another executable is a
// finding, so are the entries before the first build entry, and so is the
// build in force when a run resumes from a state that read it; a build
// entry whose hashes are not SHA-256s is malformed.
func TestBuildRules(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	sha := func(c string) string { return strings.Repeat(c, 64) }
	build := func(bin, rev string) journal.Record {
		return journal.Record{Body: entry.Build{BinarySHA256: bin, BuildVersion: "v0.0.0-20261205120000-" + rev[:12], VCSRevision: rev, GoVersion: "go1.27.3", SBOMSHA256: sha("5")}}
	}
	// The harness logged entries before any build entry (its admin, its
	// policy): as a release from before build entries would have.
	before := e.Size(t)
	first := write(t, e, build(sha("a"), strings.Repeat("1", 40)))
	write(t, e, build(sha("a"), strings.Repeat("1", 40))) // a restart of the same build: no change
	second := write(t, e, build(sha("b"), strings.Repeat("2", 40)))

	a := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier}}
	rep := a.expect()
	if len(rep.Builds) != 2 || rep.Builds[0].Index != first || rep.Builds[0].Previous != "" ||
		rep.Builds[1].Index != second || rep.Builds[1].Previous != sha("a") || rep.Builds[1].Revision != strings.Repeat("2", 40) {
		t.Fatalf("build changes %+v", rep.Builds)
	}
	if rep.Unbuilt != before {
		t.Errorf("%d entries before any build entry, want %d", rep.Unbuilt, before)
	}

	// The next run remembers the build in force: the same build again is
	// no change, the first one back is.
	write(t, e, build(sha("b"), strings.Repeat("2", 40)))
	back := write(t, e, build(sha("a"), strings.Repeat("1", 40)))
	rep = a.expect()
	if len(rep.Builds) != 1 || rep.Builds[0].Index != back || rep.Builds[0].Previous != sha("b") || rep.Unbuilt != 0 {
		t.Fatalf("build changes of the second run %+v (%d before any build)", rep.Builds, rep.Unbuilt)
	}

	// Expecting build a, from the start: the entries before any build
	// entry are reported once, a's entries pass, b's are reported, each.
	strict := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Rules: audit.Rules{ExpectBuilds: []string{sha("a")}}}}
	rep = strict.expect(audit.RuleBuildUnrecorded, audit.RuleBuildUnexpected, audit.RuleBuildUnexpected)
	if *rep.Findings[0].Index != 0 || *rep.Findings[1].Index != second {
		t.Errorf("findings at %d and %d, want 0 and %d", *rep.Findings[0].Index, *rep.Findings[1].Index, second)
	}
	// Accepting both builds: only the entries before any build entry.
	both := &auditor{t: t, cfg: audit.Config{Log: fetcher(t, e), Verifier: e.Dir.Verifier, Rules: audit.Rules{ExpectBuilds: []string{sha("b"), sha("a")}}}}
	both.expect(audit.RuleBuildUnrecorded)

	// A run that resumes from a state which read the build in force checks
	// it against the builds it expects, although it reads no build entry:
	// a's entry (back) is in force, and b alone is expected.
	a.cfg.Rules.ExpectBuilds = []string{sha("b")}
	rep = a.expect(audit.RuleBuildUnexpected)
	if *rep.Findings[0].Index != back {
		t.Errorf("the build in force reported at entry %d, want %d", *rep.Findings[0].Index, back)
	}
	// ... once: the next run finds it among the earlier findings.
	a.expect()

	write(t, e, journal.Record{Body: entry.Build{BinarySHA256: "not-a-hash", BuildVersion: "devel", GoVersion: "go1.27.3", SBOMSHA256: sha("5")}})
	a.cfg.Rules.ExpectBuilds = nil
	a.expect(audit.RuleBuildMalformed)
}
