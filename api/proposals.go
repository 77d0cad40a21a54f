package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/journal"
)

// privilegedRoute is a privileged operation's direct route, which an
// approved proposal of it runs through.
type privilegedRoute struct {
	method, path string
	h            http.HandlerFunc
}

// privilegedRoutes are the privileged operations' direct routes, which an
// approved proposal of each runs through.
var privilegedRoutes = map[string]string{
	ombud.OpIssuerRegister:   "POST /v1/issuers",
	ombud.OpPolicyReload:     "POST /v1/policy/reload",
	ombud.OpKeyRotate:        "POST /v1/keys/rotate",
	ombud.OpAdminCreate:      "POST /v1/principals",
	ombud.OpEmergencyRestore: "POST /v1/principals/{id}/emergency/restore",
	ombud.OpSystemRegister:   "POST /v1/systems",
	ombud.OpSystemVersion:    "POST /v1/systems/{id}/versions",
	ombud.OpRecipientAdd:     "POST /v1/recipients",
	ombud.OpHoldRelease:      "POST /v1/objects/{id}/hold/release",
	ombud.OpObjectErase:      "POST /v1/objects/{id}/erase",
	ombud.OpContractAmend:    "POST /v1/contracts/{id}/releases",
	ombud.OpQuorumSet:        "POST /v1/quorum",
}

// privileged serves privileged operation op's direct route and records it
// for the proposals of the operation. Its changes are refused by the
// store while the quorum asks more than one admin of it, unless they
// carry an approved proposal (403, reason quorum_required).
func (s *Server) privileged(mux *http.ServeMux, op string, roles []ombud.Role, h http.HandlerFunc) {
	pattern := privilegedRoutes[op]
	method, path, _ := strings.Cut(pattern, " ")
	if s.routes == nil {
		s.routes = map[string]privilegedRoute{}
	}
	s.routes[op] = privilegedRoute{method: method, path: path, h: h}
	mux.Handle(pattern, s.auth(roles, h))
}

// Privileged returns the privileged operation a request of method and
// path would make directly, and the target its path names ("" for none).
func Privileged(method, path string) (op, target string, ok bool) {
	for _, o := range ombud.PrivilegedOperations {
		m, p, _ := strings.Cut(privilegedRoutes[o], " ")
		if m != method {
			continue
		}
		pre, post, wild := strings.Cut(p, "{id}")
		switch {
		case !wild && path == p:
			return o, "", true
		case wild && len(path) > len(pre)+len(post) && strings.HasPrefix(path, pre) && strings.HasSuffix(path, post):
			id := path[len(pre) : len(path)-len(post)]
			if !strings.Contains(id, "/") {
				return o, id, true
			}
		}
	}
	return "", "", false
}

func (s *Server) propose(w http.ResponseWriter, r *http.Request) {
	var req apiv1.Propose
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rt, ok := s.routes[req.Operation]
	if !ok {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "operation: one of %s (those this deployment serves)", strings.Join(s.operations(), ", ")))
		return
	}
	if strings.Contains(rt.path, "{") != (req.Target != "") {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "target: %s %s names what it changes in its path; give it exactly when the path has one", rt.method, rt.path))
		return
	}
	if req.Operation == ombud.OpPolicyReload {
		// What the approvers approve is the policy file as it is now: the
		// proposal always pins its SHA-256 (one given must be the file's),
		// and a file changed before it runs is refused (policy_changed).
		var pin apiv1.ReloadPolicy
		if len(bytes.TrimSpace(req.Params)) > 0 && string(bytes.TrimSpace(req.Params)) != "null" {
			dec := json.NewDecoder(bytes.NewReader(req.Params))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&pin); err != nil {
				writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "params: the body of POST /v1/policy/reload, {\"policy_sha256\"} or nothing: %v", err))
				return
			}
		}
		p, err := s.Custody.Access.FilePolicy()
		if err != nil {
			writeError(w, r, err)
			return
		}
		if pin.SHA256 != "" && pin.SHA256 != p.SHA {
			writeError(w, r, &ombud.Error{Code: ombud.CodeConflict, Reason: "policy_changed", Message: fmt.Sprintf("the policy file's SHA-256 is %s, not %s: propose the file as it is", p.SHA, pin.SHA256)})
			return
		}
		req.Params, _ = json.Marshal(apiv1.ReloadPolicy{SHA256: p.SHA})
	}
	if req.Operation == ombud.OpQuorumSet {
		if err := s.lowersQuorum(r.Context(), req.Params); err != nil {
			writeError(w, r, err)
			return
		}
	}
	// The operation is tried first as a dry run, as its proposer: what it
	// checks before its change (its parameters, its target, the values it
	// would publish) is refused now, not after the approvals.
	if err := s.dryRun(r.Context(), req.Operation, req.Target, req.Params, caller(r)); err != nil {
		writeError(w, r, err)
		return
	}
	p, wr, err := s.Approval.Propose(r.Context(), approval.Proposal{Operation: req.Operation, Target: req.Target, Params: req.Params}, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := s.proposalJSON(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// In the set-up mode, or for an operation the quorum asks one admin
	// of, the proposal is approved as made: it runs at once.
	out.Executed = s.executeIfApproved(r.Context(), p)
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/proposals/"+p.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) operations() []string {
	var ops []string
	for _, op := range ombud.PrivilegedOperations {
		if _, ok := s.routes[op]; ok {
			ops = append(ops, op)
		}
	}
	return ops
}

func (s *Server) vote(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, wr, ex, err := s.VoteAndRun(r.Context(), r.PathValue("id"), caller(r), approve)
		if err != nil {
			writeError(w, r, err)
			return
		}
		s.answerProposal(w, r, p, ex, func(out apiv1.Proposal) { s.receiptJSON(w, wr, out) })
	}
}

