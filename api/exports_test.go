package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/sharing"
)

// exportEnv is a deployment with an analyst, objects of two classes and
// a court; recipients and authorizations are the tests' own.
type exportEnv struct {
	*ombudtest.Env
	analyst, ingestor string
	court             *ombudtest.Issuer
	location, general []string // object ids
	bodies            map[string][]byte
}

func newExportEnv(t *testing.T) *exportEnv {
	t.Helper()
	e := &exportEnv{Env: ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) { c.Sharing.Enabled = true })), bodies: map[string][]byte{}}
	e.analyst = e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	e.ingestor = e.AddPrincipal(t, "Ing", ombud.RoleIngestor)
	e.court = e.Court(t)
	put := func(class string, body []byte, hdr map[string]string) string {
		h := map[string]string{"Ombud-Class": class}
		for k, v := range hdr {
			h[k] = v
		}
		id := decode[apiv1.Object](t, doObj(t, e.Env, "PUT", "/v1/objects", e.ingestor, h, bytes.NewReader(body))).ID
		e.bodies[id] = body
		return id
	}
	for i := range 2 {
		e.location = append(e.location, put("location", fmt.Appendf(nil, "plate B-XY-123 seen at camera %d", i), map[string]string{"Ombud-Subjects": "plate:B-XY-123"}))
	}
	big := make([]byte, 3<<20+11)
	for i := range big {
		big[i] = byte(i * 7)
	}
	subject := map[string]string{"Ombud-Subjects": "plate:B-XY-123"}
	e.general = append(e.general, put("general", big, subject), put("general", []byte("a note"), subject))
	return e
}

// recipient registers a recipient of jurisdiction j and returns its id
// and identity.
func (e *exportEnv) recipient(t *testing.T, name, j string) (string, *age.X25519Identity) {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	resp := e.Do(t, "POST", "/v1/recipients", e.AdminToken, "application/json",
		fmt.Sprintf(`{"name":%q,"category":"court","jurisdiction":%q,"key":%q}`, name, j, id.Recipient().String()))
	done := decode[apiv1.RecipientDone](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("registering %s: %d", name, resp.StatusCode)
	}
	return done.ID, id
}

// authorize registers an authorization of location and general data
// about plate:B-XY-123, changed by edit.
func (e *exportEnv) authorize(t *testing.T, id string, edit func(*ombud.Authorization)) {
	t.Helper()
	a := ombudtest.Authorization(id, 10)
	a.Classes = []string{"location", "general"}
	if edit != nil {
		edit(&a)
	}
	e.Authorize(t, e.court, a)
}

func (e *exportEnv) export(t *testing.T, token string, req apiv1.StartExport) *http.Response {
	t.Helper()
	b, _ := json.Marshal(req)
	return e.Do(t, "POST", "/v1/exports", token, "application/json", string(b))
}

