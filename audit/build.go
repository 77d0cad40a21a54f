package audit

import (
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
// lowercase hex digits.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// build checks a build entry: its hashes are SHA-256s, and, when the
// auditor expects one build, it is that build. A change of build is
// recorded for the result.
func (r *rules) build(idx uint64, e *entry.Entry, b *entry.Build, add adder) {
	if !isSHA256(b.BinarySHA256) || !isSHA256(b.SBOMSHA256) {
		add(RuleBuildMalformed, "a build entry whose binary_sha256 %q or sbom_sha256 %q is not a SHA-256 (64 lowercase hex digits)", b.BinarySHA256, b.SBOMSHA256)
	}
	if r.cfg.ExpectBuild != "" && b.BinarySHA256 != r.cfg.ExpectBuild {
		add(RuleBuildUnexpected, "a gateway started with the executable %s (version %s, revision %s), not the expected %s: the entries after it may have been decided by code other than the build you rebuilt", b.BinarySHA256, b.BuildVersion, buildinfo.DescribeRevision(b.VCSRevision, b.VCSModified), r.cfg.ExpectBuild)
	}
	if b.BinarySHA256 == r.st.Build {
		return
	}
	r.changes = append(r.changes, BuildChange{Index: idx, Time: e.Time, Previous: r.st.Build, Build: buildinfo.Build{BinarySHA256: b.BinarySHA256, Version: b.BuildVersion,
		Revision: b.VCSRevision, Modified: b.VCSModified, Go: b.GoVersion, SBOMSHA256: b.SBOMSHA256}})
	r.st.Build = b.BinarySHA256
}
