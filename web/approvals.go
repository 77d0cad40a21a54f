package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
)

// Approvers is what the approver pages need of the deployment: the
// proposals of privileged operations, and the votes that run them. Admins
// sign in as reviewers do (Reviewers), with the same sessions.
type Approvers struct {
	// Proposals lists proposals in a state ("" for all), the newest first.
	Proposals func(ctx context.Context, state string, limit int) ([]*ombud.Proposal, error)
	Proposal  func(ctx context.Context, id string) (*ombud.Proposal, error)
	// Vote records an admin's vote and, when an approval completes the
	// quorum, runs the operation through its direct route; it returns
	// what the route answered (nil when it did not run).
	Vote func(ctx context.Context, id string, by *ombud.Principal, approve bool) (*ombud.Proposal, *apiv1.Executed, error)
	// Run runs an approved proposal whose run was refused, again.
	Run func(ctx context.Context, id string) (*ombud.Proposal, *apiv1.Executed, error)
	// Policies returns the policy in force and the policy file as this
	// gateway reads it now, for a policy.reload proposal's diff.
	Policies func() (inForce, file *access.Policy, err error)
}

// approving serves h only on a deployment with approver pages.
func approving(h sitePage) sitePage {
	return staffPage("approver", func(s *Site) bool { return s.Approvers != nil }, h)
}

func (s *Site) renderApprovals(w http.ResponseWriter, r *http.Request, status int, p *page) {
	w.Header().Set("Cache-Control", "no-store")
	p.Nav = "approvals"
	if p.Reviewer == nil {
		p.Area = "approvals"
		s.render(w, r, "signin", status, p)
		return
	}
	name := "approvals"
	if p.Proposal != nil {
		name = "proposal"
	}
	s.render(w, r, name, status, p)
}

// proposalView is a proposal as an approver reads it: who asked, who
// voted, and exactly what it will change.
type proposalView struct {
	P        *ombud.Proposal
	State    string
	Needs    int
	Have     int // the proposer and the approvals
	Proposer string
	Votes    []voteView
	// What it will change: Summary in one line, then the parameters,
	// each marked when the public log will keep it for ever.
	Summary string
	Rows    []paramRow
	Public  bool
	// A policy.reload's diff from the policy in force to the proposed
	// file, or why it cannot be shown.
	Diff     []diffLine
	DiffNote string
	// A quorum.set's change, operation by operation.
	Quorum []quorumChange
	// Whether the signed-in admin may vote, or why not; whether an
	// approved proposal whose run was refused may be run again.
	CanVote bool
	WhyNot  string
	CanRun  bool
}

type voteView struct {
	Name    string
	Approve bool
	At      time.Time
	Index   uint64
}

type paramRow struct {
	Name, Value string
	Public      bool
	// PublicAs says what of a public value the log keeps, when not the
	// value itself ("its key ID").
	PublicAs string
}

type quorumChange struct {
	Op        string
	Now, Next int
}

// operationSummary says in words what each privileged operation does.
var operationSummary = map[string]string{
	ombud.OpIssuerRegister:   "Register an issuer: a new authority whose signed authorizations ombud accepts",
	ombud.OpPolicyReload:     "Load a new version of the access policy, for every gateway",
	ombud.OpKeyRotate:        "Rotate the key-encryption key: a new version wraps every object's key",
	ombud.OpAdminCreate:      "Create a principal with the admin or the oversight role (and any other alongside it)",
	ombud.OpEmergencyRestore: "Restore the emergency access of a principal suspended after an emergency read went uncovered",
	ombud.OpSystemRegister:   "Register an analytic system in the public registry",
	ombud.OpSystemVersion:    "Register a new version of an analytic system",
	ombud.OpRecipientAdd:     "Register a recipient that exports may be sealed to",
	ombud.OpHoldRelease:      "Release the legal hold on an object",
	ombud.OpObjectErase:      "Erase an object on an order: its key is destroyed, and it can never be read again",
	ombud.OpContractAmend:    "Record a later release of a registered contract (an exception to a safeguard clause, say), in the public registry",
	ombud.OpQuorumSet:        "Lower or disable the multi-party approval itself",
}

