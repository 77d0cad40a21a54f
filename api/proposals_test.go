package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/audit"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestQuorumFlow: in the set-up mode one admin registers an issuer alone;
// once the quorum is enabled (logged), the direct request is refused
// (quorum_required) and the operation runs on a proposal that another
// admin approves, its entry citing the proposal and the approver. Each
// refusal has its own reason: the proposer voting, a second vote, a vote
// on a refused proposal, lowering the quorum without a quorum.
func TestQuorumFlow(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("this test starts in the set-up mode and enables the quorum itself")
	}
	e := ombudtest.New(t)
	ps := func(ns, id string) string { return e.Journal.Key.Pseudonym(ns, id) }
	admin2 := e.AddPrincipal(t, "Second admin", ombud.RoleAdmin)
	admin3 := e.AddPrincipal(t, "Third admin", ombud.RoleAdmin)
	id2, _ := ombud.ParseToken(admin2)
	do := func(token, method, path, body string) *http.Response {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		return e.Do(t, method, path, token, ct, body)
	}
	refused := func(resp *http.Response, status int, reason string) {
		t.Helper()
		b := decode[apiv1.ErrorBody](t, resp)
		if resp.StatusCode != status || b.Error.Reason != reason {
			t.Fatalf("%d %+v, want %d %s", resp.StatusCode, b.Error, status, reason)
		}
	}
	issuer := func(name string) string {
		return fmt.Sprintf(`{"name":%q,"kind":"court","jurisdiction":"EU-DE","key":%q}`, name, ombudtest.NewIssuer(t, name).VKey)
	}
	if q := decode[apiv1.Quorum](t, do(admin2, "GET", "/v1/quorum", "")); q.Enabled || q.Required[ombud.OpIssuerRegister] != 1 {
		t.Fatalf("a new deployment's quorum: %+v", q)
	}
	if page := string(ombudtest.Get(t, e.URL+"/status")); !strings.Contains(page, "single-admin set-up mode") {
		t.Fatalf("/status of a new deployment does not show its set-up mode:\n%s", page)
	}
	if resp := do(e.AdminToken, "POST", "/v1/issuers", issuer("court.example/setup")); resp.StatusCode != 201 {
		t.Fatalf("an issuer in the set-up mode: %d", resp.StatusCode)
	}
	resp := do(e.AdminToken, "POST", "/v1/quorum", `{"enabled":true,"required":["policy.reload:3"]}`)
	q := decode[apiv1.Quorum](t, resp)
	if resp.StatusCode != 200 || !q.Enabled || q.Required[ombud.OpIssuerRegister] != 2 || q.Required[ombud.OpPolicyReload] != 3 {
		t.Fatalf("enabling the quorum: %d %+v", resp.StatusCode, q)
	}
	if qe, ok := e.EntryAt(t, q.Receipt).(*entry.Quorum); !ok || qe.Op != entry.OpEnable || !slices.Contains(qe.Required, "issuer.register:2") {
		t.Fatalf("the quorum's entry: %+v", e.EntryAt(t, q.Receipt))
	}
	if page := string(ombudtest.Get(t, e.URL+"/disclosure")); !strings.Contains(page, "Multi-party approval is on") ||
		!strings.Contains(page, "<td class=\"num\">3</td><td><code>policy.reload</code></td>") {
		t.Fatalf("/disclosure with the quorum on:\n%s", page)
	}
	// No admin may lock the others out: a quorum more admins must meet
	// than are enabled, or disabling an admin below it, is refused.
	refused(do(e.AdminToken, "POST", "/v1/quorum", `{"enabled":true,"required":["policy.reload:4"]}`), 409, "quorum_unreachable")
	// Nor may one admin raise an operation's count to every enabled admin:
	// each would hold a veto over it, and none could be disabled.
	refused(do(e.AdminToken, "POST", "/v1/quorum", `{"enabled":true,"required":["policy.reload:3","issuer.register:3"]}`), 409, "quorum_unreachable")
	refused(do(e.AdminToken, "DELETE", "/v1/principals/"+e.Principal(t, admin3).ID, ""), 409, "quorum_unreachable")
	before := e.Size(t)
	refused(do(e.AdminToken, "POST", "/v1/issuers", issuer("court.example/alone")), 403, "quorum_required")
	refused(do(e.AdminToken, "POST", "/v1/quorum", `{"enabled":false}`), 403, "quorum_required")
	if got := e.Size(t); got != before {
		t.Fatalf("refused privileged requests logged %d entries", got-before)
	}

	propose := func(token, op, target, params string) apiv1.Proposal {
		t.Helper()
		b, _ := json.Marshal(apiv1.Propose{Operation: op, Target: target, Params: json.RawMessage(params)})
		resp := do(token, "POST", "/v1/proposals", string(b))
		p := decode[apiv1.Proposal](t, resp)
		if resp.StatusCode != 201 || p.State != ombud.ProposalOpen || p.Executed != nil {
			t.Fatalf("proposing %s: %d %+v", op, resp.StatusCode, p)
		}
		return p
	}
	vote := func(token, id, how string) (*http.Response, apiv1.Proposal) {
		t.Helper()
		resp := do(token, "POST", "/v1/proposals/"+id+"/"+how, "")
		if resp.StatusCode != 200 {
			return resp, apiv1.Proposal{}
		}
		return resp, decode[apiv1.Proposal](t, resp)
	}
	// What the operation would refuse is refused at the proposal, which
	// logs nothing: a value that looks like personal data, a quorum.set
	// that raises (any admin's, directly), an unknown target.
	before = e.Size(t)
	for _, x := range []struct{ body, want string }{
		{`{"operation":"system.register","params":{"name":"maria-gonzalez-1980","vendor":"v","task":"face_identification","classes":["biometric"],"model":"m","version":"ssn-123-45-6789","accuracy":{"fmr":0.001,"fnmr":0.01,"fpir":0.001,"fnir":0.01,"threshold":0.8,"source":"nist-frte-2024"}}}`, "date of birth"},
		{`{"operation":"issuer.register","params":{"name":"court.example/x","kind":"court","jurisdiction":"EU-DE","key":"not a key"}}`, "key"},
		{`{"operation":"quorum.set","params":{"enabled":true,"required":["policy.reload:4"]}}`, "does not lower"},
		{`{"operation":"hold.release","target":"no-such-object","params":{"reason":"litigation","authorization":"ord-1"}}`, "no-such-object"},
		{`{"operation":"admin.create","params":{"name":"Ana Lyst","roles":["analyst"]}}`, "not privileged"},
	} {
		resp := do(e.AdminToken, "POST", "/v1/proposals", x.body)
		if b := decode[apiv1.ErrorBody](t, resp); resp.StatusCode/100 != 4 || !strings.Contains(b.Error.Message, x.want) {
			t.Errorf("a proposal the operation would refuse: %d %+v, want %q", resp.StatusCode, b.Error, x.want)
		}
	}
	if got := e.Size(t); got != before {
		t.Fatalf("refused proposals logged %d entries", got-before)
	}

	p := propose(e.AdminToken, ombud.OpIssuerRegister, "", issuer("court.example/district-4"))
	if pe, ok := e.EntryAt(t, p.Receipt).(*entry.Proposal); !ok || pe.Op != entry.OpPropose || pe.ParamsSHA256 != p.ParamsSHA256 || pe.Operation != ombud.OpIssuerRegister {
		t.Fatalf("the proposal's entry: %+v", e.EntryAt(t, p.Receipt))
	}
	// The entry commits to the params with a salt the detail record
	// keeps: it opens with the detail, and a guess of the params alone
	// cannot be confirmed.
	d, err := e.Store.Detail(t.Context(), journal.DetailKeyOf(e.Entry(t, p.Receipt)))
	if err != nil {
		t.Fatal(err)
	}
	var pd entry.ProposalDetail
	json.Unmarshal(d.Body, &pd)
	salt, _ := hex.DecodeString(pd.Salt)
	bare, salted := sha256.Sum256([]byte(pd.Params)), sha256.Sum256(append(salt, pd.Params...))
	if len(salt) != 32 || hex.EncodeToString(salted[:]) != p.ParamsSHA256 || hex.EncodeToString(bare[:]) == p.ParamsSHA256 || !strings.Contains(pd.Params, "district-4") {
		t.Fatalf("the params' commitment %s does not open with the detail's salt %q", p.ParamsSHA256, pd.Salt)
	}
	resp, _ = vote(e.AdminToken, p.ID, "approve")
	refused(resp, 403, "proposer_cannot_vote")
	resp, done := vote(admin2, p.ID, "approve")
	if resp.StatusCode != 200 || done.Executed == nil || done.Executed.Status != 201 || done.State != ombud.ProposalExecuted || done.ExecReceipt != done.Executed.Receipt {
		t.Fatalf("the approval that reached the quorum: %d %+v %+v", resp.StatusCode, done, done.Executed)
	}
	ie, ok := e.EntryAt(t, done.Executed.Receipt).(*entry.Issuer)
	if !ok || ie.Proposal != ps("proposal", p.ID) || !slices.Equal(ie.Approver, []string{ps("principal", id2.PrincipalID())}) {
		t.Fatalf("the issuer's entry does not cite its approval: %+v", e.EntryAt(t, done.Executed.Receipt))
	}
	resp, _ = vote(admin3, p.ID, "approve")
	refused(resp, 409, "proposal_executed")

	// A quorum of 3: a second vote by one admin is refused. A policy
	// file that is the policy in force is nothing to propose.
	text, err := os.ReadFile(e.Dir.PolicyPath())
	if err != nil {
		t.Fatal(err)
	}
	refused(do(admin3, "POST", "/v1/proposals", `{"operation":"policy.reload"}`), 400, "no_change")
	// A policy proposal is pinned however its params are spelt.
	for _, params := range []string{`{ }`, `{"policy_sha256":""}`} {
		refused(do(admin3, "POST", "/v1/proposals", `{"operation":"policy.reload","params":`+params+`}`), 400, "no_change")
	}
	refused(do(admin3, "POST", "/v1/proposals", `{"operation":"policy.reload","params":{"policy_sha256":"`+strings.Repeat("0", 64)+`"}}`), 409, "policy_changed")
	os.WriteFile(e.Dir.PolicyPath(), append(text, "\n// version two\n"...), 0o644)
	pol := propose(admin3, ombud.OpPolicyReload, "", "")
	if resp, x := vote(admin2, pol.ID, "approve"); resp.StatusCode != 200 || x.Executed != nil || x.Needs != 3 {
		t.Fatalf("the first of two approvals: %d %+v", resp.StatusCode, x)
	}
	resp, _ = vote(admin2, pol.ID, "approve")
	refused(resp, 409, "already_voted")
	if resp, x := vote(e.AdminToken, pol.ID, "approve"); resp.StatusCode != 200 || x.Executed == nil || x.Executed.Status != 200 {
		t.Fatalf("the approval that reached a quorum of 3: %d %+v", resp.StatusCode, x.Executed)
	}

	// A policy proposal pins the text its approvers saw: a file changed
	// before it runs is refused, not loaded. Its approvals stand: once the
	// file is the one proposed again, any admin runs it.
	three := append(text, "\n// version three\n"...)
	os.WriteFile(e.Dir.PolicyPath(), three, 0o644)
	pin := propose(admin3, ombud.OpPolicyReload, "", "")
	var pinned apiv1.ReloadPolicy
	if err := json.Unmarshal(pin.Params, &pinned); err != nil || len(pinned.SHA256) != 64 {
		t.Fatalf("a policy proposal's params: %s", pin.Params)
	}
	refused(do(admin2, "POST", "/v1/proposals/"+pin.ID+"/run", ""), 409, "quorum_required")
	os.WriteFile(e.Dir.PolicyPath(), append(text, "\n// changed after the proposal\n"...), 0o644)
	vote(admin2, pin.ID, "approve")
	if resp, x := vote(e.AdminToken, pin.ID, "approve"); resp.StatusCode != 200 || x.Executed == nil || x.Executed.Status != 409 ||
		!strings.Contains(string(x.Executed.Answer), "policy_changed") || x.State != ombud.ProposalOpen {
		t.Fatalf("a pinned policy proposal after the file changed: %d %+v", resp.StatusCode, x.Executed)
	}
	os.WriteFile(e.Dir.PolicyPath(), three, 0o644)
	if x := decode[apiv1.Proposal](t, do(admin2, "POST", "/v1/proposals/"+pin.ID+"/run", "")); x.Executed == nil || x.Executed.Status != 200 || x.State != ombud.ProposalExecuted {
		t.Fatalf("running an approved proposal again: %+v %+v", x, x.Executed)
	}
	refused(do(admin2, "POST", "/v1/proposals/"+pin.ID+"/run", ""), 409, "proposal_executed")

	// Refused: closed for good.
	r := propose(e.AdminToken, ombud.OpIssuerRegister, "", issuer("court.example/refused"))
	if resp, x := vote(admin2, r.ID, "refuse"); resp.StatusCode != 200 || x.State != ombud.ProposalRefused {
		t.Fatalf("a refusal: %d %+v", resp.StatusCode, x)
	}
	resp, _ = vote(admin3, r.ID, "approve")
	refused(resp, 409, "proposal_refused")

	// Approvals that complete the quorum at once run the operation once.
	c := propose(e.AdminToken, ombud.OpIssuerRegister, "", issuer("court.example/concurrent"))
	var wg sync.WaitGroup
	var answers [2]apiv1.Proposal
	for i, tok := range []string{admin2, admin3} {
		wg.Go(func() { _, answers[i] = vote(tok, c.ID, "approve") })
	}
	wg.Wait()
	ran := 0
	for _, a := range answers {
		if a.Executed != nil && a.Executed.Status == 201 {
			ran++
		}
	}
	final := decode[apiv1.Proposal](t, do(admin2, "GET", "/v1/proposals/"+c.ID, ""))
	if ran != 1 || final.State != ombud.ProposalExecuted {
		t.Fatalf("two approvals at once: the operation ran %d times; the proposal %+v", ran, final)
	}
	issuers := 0
	for i := c.Receipt; i < e.Size(t); i++ {
		if ie, ok := e.EntryAt(t, i).(*entry.Issuer); ok && ie.Proposal == ps("proposal", c.ID) {
			issuers++
		}
	}
	if issuers != 1 {
		t.Fatalf("the log shows the operation %d times", issuers)
	}

	// Operations whose path names a target, or that take no body, run
	// through their routes as well.
	obj, _, err := e.Custody.Ingest(t.Context(), custody.IngestRequest{Class: "general", By: e.AdminID, Body: strings.NewReader("a note")})
	if err != nil {
		t.Fatal(err)
	}
	// The dry run asks the store's own preconditions too, in a
	// reservation it rolls back: releasing a hold the object does not have
	// is refused at the proposal, which logs nothing and reserves nothing.
	before = e.Size(t)
	if resp := do(e.AdminToken, "POST", "/v1/proposals", `{"operation":"hold.release","target":"`+obj.ID+`","params":{"reason":"litigation","authorization":"ord-1"}}`); resp.StatusCode != 409 {
		t.Fatalf("proposing to release a hold the object does not have: %d", resp.StatusCode)
	}
	if got := e.Size(t); got != before {
		t.Fatalf("a refused dry run logged %d entries", got-before)
	}
	if cs, err := e.Store.Changes(t.Context(), time.Now()); err != nil || len(cs) != 0 {
		t.Fatalf("a dry run left changes in flight: %d %v", len(cs), err)
	}
	if resp := do(e.AdminToken, "POST", "/v1/objects/"+obj.ID+"/hold", `{"reason":"litigation","authorization":"ord-1"}`); resp.StatusCode != 200 {
		t.Fatalf("a hold (not privileged): %d", resp.StatusCode)
	}
	for _, x := range []struct{ op, target, params string }{
		{ombud.OpKeyRotate, "", ""},
		{ombud.OpHoldRelease, obj.ID, `{"reason":"litigation","authorization":"ord-1"}`},
		{ombud.OpObjectErase, obj.ID, `{"reason":"court_order","authorization":"ord-2"}`},
	} {
		p := propose(e.AdminToken, x.op, x.target, x.params)
		if x.target != "" || x.op == ombud.OpKeyRotate {
			// One open proposal of an operation on a target (or of the
			// key's rotation) at a time, so none is left over to carry
			// out a later change alone.
			b, _ := json.Marshal(apiv1.Propose{Operation: x.op, Target: x.target, Params: json.RawMessage(x.params)})
			refused(do(admin3, "POST", "/v1/proposals", string(b)), 409, "proposal_open")
		}
		if resp, got := vote(admin2, p.ID, "approve"); resp.StatusCode != 200 || got.Executed == nil || got.Executed.Status != 200 {
			t.Fatalf("%s on a proposal: %d %+v", x.op, resp.StatusCode, got.Executed)
		}
	}
	// Lowered on a proposal its own quorum approved: disabling it lowers
	// policy.reload's 3, so it needs 3 admins, not quorum.set's 2.
	low := propose(e.AdminToken, ombud.OpQuorumSet, "", `{"enabled":false}`)
	if resp, x := vote(admin2, low.ID, "approve"); resp.StatusCode != 200 || x.Executed != nil || x.Needs != 3 {
		t.Fatalf("disabling a quorum that asks 3 of policy.reload, with 2 admins: %d %+v, needs %d", resp.StatusCode, x.Executed, x.Needs)
	}
	if resp, x := vote(admin3, low.ID, "approve"); resp.StatusCode != 200 || x.Executed == nil || x.Executed.Status != 200 {
		t.Fatalf("disabling the quorum on a proposal: %d %+v", resp.StatusCode, x.Executed)
	}
	if q := decode[apiv1.Quorum](t, do(admin2, "GET", "/v1/quorum", "")); q.Enabled {
		t.Fatalf("the quorum after it was disabled: %+v", q)
	}
	// The real flow audits clean: every privileged entry after the
	// quorum was enabled cites a proposal its approvers approved before.
	lu, _ := url.Parse(e.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(lu, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.AwaitSize(t, e.Size(t))
	res, _, err := audit.Run(t.Context(), audit.Config{Log: *f, Verifier: e.Dir.Verifier})
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("audit of the quorum's flow: %v, findings %+v", err, res.Findings)
	}
	// Wrong roles and bad input.
	analyst := e.AddPrincipal(t, "Ada", ombud.RoleAnalyst)
	for _, bad := range []struct {
		token, method, path, body string
		status                    int
	}{
		{analyst, "POST", "/v1/proposals", `{"operation":"issuer.register","params":{}}`, 403},
		{analyst, "POST", "/v1/proposals/" + p.ID + "/approve", "", 403},
		{analyst, "POST", "/v1/quorum", `{"enabled":true}`, 403},
		{"", "GET", "/v1/proposals", "", 401},
		{e.AdminToken, "POST", "/v1/proposals", `{"operation":"run.start"}`, 400},
		{e.AdminToken, "POST", "/v1/proposals", `{"operation":"issuer.register","params":[1]}`, 400},
		{e.AdminToken, "POST", "/v1/proposals", `{"operation":"object.erase","params":{}}`, 400},
		{e.AdminToken, "POST", "/v1/proposals", `{"operation":"issuer.register","target":"x/../y"}`, 400},
		{e.AdminToken, "POST", "/v1/quorum", `{"enabled":true,"required":["run.start:2"]}`, 400},
		{e.AdminToken, "POST", "/v1/quorum", `{"enabled":true,"required":["issuer.register:99"]}`, 400},
		{e.AdminToken, "GET", "/v1/proposals?state=lost", "", 400},
		{e.AdminToken, "POST", "/v1/proposals/nosuchproposal/approve", "", 404},
	} {
		resp := do(bad.token, bad.method, bad.path, bad.body)
		resp.Body.Close()
		if resp.StatusCode != bad.status {
			t.Errorf("%s %s %s: %d, want %d", bad.method, bad.path, bad.body, resp.StatusCode, bad.status)
		}
	}
}

