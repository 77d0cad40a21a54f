package web_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestApprovalsInBrowser: with the quorum on, one admin proposes a policy
// change and an issuer; a second admin signs in, reads the policy's diff
// from the version in force, approves it (the policy loads, its entry
// citing the proposal and the approver), and refuses the issuer after
// reading the warning that its values would be published for ever. The
// proposer sees their own proposal but no vote form. Every page passes the
// accessibility checks and asks nothing of another origin; with
// OMBUD_SCREENSHOTS=DIR its screenshots are saved.
func TestApprovalsInBrowser(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ada := e.AddPrincipal(t, "Ada Admin", ombud.RoleAdmin)
	ben := e.AdminToken
	if resp := e.Do(t, "POST", "/v1/quorum", ben, "application/json", `{"enabled":true}`); resp.StatusCode != 200 {
		t.Fatalf("enabling the quorum: %d", resp.StatusCode)
	}
	propose := func(body string) apiv1.Proposal {
		t.Helper()
		resp := e.Do(t, "POST", "/v1/proposals", ben, "application/json", body)
		var p apiv1.Proposal
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 201 {
			t.Fatalf("proposing %s: %d %v", body, resp.StatusCode, err)
		}
		return p
	}
	// The change: three confirmations before any action on a match.
	old := access.DefaultPolicy
	changed := strings.Replace(old, "context.confirmations >= 2", "context.confirmations >= 3", 1)
	if changed == old {
		t.Fatal("the default policy has no confirmations rule to change")
	}
	if err := os.WriteFile(e.Dir.PolicyPath(), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := propose(`{"operation":"policy.reload"}`)
	court := ombudtest.NewIssuer(t, "court.example/district-9")
	iss := propose(fmt.Sprintf(`{"operation":"issuer.register","params":{"name":"court.example/district-9","kind":"court","jurisdiction":"EU-DE","key":%q}}`, court.VKey))

	ctx, reqs := browser(t)
	b := &tab{ctx: ctx, shots: os.Getenv("OMBUD_SCREENSHOTS")}
	signIn := func(token string) {
		t.Helper()
		b.do(t, chromedp.Navigate(e.URL+"/approvals"), chromedp.WaitVisible(chromedp.ID("token")), chromedp.SetValue(chromedp.ID("token"), token))
		b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/review/signin"] button`)))
	}
	b.do(t, chromedp.Navigate(e.URL+"/approvals"))
	b.page(t, "Admins: sign in", "approvals-signin", "Sign in with your admin token")

	// The proposer sees both proposals, and may not vote on their own.
	signIn(ben)
	b.page(t, "Approvals", "approvals-proposer", "Multi-party approval is on", "policy.reload", "issuer.register", "1 of the 2 admins",
		"the proposer of a proposal cannot vote on it")
	b.do(t, chromedp.Navigate(e.URL+"/approvals/"+pol.ID))
	b.page(t, "Proposal "+pol.ID, "approval-proposer-own", "The policy, from the version in force to the proposed file", "the proposer of a proposal cannot vote on it")
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form[action$='/vote']").length`)); err != nil || n != 0 {
		t.Fatalf("the proposer is offered a vote form (%d, %v)", n, err)
	}
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action="/review/signout"] button`)))

	// The second admin reads the diff and approves: the policy loads.
	signIn(ada)
	b.page(t, "Approvals", "approvals-queue", "Signed in as Ada Admin", "Awaiting a decision", pol.ID, iss.ID)
	b.do(t, chromedp.Navigate(e.URL+"/approvals/"+pol.ID))
	body := b.page(t, "Proposal "+pol.ID, "approval-policy-diff", "Load a new version of the access policy", "context.confirmations >= 3",
		"context.confirmations >= 2", "unchanged lines", "Your approval completes the quorum")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.diff tr.add td:last-child, table.diff tr.del td:last-child")].map(td => td.closest("tr").className + " " + td.textContent)`))
	if err != nil || !slices.Equal(rows, []string{"del when { context.roles.contains(\"analyst\") && context.confirmations >= 2 && context.unresolved_rejections == 0 };",
		"add when { context.roles.contains(\"analyst\") && context.confirmations >= 3 && context.unresolved_rejections == 0 };"}) {
		t.Fatalf("the diff's changed lines: %q %v\n%s", rows, err, body)
	}
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action$="/vote"] button[value=approve]`)))
	b.page(t, "Proposal "+pol.ID, "approval-policy-ran", "The quorum was reached and the operation ran.", "executed: it ran as log entry",
		"Approved by Ada Admin")
	var got apiv1.Proposal
	if err := json.NewDecoder(e.Do(t, "GET", "/v1/proposals/"+pol.ID, ben, "", "").Body).Decode(&got); err != nil || got.State != ombud.ProposalExecuted {
		t.Fatalf("the policy proposal after the approval: %+v %v", got, err)
	}
	if pe, ok := e.EntryAt(t, got.ExecReceipt).(*entry.Policy); !ok || pe.Proposal == "" || len(pe.Approver) != 1 {
		t.Fatalf("the policy's entry does not cite its approval: %+v", e.EntryAt(t, got.ExecReceipt))
	}
	if p := e.Custody.Access.Policy(); p == nil || !strings.Contains(string(p.Text), "context.confirmations >= 3") {
		t.Fatal("the approved policy is not in force")
	}

	// The issuer: every value it would publish is marked, with the
	// warning; the second admin refuses it, and it is closed for good.
	b.do(t, chromedp.Navigate(e.URL+"/approvals/"+iss.ID))
	b.page(t, "Proposal "+iss.ID, "approval-issuer", "Published permanently", "court.example/district-9", "court", "EU-DE", court.VKey, "yes, for ever")
	before := e.Size(t)
	b.submit(t, chromedp.Click(chromedp.CSS(`form[action$="/vote"] button[value=refuse]`)))
	b.page(t, "Proposal "+iss.ID, "approval-issuer-refused", "Your refusal was recorded", "Refused by Ada Admin", "was refused")
	if pe, ok := e.EntryAt(t, before).(*entry.Proposal); !ok || pe.Op != entry.OpRefuse {
		t.Fatalf("the refusal's entry: %+v", e.EntryAt(t, before))
	}
	b.do(t, chromedp.Navigate(e.URL+"/approvals"))
	b.page(t, "Approvals", "approvals-closed", "No proposal is open.", "Recently closed", "executed", "refused")

	for _, u := range reqs.all() {
		if !strings.HasPrefix(u, e.URL+"/") && u != e.URL {
			t.Errorf("a page requested %s, outside the site", u)
		}
	}
}