// publicParams are, for each operation that publishes values that are not
// registered codes, the parameters its public entry keeps for ever ("*":
// all of them).
var publicParams = map[string][]string{
	ombud.OpIssuerRegister: {"*"},
	ombud.OpSystemRegister: {"*"},
	ombud.OpSystemVersion:  {"*"},
	ombud.OpRecipientAdd:   {"category", "jurisdiction"},
	ombud.OpContractAmend:  {"*"},
}

func (s *Site) proposalView(ctx context.Context, p *ombud.Proposal, q *ombud.Quorum, me *ombud.Principal, whole bool) *proposalView {
	now := time.Now()
	v := &proposalView{P: p, State: p.StateAt(now), Needs: approval.Needs(p, q), Have: 1 + len(p.Approvers()),
		Proposer: s.principalName(ctx, p.Proposer), Summary: operationSummary[p.Operation]}
	for _, x := range p.Votes {
		v.Votes = append(v.Votes, voteView{Name: s.principalName(ctx, x.By), Approve: x.Approve, At: x.At, Index: x.Index})
	}
	if err := ombud.CheckVoter(p, me.ID, now); err != nil {
		v.WhyNot = ombud.ErrorMessage(err)
	} else {
		v.CanVote = true
	}
	v.CanRun = v.State == ombud.ProposalOpen && v.Have >= v.Needs
	if !whole {
		return v
	}
	pub := publicParams[p.Operation]
	if p.Target != "" {
		v.Rows = append(v.Rows, paramRow{Name: "target", Value: p.Target})
		if p.Operation == ombud.OpEmergencyRestore {
			v.Rows[0].Value += " (" + s.principalName(ctx, p.Target) + ")"
		}
	}
	for _, r := range flatten("", p.Params) {
		r.Public = slices.Contains(pub, "*") || slices.Contains(pub, strings.SplitN(r.Name, ".", 2)[0])
		if p.Operation == ombud.OpIssuerRegister && r.Name == "key" {
			r.PublicAs = "its key ID"
		}
		v.Public = v.Public || r.Public
		v.Rows = append(v.Rows, r)
	}
	switch p.Operation {
	case ombud.OpPolicyReload:
		s.policyDiff(v)
	case ombud.OpQuorumSet:
		var req apiv1.SetQuorum
		if json.Unmarshal(p.Params, &req) != nil {
			break
		}
		if next, err := ombud.NewQuorum(req.Enabled, req.Required); err == nil {
			for _, op := range ombud.PrivilegedOperations {
				v.Quorum = append(v.Quorum, quorumChange{Op: op, Now: q.Needs(op), Next: next.Needs(op)})
			}
		}
	}
	return v
}

// policyDiff fills v with the change from the policy in force to the
// file this gateway would load, when the file is still the one proposed.
func (s *Site) policyDiff(v *proposalView) {
	var pin apiv1.ReloadPolicy
	json.Unmarshal(v.P.Params, &pin)
	inForce, file, err := s.Approvers.Policies()
	switch {
	case err != nil:
		v.DiffNote = "The policy file cannot be read now (" + ombud.ErrorMessage(err) + "), so its change cannot be shown. Do not approve what you cannot read."
	case pin.SHA256 == "":
		v.DiffNote = "This proposal pins no policy text, so what it would load cannot be shown: refuse it, and propose the file again."
	case file.SHA != pin.SHA256:
		v.DiffNote = fmt.Sprintf("The policy file on this gateway is no longer the one proposed (SHA-256 %s, proposed %s): approving cannot load it, and its run would be refused (policy_changed). Ask the proposer which text they meant.", file.SHA, pin.SHA256)
	case inForce == nil:
		v.Diff = lineDiff("", string(file.Text))
	default:
		v.Diff = lineDiff(string(inForce.Text), string(file.Text))
		if !changed(v.Diff) {
			v.DiffNote = "The proposed file is the policy in force: approving changes nothing."
		}
	}
}

