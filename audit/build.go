package audit

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/entry"
)

// BuildChange is a build entry whose build differs from the build entry
// before it (the first one read from an empty state is a change too): the
// gateway that logged it runs another executable than the one before.
type BuildChange struct {
	Index uint64    `json:"index"`
	Time  time.Time `json:"time"`
	buildinfo.Build
	// Previous is the executable's SHA-256 of the build entry before, ""
	// for the first one.
	Previous string `json:"previous,omitempty"`
}

// isSHA256 reports whether s is a SHA-256 as a build entry writes it: 64
// lowercase hex digits, a commitment's digest.
func isSHA256(s string) bool { return entry.IsCommitment("sha256:" + s) }

// expected reports whether the auditor accepts the executable sum: any
// when it expects none.
func (r *rules) expected(sum string) bool {
	return len(r.cfg.ExpectBuilds) == 0 || slices.Contains(r.cfg.ExpectBuilds, sum)
}

// expecting names the builds the auditor accepts, for a message.
func (r *rules) expecting() string {
	if len(r.cfg.ExpectBuilds) == 1 {
		return "the expected " + r.cfg.ExpectBuilds[0]
	}
	return "any of the " + strconv.Itoa(len(r.cfg.ExpectBuilds)) + " expected builds"
}

// build checks a build entry: its hashes are SHA-256s, and, when the
// auditor expects some builds, it is one of them. A change of build is
// recorded for the result.
func (r *rules) build(idx uint64, e *entry.Entry, b *entry.Build, add adder) {
	if !isSHA256(b.BinarySHA256) || !isSHA256(b.SBOMSHA256) {
		add(RuleBuildMalformed, "a build entry whose binary_sha256 %q or sbom_sha256 %q is not a SHA-256 (64 lowercase hex digits)", b.BinarySHA256, b.SBOMSHA256)
	}
	if !r.expected(b.BinarySHA256) {
		add(RuleBuildUnexpected, "a gateway started with the executable %s (version %s, revision %s), not %s: the entries after it may have been decided by code other than a build you rebuilt", b.BinarySHA256, b.BuildVersion, buildinfo.DescribeRevision(b.VCSRevision, b.VCSModified), r.expecting())
	}
	r.st.BuildAt = idx
	if b.BinarySHA256 == r.st.Build {
		return
	}
	r.changes = append(r.changes, BuildChange{Index: idx, Time: e.Time, Previous: r.st.Build, Build: buildinfo.FromEntry(*b)})
	r.st.Build = b.BinarySHA256
}

// unbuilt counts an entry read before any build entry: the build that
// decided it is not recorded. When the auditor expects builds, the first
// such entry of a run is a finding.
func (r *rules) unbuilt(idx uint64, add adder) {
	r.unbuiltEntries++
	if len(r.cfg.ExpectBuilds) > 0 && r.unbuiltEntries == 1 {
		add(RuleBuildUnrecorded, "this entry, and every entry after it up to the first build entry, was logged before any build entry: the build that decided it is not recorded (a release from before build entries, or a gateway that logs none)")
	}
}

// buildInForce checks, at the start of a run that resumes from a state,
// the build in force at its end against the builds expected: an earlier
// run read its entry, perhaps expecting other builds. prev are the earlier
// runs' findings, which may hold it already.
func (r *rules) buildInForce(prev []Finding) []Finding {
	if r.st.Build == "" || r.expected(r.st.Build) {
		return nil
	}
	for _, f := range prev {
		if f.Rule == RuleBuildUnexpected && f.Index != nil && *f.Index == r.st.BuildAt {
			return nil
		}
	}
	return []Finding{{Rule: RuleBuildUnexpected, Index: ptr(r.st.BuildAt), Message: fmt.Sprintf(
		"the build in force since this entry, read by an earlier run, is the executable %s, not %s: the entries after it may have been decided by code other than a build you rebuilt", r.st.Build, r.expecting())}}
}
