package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestQuorumCommands: the two-admin flow from the command line: the
// quorum enabled, a direct registration refused, a proposal shown whole
// and approved by a second admin, which runs it.
func TestQuorumCommands(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("this test starts in the set-up mode and enables the quorum itself")
	}
	e := ombudtest.New(t)
	admin := map[string]string{"OMBUD_SERVER": e.URL, "OMBUD_TOKEN": e.AdminToken}
	second := map[string]string{"OMBUD_SERVER": e.URL, "OMBUD_TOKEN": e.AddPrincipal(t, "Second admin", ombud.RoleAdmin)}
	must := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	if out := must(admin, "quorum"); !strings.Contains(out, "set-up mode") {
		t.Fatalf("quorum in a new deployment: %s", out)
	}
	if out := must(admin, "quorum", "enable"); !strings.Contains(out, "issuer.register      2") {
		t.Fatalf("quorum enable: %s", out)
	}
	key := ombudtest.NewIssuer(t, "court.example/district-4").VKey
	if code, _, errs := run(t, admin, "issuer", "add", "--name", "court.example/district-4", "--kind", "court", "--jurisdiction", "EU-DE", "--key", key); code == 0 || !strings.Contains(errs, "propose") {
		t.Fatalf("issuer add with the quorum on: exit %d %s", code, errs)
	}
	params := fmt.Sprintf(`{"name":"court.example/district-4","kind":"court","jurisdiction":"EU-DE","key":%q}`, key)
	out := must(admin, "propose", "issuer.register", "--params", params)
	id := lastLine(out)
	if !strings.Contains(out, "court.example/district-4") || !strings.Contains(out, "1 of 2 admins") {
		t.Fatalf("propose: %s", out)
	}
	if list := must(second, "proposals", "--state", "open"); !strings.Contains(list, id) || !strings.Contains(list, "court.example/district-4") {
		t.Fatalf("proposals: %s", list)
	}
	if code, _, errs := run(t, admin, "approve", id); code == 0 || !strings.Contains(errs, "proposer") {
		t.Fatalf("the proposer approving: exit %d %s", code, errs)
	}
	if out := must(second, "approve", id); !strings.Contains(out, "The quorum was reached: issuer.register ran (status 201") {
		t.Fatalf("approve: %s", out)
	}
}

// TestInitAdmins: 'ombud init --admins 3' prints three admin tokens as
// its last three lines and enables a quorum of 2 from the first minute.
func TestInitAdmins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	code, out, errs := run(t, nil, "init", "--data", dir, "--admins", "3")
	if code != 0 {
		t.Fatalf("init --admins 3: exit %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !strings.Contains(out, "Enabled multi-party approval") {
		t.Fatalf("init --admins 3:\n%s", out)
	}
	seen := map[string]bool{}
	for _, l := range lines[len(lines)-3:] {
		if _, err := ombud.ParseToken(l); err != nil || seen[l] {
			t.Fatalf("the last three lines are not three admin tokens:\n%s", out)
		}
		seen[l] = true
	}
	if code, _, errs := run(t, nil, "init", "--data", t.TempDir()+"/d2", "--admins", "0"); code == 0 || !strings.Contains(errs, "--admins") {
		t.Fatalf("init --admins 0: exit %d %s", code, errs)
	}
}