// flatten lists a JSON object's values by their dotted names, in order of
// name; a list of scalars is one comma-separated value.
func flatten(prefix string, raw []byte) []paramRow {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return []paramRow{{Name: strings.TrimSuffix(prefix, "."), Value: string(raw)}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []paramRow
	for _, k := range keys {
		v := bytes.TrimSpace(m[k])
		switch {
		case len(v) > 0 && v[0] == '{':
			out = append(out, flatten(prefix+k+".", v)...)
		case len(v) > 0 && v[0] == '[':
			var list []any
			json.Unmarshal(v, &list)
			parts := make([]string, len(list))
			for i, x := range list {
				parts[i] = scalar(x)
			}
			out = append(out, paramRow{Name: prefix + k, Value: strings.Join(parts, ", ")})
		default:
			var x any
			json.Unmarshal(v, &x)
			out = append(out, paramRow{Name: prefix + k, Value: scalar(x)})
		}
	}
	return out
}

func scalar(x any) string {
	switch x := x.(type) {
	case string:
		return x
	case nil:
		return "(none)"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func (s *Site) principalName(ctx context.Context, id string) string {
	p, err := s.Reviewers.Principal(ctx, id)
	if err != nil {
		return id
	}
	return p.Name + " (" + id + ")"
}

// approvals serves /approvals: the sign-in form, or the open proposals
// and the latest closed ones for a signed-in admin.
func (s *Site) approvals(w http.ResponseWriter, r *http.Request) {
	p, ss, _ := s.signedIn(r, ombud.RoleAdmin)
	if p == nil {
		s.renderApprovals(w, r, http.StatusOK, &page{})
		return
	}
	pg := &page{Message: voteFlash(r.URL.Query().Get("done")), Reviewer: p, CSRF: ss.csrf}
	s.fillApprovals(r.Context(), pg, p)
	s.renderApprovals(w, r, http.StatusOK, pg)
}

func (s *Site) fillApprovals(ctx context.Context, pg *page, me *ombud.Principal) {
	q, err := s.Quorum(ctx)
	if err != nil {
		s.Logger.ErrorContext(ctx, "site: quorum", "err", err)
		pg.Message = "The quorum in force could not be read."
		return
	}
	pg.Quorum = &QuorumView{Enabled: q.Enabled, Index: q.Index}
	ps, err := s.Approvers.Proposals(ctx, "", 100)
	if err != nil {
		s.Logger.ErrorContext(ctx, "site: proposals", "err", err)
		pg.Message = "The proposals could not be read."
		return
	}
	for _, p := range ps {
		v := s.proposalView(ctx, p, q, me, false)
		if v.State == ombud.ProposalOpen {
			pg.Open = append(pg.Open, v)
		} else if len(pg.Closed) < 20 {
			pg.Closed = append(pg.Closed, v)
		}
	}
}

// voteFlash is the message of a finished vote, named by a code.
func voteFlash(code string) string {
	switch code {
	case "approve":
		return "Your approval was recorded."
	case "refuse":
		return "Your refusal was recorded: the proposal is closed."
	case "ran":
		return "The quorum was reached and the operation ran."
	}
	return ""
}

// proposal serves /approvals/{id}: one proposal whole, with what it will
// change, and the vote form.
func (s *Site) proposal(w http.ResponseWriter, r *http.Request) {
	p, ss, _ := s.signedIn(r, ombud.RoleAdmin)
	if p == nil {
		s.renderApprovals(w, r, http.StatusUnauthorized, &page{Message: "Sign in to read a proposal."})
		return
	}
	pg := &page{Message: voteFlash(r.URL.Query().Get("done")), Reviewer: p, CSRF: ss.csrf}
	if status := s.fillProposal(r.Context(), pg, p, r.PathValue("id")); status != http.StatusOK {
		w.Header().Set("Cache-Control", "no-store")
		s.fail(w, r, status, "No such proposal", "There is no proposal here. Go back to the proposals at /approvals.")
		return
	}
	s.renderApprovals(w, r, http.StatusOK, pg)
}

func (s *Site) fillProposal(ctx context.Context, pg *page, me *ombud.Principal, id string) int {
	if id == "" || len(id) > 64 {
		return http.StatusNotFound
	}
	x, err := s.Approvers.Proposal(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return http.StatusNotFound
	}
	q, qerr := s.Quorum(ctx)
	if err != nil || qerr != nil {
		s.Logger.ErrorContext(ctx, "site: proposal", "err", errors.Join(err, qerr))
		return http.StatusServiceUnavailable
	}
	pg.Proposal = s.proposalView(ctx, x, q, me, true)
	return http.StatusOK
}

// postVote records the signed-in admin's vote, and shows what the run
// answered when it completed the quorum.
func (s *Site) postVote(w http.ResponseWriter, r *http.Request) {
	p, ss := s.staffPost(w, r, ombud.RoleAdmin, s.renderApprovals)
	if p == nil {
		return
	}
	id := r.PathValue("id")
	var approve bool
	switch r.PostForm.Get("decision") {
	case "approve":
		approve = true
	case "refuse":
	default:
		s.proposalRefused(w, r, p, ss, id, ombud.Errorf(ombud.CodeInvalid, "Choose to approve or to refuse."))
		return
	}
	x, ex, err := s.Approvers.Vote(r.Context(), id, p, approve)
	if err != nil {
		s.proposalRefused(w, r, p, ss, id, err)
		return
	}
	s.ran(w, r, p, ss, x, ex, r.PostForm.Get("decision"))
}

// postRun runs an approved proposal whose run was refused, again.
func (s *Site) postRun(w http.ResponseWriter, r *http.Request) {
	p, ss := s.staffPost(w, r, ombud.RoleAdmin, s.renderApprovals)
	if p == nil {
		return
	}
	id := r.PathValue("id")
	x, ex, err := s.Approvers.Run(r.Context(), id)
	if err != nil {
		s.proposalRefused(w, r, p, ss, id, err)
		return
	}
	s.ran(w, r, p, ss, x, ex, "")
}

// ran answers a vote or a run: a redirect, or the proposal with what its
// operation answered when it refused.
func (s *Site) ran(w http.ResponseWriter, r *http.Request, p *ombud.Principal, ss *session, x *ombud.Proposal, ex *apiv1.Executed, done string) {
	if ex != nil && ex.Status >= 300 {
		var body apiv1.ErrorBody
		msg := fmt.Sprintf("status %d", ex.Status)
		if json.Unmarshal(ex.Answer, &body) == nil && body.Error.Message != "" {
			msg = body.Error.Message
		}
		pg := &page{Reviewer: p, CSRF: ss.csrf, Message: "The quorum was reached, but the operation refused to run: " + msg + " The approvals stand until the proposal expires: fix the cause, then run it again below."}
		s.fillProposal(r.Context(), pg, p, x.ID)
		s.renderApprovals(w, r, http.StatusConflict, pg)
		return
	}
	if ex != nil {
		done = "ran"
		// A new principal's token is in the answer once, and nowhere
		// else: the page shows it, not a redirect that would lose it.
		var created struct{ Token string }
		if json.Unmarshal(ex.Answer, &created) == nil && created.Token != "" {
			pg := &page{Reviewer: p, CSRF: ss.csrf, Message: voteFlash(done), Token: created.Token}
			s.fillProposal(r.Context(), pg, p, x.ID)
			s.renderApprovals(w, r, http.StatusOK, pg)
			return
		}
	}
	http.Redirect(w, r, "/approvals/"+url.PathEscape(x.ID)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// proposalRefused shows the proposal again with why the form was refused.
func (s *Site) proposalRefused(w http.ResponseWriter, r *http.Request, p *ombud.Principal, ss *session, id string, err error) {
	pg := &page{Reviewer: p, CSRF: ss.csrf}
	status := http.StatusServiceUnavailable
	var oe *ombud.Error
	if errors.As(err, &oe) {
		pg.Message, status = oe.Message, apiv1.HTTPStatus(oe.Code)
	} else {
		s.Logger.ErrorContext(r.Context(), "site: vote", "err", err)
		pg.Message = "It could not be recorded now (" + ombud.ErrorMessage(err) + "); nothing was recorded."
	}
	if s.fillProposal(r.Context(), pg, p, id) != http.StatusOK {
		s.fail(w, r, status, "Not recorded", pg.Message)
		return
	}
	s.renderApprovals(w, r, status, pg)
}
