package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/receipt"
)

// decode reads a JSON answer, after checking its status: an error body
// comes with an error status, anything else with a 2xx one.
func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	b, _ := io.ReadAll(resp.Body)
	if _, isErr := any(&v).(*apiv1.ErrorBody); isErr != (resp.StatusCode >= 400) || resp.StatusCode < 200 {
		t.Fatalf("status %d for a %T answer: %s", resp.StatusCode, v, b)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, b)
	}
	return v
}

type state struct {
	size       uint64
	principals int
}

func snapshot(t *testing.T, e *ombudtest.Env) state {
	ps, err := e.Store.Principals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return state{e.Size(t), len(ps)}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	disabled := e.AddPrincipal(t, "Gone", ombud.RoleAdmin)
	ps, _ := e.Store.Principals(context.Background())
	if _, err := e.Custody.DisablePrincipal(context.Background(), ps[len(ps)-1].ID, e.AdminID); err != nil {
		t.Fatal(err)
	}
	auditor := e.AddPrincipal(t, "Oversight", ombud.RoleAuditor)
	wrongSecret := analyst[:len(analyst)-4] + "AAAA"
	const js = "application/json"
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `","roles":["analyst"]}`

	for _, tc := range []struct {
		name, method, path, token, ctype, body string
		status                                 int
		code                                   ombud.Code
	}{
		{"malformed json", "POST", "/v1/principals", e.AdminToken, js, `{"name":`, 400, ombud.CodeMalformedJSON},
		{"syntax error", "POST", "/v1/principals", e.AdminToken, js, `{"name" "x"}`, 400, ombud.CodeMalformedJSON},
		{"empty body", "POST", "/v1/principals", e.AdminToken, js, ``, 400, ombud.CodeMalformedJSON},
		{"two values", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":["analyst"]}{}`, 400, ombud.CodeMalformedJSON},
		{"unknown field", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":["analyst"],"admin":true}`, 400, ombud.CodeUnknownField},
		{"wrong type", "POST", "/v1/principals", e.AdminToken, js, `{"name":1,"roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"string for a list", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":"admin"}`, 400, ombud.CodeInvalid},
		{"null body", "POST", "/v1/principals", e.AdminToken, js, `null`, 400, ombud.CodeMalformedJSON},
		{"list body", "POST", "/v1/issuers", e.AdminToken, js, `[]`, 400, ombud.CodeMalformedJSON},
		{"null field", "POST", "/v1/principals", e.AdminToken, js, `{"name":null,"roles":["analyst"]}`, 400, ombud.CodeMalformedJSON},
		{"unknown role", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":["root"]}`, 400, ombud.CodeInvalid},
		{"no roles", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":[]}`, 400, ombud.CodeInvalid},
		{"control chars", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a\u0000b","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"bidi override", "POST", "/v1/principals", e.AdminToken, js, `{"name":"Ada \u202egnp.exe","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"zero-width space", "POST", "/v1/principals", e.AdminToken, js, `{"name":"Ad\u200ba","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"no-break space", "POST", "/v1/principals", e.AdminToken, js, `{"name":"Ada\u00a0L","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"duplicate key", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":["analyst"],"roles":["admin"]}`, 400, ombud.CodeMalformedJSON},
		{"key in another case", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a","roles":["analyst"],"Roles":["admin"]}`, 400, ombud.CodeUnknownField},
		{"key only in another case", "POST", "/v1/principals", e.AdminToken, js, `{"NAME":"a","roles":["analyst"]}`, 400, ombud.CodeUnknownField},
		{"no content type", "POST", "/v1/principals", e.AdminToken, "", `{"name":"a","roles":["analyst"]}`, 415, ombud.CodeUnsupportedMedia},
		{"utf-16 charset", "POST", "/v1/principals", e.AdminToken, "application/json; charset=utf-16", `{"name":"a","roles":["analyst"]}`, 415, ombud.CodeUnsupportedMedia},
		{"invalid utf-8", "POST", "/v1/principals", e.AdminToken, js, "{\"name\":\"a\xff\",\"roles\":[\"analyst\"]}", 400, ombud.CodeMalformedJSON},
		{"lone surrogate", "POST", "/v1/principals", e.AdminToken, js, `{"name":"a\ud800","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"invisible letter", "POST", "/v1/principals", e.AdminToken, js, `{"name":"\u3164","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"only combining marks", "POST", "/v1/principals", e.AdminToken, js, `{"name":"\u0301\u0302","roles":["analyst"]}`, 400, ombud.CodeInvalid},
		{"issuer named as a formula", "POST", "/v1/issuers", e.AdminToken, js, `{"name":"=2-1","kind":"court","jurisdiction":"EU-DE","key":"x"}`, 400, ombud.CodeInvalid},
		{"report far future", "POST", "/v1/reports", e.AdminToken, js, `{"period":"9999-12"}`, 400, ombud.CodeInvalid},
		{"report before the log", "POST", "/v1/reports", e.AdminToken, js, `{"period":"0001-01"}`, 400, ombud.CodeInvalid},
		{"report next year", "POST", "/v1/reports", e.AdminToken, js, `{"period":"` + fmt.Sprint(time.Now().Year()+1) + `"}`, 400, ombud.CodeInvalid},
		{"oversized body", "POST", "/v1/principals", e.AdminToken, js, big, 413, ombud.CodeBodyTooLarge},
		{"form body", "POST", "/v1/principals", e.AdminToken, "application/x-www-form-urlencoded", `name=a`, 415, ombud.CodeUnsupportedMedia},
		{"missing token", "POST", "/v1/principals", "", js, `{"name":"a","roles":["analyst"]}`, 401, ombud.CodeUnauthenticated},
		{"garbage token", "POST", "/v1/principals", "hunter2", js, `{"name":"a","roles":["analyst"]}`, 401, ombud.CodeUnauthenticated},
		{"wrong secret", "POST", "/v1/principals", wrongSecret, js, `{"name":"a","roles":["analyst"]}`, 401, ombud.CodeUnauthenticated},
		{"disabled principal", "POST", "/v1/principals", disabled, js, `{"name":"a","roles":["analyst"]}`, 401, ombud.CodeUnauthenticated},
		{"wrong role create", "POST", "/v1/principals", analyst, js, `{"name":"a","roles":["admin"]}`, 403, ombud.CodeForbidden},
		{"wrong role list", "GET", "/v1/principals", analyst, "", "", 403, ombud.CodeForbidden},
		{"wrong role disable", "DELETE", "/v1/principals/" + e.AdminID, analyst, "", "", 403, ombud.CodeForbidden},
		{"disable self", "DELETE", "/v1/principals/" + e.AdminID, e.AdminToken, "", "", 409, ombud.CodeConflict},
		{"disable missing", "DELETE", "/v1/principals/nosuchprincipal0", e.AdminToken, "", "", 404, ombud.CodeNotFound},
		{"wrong method", "PUT", "/v1/principals", e.AdminToken, js, `{}`, 405, ombud.CodeMethodNotAllowed},
		{"unknown path", "GET", "/v1/nothing", e.AdminToken, "", "", 404, ombud.CodeNotFound},
		{"receipt not a number", "GET", "/v1/receipts/abc", "", "", "", 400, ombud.CodeInvalid},
		{"receipt leading zero", "GET", "/v1/receipts/01", "", "", "", 400, ombud.CodeInvalid},
		{"receipt negative", "GET", "/v1/receipts/-1", "", "", "", 400, ombud.CodeInvalid},
		{"receipt overflow", "GET", "/v1/receipts/99999999999999999999", "", "", "", 400, ombud.CodeInvalid},
		{"receipt beyond log", "GET", "/v1/receipts/999999", "", "", "", 404, ombud.CodeNotFound},
		{"inclusion no params", "GET", "/v1/proofs/inclusion", "", "", "", 400, ombud.CodeInvalid},
		{"inclusion beyond", "GET", "/v1/proofs/inclusion?index=1&tree_size=100000", "", "", "", 400, ombud.CodeInvalid},
		{"inclusion index>=size", "GET", "/v1/proofs/inclusion?index=2&tree_size=2", "", "", "", 400, ombud.CodeInvalid},
		{"consistency from 0", "GET", "/v1/proofs/consistency?from=0&tree_size=2", "", "", "", 400, ombud.CodeInvalid},
		{"tile traversal", "GET", "/log/tile/../.state/treeState", "", "", "", 404, ombud.CodeNotFound},
		{"state dir", "GET", "/log/.state/treeState", "", "", "", 404, ombud.CodeNotFound},
		{"tile bad name", "GET", "/log/tile/0/1", "", "", "", 404, ombud.CodeNotFound},
		{"tile missing", "GET", "/log/tile/0/x001/000", "", "", "", 404, ombud.CodeNotFound},
		{"tile partial 0", "GET", "/log/tile/0/000.p/0", "", "", "", 404, ombud.CodeNotFound},
		{"tile level 64", "GET", "/log/tile/64/000", "", "", "", 404, ombud.CodeNotFound},
		{"tile with escaped slashes", "GET", "/log/tile/entries%2f000.p%2f1", "", "", "", 404, ombud.CodeNotFound},
		{"tile with leading zeros", "GET", "/log/tile/00/000", "", "", "", 404, ombud.CodeNotFound},
		{"details without token", "GET", "/v1/audit/details?from=0&to=1", "", "", "", 401, ombud.CodeUnauthenticated},
		{"details as analyst", "GET", "/v1/audit/details?from=0&to=1", analyst, "", "", 403, ombud.CodeForbidden},
		{"details as admin", "GET", "/v1/audit/details?from=0&to=1", e.AdminToken, "", "", 403, ombud.CodeForbidden},
		{"details no range", "GET", "/v1/audit/details", auditor, "", "", 400, ombud.CodeInvalid},
		{"details empty range", "GET", "/v1/audit/details?from=2&to=2", auditor, "", "", 400, ombud.CodeInvalid},
		{"details range too long", "GET", "/v1/audit/details?from=0&to=65537", auditor, "", "", 400, ombud.CodeInvalid},
		{"details beyond the log", "GET", "/v1/audit/details?from=0&to=60000", auditor, "", "", 400, ombud.CodeInvalid},
		{"details negative", "GET", "/v1/audit/details?from=-1&to=2", auditor, "", "", 400, ombud.CodeInvalid},
		{"report no period", "POST", "/v1/reports", e.AdminToken, js, `{}`, 400, ombud.CodeInvalid},
		{"report bad period", "POST", "/v1/reports", e.AdminToken, js, `{"period":"2026-13"}`, 400, ombud.CodeInvalid},
		{"report unknown field", "POST", "/v1/reports", e.AdminToken, js, `{"period":"2026-11","band":1}`, 400, ombud.CodeUnknownField},
		{"report as analyst", "POST", "/v1/reports", analyst, js, `{"period":"2026-11"}`, 403, ombud.CodeForbidden},
		{"report as auditor", "POST", "/v1/reports", auditor, js, `{"period":"2026-11"}`, 403, ombud.CodeForbidden},
		{"report without token", "POST", "/v1/reports", "", js, `{"period":"2026-11"}`, 401, ombud.CodeUnauthenticated},
		{"details wrong method", "POST", "/v1/audit/details?from=0&to=1", auditor, "", "", 405, ombud.CodeMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e)
			resp := e.Do(t, tc.method, tc.path, tc.token, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("missing nosniff")
			}
			body := decode[apiv1.ErrorBody](t, resp)
			if body.Error.Code != tc.code || body.Error.Message == "" {
				t.Fatalf("error %+v, want code %s and a message", body.Error, tc.code)
			}
			if strings.Contains(body.Error.Message, "sqlite") || strings.Contains(body.Error.Message, "/tmp") || strings.Contains(body.Error.Message, "ombud.") || strings.Contains(body.Error.Message, "apiv1.") {
				t.Fatalf("internal detail leaked: %s", body.Error.Message)
			}
			if after := snapshot(t, e); after != before {
				t.Fatalf("state changed: %+v → %+v", before, after)
			}
		})
	}
}

func TestPrincipalLifecycle(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", `{"name":"Ada Analyst","roles":["analyst","reviewer"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	p := decode[apiv1.Principal](t, resp)
	if p.Token == "" || p.Receipt == nil || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("create answer lacks token or receipt: %+v", p)
	}
	who := decode[apiv1.Principal](t, e.Do(t, "GET", "/v1/whoami", p.Token, "", ""))
	if who.ID != p.ID || who.Token != "" || len(who.Roles) != 2 {
		t.Fatalf("whoami = %+v", who)
	}
	// The creation is in the log, as a principal entry with no name in it.
	r := decode[receipt.Receipt](t, e.Do(t, "GET", "/v1/receipts/"+resp.Header.Get("Ombud-Receipt"), "", "", ""))
	_, en, err := receipt.Verify(&r, e.Dir.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if en.Kind != entry.KindPrincipal || strings.Contains(string(r.Entry), "Ada") || strings.Contains(string(r.Entry), p.ID) {
		t.Fatalf("en %s", r.Entry)
	}
	if got := en.Refs["principal"][0]; got != e.Dir.Linkage.Pseudonym("principal", p.ID) {
		t.Fatalf("principal ref %s is not the pseudonym of %s", got, p.ID)
	}
	d, err := e.Store.Detail(context.Background(), journal.DetailKeyOf(en))
	if err != nil || journal.CheckDetail(en, d) != nil || !strings.Contains(string(d.Body), "Ada Analyst") {
		t.Fatalf("detail %q: %v", d.Body, err)
	}
	// Erasing the detail leaves the en verifiable.
	if err := e.Store.EraseDetail(context.Background(), journal.DetailKeyOf(en)); err != nil {
		t.Fatal(err)
	}
	r2 := decode[receipt.Receipt](t, e.Do(t, "GET", "/v1/receipts/"+resp.Header.Get("Ombud-Receipt"), "", "", ""))
	if _, _, err := receipt.Verify(&r2, e.Dir.Verifier); err != nil {
		t.Fatalf("entry no longer verifies after its detail was erased: %v", err)
	}

	before := e.Size(t)
	resp = e.Do(t, "DELETE", "/v1/principals/"+p.ID, e.AdminToken, "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if e.Size(t) != before+1 {
		t.Fatal("disabling was not logged")
	}
	if resp := e.Do(t, "GET", "/v1/whoami", p.Token, "", ""); resp.StatusCode != 401 {
		t.Fatalf("disabled token still works: %d", resp.StatusCode)
	}
	list := decode[struct{ Principals []apiv1.Principal }](t, e.Do(t, "GET", "/v1/principals", e.AdminToken, "", ""))
	if n := len(list.Principals); n != 1+ombudtest.Admins() || !list.Principals[n-1].Disabled || list.Principals[n-1].Token != "" {
		t.Fatalf("list = %+v", list)
	}
}

func TestLogEndpointsHeaders(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	addPrincipals(t, e, 300, "p")
	e.AwaitSize(t, 301)
	// Appended together, the entries share batches: the published size is
	// 301 or more, and its partial tile is named by it.
	size := e.Size(t)
	if size >= 512 {
		t.Fatalf("published size %d; the test reads the partial tile after the first", size)
	}
	for _, tc := range []struct{ path, cache string }{
		{"/log/checkpoint", "no-store"},
		{"/log/tile/0/000", "immutable"},
		{"/log/tile/entries/000", "immutable"},
		{fmt.Sprintf("/log/tile/0/001.p/%d", size-256), "max-age=60"},
		{"/log/tile/1/000.p/1", "max-age=60"},
	} {
		resp := e.Do(t, "GET", tc.path, "", "", "")
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), tc.cache) {
			t.Errorf("%s: %d Cache-Control %q, want %q", tc.path, resp.StatusCode, resp.Header.Get("Cache-Control"), tc.cache)
		}
	}
	key := ombudtest.Get(t, e.URL+"/log/key")
	if strings.TrimSpace(string(key)) != e.Dir.VerifierKey {
		t.Fatalf("/log/key = %q", key)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp := e.Do(t, "GET", p, "", "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	m := ombudtest.Get(t, e.URL+"/metrics")
	for _, name := range []string{"ombud_http_requests_total", "ombud_http_request_seconds"} {
		if !strings.Contains(string(m), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestLogFailureFailsClosed breaks the log's storage under a running server:
// the request is denied with log_unavailable and nothing takes effect.
func TestLogFailureFailsClosed(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	e.AddPrincipal(t, "warm", ombud.RoleAnalyst)
	e.AwaitSize(t, 2)
	// Replace the entry bundle directory with a file: Tessera can no
	// longer write bundles.
	entries := filepath.Join(e.Log.Dir(), "tile", "entries")
	if err := os.RemoveAll(entries); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entries, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e)
	resp := e.Do(t, "POST", "/v1/principals", e.AdminToken, "application/json", `{"name":"Mallory","roles":["admin"]}`)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if body := decode[apiv1.ErrorBody](t, resp); body.Error.Code != ombud.CodeLogUnavailable {
		t.Fatalf("code %s", body.Error.Code)
	}
	if after := snapshot(t, e); after.principals != before.principals {
		t.Fatalf("a principal was created although its entry could not be logged")
	}
}

// TestAuditDetailsCarryTheirReceipt: the auditor's logged read of detail
// records answers with the receipt of its audit entry.
func TestAuditDetailsCarryTheirReceipt(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	auditor := e.AddPrincipal(t, "Oversight", ombud.RoleAuditor)
	e.AwaitSize(t, e.Size(t))
	resp := e.Do(t, "GET", "/v1/audit/details?from=0&to=2", auditor, "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Ombud-Receipt") == "" {
		t.Fatalf("details: %d, receipt %q", resp.StatusCode, resp.Header.Get("Ombud-Receipt"))
	}
}
