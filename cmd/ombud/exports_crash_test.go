package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/sharing"
)

// TestKillMidExport kills 'ombud serve' with SIGKILL while an export's
// package streams, restarts it, and checks that the export's entry and
// the permit of every object whose file the client began to receive are
// in the log, and that the audit, with the details, is clean.
func TestKillMidExport(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	code, out, errs := run(t, nil, "init", "--data", dir, "--jurisdiction", "EU-DE")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errs)
	}
	admin := lastLine(out)
	cfg := filepath.Join(dir, "ombud.toml")
	toml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, bytes.Replace(toml, []byte("[sharing]\nenabled = false"), []byte("[sharing]\nenabled = true"), 1), 0o600)
	c := startChild(t, bin, dir)
	dd, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ac, _ := client.New(c.url, admin)
	env := map[string]string{"OMBUD_SERVER": c.url, "OMBUD_TOKEN": admin}
	vkey := strings.TrimSpace(mustRun(t, nil, "authz", "keygen", "--name", "court.example/district-3", "--dir", tmp))
	mustRun(t, env, "issuer", "add", "--name", "court.example/district-3", "--kind", "court", "--jurisdiction", "EU-DE", "--key", vkey)
	identity, _ := age.GenerateX25519Identity()
	rcp := lastLine(mustRun(t, env, "recipient", "add", "--name", "District court 3", "--category", "court", "--jurisdiction", "EU-DE", "--key", identity.Recipient().String()))
	note := mustRun(t, nil, "authz", "sign", "--key", filepath.Join(tmp, "court.example_district-3.key"), "--id", "auth-x", "--kind", "court_order", "--case", "3 Gs 117/26",
		"--purpose", "criminal_investigation", "--class", "general", "--subject", "plate:B-1", "--max-uses", "3", "--jurisdiction", "EU-DE", "--valid-for", "720h",
		"--share-recipient", rcp)
	noteFile := filepath.Join(tmp, "auth-x.txt")
	os.WriteFile(noteFile, []byte(note), 0o600)
	mustRun(t, env, "authz", "register", noteFile)
	ingestor, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "ingest", Roles: []ombud.Role{ombud.RoleIngestor}})
	if err != nil {
		t.Fatal(err)
	}
	analyst, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "Ada", Roles: []ombud.Role{ombud.RoleAnalyst}})
	if err != nil {
		t.Fatal(err)
	}
	// 400 objects of 128 KiB: 50 MiB, far more than the connection's
	// buffers hold after the kill.
	ic, _ := client.New(c.url, ingestor.Token)
	const n = 400
	ids := putMany(ctx, t, ic, n, 16, func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 128<<10) },
		client.Put{Class: "general", Subjects: []string{"plate:B-1"}, Source: "cam-1"})
	xc, _ := client.New(c.url, analyst.Token)
	stream, xid, xidx, err := xc.Export(ctx, apiv1.StartExport{Recipient: rcp, Objects: ids, Purpose: "criminal_investigation", Authorization: "auth-x"})
	if err != nil {
		t.Fatal(err)
	}
	// Read 8 MiB of the package, kill the server, then take what the
	// connection still held.
	var got bytes.Buffer
	if _, err := io.CopyN(&got, stream, 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	if _, err := io.Copy(&got, stream); err == nil {
		t.Fatal("the package ended cleanly after the server was killed")
	}
	stream.Close()
	// What arrived opens as far as it goes: the manifest, then the files
	// begun.
	p, err := sharing.OpenPackage(bytes.NewReader(got.Bytes()), identity)
	if err != nil {
		t.Fatalf("the package's start does not open: %v", err)
	}
	m := p.Manifest()
	var begun []*sharing.ManifestObject
	for {
		o, r, err := p.Next()
		if err != nil {
			break
		}
		begun = append(begun, o)
		if _, err := io.Copy(io.Discard, r); err != nil {
			break
		}
	}
	if len(begun) == 0 || len(begun) >= n {
		t.Fatalf("%d of %d files begun before the kill: not a crash mid-export", len(begun), n)
	}
	t.Logf("killed after %d files of %d (%d bytes)", len(begun), n, got.Len())

	c2 := startChild(t, bin, dir)
	verify := func(index uint64) (*entry.Entry, error) {
		var r receipt.Receipt
		if code, err := getJSON(fmt.Sprintf("%s/v1/receipts/%d", c2.url, index), "", &r); code != 200 || err != nil {
			return nil, fmt.Errorf("entry %d is not in the log after the restart: %d %v", index, code, err)
		}
		_, e, err := receipt.Verify(&r, dd.Verifier)
		return e, err
	}
	xps := dd.Linkage.Pseudonym("export", xid)
	if e, err := verify(xidx); err != nil || e.Kind != entry.KindExport || e.Fields["decision"] != entry.Permit || e.Refs["export"][0] != xps {
		t.Fatalf("the export's entry %d after the restart: %v %+v", xidx, err, e)
	}
	if m.Export != xid || m.Receipt.Index != xidx {
		t.Fatalf("the manifest names export %s at %d, the answer %s at %d", m.Export, m.Receipt.Index, xid, xidx)
	}
	eightAtATime(t, len(begun), func(i int) error {
		o := begun[i]
		e, err := verify(o.Receipt.Index)
		if err != nil {
			return fmt.Errorf("file %d (object %s): %v", i, o.ID, err)
		}
		if e.Kind != entry.KindAccess || e.Fields["decision"] != entry.Permit || e.Refs["export"][0] != xps || e.Refs["object"][0] != dd.Linkage.Pseudonym("object", o.ID) {
			return fmt.Errorf("entry %d is not the permit of object %s in export %s: %+v", o.Receipt.Index, o.ID, xid, e)
		}
		return nil
	})
	// The audit, with the details, is clean.
	ac2, _ := client.New(c2.url, admin)
	aud, err := ac2.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "auditor", Roles: []ombud.Role{ombud.RoleAuditor}})
	if err != nil {
		t.Fatal(err)
	}
	lu, _ := url.Parse(c2.url + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := audit.Run(ctx, audit.Config{Log: *f, Verifier: dd.Verifier, Details: &audit.HTTPDetails{Server: c2.url, Token: aud.Token}})
	if err != nil || len(res.Findings) != 0 || res.Details == 0 {
		t.Fatalf("audit after a kill mid-export: %v, %d details, findings %+v", err, res.Details, res.Findings)
	}
}

// mustRun runs the command line and returns its output; it fails the
// test if the command does.
func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errs := run(t, env, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}
