// Package buildinfo says which build of ombud is running: the SHA-256 of
// its executable, its module version and VCS revision, the Go toolchain
// that built it, and its software bill of materials. Everything but the
// executable's hash comes from the build information the Go linker embeds
// (runtime/debug.ReadBuildInfo), so a rebuild from the same source with the
// documented command (docs/RELEASING.md) gives the same values.
package buildinfo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/ombud/ombud/entry"
)

// Build identifies one build of ombud, as its `build` log entry states it.
type Build struct {
	// BinarySHA256 is the SHA-256 of the executable, in lowercase hex: what
	// `sha256sum ombud` prints.
	BinarySHA256 string `json:"binary_sha256"`
	// Version is the main module's version: a tag, a pseudo-version
	// derived from the VCS revision, or "devel" when the build knew none.
	Version string `json:"build_version"`
	// Revision is the VCS revision the build was made from, and Modified
	// whether the work tree had changes not committed; empty when the build
	// recorded no VCS information (-buildvcs=false).
	Revision string `json:"vcs_revision"`
	Modified bool   `json:"vcs_modified"`
	// Go is the toolchain's version, such as go1.27.3.
	Go string `json:"go_version"`
	// SBOMSHA256 is the SHA-256 of the SBOM `ombud sbom` prints.
	SBOMSHA256 string `json:"sbom_sha256"`
}

// DescribeRevision says what a build records of its source: the revision,
// marked when the work tree had changes not committed, or that it
// recorded none.
func DescribeRevision(revision string, modified bool) string {
	switch {
	case revision == "":
		return "not recorded"
	case modified:
		return revision + " (with changes not committed)"
	}
	return revision
}

// Running is the running process's build and its SBOM.
type Running struct {
	Build
	SBOM []byte
}

// ErrNoBuildInfo: the executable carries no build information (it was not
// built by the go command in module mode).
var ErrNoBuildInfo = errors.New("buildinfo: the executable carries no Go build information")

// Current returns the running process's build. The executable is hashed
// once, at the first call (about a third of a second for ombud's binary).
func Current() (*Running, error) { return current() }

var current = sync.OnceValues(func() (*Running, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, ErrNoBuildInfo
	}
	sum, err := executableSHA256()
	if err != nil {
		return nil, err
	}
	return FromInfo(bi, sum)
})

// CurrentSBOM returns the running process's SBOM, which needs no hash of
// the executable.
func CurrentSBOM() ([]byte, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, ErrNoBuildInfo
	}
	return SBOM(bi)
}

// FromInfo describes the build bi tells of, whose executable hashes to
// binarySHA256.
func FromInfo(bi *debug.BuildInfo, binarySHA256 string) (*Running, error) {
	sbom, err := SBOM(bi)
	if err != nil {
		return nil, err
	}
	b := Build{
		BinarySHA256: binarySHA256,
		Version:      code(Version(bi)),
		Go:           code(goVersion(bi)),
		SBOMSHA256:   SHA256(sbom),
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = code(s.Value)
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return &Running{Build: b, SBOM: sbom}, nil
}

// goVersion is the toolchain's version.
func goVersion(bi *debug.BuildInfo) string {
	if bi.GoVersion != "" {
		return bi.GoVersion
	}
	return runtime.Version()
}

// code makes s a value the log's public fields take (entry.IsCode): a
// toolchain built with experiments reports them as
// "go1.27.3-X:arenas,fieldtrack" or after a space, and every character a
// code does not take becomes a "+". Module versions and revisions are
// codes already.
func code(s string) string {
	b := []byte(s)
	for i := range b {
		if !entry.IsCode(string(b[i])) {
			b[i] = '+'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

// Entry is the build entry of b.
func (b Build) Entry() entry.Build {
	return entry.Build{BinarySHA256: b.BinarySHA256, BuildVersion: b.Version, VCSRevision: b.Revision, VCSModified: b.Modified, GoVersion: b.Go, SBOMSHA256: b.SBOMSHA256}
}

// FromEntry is the build a build entry states.
func FromEntry(e entry.Build) Build {
	return Build{BinarySHA256: e.BinarySHA256, Version: e.BuildVersion, Revision: e.VCSRevision, Modified: e.VCSModified, Go: e.GoVersion, SBOMSHA256: e.SBOMSHA256}
}

// Version is the main module's version as a code: "(devel)", which the go
// command writes when it knows none, is "devel".
func Version(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}

// SHA256 returns the SHA-256 of b in lowercase hex.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// FileSHA256 returns the SHA-256 of the file at path in lowercase hex.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// executableSHA256 hashes the running executable. On Linux it reads
// /proc/self/exe, the file the process was started from even if its path
// has since been replaced by an upgrade; elsewhere the path os.Executable
// returns.
func executableSHA256() (string, error) {
	if sum, err := FileSHA256("/proc/self/exe"); err == nil {
		return sum, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("buildinfo: the executable's path: %w", err)
	}
	sum, err := FileSHA256(p)
	if err != nil {
		return "", fmt.Errorf("buildinfo: hashing the executable, to state which build runs: %w (ombud must be able to read its own file: install it readable by the user that runs it, mode 0755 or 0750, not execute-only)", err)
	}
	return sum, nil
}
