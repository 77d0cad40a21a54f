package ombudtest

import (
	"bytes"
	"context"
	"encoding/json"
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
	next     http.Handler
	api      *api.Server
	tokens   [2]string // the two admins'
	adminIDs [2]string
}

func (s *secondAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, target, ok := s.api.Privileged(r.Method, r.URL.Path)
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
		copyResponse(w, direct)
		return
	}
	params := json.RawMessage(bytes.TrimSpace(body))
	if len(params) == 0 {
		params = nil
	}
	prop, _ := json.Marshal(apiv1.Propose{Operation: op, Target: target, Params: params})
	proposed := s.call(r.Context(), "POST", "/v1/proposals", tok, prop)
	if proposed.Code != http.StatusCreated {
		copyResponse(w, proposed)
		return
	}
	var p apiv1.Proposal
	json.Unmarshal(proposed.Body.Bytes(), &p)
	approved := s.call(r.Context(), "POST", "/v1/proposals/"+p.ID+"/approve", s.tokens[other], nil)
	json.Unmarshal(approved.Body.Bytes(), &p)
	if approved.Code != http.StatusOK || p.Executed == nil {
		copyResponse(w, approved)
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

func (s *secondAdmin) call(ctx context.Context, method, path, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, req)
	return rec
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
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
