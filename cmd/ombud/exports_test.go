package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestExportCommands drives an export from the command line: a recipient
// registered from its key file, 'export' to a package file, and 'export
// open' as the recipient, checking the files and, with the log's key, the
// receipts; a package cut short and one opened with another identity fail
// the check (exit 3).
func TestExportCommands(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) { c.Sharing.Enabled = true }))
	tmp := t.TempDir()
	identity, _ := age.GenerateX25519Identity()
	idFile := filepath.Join(tmp, "unit12.key")
	os.WriteFile(idFile, []byte("# created: now\n# public key: "+identity.Recipient().String()+"\n"+identity.String()+"\n"), 0o600)
	pubFile := filepath.Join(tmp, "unit12.pub")
	os.WriteFile(pubFile, []byte(identity.Recipient().String()+"\n"), 0o644)
	admin := map[string]string{"OMBUD_SERVER": e.URL, "OMBUD_TOKEN": e.AdminToken}
	must := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errs := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	// A bare identity is a secret, refused as a key file; an identity
	// file's "# public key:" line is read (below).
	bare := filepath.Join(tmp, "bare.key")
	os.WriteFile(bare, []byte(identity.String()+"\n"), 0o600)
	if code, _, errs := run(t, admin, "recipient", "add", "--name", "y", "--category", "court", "--jurisdiction", "EU-DE", "--key-file", bare); code == 0 || !strings.Contains(errs, "secret") {
		t.Fatalf("a bare identity as the key file: exit %d %s", code, errs)
	}
	rcp := lastLine(must(admin, "recipient", "add", "--name", "District court 3", "--category", "court", "--jurisdiction", "EU-DE", "--key-file", idFile))
	if code, _, errs := run(t, admin, "recipient", "add", "--name", "Another court", "--category", "court", "--jurisdiction", "EU-DE", "--key-file", pubFile); code == 0 || !strings.Contains(errs, "409") {
		t.Fatalf("a second recipient with the key: exit %d %s", code, errs)
	}
	if list := must(admin, "recipient", "list"); !strings.Contains(list, rcp) || !strings.Contains(list, "District court 3") {
		t.Fatalf("recipient list:\n%s", list)
	}
	a := ombudtest.Authorization("auth-share", 5)
	a.ShareRecipients = []string{rcp}
	e.Authorize(t, e.Court(t), a)
	var ids []string
	for _, body := range []string{"plate B-XY-123 at camera 1", "plate B-XY-123 at camera 2"} {
		o, _, err := e.Custody.Ingest(t.Context(), custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	analyst := map[string]string{"OMBUD_SERVER": e.URL, "OMBUD_TOKEN": e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)}
	pkg := filepath.Join(tmp, "export.tar.age")
	out := must(analyst, "export", "--recipient", rcp, "--authorization", "auth-share", "--purpose", "criminal_investigation",
		"--object", ids[0], "--object", ids[1], "--out", pkg)
	if !strings.Contains(out, "Exported 2 objects") {
		t.Fatalf("export: %s", out)
	}
	if code, _, _ := run(t, analyst, "export", "--recipient", rcp, "--authorization", "auth-share", "--purpose", "criminal_investigation", "--object", ids[0], "--out", pkg); code == 0 {
		t.Fatal("export overwrote a package")
	}
	key := e.Dir.VerifierKey
	dir := filepath.Join(tmp, "opened")
	out = must(nil, "export", "open", pkg, "--identity", idFile, "--log-key", key, "--out", dir)
	if !strings.Contains(out, "OK: export") || !strings.Contains(out, "the manifest's signature and the receipts") || !strings.Contains(out, "onward transfer forbidden") {
		t.Fatalf("export open: %s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "objects", ids[1])); string(got) != "plate B-XY-123 at camera 2" {
		t.Fatalf("the opened object: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	// Cut short, or opened by another: the check fails.
	raw, _ := os.ReadFile(pkg)
	cut := filepath.Join(tmp, "cut.tar.age")
	os.WriteFile(cut, raw[:len(raw)-20], 0o600)
	cutDir := filepath.Join(tmp, "cut")
	if code, _, _ := run(t, nil, "export", "open", cut, "--identity", idFile, "--out", cutDir); code != 3 {
		t.Fatalf("a package cut short: exit %d, want 3", code)
	}
	if _, err := os.Stat(cutDir); !os.IsNotExist(err) {
		t.Fatalf("a package that failed its check left %s: %v", cutDir, err)
	}
	// A directory that was there before is never removed.
	if code, _, _ := run(t, nil, "export", "open", cut, "--identity", otherKeyFile(t, tmp), "--out", dir); code == 0 {
		t.Fatal("opened with another identity")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatalf("a failed open removed a directory it did not make: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	otherFile := filepath.Join(tmp, "other.key")
	os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)
	if code, _, _ := run(t, nil, "export", "open", pkg, "--identity", otherFile); code != 3 {
		t.Fatalf("another identity: exit %d, want 3", code)
	}
	// The log's key of another log: the receipts do not verify.
	otherLog := ombudtest.New(t)
	if code, _, errs := run(t, nil, "export", "open", pkg, "--identity", idFile, "--log-key", otherLog.Dir.VerifierKey); code != 3 || !bytes.Contains([]byte(errs), []byte("export")) {
		t.Fatalf("receipts against another log's key: exit %d %s", code, errs)
	}
	// An exported object erased: its notice is owed, listed, then sent.
	if _, err := e.Custody.Erase(e.Approved(t, t.Context(), ombud.OpObjectErase, ids[0]), custody.Order{Object: ids[0], Reason: "court_order", Authorization: "ord-1", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	list := must(admin, "notices", "--state", "owed")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], ids[0]) || !strings.Contains(lines[1], "District court 3") || !strings.Contains(lines[1], " owed ") {
		t.Fatalf("notices:\n%s", list)
	}
	notice := strings.Fields(lines[1])[0]
	if code, _, errs := run(t, admin, "notices", "sent", notice); code == 0 || !strings.Contains(errs, "note") {
		t.Fatalf("notices sent without --note: exit %d %s", code, errs)
	}
	if out := must(admin, "notices", "sent", notice, "--note", "registered letter 2026/118"); !strings.Contains(out, "Recorded notice "+notice+" as sent") {
		t.Fatalf("notices sent: %s", out)
	}
	if list := must(admin, "notices", "--state", "sent"); !strings.Contains(list, notice) || !strings.Contains(list, " sent ") {
		t.Fatalf("notices --state sent:\n%s", list)
	}
}

func otherKeyFile(t *testing.T, dir string) string {
	other, _ := age.GenerateX25519Identity()
	f := filepath.Join(dir, "another.key")
	os.WriteFile(f, []byte(other.String()+"\n"), 0o600)
	return f
}
