package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthzSignValidFor: 'authz sign --valid-for D' ends the
// authorization D after its start, so a signed example does not go stale;
// it takes one of --valid-for and --not-after.
func TestAuthzSignValidFor(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, nil, "authz", "keygen", "--name", "court.example/district-3", "--dir", dir); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	sign := []string{"authz", "sign", "--key", filepath.Join(dir, "court.example_district-3.key"), "--id", "auth-1", "--kind", "court_order", "--case", "3 Gs 117/26",
		"--purpose", "criminal_investigation", "--class", "biometric", "--subject", "person:42", "--max-uses", "3", "--jurisdiction", "EU-DE"}
	before := time.Now().UTC().Add(720 * time.Hour).Format("2006-01-02")
	code, out, errs := run(t, nil, append(sign, "--valid-for", "720h")...)
	after := time.Now().UTC().Add(720 * time.Hour).Format("2006-01-02")
	if code != 0 || !strings.Contains(out, before) && !strings.Contains(out, after) {
		t.Fatalf("sign --valid-for 720h: %d, want an end on %s\n%s%s", code, after, out, errs)
	}
	for _, extra := range [][]string{nil, {"--valid-for", "720h", "--not-after", "2027-01-01T00:00:00Z"}, {"--valid-for", "-1h"}} {
		if code, _, errs := run(t, nil, append(sign, extra...)...); code != exitUsage || !strings.Contains(errs, "--valid-for") {
			t.Errorf("sign %v: exit %d %s", extra, code, errs)
		}
	}
}
