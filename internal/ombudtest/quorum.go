package ombudtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/api"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/journal"
)

// QuorumMode reports whether the tests run with multi-party approval on
// (OMBUD_TEST_QUORUM set): every deployment New starts has a second admin
// and the quorum enabled from its first minute, and every privileged
// request an admin makes directly is refused (403 quorum_required), then
// proposed by that admin and approved by the other, through the API, as
// two people would. The end-to-end tests of every package that starts its
// deployments with New run in both modes: .ci/run runs them again so.
func QuorumMode() bool { return os.Getenv("OMBUD_TEST_QUORUM") != "" }

// secondAdmin serves the API as next does, except that an admin's direct
// privileged request that the quorum refuses is proposed by its caller and
// approved by the other admin; the approval's run answers it. Anything
// else, the refusal's cause included, is next's answer as it was.
type secondAdmin struct {
	next http.Handler
	// approver serves the approval: another gateway's API, or next.
	approver http.Handler
	tokens   [2]string // the two admins'
}

// SecondAdmin serves the API as next does, except that an admin's direct
// privileged request that the quorum refuses is proposed through next by
// its caller, one of the two admins of tokens, and approved by the other
// through approver (another gateway of the deployment, or next); the
// approval's run answers it. For tests of deployments New does not start.
func SecondAdmin(next, approver http.Handler, tokens [2]string) http.Handler {
	return &secondAdmin{next: next, approver: approver, tokens: tokens}
}

func (s *secondAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, target, ok := api.Privileged(r.Method, r.URL.Path)
	if !ok {
		s.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	direct := httptest.NewRecorder()
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.next.ServeHTTP(direct, r)
	var refusal apiv1.ErrorBody
	json.Unmarshal(direct.Body.Bytes(), &refusal)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	other := -1
	for i, t := range s.tokens {
		if t == tok {
			other = 1 - i
		}
	}
	if direct.Code != http.StatusForbidden || refusal.Error.Reason != ombud.ErrorReason(ombud.ErrQuorumRequired) || other < 0 {
		CopyResponse(w, direct)
		return
	}
	params := json.RawMessage(bytes.TrimSpace(body))
	if len(params) == 0 {
		params = nil
	}
	prop, _ := json.Marshal(apiv1.Propose{Operation: op, Target: target, Params: params})
	proposed := call(r.Context(), s.next, "POST", "/v1/proposals", tok, prop)
	if proposed.Code != http.StatusCreated {
		CopyResponse(w, proposed)
		return
	}
	var p apiv1.Proposal
	json.Unmarshal(proposed.Body.Bytes(), &p)
	approved := call(r.Context(), s.approver, "POST", "/v1/proposals/"+p.ID+"/approve", s.tokens[other], nil)
	json.Unmarshal(approved.Body.Bytes(), &p)
	if approved.Code != http.StatusOK || p.Executed == nil {
		CopyResponse(w, approved)
		return
	}
	if p.Executed.Receipt != 0 {
		w.Header().Set("Ombud-Receipt", strconv.FormatUint(p.Executed.Receipt, 10))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Executed.Status)
	w.Write(p.Executed.Answer)
}

func call(ctx context.Context, h http.Handler, method, path, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// CopyResponse writes what rec recorded to w: its header, status and body.
func CopyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// enableQuorum adds the second admin and enables the quorum.
func (e *Env) enableQuorum(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	p, tok, _, err := e.Custody.AddPrincipal(ctx, "second-admin", []ombud.Role{ombud.RoleAdmin}, e.AdminID)
	if err != nil {
		t.Fatalf("the second admin: %v", err)
	}
	e.SecondAdminToken, e.SecondAdminID = tok.Reveal(), p.ID
	if _, err := e.Gateway.Approval.SetQuorum(ctx, &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired()}, e.AdminID); err != nil {
		t.Fatalf("enabling the quorum: %v", err)
	}
}

// AsAdmin makes an admin's request through the API: in QuorumMode, a
// privileged one is proposed and approved by the second admin.
func (e *Env) AsAdmin(t testing.TB, method, path, body string) *http.Response {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.Do(t, method, path, e.AdminToken, ct, body)
}

// Approved returns ctx, in QuorumMode carrying a proposal of op on target
// ("" for none) that the second admin approved, for a test that makes a
// privileged change through the Go API, as the API does for an approved
// proposal (journal.WithApproval); outside QuorumMode, ctx as it is.
func (e *Env) Approved(t testing.TB, ctx context.Context, op, target string) context.Context {
	t.Helper()
	ctx, err := e.Approval(ctx, op, target)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// Approval is Approved for a goroutine other than the test's: it returns
// what failed instead of failing the test.
func (e *Env) Approval(ctx context.Context, op, target string) (context.Context, error) {
	if !QuorumMode() {
		return ctx, nil
	}
	p, _, err := e.Gateway.Approval.Propose(ctx, approval.Proposal{Operation: op, Target: target}, e.AdminID)
	if err != nil {
		return ctx, fmt.Errorf("proposing %s: %w", op, err)
	}
	if _, _, err := e.Gateway.Approval.Vote(ctx, p.ID, e.SecondAdminID, true); err != nil {
		return ctx, fmt.Errorf("approving %s: %w", op, err)
	}
	return journal.WithApproval(ctx, journal.Approval{Proposal: p.ID, Approvers: []string{e.SecondAdminID}}), nil
}

// Admins is how many admins New creates: two in QuorumMode, else one.
func Admins() int {
	if QuorumMode() {
		return 2
	}
	return 1
}

// ApprovalEntries is how many more entries n privileged requests log in
// QuorumMode (each a proposal and an approval) than alone.
func ApprovalEntries(n int) uint64 {
	if QuorumMode() {
		return uint64(2 * n)
	}
	return 0
}
