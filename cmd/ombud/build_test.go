package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/poll"
)

// releaseBinary is an ombud built apart from this test binary: the
// release build CI made and checked reproducible (OMBUD_RELEASE_BIN, set
// by .ci/run from .ci/reproducible), or, without it, one built now into
// dir with the go command.
func releaseBinary(t *testing.T, dir string) string {
	t.Helper()
	if p := os.Getenv("OMBUD_RELEASE_BIN"); p != "" {
		return p
	}
	if os.Getenv("OMBUD_REQUIRE_RELEASE_BIN") == "1" {
		t.Fatal("OMBUD_REQUIRE_RELEASE_BIN=1 but OMBUD_RELEASE_BIN names no release build")
	}
	if testing.Short() {
		t.Skip("builds ombud")
	}
	out := filepath.Join(dir, "ombud")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestReleaseBuild runs a release build of ombud beside this test binary,
// another build of ombud (its main runs when TestMain says so):
//   - its SBOM passes the CycloneDX 1.6 schema and lists every module
//     `go version -m` says is linked into it;
//   - `ombud version` states the executable's SHA-256 and the SBOM's;
//   - both builds start on one log, each logging a build entry; the status
//     and disclosure pages show the running one, /build/sbom.json serves
//     its SBOM; the auditor lists both builds, and with --expect-build
//     reports the other one's entry.
func TestReleaseBuild(t *testing.T) {
	t.Parallel()
	rel := releaseBinary(t, t.TempDir())
	relSum, err := buildinfo.FileSHA256(rel)
	if err != nil {
		t.Fatal(err)
	}

	// The SBOM, against the schema and against the binary's own list.
	sbom, err := exec.Command(rel, "sbom").Output()
	if err != nil {
		t.Fatalf("ombud sbom: %v", err)
	}
	if err := buildinfo.ValidateSchema(sbom, os.DirFS(filepath.Join("..", "..", "buildinfo", "testdata", "cyclonedx"))); err != nil {
		t.Fatalf("ombud sbom fails the CycloneDX schema: %v", err)
	}
	listed, err := buildinfo.Modules(sbom)
	if err != nil {
		t.Fatal(err)
	}
	linked := goVersionModules(t, rel)
	slices.Sort(listed)
	if !slices.Equal(listed, linked) {
		t.Fatalf("the SBOM lists\n%v\nthe binary links (go version -m)\n%v", listed, linked)
	}
	if len(linked) < 50 {
		t.Fatalf("go version -m listed %d modules; expected ombud's whole tree", len(linked))
	}
	var v buildinfo.Build
	out, err := exec.Command(rel, "version", "--json").Output()
	if err != nil || json.Unmarshal(out, &v) != nil {
		t.Fatalf("ombud version --json: %v %s", err, out)
	}
	if v.BinarySHA256 != relSum || v.SBOMSHA256 != buildinfo.SHA256(sbom) {
		t.Fatalf("ombud version says %+v; the executable's SHA-256 is %s, the SBOM's %s", v, relSum, buildinfo.SHA256(sbom))
	}

	// Two builds on one log: this test binary first, then the release.
	self, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	selfSum, err := buildinfo.FileSHA256(self)
	if err != nil {
		t.Fatal(err)
	}
	if selfSum == relSum {
		t.Fatal("the test binary and the release build are one executable")
	}
	dir := filepath.Join(t.TempDir(), "data")
	c := startChild(t, self, dir)
	c.token(t)
	stopChild(t, c)
	c = startChild(t, rel, dir)
	defer stopChild(t, c)

	for page, wants := range map[string][]string{
		"/status":     {relSum, v.SBOMSHA256, `href="/build/` + v.SBOMSHA256 + `/sbom.json"`},
		"/disclosure": {relSum, `href="/build/` + v.SBOMSHA256 + `/sbom.json"`, `href="/status#build"`},
	} {
		body := string(ombudtest.Get(t, c.url+page))
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s does not show %s", page, want)
			}
		}
		if strings.Contains(body, selfSum) {
			t.Errorf("%s shows the build that stopped", page)
		}
	}
	for _, path := range []string{"/build/sbom.json", "/build/" + v.SBOMSHA256 + "/sbom.json"} {
		if served := ombudtest.Get(t, c.url+path); buildinfo.SHA256(served) != v.SBOMSHA256 {
			t.Errorf("%s is not the SBOM the build entry names", path)
		}
	}
	// Another build's SBOM is not this server's to serve.
	if resp, err := http.Get(c.url + "/build/" + strings.Repeat("0", 64) + "/sbom.json"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("another build's SBOM: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The log: two build entries, the first before the admin's creation.
	dd, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var builds []uint64
	poll.Until(t, 10*time.Second, 20*time.Millisecond, "both build entries published", func() bool {
		builds = builds[:0]
		for i, e := range logEntries(t, c.url, dd.Verifier) {
			body, err := e.Body()
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := body.(*entry.Build); ok {
				want := selfSum
				if len(builds) == 1 {
					want = relSum
				}
				if b.BinarySHA256 != want {
					t.Fatalf("build entry %d names %s, want %s", i, b.BinarySHA256, want)
				}
				builds = append(builds, uint64(i))
			}
		}
		return len(builds) == 2
	})
	if builds[0] != 0 {
		t.Errorf("the first build entry is entry %d: the gateway decided before logging its build", builds[0])
	}

	pub := filepath.Join(dir, "keys", "log.pub")
	code, stdout, errs := run(t, nil, "audit", "--log", c.url, "--key", pub)
	if code != exitOK || !strings.Contains(stdout, "Builds: 2 change(s)") || !strings.Contains(stdout, relSum) || !strings.Contains(stdout, selfSum) {
		t.Fatalf("audit: %d\n%s\n%s", code, stdout, errs)
	}
	code, stdout, errs = run(t, nil, "audit", "--log", c.url, "--key", pub, "--expect-build", strings.ToUpper(selfSum))
	if code != exitCheck || strings.Count(stdout, "build_unexpected") != 1 || !strings.Contains(stdout, fmt.Sprintf("entry %d ", builds[1])) {
		t.Fatalf("audit --expect-build (the first build): %d\n%s\n%s", code, stdout, errs)
	}
	code, stdout, _ = run(t, nil, "audit", "--log", c.url, "--key", pub, "--expect-build", relSum)
	if code != exitCheck || strings.Count(stdout, "build_unexpected") != 1 || !strings.Contains(stdout, "entry 0 ") {
		t.Fatalf("audit --expect-build (the release): %d\n%s", code, stdout)
	}
	if code, stdout, errs := run(t, nil, "audit", "--log", c.url, "--key", pub, "--expect-build", relSum, "--expect-build", selfSum); code != exitOK {
		t.Fatalf("audit --expect-build (both): %d\n%s\n%s", code, stdout, errs)
	}
	if code, _, errs := run(t, nil, "audit", "--log", c.url, "--key", pub, "--expect-build", "abc"); code != exitUsage {
		t.Fatalf("audit --expect-build abc: %d %s", code, errs)
	}
}

// stopChild stops a child ombud with SIGTERM and waits for it.
func stopChild(t *testing.T, c *child) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
}

// goVersionModules lists the modules `go version -m` says bin links, as
// PATH@VERSION (a replaced module as its replacement), and the standard
// library as std@GOVERSION: what its SBOM must list.
func goVersionModules(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	_, goVersion, _ := strings.Cut(lines[0], ": ")
	mods := map[string]string{}
	var last string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "dep":
			last = f[1]
			mods[last] = f[1] + "@" + f[2]
		case len(f) >= 2 && f[0] == "=>":
			if len(f) >= 3 && f[2] != "(devel)" {
				mods[last] = f[1] + "@" + f[2]
			} else {
				mods[last] = last + "@" // a directory: named by the module it replaces
			}
		}
	}
	list := []string{"std@" + strings.TrimSpace(goVersion)}
	for _, m := range mods {
		list = append(list, m)
	}
	slices.Sort(list)
	return list
}