// TestExport: an export decides every object, logs the export and each
// object's permit before the package's first byte, spends one use, and
// streams a package that only the recipient opens, whose manifest's
// digests and receipts check against the files and the log's key.
func TestExport(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	rcp, identity := e.recipient(t, "District court 3", ombudtest.Jurisdiction)
	e.authorize(t, "auth-share", func(a *ombud.Authorization) { a.ShareRecipients = []string{rcp} })
	objects := []string{e.location[0], e.general[0], e.location[1], e.general[1]}
	before := e.Size(t)
	resp := e.export(t, e.analyst, apiv1.StartExport{Recipient: rcp, Objects: objects, Purpose: "criminal_investigation", Authorization: "auth-share", Justification: "case 3 Gs 117/26"})
	pkg, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("export: %d %v %.300s", resp.StatusCode, err, pkg)
	}
	xid := resp.Header.Get(apiv1.HeaderExport)
	if xid == "" || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("no export id or receipt: %v", resp.Header)
	}
	// Opened with the recipient's identity: the manifest first, every
	// object as ingested, each receipt in the log.
	p, err := sharing.OpenPackage(bytes.NewReader(pkg), identity)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Manifest()
	if m.Export != xid || m.Recipient.ID != rcp || len(m.Objects) != 4 || m.Limits.Authorization != "auth-share" || m.Limits.OnwardTransfer || m.Limits.DeleteBy.IsZero() {
		t.Fatalf("manifest: %+v", m)
	}
	verifier := e.Dir.Verifier
	if err := p.VerifyManifest(verifier); err != nil {
		t.Fatalf("the manifest's signature: %v", err)
	}
	if _, en, err := receipt.Verify(m.Receipt, verifier); err != nil || en.Kind != entry.KindExport || en.Fields["decision"] != entry.Permit {
		t.Fatalf("the export's receipt: %v %+v", err, en)
	}
	for i := 0; ; i++ {
		o, r, err := p.Next()
		if err == io.EOF {
			if i != 4 {
				t.Fatalf("%d objects in the package", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || o.ID != objects[i] || !bytes.Equal(got, e.bodies[o.ID]) {
			t.Fatalf("object %d: %s, %d bytes, %v", i, o.ID, len(got), err)
		}
		if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != o.SHA256 {
			t.Fatalf("object %d: digest", i)
		}
		_, en, err := receipt.Verify(o.Receipt, verifier)
		if err != nil || en.Kind != entry.KindAccess || en.Fields["decision"] != entry.Permit || fmt.Sprint(en.Fields["reasons"]) != "[in_export]" ||
			o.Receipt.Index <= m.Receipt.Index {
			t.Fatalf("object %d's receipt: %v %+v", i, err, en)
		}
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := sharing.OpenPackage(bytes.NewReader(pkg), other); err == nil {
		t.Fatal("another identity opened the package")
	}
	// In the log: the export, then a permit for each object; one use.
	if got := e.Size(t) - before; got != 5 {
		t.Fatalf("%d entries for an export of 4 objects, want 5", got)
	}
	x, ok := e.EntryAt(t, m.Receipt.Index).(*entry.Export)
	if !ok || strings.Join(x.ClassCounts, ",") != "general:2,location:2" || x.Objects != 4 || x.Use != 1 || x.CrossBorder || x.RecipientCategory != "court" {
		t.Fatalf("the export entry: %+v", e.EntryAt(t, m.Receipt.Index))
	}
	if a, _ := e.Store.Authorization(context.Background(), "auth-share"); a.Uses != 1 {
		t.Fatalf("uses after one export: %d", a.Uses)
	}
	// The disclosure page states the sharing rule and counts the
	// recipients by category and jurisdiction, never by name.
	page := string(ombudtest.Get(t, e.URL+"/disclosure"))
	if !strings.Contains(page, "Sharing with other bodies") || !strings.Contains(page, "<td>court</td><td>EU-DE</td><td>no</td><td class=\"num\">1</td>") ||
		strings.Contains(page, "District court 3") || strings.Contains(page, "does not share data") {
		t.Fatalf("the disclosure page of a deployment that shares:\n%s", page)
	}
	// The auditor, with the details, finds the export clean: its recipient
	// registered, its scope naming it, every read on its list.
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	auditor := e.AddPrincipal(t, "Aud", ombud.RoleAuditor)
	e.AwaitSize(t, e.Size(t))
	res, _, err := audit.Run(t.Context(), audit.Config{Log: *f, Verifier: e.Dir.Verifier, Details: &audit.HTTPDetails{Server: e.URL, Token: auditor}})
	if err != nil || len(res.Findings) != 0 || res.Details == 0 {
		t.Fatalf("audit after an export: %v, %d details, findings %+v", err, res.Details, res.Findings)
	}
	// The age and tar command-line tools open it alone.
	if agePath, err := exec.LookPath("age"); err == nil {
		dir := t.TempDir()
		idFile := filepath.Join(dir, "id.txt")
		os.WriteFile(idFile, []byte(identity.String()+"\n"), 0o600)
		cmd := exec.Command("sh", "-c", `"$0" -d -i "$1" | tar -x -C "$2"`, agePath, idFile, dir)
		cmd.Stdin = bytes.NewReader(pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("age -d | tar -x: %v %s", err, out)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "objects", e.general[0])); !bytes.Equal(got, e.bodies[e.general[0]]) {
			t.Fatal("tar wrote another object than the one ingested")
		}
	}
}

// TestExportsOff: a deployment that does not share refuses every export,
// logging nothing.
func TestExportsOff(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	before := e.Size(t)
	resp := e.Do(t, "POST", "/v1/exports", analyst, "application/json", `{"recipient":"r","objects":["o"],"purpose":"litigation","authorization":"a"}`)
	if b := decode[apiv1.ErrorBody](t, resp); resp.StatusCode != 403 || !strings.Contains(b.Error.Message, "does not share") {
		t.Fatalf("an export where sharing is off: %d %+v", resp.StatusCode, b.Error)
	}
	if e.Size(t) != before {
		t.Fatal("a refused export logged something")
	}
}

// TestExportRefusals: each refusal has its own reason and is logged as
// the export's denial, spending no use; a malformed request or the wrong
// role logs nothing.
func TestExportRefusals(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	rcp, _ := e.recipient(t, "District court 3", ombudtest.Jurisdiction)
	other, _ := e.recipient(t, "District court 4", ombudtest.Jurisdiction)
	abroad, _ := e.recipient(t, "Tribunal 12", "EU-FR")
	retired, _ := e.recipient(t, "Old court", ombudtest.Jurisdiction)
	if resp := e.Do(t, "POST", "/v1/recipients/"+retired+"/retire", e.AdminToken, "", ""); resp.StatusCode != 200 {
		t.Fatalf("retiring: %d", resp.StatusCode)
	}
	e.authorize(t, "auth-share", func(a *ombud.Authorization) { a.ShareRecipients = []string{rcp, abroad, retired} })
	e.authorize(t, "auth-none", nil)
	e.authorize(t, "auth-loc", func(a *ombud.Authorization) { a.Classes, a.ShareRecipients = []string{"location"}, []string{rcp} })
	erased := e.location[1]
	if resp := e.Do(t, "POST", "/v1/objects/"+erased+"/erase", e.AdminToken, "application/json", `{"reason":"court_order","authorization":"ord-1"}`); resp.StatusCode != 200 {
		t.Fatalf("erasing: %d", resp.StatusCode)
	}
	loc := []string{e.location[0]}
	for _, tc := range []struct {
		name   string
		req    apiv1.StartExport
		status int
		reason string
	}{
		{"no sharing scope", apiv1.StartExport{Recipient: rcp, Objects: loc, Authorization: "auth-none"}, 403, "share_scope_missing"},
		{"a scope naming another recipient", apiv1.StartExport{Recipient: other, Objects: loc, Authorization: "auth-share"}, 403, "share_scope_other_recipient"},
		{"across a border without a transfer scope", apiv1.StartExport{Recipient: abroad, Objects: loc, Authorization: "auth-share"}, 403, "transfer_scope_missing"},
		{"an unknown recipient", apiv1.StartExport{Recipient: "nosuchrecipient0", Objects: loc, Authorization: "auth-share"}, 404, "recipient_unknown"},
		{"a retired recipient", apiv1.StartExport{Recipient: retired, Objects: loc, Authorization: "auth-share"}, 403, "recipient_retired"},
		{"an erased object", apiv1.StartExport{Recipient: rcp, Objects: []string{e.location[0], erased}, Authorization: "auth-share"}, 410, "object_erased"},
		{"a class the authorization does not cover", apiv1.StartExport{Recipient: rcp, Objects: []string{e.location[0], e.general[1]}, Authorization: "auth-loc"}, 403, "class_not_covered"},
		{"an unknown authorization", apiv1.StartExport{Recipient: rcp, Objects: loc, Authorization: "auth-nope"}, 403, "authorization_unknown"},
	} {
		tc.req.Purpose = "criminal_investigation"
		before := e.Size(t)
		resp := e.export(t, e.analyst, tc.req)
		body := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != tc.status || body.Error.Reason != tc.reason || resp.Header.Get("Ombud-Receipt") == "" {
			t.Errorf("%s: %d %+v, want %d %s with a receipt", tc.name, resp.StatusCode, body.Error, tc.status, tc.reason)
			continue
		}
		if e.Size(t) != before+1 {
			t.Errorf("%s: %d entries, want the one denial", tc.name, e.Size(t)-before)
			continue
		}
		e.AwaitSize(t, before+1)
		if x, ok := e.EntryAt(t, before).(*entry.Export); !ok || x.Decision != entry.Deny || fmt.Sprint(x.Reasons) != "["+tc.reason+"]" || x.Use != 0 {
			t.Errorf("%s: the denial logged: %+v", tc.name, e.EntryAt(t, before))
		}
	}
	for _, name := range []string{"auth-share", "auth-none", "auth-loc"} {
		if a, _ := e.Store.Authorization(context.Background(), name); a.Uses != 0 {
			t.Errorf("%s: %d uses spent by refused exports", name, a.Uses)
		}
	}
	before := e.Size(t)
	for _, tc := range []struct {
		name, token string
		req         apiv1.StartExport
		status      int
	}{
		{"an ingestor", e.ingestor, apiv1.StartExport{Recipient: rcp, Objects: loc, Authorization: "auth-share", Purpose: "criminal_investigation"}, 403},
		{"the admin", e.AdminToken, apiv1.StartExport{Recipient: rcp, Objects: loc, Authorization: "auth-share", Purpose: "criminal_investigation"}, 403},
		{"no objects", e.analyst, apiv1.StartExport{Recipient: rcp, Authorization: "auth-share", Purpose: "criminal_investigation"}, 400},
		{"an object twice", e.analyst, apiv1.StartExport{Recipient: rcp, Objects: []string{loc[0], loc[0]}, Authorization: "auth-share", Purpose: "criminal_investigation"}, 400},
		{"an unregistered purpose", e.analyst, apiv1.StartExport{Recipient: rcp, Objects: loc, Authorization: "auth-share", Purpose: "curiosity"}, 400},
		{"no authorization", e.analyst, apiv1.StartExport{Recipient: rcp, Objects: loc, Purpose: "criminal_investigation"}, 400},
	} {
		resp := e.export(t, tc.token, tc.req)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if e.Size(t) != before {
		t.Fatalf("malformed or unauthorized exports logged %d entries", e.Size(t)-before)
	}
}

// TestExportOfARun: an export may take a run's list; only the run's
// starter may name it, and each object is decided afresh.
func TestExportOfARun(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	rcp, identity := e.recipient(t, "District court 3", ombudtest.Jurisdiction)
	e.authorize(t, "auth-share", func(a *ombud.Authorization) { a.ShareRecipients = []string{rcp} })
	e.RegisterContract(t, "ocds-abc123-2026-18")
	resp := e.Do(t, "POST", "/v1/systems", e.AdminToken, "application/json", plateReader)
	sys := decode[apiv1.SystemVersionDone](t, resp).ID
	resp = e.Do(t, "POST", "/v1/runs", e.analyst, "application/json", runBody(sys, e.location, "auth-share"))
	run := decode[apiv1.RunStarted](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("starting the run: %d", resp.StatusCode)
	}
	other := e.AddPrincipal(t, "Bo", ombud.RoleAnalyst)
	req := apiv1.StartExport{Recipient: rcp, Run: run.ID, Purpose: "criminal_investigation", Authorization: "auth-share"}
	before := e.Size(t)
	if resp := e.export(t, other, req); resp.StatusCode != 404 || e.Size(t) != before {
		t.Fatalf("another analyst's export of the run: %d, %d entries", resp.StatusCode, e.Size(t)-before)
	}
	resp = e.export(t, e.analyst, req)
	pkg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export of a run: %d %s", resp.StatusCode, pkg)
	}
	p, err := sharing.OpenPackage(bytes.NewReader(pkg), identity)
	if err != nil || len(p.Manifest().Objects) != len(e.location) || p.Manifest().Objects[0].ID != e.location[0] {
		t.Fatalf("the run's package: %v %+v", err, p)
	}
	both := req
	both.Objects = e.general
	if resp := e.export(t, e.analyst, both); resp.StatusCode != 400 {
		t.Fatalf("objects and a run: %d", resp.StatusCode)
	}
}

// TestExportAgainstItsEndingChanges: an export run at once with the
// erasure of one of its objects, the revocation of its authorization or
// the retirement of its recipient: whichever wins, no export entry or
// permit of it follows the ending change in the log.
func TestExportAgainstItsEndingChanges(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	ps := func(ns, id string) string { return e.Journal.Key.Pseudonym(ns, id) }
	for round := range 9 {
		rcp, _ := e.recipient(t, fmt.Sprintf("District court %d", round), ombudtest.Jurisdiction)
		auth := fmt.Sprintf("auth-race-%d", round)
		e.authorize(t, auth, func(a *ombud.Authorization) { a.ShareRecipients = []string{rcp} })
		var ids []string
		for i := range 2 {
			o, _, err := e.Custody.Ingest(t.Context(), custodyIngest(e, fmt.Sprintf("round %d object %d", round, i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		before := e.Size(t)
		var ending func() *http.Response
		var endKind entry.Kind
		switch round % 3 {
		case 0:
			endKind = entry.KindErase
			ending = func() *http.Response {
				return e.Do(t, "POST", "/v1/objects/"+ids[1]+"/erase", e.AdminToken, "application/json", `{"reason":"court_order","authorization":"ord-1"}`)
			}
		case 1:
			endKind = entry.KindAuthorization
			ending = func() *http.Response {
				return e.Do(t, "POST", "/v1/authorizations/"+auth+"/revoke", e.AdminToken, "application/json", `{"reason":"order_quashed"}`)
			}
		default:
			endKind = entry.KindRecipient
			ending = func() *http.Response {
				return e.Do(t, "POST", "/v1/recipients/"+rcp+"/retire", e.AdminToken, "", "")
			}
		}
		done := make(chan struct{})
		var xStatus int
		go func() {
			defer close(done)
			// Not e.Do: an erasure logged after the export's permits
			// but before its objects are streamed cuts the package
			// (the key is gone), which the client sees as a broken
			// connection.
			b, _ := json.Marshal(apiv1.StartExport{Recipient: rcp, Objects: ids, Purpose: "criminal_investigation", Authorization: auth})
			req, _ := http.NewRequest("POST", e.URL+"/v1/exports", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+e.analyst)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			xStatus = resp.StatusCode
		}()
		if resp := ending(); resp.StatusCode != 200 {
			t.Fatalf("round %d: the ending change: %d", round, resp.StatusCode)
		}
		<-done
		size := e.Size(t)
		e.AwaitSize(t, size)
		leaves, err := e.Log.Leaves(t.Context(), before, size)
		if err != nil {
			t.Fatal(err)
		}
		end := -1
		var lastPermit int
		permits := 0
		var owes []string // the erasure's notices owed
		for i, l := range leaves {
			en, err := entry.Parse(l)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := en.Body()
			switch x := b.(type) {
			case *entry.Erase:
				if endKind == entry.KindErase && x.Object == ps("object", ids[1]) {
					end, owes = i, x.Recipient
				}
			case *entry.Authorization:
				if endKind == entry.KindAuthorization && x.Op == entry.OpRevoke && x.Authorization == ps("authorization", auth) {
					end = i
				}
			case *entry.Recipient:
				if endKind == entry.KindRecipient && x.Op == entry.OpRetire && x.Recipient == ps("recipient", rcp) {
					end = i
				}
			case *entry.Export:
				if x.Decision == entry.Permit {
					lastPermit, permits = i, permits+1
				}
			case *entry.Access:
				if x.Export != "" && x.Decision == entry.Permit {
					lastPermit, permits = i, permits+1
				}
			}
		}
		if end < 0 {
			t.Fatalf("round %d: the ending change is not in the log", round)
		}
		if permits > 0 && lastPermit > end {
			t.Fatalf("round %d: a permit of the export (entry %d) follows the ending change (entry %d)", round, before+uint64(lastPermit), before+uint64(end))
		}
		if permits > 0 && permits != 3 {
			t.Fatalf("round %d: %d permits of an export of 2 objects, want the export and 2", round, permits)
		}
		// An erasure after the export owes its recipient a notice; one
		// before it owes none.
		if endKind == entry.KindErase && (permits > 0) != (len(owes) == 1 && owes[0] == ps("recipient", rcp)) {
			t.Fatalf("round %d: the erasure owes notices to %v after %d permits", round, owes, permits)
		}
		t.Logf("round %d: export %d, %d permits before the %s", round, xStatus, permits, endKind)
	}
}

func custodyIngest(e *exportEnv, body string) custody.IngestRequest {
	return custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: strings.NewReader(body)}
}
