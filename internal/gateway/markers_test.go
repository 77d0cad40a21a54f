package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/report"
)

// TestMarkersStayPrivate sends a unique marker, shaped like a code (so that
// only the vocabularies stop it), through every free-text and code input
// of every endpoint. Afterwards the marker is in no public file of the log,
// no published report and no public page, and in detail records only of
// the kinds where free text belongs.
func TestMarkersStayPrivate(t *testing.T) {
	e := ombudtest.New(t)
	marker := "maria-gonzalez-1987-" + ombud.NewID()[:6]
	court := e.Court(t)
	analyst := e.AddPrincipal(t, "analyst", ombud.RoleAnalyst, ombud.RoleIngestor)
	auditor := e.AddPrincipal(t, "auditor", ombud.RoleAuditor)
	do := func(method, path, token string, hdr map[string]string, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if body != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	// Principals: the name is free text; a role is a code.
	do("POST", "/v1/principals", e.AdminToken, nil, js(map[string]any{"name": "Ada " + marker, "roles": []string{"analyst"}}))
	do("POST", "/v1/principals", e.AdminToken, nil, js(map[string]any{"name": "Ada", "roles": []string{marker}}))
	// Objects: the source and subjects are identifiers kept private; class
	// and region are codes.
	put := func(hdr map[string]string) string {
		h := map[string]string{"Ombud-Class": "location", "Ombud-Subjects": "plate:B-XY-123", "Content-Type": "application/octet-stream"}
		for k, v := range hdr {
			h[k] = v
		}
		_, body := do("PUT", "/v1/objects", analyst, h, "bytes")
		var o struct{ ID string }
		json.Unmarshal([]byte(body), &o)
		return o.ID
	}
	id := put(map[string]string{"Ombud-Source": "cam " + marker, "Ombud-Subjects": "plate:B-XY-123," + marker})
	put(map[string]string{"Ombud-Class": marker})
	put(map[string]string{"Ombud-Region": marker})
	if id == "" {
		t.Fatal("the object with a marked source was not stored")
	}
	// Authorizations: the id, case, subjects and recipients are private;
	// purposes, classes and the jurisdiction are codes.
	a := ombudtest.Authorization("auth-"+marker, 5)
	a.Case, a.Subjects, a.ShareRecipients = "case "+marker, []string{"plate:B-XY-123", marker}, []string{marker}
	do("POST", "/v1/authorizations", e.AdminToken, map[string]string{"Content-Type": "text/plain"}, string(court.Sign(t, a)))
	for _, bad := range []func(*ombud.Authorization){
		func(a *ombud.Authorization) { a.ID, a.Purposes = "p-"+ombud.NewID(), []string{marker} },
		func(a *ombud.Authorization) { a.ID, a.Classes = "c-"+ombud.NewID(), []string{marker} },
		func(a *ombud.Authorization) { a.ID, a.Jurisdiction = "j-"+ombud.NewID(), marker },
	} {
		b := ombudtest.Authorization("", 5)
		bad(&b)
		do("POST", "/v1/authorizations", e.AdminToken, map[string]string{"Content-Type": "text/plain"}, string(court.Sign(t, b)))
	}
	do("POST", "/v1/issuers", e.AdminToken, nil, js(map[string]any{"name": "court.example/x", "kind": "court", "jurisdiction": marker, "key": court.VKey}))
	// Reads: the justification, the cited authorization and the object id
	// are private; the purpose and emergency reason are codes.
	read := func(path string, hdr map[string]string) {
		h := map[string]string{"Ombud-Purpose": "criminal_investigation", "Ombud-Authorization": "auth-" + marker}
		for k, v := range hdr {
			h[k] = v
		}
		do("GET", path, analyst, h, "")
	}
	read("/v1/objects/"+id, map[string]string{"Ombud-Justification": "looking for " + marker})
	read("/v1/objects/"+id, map[string]string{"Ombud-Purpose": marker})
	read("/v1/objects/"+id, map[string]string{"Ombud-Emergency": marker})
	read("/v1/objects/"+marker, nil)
	// Holds, erasures, revocations: reasons are codes, authorities private.
	do("POST", "/v1/objects/"+id+"/hold", e.AdminToken, nil, js(map[string]string{"reason": marker, "authorization": "order 1"}))
	do("POST", "/v1/objects/"+id+"/hold", e.AdminToken, nil, js(map[string]string{"reason": "litigation", "authorization": "order " + marker}))
	do("POST", "/v1/objects/"+id+"/hold/release", e.AdminToken, nil, js(map[string]string{"reason": marker, "authorization": "order 2"}))
	do("POST", "/v1/objects/"+id+"/hold/release", e.AdminToken, nil, js(map[string]string{"reason": "case_closed", "authorization": "order " + marker}))
	do("POST", "/v1/objects/"+id+"/erase", e.AdminToken, nil, js(map[string]string{"reason": marker, "authorization": "order 3"}))
	do("POST", "/v1/authorizations/auth-"+marker+"/revoke", e.AdminToken, nil, js(map[string]string{"reason": marker}))
	do("POST", "/v1/authorizations/auth-"+marker+"/revoke", e.AdminToken, nil, js(map[string]string{"reason": "order_quashed"}))
	do("POST", "/v1/objects/"+id+"/erase", e.AdminToken, nil, js(map[string]string{"reason": "court_order", "authorization": "order " + marker}))
	// Emergencies, principals and reports by path and body.
	do("POST", "/v1/emergencies/1/attest", e.AdminToken, nil, js(map[string]string{"note": marker}))
	do("POST", "/v1/principals/"+marker+"/emergency/restore", e.AdminToken, nil, "")
	do("DELETE", "/v1/principals/"+marker, e.AdminToken, nil, "")
	do("POST", "/v1/reports", e.AdminToken, nil, js(map[string]string{"period": marker}))
	do("GET", "/v1/audit/details?from=0&to=2", auditor, nil, "")
	do("POST", "/receipt", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "receipt="+marker)
	e.Custody.Sweep(ctx)
	p, _ := report.ParsePeriod(time.Now().UTC().Format("2006-01"))
	if _, err := e.Reports.Publish(ctx, p, e.AdminID); err != nil {
		t.Fatal(err)
	}
	size := e.Size(t)
	e.AwaitSize(t, size)

	// No public file: tiles, entry bundles, checkpoint, reports.
	files := 0
	for _, root := range []string{e.Dir.LogPath(), filepath.Join(e.Dir.Path, "reports")} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(p, string(filepath.Separator)+".state") {
				return err
			}
			b, _ := os.ReadFile(p)
			files++
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("the marker is in the public file %s", p)
			}
			return nil
		})
	}
	if files < 5 {
		t.Fatalf("only %d public files read", files)
	}
	// No public page.
	for _, path := range []string{"/", "/reports", "/reports/" + p.Name, "/reports/" + p.Name + ".json", "/reports/" + p.Name + ".csv", "/status", "/disclosure", "/log/checkpoint"} {
		if _, page := do("GET", path, "", nil, ""); strings.Contains(page, marker) {
			t.Errorf("the marker is on the public page %s", path)
		}
	}
	// Details only of the kinds where free text belongs. (A proposal's
	// detail holds its operation's request whole, as that operation's
	// detail does: in QuorumMode a hold's release and an erasure are
	// proposed.)
	private := map[entry.Kind]bool{entry.KindPrincipal: true, entry.KindIngest: true, entry.KindAccess: true, entry.KindHold: true,
		entry.KindErase: true, entry.KindAuthorization: true, entry.KindAttestation: true, entry.KindProposal: true}
	leaves, err := e.Log.Leaves(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[entry.Kind]bool{}
	for i, leaf := range leaves {
		if bytes.Contains(leaf, []byte(marker)) {
			t.Errorf("entry %d holds the marker: %s", i, leaf)
		}
		en, err := entry.Parse(leaf)
		if err != nil || en.Detail == "" {
			continue
		}
		d, err := e.Store.Detail(ctx, journal.DetailKeyOf(en))
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if bytes.Contains(d.Body, []byte(marker)) {
			seen[en.Kind] = true
			if !private[en.Kind] {
				t.Errorf("the detail of a %s entry holds the marker: %s", en.Kind, d.Body)
			}
		}
	}
	// The marker went where free text belongs (the ingest detail was
	// erased with its object, so it is not among them).
	for _, k := range []entry.Kind{entry.KindPrincipal, entry.KindAccess, entry.KindHold, entry.KindErase, entry.KindAuthorization} {
		if !seen[k] {
			t.Errorf("no %s detail holds the marker: the input did not reach where it belongs", k)
		}
	}

}
