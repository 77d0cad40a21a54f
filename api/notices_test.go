package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestErasureNotices: objects exported to two recipients, one of them to
// both; its erasure owes each recipient a notice, recorded in its commit
// and named in its entry; the notices are listed per recipient, marked
// sent once (logged), and the audit is clean; an erasure owed long ago
// shows as overdue on /status and to the auditor.
func TestErasureNotices(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	ps := func(ns, id string) string { return e.Journal.Key.Pseudonym(ns, id) }
	r1, _ := e.recipient(t, "District court 3", ombudtest.Jurisdiction)
	r2, _ := e.recipient(t, "Regional court 7", ombudtest.Jurisdiction)
	e.authorize(t, "auth-notices", func(a *ombud.Authorization) { a.ShareRecipients = []string{r1, r2} })
	exportTo := func(rcp string, objects ...string) {
		t.Helper()
		resp := e.export(t, e.analyst, apiv1.StartExport{Recipient: rcp, Objects: objects, Purpose: "criminal_investigation", Authorization: "auth-notices"})
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("export to %s: %d", rcp, resp.StatusCode)
		}
	}
	shared, once := e.general[1], e.location[0]
	exportTo(r1, shared, once)
	exportTo(r2, shared)
	exportTo(r2, shared) // twice to one recipient: one notice

	erase := func(id string) uint64 {
		t.Helper()
		resp := e.Do(t, "POST", "/v1/objects/"+id+"/erase", e.AdminToken, "application/json", `{"reason":"court_order","authorization":"ord-7"}`)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("erase %s: %d", id, resp.StatusCode)
		}
		var n uint64
		fmt.Sscan(resp.Header.Get("Ombud-Receipt"), &n)
		return n
	}
	idx := erase(shared)
	er, ok := e.EntryAt(t, idx).(*entry.Erase)
	want := []string{ps("recipient", r1), ps("recipient", r2)}
	slices.Sort(want)
	if !ok || !slices.Equal(slices.Sorted(slices.Values(er.Recipient)), want) {
		t.Fatalf("the erase entry of an object exported to two recipients: %+v", e.EntryAt(t, idx))
	}
	// An object never exported owes none.
	if er, _ := e.EntryAt(t, erase(e.general[0])).(*entry.Erase); er == nil || len(er.Recipient) != 0 {
		t.Fatalf("the erase entry of an object never exported: %+v", er)
	}

	list := func(token, query string) (*http.Response, apiv1.Notices) {
		t.Helper()
		resp := e.Do(t, "GET", "/v1/notices"+query, token, "", "")
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return resp, apiv1.Notices{}
		}
		return resp, decode[apiv1.Notices](t, resp)
	}
	_, all := list(e.AdminToken, "")
	if len(all.Notices) != 2 {
		t.Fatalf("%d notices after one erasure of an object exported to two recipients, want 2: %+v", len(all.Notices), all)
	}
	byRecipient := map[string]apiv1.Notice{}
	for _, n := range all.Notices {
		if n.Object != shared || n.EraseReceipt != idx || n.Sent != nil || n.Overdue || !n.Due.Equal(n.Owed.Add(ombud.NoticeWithin)) {
			t.Fatalf("notice %+v, want owed for %s by erase entry %d", n, shared, idx)
		}
		byRecipient[n.Recipient] = n
	}
	if byRecipient[r1].RecipientName != "District court 3" || byRecipient[r2].RecipientName != "Regional court 7" {
		t.Fatalf("the notices' recipients: %+v", all.Notices)
	}
	if _, one := list(e.AdminToken, "?recipient="+url.QueryEscape(r2)); len(one.Notices) != 1 || one.Notices[0].Recipient != r2 {
		t.Fatalf("the notices of one recipient: %+v", one)
	}
	auditor := e.AddPrincipal(t, "Aud", ombud.RoleAuditor)
	if _, got := list(auditor, "?state=owed"); len(got.Notices) != 2 {
		t.Fatalf("an auditor lists %d notices owed, want 2", len(got.Notices))
	}
	for _, bad := range []struct{ token, query string }{
		{e.analyst, ""}, {e.ingestor, ""}, {"", ""},
		{e.AdminToken, "?state=lost"}, {e.AdminToken, "?limit=0"}, {e.AdminToken, "?limit=1001"}, {e.AdminToken, "?recipient=" + strings.Repeat("r", 65)},
	} {
		resp, _ := list(bad.token, bad.query)
		if resp.StatusCode == 200 {
			t.Errorf("GET /v1/notices%s as %.8s: 200", bad.query, bad.token)
		}
	}

	// Marking one sent: admin only, with a note, once; logged.
	n1 := byRecipient[r1].ID
	before := e.Size(t)
	send := func(token, id, body string) *http.Response {
		return e.Do(t, "POST", "/v1/notices/"+id+"/sent", token, "application/json", body)
	}
	for _, bad := range []struct {
		token, id, body string
		status          int
	}{
		{e.analyst, n1, `{"note":"letter"}`, 403},
		{auditor, n1, `{"note":"letter"}`, 403},
		{e.AdminToken, n1, `{"note":""}`, 400},
		{e.AdminToken, n1, `{"note":"a\u202eb"}`, 400},
		{e.AdminToken, n1, `{"note":"` + strings.Repeat("x", 1025) + `"}`, 400},
		{e.AdminToken, n1, `{"note":"letter","extra":1}`, 400},
		{e.AdminToken, "nosuchnotice", `{"note":"letter"}`, 404},
		{e.AdminToken, strings.Repeat("n", 5000), `{"note":"letter"}`, 404},
	} {
		resp := send(bad.token, bad.id, bad.body)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(msg) > 1000 {
			t.Errorf("POST /v1/notices/%.20s…/sent: an answer of %d bytes repeats the id", bad.id, len(msg))
		}
		if resp.StatusCode != bad.status {
			t.Errorf("POST /v1/notices/%s/sent %.40s as %.8s: %d, want %d", bad.id, bad.body, bad.token, resp.StatusCode, bad.status)
		}
	}
	if got := e.Size(t); got != before {
		t.Fatalf("refused sendings logged %d entries", got-before)
	}
	resp := send(e.AdminToken, n1, `{"note":"registered letter 2026/118 to the court's registry"}`)
	sent := decode[apiv1.Notice](t, resp)
	if resp.StatusCode != 200 || sent.Sent == nil || sent.SentReceipt == 0 {
		t.Fatalf("marking a notice sent: %d %+v", resp.StatusCode, sent)
	}
	ne, ok := e.EntryAt(t, sent.SentReceipt).(*entry.Notice)
	if !ok || ne.Object != ps("object", shared) || ne.Recipient != ps("recipient", r1) || ne.RecipientCategory != "court" || ne.Jurisdiction != ombudtest.Jurisdiction {
		t.Fatalf("the notice entry: %+v", e.EntryAt(t, sent.SentReceipt))
	}
	if resp := send(e.AdminToken, n1, `{"note":"again"}`); resp.StatusCode != 409 {
		t.Fatalf("marking a notice sent twice: %d", resp.StatusCode)
	}
	if _, got := list(e.AdminToken, "?state=sent"); len(got.Notices) != 1 || got.Notices[0].ID != n1 || got.Notices[0].SentReceipt != sent.SentReceipt {
		t.Fatalf("the notices sent: %+v", got)
	}

	// An erasure owed long ago: overdue on /status and to the auditor.
	if page := string(ombudtest.Get(t, e.URL+"/status")); !strings.Contains(page, "Erasure notices overdue") || !strings.Contains(page, "None: every erasure notice") {
		t.Fatalf("/status before any notice is overdue:\n%s", page)
	}
	exportTo(r1, e.location[1])
	long := time.Now().UTC().Add(-ombud.NoticeWithin - time.Hour).Truncate(time.Millisecond)
	c, err := journal.Erase.Change(e.location[1], journal.ErasePayload{Reason: "court_order", At: long, Notices: []journal.NoticeOwed{{ID: "overduenotice001", Recipient: r1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Journal.Apply(e.Approved(t, context.Background(), ombud.OpObjectErase, e.location[1]), c, journal.Record{Body: entry.Erase{Reason: "court_order", Class: "location", Object: e.location[1], Recipient: []string{r1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if page := string(ombudtest.Get(t, e.URL+"/status")); !strings.Contains(page, "1 erasure notice is overdue") {
		t.Fatalf("/status with one notice overdue:\n%s", page)
	}
	if _, got := list(e.AdminToken, "?state=owed"); !slices.ContainsFunc(got.Notices, func(n apiv1.Notice) bool { return n.ID == "overduenotice001" && n.Overdue }) {
		t.Fatalf("the overdue notice is not listed as overdue: %+v", got)
	}
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, e.Size(t))
	res, _, err := audit.Run(t.Context(), audit.Config{Log: *f, Verifier: e.Dir.Verifier, Details: &audit.HTTPDetails{Server: e.URL, Token: auditor},
		Now: func() time.Time { return time.Now().Add(ombud.NoticeWithin + time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	// Audited as of a month on, by the entries' times: the notice to r2
	// and the one planted are overdue; the one sent is not.
	var rules []string
	for _, f := range res.Findings {
		rules = append(rules, f.Rule)
	}
	if !slices.Equal(rules, []string{audit.RuleErasureNoticeOverdue, audit.RuleErasureNoticeOverdue}) {
		t.Fatalf("audit findings %+v, want two erasure_notice_overdue", res.Findings)
	}
}

// TestErasureBeforeItsExportStreams: an erasure logged after an export's
// permits and committed before the package reaches the object stops the
// package there, logged as a denial in the export for the erasure
// (object_erased), not as a store failing; the erasure owes the recipient
// its notice.
func TestErasureBeforeItsExportStreams(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	rcp, _ := e.recipient(t, "District court 3", ombudtest.Jurisdiction)
	e.authorize(t, "auth-race", func(a *ombud.Authorization) { a.ShareRecipients = []string{rcp} })
	tok, err := ombud.ParseToken(e.analyst)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Store.Principal(t.Context(), tok.PrincipalID())
	if err != nil {
		t.Fatal(err)
	}
	for _, victim := range []string{e.general[0], e.location[1]} { // large (streamed), small (read whole)
		x, err := e.Custody.Export(t.Context(), custody.ExportRequest{Principal: p, Recipient: rcp, Objects: []string{e.location[0], victim},
			Purpose: "criminal_investigation", Authorization: "auth-race"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := e.Custody.Erase(e.Approved(t, t.Context(), ombud.OpObjectErase, victim), custody.Order{Object: victim, Reason: "court_order", Authorization: "ord-9", By: e.AdminID})
		if err != nil {
			t.Fatal(err)
		}
		if er, _ := e.EntryAt(t, w.Index).(*entry.Erase); er == nil || len(er.Recipient) != 1 || er.Recipient[0] != e.Journal.Key.Pseudonym("recipient", rcp) {
			t.Fatalf("the erase entry after the export's permits: %+v", e.EntryAt(t, w.Index))
		}
		if err := e.Custody.WriteExport(t.Context(), x, io.Discard); err == nil {
			t.Fatal("a package whose object was erased before it streamed was written whole")
		}
		last := e.Size(t) - 1
		a, ok := e.EntryAt(t, last).(*entry.Access)
		if !ok || a.Decision != entry.Deny || !slices.Equal(a.Reasons, []string{"object_erased"}) || a.Export != e.Journal.Key.Pseudonym("export", x.Export.ID) {
			t.Fatalf("the stop of the erased object: %+v", e.EntryAt(t, last))
		}
	}
}
