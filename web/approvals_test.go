package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestApprovalPagesRefuse: the approver pages refuse what they must, and
// log nothing for it: a reviewer's session, a post without the session's
// CSRF token or from another site, no session, the proposer's own vote, a
// decision that is neither, an oversized form, an unknown proposal, a
// disabled admin's session.
func TestApprovalPagesRefuse(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ada := e.AddPrincipal(t, "Ada Admin", ombud.RoleAdmin)
	rey := e.AddPrincipal(t, "Rey Reviewer", ombud.RoleReviewer)
	e.AddPrincipal(t, "Cy Admin", ombud.RoleAdmin)
	if resp := e.Do(t, "POST", "/v1/quorum", e.AdminToken, "application/json", `{"enabled":true}`); resp.StatusCode != 200 {
		t.Fatalf("enabling the quorum: %d", resp.StatusCode)
	}
	resp := e.Do(t, "POST", "/v1/proposals", e.AdminToken, "application/json", `{"operation":"key.rotate"}`)
	var p apiv1.Proposal
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 201 {
		t.Fatalf("proposing: %d %v", resp.StatusCode, err)
	}
	get := func(path, cookie string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", "__Host-ombud-review="+cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	vote := "/approvals/" + p.ID + "/vote"
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	before := e.Size(t)

	// A reviewer is no approver: the pages ask an admin to sign in, and
	// a vote is refused.
	rc := signIn(t, e, rey)
	if code, body := get("/approvals", rc); code != 200 || !strings.Contains(body, "Admins: sign in") || strings.Contains(body, p.ID) {
		t.Fatalf("/approvals for a reviewer: %d %s", code, body)
	}
	if code, body := get("/approvals/"+p.ID, rc); code != 401 || strings.Contains(body, "key.rotate") {
		t.Fatalf("a proposal for a reviewer: %d", code)
	}
	if resp, _ := post(t, e.URL+vote, url.Values{"csrf": {csrfOf(t, e, rc)}, "decision": {"approve"}}, rc, same); resp.StatusCode != 401 {
		t.Fatalf("a reviewer's vote: %d", resp.StatusCode)
	}
	// No session.
	if resp, _ := post(t, e.URL+vote, url.Values{"decision": {"approve"}}, "", same); resp.StatusCode != 401 {
		t.Fatalf("a vote without a session: %d", resp.StatusCode)
	}
	// An admin signs in with next=approvals and lands there.
	resp2, _ := post(t, e.URL+"/review/signin", url.Values{"token": {ada}, "next": {"approvals"}}, "", nil)
	if resp2.StatusCode != 303 || resp2.Header.Get("Location") != "/approvals" {
		t.Fatalf("an admin's sign-in: %d %s", resp2.StatusCode, resp2.Header.Get("Location"))
	}
	ac := signIn(t, e, ada)
	csrf := csrfAt(t, e, ac, "/approvals")
	for _, c := range []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		status int
	}{
		{"no CSRF token", url.Values{"decision": {"approve"}}, same, 403},
		{"another session's token", url.Values{"csrf": {csrfOf(t, e, rc)}, "decision": {"approve"}}, same, 403},
		{"from another site", url.Values{"csrf": {csrf}, "decision": {"approve"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"an Origin of another host", url.Values{"csrf": {csrf}, "decision": {"approve"}}, map[string]string{"Origin": "https://evil.example"}, 403},
		{"neither approve nor refuse", url.Values{"csrf": {csrf}, "decision": {"maybe"}}, same, 400},
		{"an oversized form", url.Values{"csrf": {csrf}, "decision": {"approve"}, "pad": {strings.Repeat("x", 64<<10)}}, same, 400},
	} {
		if resp, body := post(t, e.URL+vote, c.form, ac, c.hdr); resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
	}
	if code, _ := get("/approvals/"+strings.Repeat("x", 65), ac); code != 404 {
		t.Errorf("a long proposal id: %d", code)
	}
	if code, _ := get("/approvals/no-such-proposal", ac); code != 404 {
		t.Errorf("an unknown proposal: %d", code)
	}
	if resp, _ := post(t, e.URL+"/approvals/no-such-proposal/vote", url.Values{"csrf": {csrf}, "decision": {"approve"}}, ac, same); resp.StatusCode != 404 {
		t.Errorf("a vote on an unknown proposal: %d", resp.StatusCode)
	}
	// The proposer may not vote on their own proposal.
	bc := signIn(t, e, e.AdminToken)
	if resp, body := post(t, e.URL+vote, url.Values{"csrf": {csrfAt(t, e, bc, "/approvals")}, "decision": {"approve"}}, bc, same); resp.StatusCode != 403 ||
		!strings.Contains(body, "cannot vote on it") {
		t.Errorf("the proposer's vote: %d", resp.StatusCode)
	}
	if got := e.Size(t); got != before {
		t.Fatalf("refused posts logged %d entries", got-before)
	}
	// Running a proposal without its approvals is refused too.
	if resp, body := post(t, e.URL+"/approvals/"+p.ID+"/run", url.Values{"csrf": {csrf}}, ac, same); resp.StatusCode != 409 || !strings.Contains(body, "1 of the 2 admins") {
		t.Errorf("running an unapproved proposal: %d", resp.StatusCode)
	}
	// Approving a new admin shows its token once, on the page.
	resp = e.Do(t, "POST", "/v1/proposals", e.AdminToken, "application/json", `{"operation":"admin.create","params":{"name":"Dee Admin","roles":["admin"]}}`)
	var np apiv1.Proposal
	if err := json.NewDecoder(resp.Body).Decode(&np); err != nil || resp.StatusCode != 201 {
		t.Fatalf("proposing an admin: %d %v", resp.StatusCode, err)
	}
	if resp, body := post(t, e.URL+"/approvals/"+np.ID+"/vote", url.Values{"csrf": {csrf}, "decision": {"approve"}}, ac, same); resp.StatusCode != 200 ||
		!strings.Contains(body, "shown this once") || !strings.Contains(body, "omb_") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("approving an admin on the page: %d %s", resp.StatusCode, body)
	}
	// A disabled admin's session ends at once. (With a third admin: no
	// admin is disabled below what the quorum asks.)
	if _, err := e.Custody.DisablePrincipal(t.Context(), e.Principal(t, ada).ID, e.AdminID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := post(t, e.URL+vote, url.Values{"csrf": {csrf}, "decision": {"approve"}}, ac, same); resp.StatusCode != 401 {
		t.Fatalf("a disabled admin's vote: %d", resp.StatusCode)
	}
}