// answerProposal writes p, with what its run answered, through write.
func (s *Server) answerProposal(w http.ResponseWriter, r *http.Request, p *ombud.Proposal, ex *apiv1.Executed, write func(apiv1.Proposal)) {
	out, err := s.proposalJSON(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out.Executed = ex
	write(out)
}

// VoteAndRun records admin by's vote on proposal id and, when an approval
// completes the quorum, runs the operation (executeIfApproved). It returns
// the proposal as it stands after, the vote's entry, and what the
// operation answered (nil when it did not run). The API's approve and
// refuse, and the approver pages, vote through it.
func (s *Server) VoteAndRun(ctx context.Context, id string, by *ombud.Principal, approve bool) (*ombud.Proposal, journal.Leaf, *apiv1.Executed, error) {
	p, wr, err := s.Approval.Vote(ctx, id, by.ID, approve)
	if err != nil {
		return nil, wr, nil, err
	}
	var ex *apiv1.Executed
	if approve {
		if ex = s.executeIfApproved(ctx, p); ex != nil {
			if q, err := s.Store.Proposal(ctx, p.ID); err == nil {
				p = q
			}
		}
	}
	return p, wr, ex, nil
}

// Run runs approved proposal id's operation again, after its run was
// refused (a policy file changed since, a target held meanwhile): the
// approvals stand until the proposal expires, and any admin may run it.
// A proposal that is not open and approved is refused (409).
func (s *Server) Run(ctx context.Context, id string) (*ombud.Proposal, *apiv1.Executed, error) {
	if id == "" || len(id) > 64 {
		return nil, nil, ombud.Errorf(ombud.CodeNotFound, "no such proposal")
	}
	p, err := s.Store.Proposal(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	q, err := s.Store.Quorum(ctx)
	if err != nil {
		return nil, nil, err
	}
	if st := p.StateAt(time.Now()); st != ombud.ProposalOpen {
		return nil, nil, &ombud.Error{Code: ombud.CodeConflict, Reason: "proposal_" + st, Message: fmt.Sprintf("proposal %s is %s: it does not run", id, st)}
	}
	if !approval.Approved(s.enabledVotes(ctx, p), q, time.Now()) {
		return nil, nil, &ombud.Error{Code: ombud.CodeConflict, Reason: "quorum_required", Message: fmt.Sprintf("proposal %s has %d of the %d admins %s needs", id, 1+len(p.Approvers()), approval.Needs(p, q), p.Operation)}
	}
	ex := s.executeIfApproved(ctx, p)
	if q, err := s.Store.Proposal(ctx, p.ID); err == nil {
		p = q
	}
	return p, ex, nil
}

func (s *Server) runProposal(w http.ResponseWriter, r *http.Request) {
	p, ex, err := s.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.answerProposal(w, r, p, ex, func(out apiv1.Proposal) { writeJSON(w, http.StatusOK, out) })
}

// lowersQuorum refuses a quorum.set proposal that does not lower the
// quorum in force: enabling or raising it is any admin's, directly.
func (s *Server) lowersQuorum(ctx context.Context, params json.RawMessage) error {
	var req apiv1.SetQuorum
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return ombud.Errorf(ombud.CodeInvalid, "params: the body of POST /v1/quorum: %v", err)
	}
	next, err := ombud.NewQuorum(req.Enabled, req.Required)
	if err != nil {
		return err
	}
	cur, err := s.Store.Quorum(ctx)
	if err != nil {
		return err
	}
	if !cur.Lowers(next) {
		return ombud.Errorf(ombud.CodeInvalid, "this quorum does not lower the one in force, so it needs no proposal: set it directly (POST /v1/quorum, or ombud quorum enable)")
	}
	return nil
}

// dryRun runs a proposed operation's route as its proposer would run it
// directly, but stopped before its first change (journal.WithDryRun):
// nothing is changed or logged. It returns the route's refusal, if any.
func (s *Server) dryRun(ctx context.Context, op, target string, params json.RawMessage, as *ombud.Principal) error {
	rt, ok := s.routes[op]
	if !ok {
		return ombud.Errorf(ombud.CodeInvalid, "operation: one of %s", strings.Join(s.operations(), ", "))
	}
	ctx, reached := journal.WithDryRun(ctx)
	rec := s.runRoute(context.WithValue(ctx, ctxKey{}, as), rt, target, params)
	ok, privileged := reached()
	switch {
	case ok && !privileged:
		// A principal without the admin role, say: a proposal would run
		// it, but nothing would take it, so it could run again and again.
		return &ombud.Error{Code: ombud.CodeInvalid, Reason: "not_privileged", Message: "this change is not privileged as proposed: make it directly (" + rt.method + " " + rt.path + ")"}
	case ok:
		return nil
	case rec.status >= 400:
		var body apiv1.ErrorBody
		if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil || body.Error.Code == "" {
			return ombud.Errorf(ombud.CodeInvalid, "the operation would be refused (status %d)", rec.status)
		}
		return &ombud.Error{Code: body.Error.Code, Reason: body.Error.Reason, Problems: body.Error.Problems, Message: "the operation would be refused: " + body.Error.Message}
	default:
		return &ombud.Error{Code: ombud.CodeInvalid, Reason: "no_change", Message: "the operation would change nothing as proposed: there is nothing to approve"}
	}
}

// runRoute serves a privileged operation's direct route to an in-process
// request of target and params, with ctx (its caller and any approval or
// dry run), and returns what it answered.
func (s *Server) runRoute(ctx context.Context, rt privilegedRoute, target string, params []byte) *recorder {
	path := strings.Replace(rt.path, "{id}", url.PathEscape(target), 1)
	var body io.Reader = bytes.NewReader(params)
	if len(params) == 0 || string(params) == "null" || string(params) == "{}" {
		body = http.NoBody // as a route that takes no body is called
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	req, err := http.NewRequestWithContext(ctx, rt.method, path, body)
	if err != nil {
		rec.status = http.StatusInternalServerError
		return rec
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetPathValue("id", target)
	rt.h(rec, req)
	return rec
}

// executeIfApproved runs an approved proposal's operation through its
// direct route, as its proposer, with the approval in the context: the
// store takes the proposal with the operation's reservation, so that it
// runs once however many votes reach the quorum at once, and the
// operation's entry cites the proposal and its approvers. It returns
// what the route answered, or nil when the proposal is not approved.
func (s *Server) executeIfApproved(ctx context.Context, p *ombud.Proposal) *apiv1.Executed {
	q, err := s.Store.Quorum(ctx)
	if err != nil {
		return nil
	}
	// Only the approvals of admins still enabled count, as the store
	// counts them, and only they are named in the entry.
	p = s.enabledVotes(ctx, p)
	if !approval.Approved(p, q, time.Now()) {
		return nil
	}
	rt := s.routes[p.Operation]
	proposer, err := s.Store.Principal(ctx, p.Proposer)
	if err != nil || proposer.Disabled || !proposer.Has(ombud.RoleAdmin) {
		return &apiv1.Executed{Status: http.StatusForbidden, Answer: errorAnswer(ombud.Errorf(ombud.CodeForbidden, "the proposer is no longer an enabled admin: the proposal cannot run"))}
	}
	ctx = journal.WithApproval(context.WithValue(ctx, ctxKey{}, proposer), journal.Approval{Proposal: p.ID, Approvers: p.Approvers()})
	rec := s.runRoute(ctx, rt, p.Target, p.Params)
	ex := &apiv1.Executed{Status: rec.status}
	if n, err := strconv.ParseUint(rec.header.Get("Ombud-Receipt"), 10, 64); err == nil {
		ex.Receipt = n
	}
	if json.Valid(rec.body.Bytes()) {
		ex.Answer = json.RawMessage(bytes.TrimSpace(rec.body.Bytes()))
	}
	return ex
}

// enabledVotes is p with only the votes of admins still enabled.
func (s *Server) enabledVotes(ctx context.Context, p *ombud.Proposal) *ombud.Proposal {
	x := *p
	x.Votes = nil
	for _, v := range p.Votes {
		if a, err := s.Store.Principal(ctx, v.By); err == nil && a.Has(ombud.RoleAdmin) {
			x.Votes = append(x.Votes, v)
		}
	}
	return &x
}

func errorAnswer(err error) json.RawMessage {
	var body apiv1.ErrorBody
	body.Error.Code, body.Error.Message, body.Error.Reason = ombud.ErrorCode(err), ombud.ErrorMessage(err), ombud.ErrorReason(err)
	b, _ := json.Marshal(body)
	return b
}

// recorder keeps what a privileged route answered a proposal's run.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func (s *Server) getProposal(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such proposal"))
		return
	}
	p, err := s.Store.Proposal(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := s.proposalJSON(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listProposals(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case "", ombud.ProposalOpen, ombud.ProposalExecuted, ombud.ProposalRefused, ombud.ProposalExpired:
	default:
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "state must be open, executed, refused or expired (or absent, for all)"))
		return
	}
	stored := state
	if state == ombud.ProposalExpired {
		stored = "" // an open one past its expiry is expired before the sweep says so
	}
	ps, err := s.Store.Proposals(r.Context(), stored, 200)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.Proposals{Proposals: []apiv1.Proposal{}}
	for _, p := range ps {
		x, err := s.proposalJSON(r.Context(), p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if state == "" || x.State == state {
			out.Proposals = append(out.Proposals, x)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) proposalJSON(ctx context.Context, p *ombud.Proposal) (apiv1.Proposal, error) {
	q, err := s.Store.Quorum(ctx)
	if err != nil {
		return apiv1.Proposal{}, err
	}
	out := apiv1.Proposal{ID: p.ID, Operation: p.Operation, Target: p.Target, Params: json.RawMessage(p.Params), ParamsSHA256: p.ParamsSHA256,
		Proposer: p.Proposer, Created: p.Created, Expires: p.Expires, State: p.StateAt(time.Now()), Needs: approval.Needs(p, q),
		Votes: []apiv1.Vote{}, Receipt: p.Index, ExecReceipt: p.ExecIndex}
	for _, v := range p.Votes {
		out.Votes = append(out.Votes, apiv1.Vote{By: v.By, Approve: v.Approve, At: v.At, Receipt: v.Index})
	}
	return out, nil
}

func (s *Server) getQuorum(w http.ResponseWriter, r *http.Request) {
	q, err := s.Store.Quorum(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, quorumJSON(q, q.Index))
}

func quorumJSON(q *ombud.Quorum, receipt uint64) apiv1.Quorum {
	out := apiv1.Quorum{Enabled: q.Enabled, Required: map[string]int{}, Receipt: receipt}
	for _, op := range ombud.PrivilegedOperations {
		out.Required[op] = q.Needs(op)
	}
	return out
}

// setQuorum enables, raises, lowers or disables the quorum. Enabling or
// raising it is any admin's; lowering or disabling an enabled one is the
// privileged operation quorum.set.
func (s *Server) setQuorum(w http.ResponseWriter, r *http.Request) {
	var req apiv1.SetQuorum
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	q, err := ombud.NewQuorum(req.Enabled, req.Required)
	if err != nil {
		writeError(w, r, err)
		return
	}
	wr, err := s.Approval.SetQuorum(r.Context(), q, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, quorumJSON(q, wr.Index))
}