// TestProposalExpiry: a proposal past its expiry takes no vote
// (proposal_expired), runs nothing, and the sweep closes it, logged.
func TestProposalExpiry(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	admin2 := e.AddPrincipal(t, "Second admin", ombud.RoleAdmin)
	id2, _ := ombud.ParseToken(admin2)
	clock := time.Now()
	svc, err := approval.New(approval.Config{Store: e.Store, Journal: e.Journal, Lifetime: time.Hour, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.Propose(t.Context(), approval.Proposal{Operation: ombud.OpKeyRotate}, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if _, _, err := svc.Vote(t.Context(), p.ID, id2.PrincipalID(), true); ombud.ErrorReason(err) != "proposal_expired" {
		t.Fatalf("a vote at the proposal's expiry: %v, want proposal_expired", err)
	}
	if n, err := svc.Expire(t.Context()); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	got, err := e.Store.Proposal(t.Context(), p.ID)
	if err != nil || got.State != ombud.ProposalExpired {
		t.Fatalf("the proposal after the sweep: %+v, %v", got, err)
	}
	if pe, ok := e.EntryAt(t, e.Size(t)-1).(*entry.Proposal); !ok || pe.Op != entry.OpExpire || pe.Proposal != e.Journal.Key.Pseudonym("proposal", p.ID) {
		t.Fatalf("the expiry's entry: %+v", e.EntryAt(t, e.Size(t)-1))
	}
	if n, _ := svc.Expire(t.Context()); n != 0 {
		t.Fatalf("a second sweep closed %d", n)
	}
}

// TestApproveRacesRefuse: an approval that completes the quorum and a
// refusal, sent at once, settle on the proposal: either the refusal is
// recorded and the operation never runs, or the operation runs once and
// the refusal is refused. Never both, in any round.
func TestApproveRacesRefuse(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("this test enables the quorum itself")
	}
	e := ombudtest.New(t)
	admin2 := e.AddPrincipal(t, "Second admin", ombud.RoleAdmin)
	admin3 := e.AddPrincipal(t, "Third admin", ombud.RoleAdmin)
	if resp := e.Do(t, "POST", "/v1/quorum", e.AdminToken, "application/json", `{"enabled":true}`); resp.StatusCode != 200 {
		t.Fatalf("enabling the quorum: %d", resp.StatusCode)
	}
	refusedWon, approvedWon := 0, 0
	for round := range 12 {
		name := fmt.Sprintf("court.example/race-%d", round)
		body, _ := json.Marshal(apiv1.Propose{Operation: ombud.OpIssuerRegister, Params: json.RawMessage(fmt.Sprintf(`{"name":%q,"kind":"court","jurisdiction":"EU-DE","key":%q}`, name, ombudtest.NewIssuer(t, name).VKey))})
		p := decode[apiv1.Proposal](t, e.Do(t, "POST", "/v1/proposals", e.AdminToken, "application/json", string(body)))
		var wg sync.WaitGroup
		var approve apiv1.Proposal
		var approveCode, refuseCode int
		wg.Go(func() {
			resp := e.Do(t, "POST", "/v1/proposals/"+p.ID+"/approve", admin2, "", "")
			approveCode = resp.StatusCode
			json.NewDecoder(resp.Body).Decode(&approve)
		})
		wg.Go(func() { refuseCode = e.Do(t, "POST", "/v1/proposals/"+p.ID+"/refuse", admin3, "", "").StatusCode })
		wg.Wait()
		final := decode[apiv1.Proposal](t, e.Do(t, "GET", "/v1/proposals/"+p.ID, admin2, "", ""))
		ran := approve.Executed != nil && approve.Executed.Status == 201
		switch {
		case refuseCode == 200 && !ran && final.State == ombud.ProposalRefused:
			refusedWon++
		case refuseCode == 409 && ran && final.State == ombud.ProposalExecuted:
			approvedWon++
		default:
			t.Fatalf("round %d: approve %d (ran %v), refuse %d, the proposal %s", round, approveCode, ran, refuseCode, final.State)
		}
	}
	t.Logf("%d rounds the refusal won, %d the approval", refusedWon, approvedWon)
}

// TestDisabledApproverDoesNotCount: an approval counts only while its
// admin is enabled, and the operation's entry names only the approvals
// that counted.
func TestDisabledApproverDoesNotCount(t *testing.T) {
	t.Parallel()
	if ombudtest.QuorumMode() {
		t.Skip("this test enables the quorum itself")
	}
	e := ombudtest.New(t)
	b := e.AddPrincipal(t, "Ben", ombud.RoleAdmin)
	c := e.AddPrincipal(t, "Cy", ombud.RoleAdmin)
	d := e.AddPrincipal(t, "Dee", ombud.RoleAdmin)
	if resp := e.Do(t, "POST", "/v1/quorum", e.AdminToken, "application/json", `{"enabled":true,"required":["issuer.register:3"]}`); resp.StatusCode != 200 {
		t.Fatalf("enabling the quorum: %d", resp.StatusCode)
	}
	name := "court.example/disabled-approver"
	body, _ := json.Marshal(apiv1.Propose{Operation: ombud.OpIssuerRegister, Params: json.RawMessage(fmt.Sprintf(`{"name":%q,"kind":"court","jurisdiction":"EU-DE","key":%q}`, name, ombudtest.NewIssuer(t, name).VKey))})
	p := decode[apiv1.Proposal](t, e.Do(t, "POST", "/v1/proposals", e.AdminToken, "application/json", string(body)))
	vote := func(tok string) apiv1.Proposal {
		t.Helper()
		resp := e.Do(t, "POST", "/v1/proposals/"+p.ID+"/approve", tok, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("an approval: %d", resp.StatusCode)
		}
		return decode[apiv1.Proposal](t, resp)
	}
	vote(b)
	if resp := e.Do(t, "DELETE", "/v1/principals/"+e.Principal(t, b).ID, e.AdminToken, "", ""); resp.StatusCode != 200 {
		t.Fatalf("disabling Ben: %d", resp.StatusCode)
	}
	if x := vote(c); x.Executed != nil {
		t.Fatalf("a disabled admin's approval counted: %+v", x.Executed)
	}
	x := vote(d)
	if x.Executed == nil || x.Executed.Status != 201 {
		t.Fatalf("the approvals of enabled admins: %+v", x.Executed)
	}
	ie, ok := e.EntryAt(t, x.Executed.Receipt).(*entry.Issuer)
	ps := func(tok string) string { return e.Journal.Key.Pseudonym("principal", e.Principal(t, tok).ID) }
	if !ok || !slices.Equal(ie.Approver, []string{ps(c), ps(d)}) {
		t.Fatalf("the entry names approvers %v, want Cy's and Dee's", ie.Approver)
	}
}
