package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/poll"
)

// TestAuditLocalDir: 'audit --log DIR' audits a copy of a real log on
// disk (a mirror of /log/: checkpoint and tile/…, whose published report
// is missing until --reports names it) and a data directory (its log/,
// and the reports published into its reports/); a copy with one byte
// changed in an entry bundle does not pass; a directory with an auditor
// token is a usage error (detail records come from a server).
func TestAuditLocalDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, admin, stop := serveInProcess(t, dir)
	env := map[string]string{"OMBUD_SERVER": url, "OMBUD_TOKEN": admin}
	if code, out, errs := run(t, env, "principal", "add", "--name", "Ada", "--role", "analyst"); code != 0 {
		t.Fatalf("principal add: %d %s %s", code, out, errs)
	}
	// A report is computed at the published checkpoint: wait until it
	// covers the entries so far.
	poll.Until(t, 10*time.Second, 20*time.Millisecond, "a checkpoint of 4 entries (the build, the policy, the admin, Ada)", func() bool {
		return strings.Contains(string(ombudtest.Get(t, url+"/log/checkpoint")), "\n4\n")
	})
	if code, out, errs := run(t, env, "report", "publish", "--period", time.Now().UTC().Format("2006-01")); code != 0 {
		t.Fatalf("report publish: %d %s %s", code, out, errs)
	}
	stop()
	pub := filepath.Join(dir, "keys", "log.pub")
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := os.CopyFS(mirror, os.DirFS(filepath.Join(dir, "log"))); err != nil {
		t.Fatal(err)
	}
	// The tiles alone: the published report is not at hand, until
	// --reports says where it is.
	code, out, errs := run(t, nil, "audit", "--log", mirror, "--key", pub)
	if code != exitCheck || !strings.Contains(out, "report_missing") {
		t.Fatalf("audit of a mirror of the tiles alone: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, nil, "audit", "--log", mirror, "--key", pub, "--reports", filepath.Join(dir, "reports"))
	if code != 0 || !strings.HasPrefix(out, "OK: log") || !strings.Contains(out, "1 published reports, recomputed byte for byte") {
		t.Fatalf("audit of a mirror with --reports: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, nil, "audit", "--log", dir, "--key", pub)
	if code != 0 || !strings.HasPrefix(out, "OK: log") || !strings.Contains(out, "1 published reports, recomputed byte for byte") {
		t.Fatalf("audit of a data directory: exit %d\n%s%s", code, out, errs)
	}
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte(admin), 0o600)
	if code, _, errs := run(t, nil, "audit", "--log", mirror, "--key", pub, "--token-file", tok); code != exitUsage || !strings.Contains(errs, "is a directory") {
		t.Fatalf("audit of a directory with a token: exit %d %s", code, errs)
	}
	// One byte changed in the entry bundle the checkpoint covers (4
	// entries: a partial bundle).
	bundle := filepath.Join(mirror, layout.EntriesPath(0, 4))
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(bundle, b, 0o644)
	if code, out, errs := run(t, nil, "audit", "--log", mirror, "--key", pub); code == 0 || strings.HasPrefix(out, "OK") {
		t.Fatalf("audit of a tampered mirror: exit %d\n%s%s", code, out, errs)
	}
}
