package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// TestQuorum checks multi-party approval in the store, where no gateway
// can bypass it: once enabled, a privileged change without a proposal is
// refused (quorum_required), and one that carries a proposal takes it
// only when it is of its operation, open, unexpired and approved by the
// quorum; two changes on one proposal at once run once; the proposer
// cannot vote, nobody votes twice, a refusal closes the proposal; the
// quorum is lowered only on a proposal.
func TestQuorum(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	w := newWorld(t, s)
	q, err := s.Quorum(ctx)
	if err != nil || q.Enabled || q.Index != 0 {
		t.Fatalf("a new store's quorum: %+v, %v; want the set-up mode", q, err)
	}
	issuer := func(name string) *journal.Change {
		return change(t, journal.IssuerRegister, name, journal.IssuerPayload{Issuer: &ombud.Issuer{Name: name, Kind: "court", Jurisdiction: "EU", Key: "k", Registered: w.now}})
	}
	// Set-up mode: one admin does it alone. A quorum that more admins
	// must meet than are enabled is refused: it would lock every
	// privileged operation for good.
	w.log(issuer("court.example/setup"))
	if err := s.Reserve(ctx, change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired(), Set: w.now}})); ombud.ErrorReason(err) != "quorum_unreachable" {
		t.Fatalf("a quorum of 2 with one admin: %v, want quorum_unreachable", err)
	}
	var admins []string
	for _, name := range []string{"second admin", "third admin", "fourth admin"} {
		tok := ombud.NewToken(ombud.NewID())
		p := &ombud.Principal{ID: tok.PrincipalID(), Name: name, Roles: []ombud.Role{ombud.RoleAdmin}, TokenHash: tok.Hash(), Created: w.now}
		w.log(change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p}))
		admins = append(admins, p.ID)
	}
	admin2 := admins[0]
	// A privileged change and a change of the quorum are never in flight
	// together: each is logged under the quorum that decided it.
	enable := func() *journal.Change {
		return change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired(), Set: w.now}})
	}
	inFlight := issuer("court.example/inflight")
	if err := s.Reserve(ctx, inFlight); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, enable()); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("enabling the quorum while a privileged change is in flight: %v, want ErrBusy", err)
	}
	if err := s.Undo(ctx, inFlight); err != nil {
		t.Fatal(err)
	}
	en := enable()
	if err := s.Reserve(ctx, en); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, issuer("court.example/inflight")); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a privileged change while the quorum's change is in flight: %v, want ErrBusy", err)
	}
	if err := s.Undo(ctx, en); err != nil {
		t.Fatal(err)
	}
	w.log(change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired(), Set: w.now}}))
	enabledAt := w.index
	if q, _ := s.Quorum(ctx); !q.Enabled || q.Needs(ombud.OpIssuerRegister) != 2 || q.Index != enabledAt {
		t.Fatalf("the quorum after it was enabled: %+v", q)
	}
	for name, c := range map[string]*journal.Change{
		"an issuer":           issuer("court.example/alone"),
		"another admin":       change(t, journal.PrincipalCreate, "adminadminadmin9", journal.PrincipalPayload{Principal: &ombud.Principal{ID: "adminadminadmin9", Name: "a2", Roles: []ombud.Role{ombud.RoleAdmin}, TokenHash: []byte("h"), Created: w.now}}),
		"an erasure on order": change(t, journal.Erase, w.objects[2], journal.ErasePayload{Reason: ombud.EraseCourtOrder, At: w.now}),
		"the quorum lowered":  change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: false, Set: w.now}}),
		"the policy":          change(t, journal.PolicySet, "", journal.PolicyPayload{Version: 2}),
	} {
		if err := s.Reserve(ctx, c); !errors.Is(err, ombud.ErrQuorumRequired) {
			t.Errorf("%s without a proposal, quorum enabled: %v, want ErrQuorumRequired", name, err)
		}
	}
	// What is not privileged goes on alone.
	for name, c := range map[string]*journal.Change{
		"an analyst":              change(t, journal.PrincipalCreate, "analystanalyst09", journal.PrincipalPayload{Principal: &ombud.Principal{ID: "analystanalyst09", Name: "an", Roles: []ombud.Role{ombud.RoleAnalyst}, TokenHash: []byte("h2"), Created: w.now}}),
		"an erasure by retention": change(t, journal.Erase, w.objects[2], journal.ErasePayload{Reason: ombud.EraseRetention, At: w.now}),
		"the quorum raised to 3":  change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: true, Required: map[string]int{ombud.OpIssuerRegister: 3, ombud.OpPolicyReload: 2, ombud.OpKeyRotate: 2, ombud.OpAdminCreate: 2, ombud.OpEmergencyRestore: 2, ombud.OpSystemRegister: 2, ombud.OpSystemVersion: 2, ombud.OpRecipientAdd: 2, ombud.OpHoldRelease: 2, ombud.OpObjectErase: 2, ombud.OpContractAmend: 2, ombud.OpQuorumSet: 2}, Set: w.now}}),
	} {
		if err := s.Reserve(ctx, c); err != nil {
			t.Errorf("%s, quorum enabled: %v", name, err)
			continue
		}
		if err := s.Undo(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	propose := func(id, op string, life time.Duration) {
		t.Helper()
		p := w.newProposal(id, life)
		p.Operation = op
		w.log(change(t, journal.ProposalCreate, id, journal.ProposalPayload{Proposal: p}))
	}
	vote := func(id, by string, approve bool) error {
		c := change(t, journal.ProposalVote, id, journal.VotePayload{Vote: ombud.Vote{By: by, Approve: approve, At: w.now}})
		if err := s.Reserve(ctx, c); err != nil {
			return err
		}
		w.index++
		return s.Commit(ctx, c, w.index)
	}
	carried := func(c *journal.Change, proposal string) *journal.Change { c.Proposal = proposal; return c }

	propose("proposal00000001", ombud.OpIssuerRegister, time.Hour)
	if err := vote("proposal00000001", w.admin.ID, true); !errors.Is(err, ombud.ErrForbidden) {
		t.Fatalf("the proposer's vote: %v, want ErrForbidden", err)
	}
	// Not yet approved: the change is refused, and nothing is taken.
	if err := s.Reserve(ctx, carried(issuer("court.example/p1"), "proposal00000001")); !errors.Is(err, ombud.ErrQuorumRequired) {
		t.Fatalf("a proposal with the proposer alone: %v, want ErrQuorumRequired", err)
	}
	if err := vote("proposal00000001", admin2, true); err != nil {
		t.Fatal(err)
	}
	if err := vote("proposal00000001", admin2, true); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second vote: %v, want ErrExists", err)
	}
	if err := s.Reserve(ctx, carried(change(t, journal.PolicySet, "", journal.PolicyPayload{Version: 2}), "proposal00000001")); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a policy change carrying an issuer's proposal: %v, want ErrStale", err)
	}
	// A proposal of one target does not carry out the operation on
	// another.
	tp := w.newProposal("proposal0000000t", time.Hour)
	tp.Operation, tp.Target = ombud.OpEmergencyRestore, "someoneelse00000"
	w.log(change(t, journal.ProposalCreate, tp.ID, journal.ProposalPayload{Proposal: tp}))
	if err := vote(tp.ID, admin2, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, carried(change(t, journal.EmergencyRestore, w.admin.ID, journal.None{}), tp.ID)); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a proposal of another target: %v, want ErrStale", err)
	}
	if err := vote(tp.ID, "otheradminother0", false); err != nil {
		t.Fatal(err)
	}
	// Only the approvals of enabled admins count: a reviewer's does not.
	propose("proposal0000000n", ombud.OpIssuerRegister, time.Hour)
	if err := vote("proposal0000000n", w.reviewer.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, carried(issuer("court.example/n1"), "proposal0000000n")); !errors.Is(err, ombud.ErrQuorumRequired) {
		t.Fatalf("a proposal approved by a reviewer: %v, want ErrQuorumRequired", err)
	}
	if err := vote("proposal0000000n", admin2, false); err != nil {
		t.Fatal(err)
	}

	// A refusal in flight and a change carrying the proposal out settle on
	// the proposal: whichever reserves first wins, the other is refused.
	propose("proposal0000000r", ombud.OpIssuerRegister, time.Hour)
	if err := vote("proposal0000000r", admin2, true); err != nil {
		t.Fatal(err)
	}
	refusal := func() *journal.Change {
		return change(t, journal.ProposalVote, "proposal0000000r", journal.VotePayload{Vote: ombud.Vote{By: "otheradminother0", Approve: false, At: w.now}})
	}
	ref := refusal()
	if err := s.Reserve(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Proposal(ctx, "proposal0000000r"); p.State != ombud.ProposalOpen {
		t.Fatalf("a proposal whose refusal is in flight reads %s, want open", p.State)
	}
	if err := s.Reserve(ctx, carried(issuer("court.example/r1"), "proposal0000000r")); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("carrying out a proposal whose refusal is in flight: %v, want ErrStale", err)
	}
	if err := s.Undo(ctx, ref); err != nil {
		t.Fatal(err)
	}
	run := carried(issuer("court.example/r1"), "proposal0000000r")
	if err := s.Reserve(ctx, run); err != nil {
		t.Fatalf("the proposal after its refusal was undone: %v", err)
	}
	if err := s.Reserve(ctx, refusal()); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a refusal while the proposal is carried out: %v, want ErrStale", err)
	}
	if err := s.Undo(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := vote("proposal0000000r", "otheradminother0", false); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Proposal(ctx, "proposal0000000r"); p.State != ombud.ProposalRefused {
		t.Fatalf("a refused proposal reads %s", p.State)
	}

	// Approved: two changes carrying it at once (different targets) take
	// it once.
	pair := [2]*journal.Change{carried(issuer("court.example/p1"), "proposal00000001"), carried(issuer("court.example/p2"), "proposal00000001")}
	var errs [2]error
	var wg sync.WaitGroup
	for i := range pair {
		wg.Go(func() { errs[i] = s.Reserve(ctx, pair[i]) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two changes on one proposal: %v and %v, want exactly one", errs[0], errs[1])
	}
	won := pair[0]
	if errs[0] != nil {
		won = pair[1]
	}
	if p, _ := s.Proposal(ctx, "proposal00000001"); p.State != ombud.ProposalOpen {
		t.Fatalf("a proposal taken by a change in flight reads %s, want open", p.State)
	}
	// Undone (its append failed): given back, and taken again.
	if err := s.Undo(ctx, won); err != nil {
		t.Fatal(err)
	}
	won = carried(issuer("court.example/p1"), "proposal00000001")
	if err := s.Reserve(ctx, won); err != nil {
		t.Fatalf("the proposal after an undo: %v", err)
	}
	w.index++
	if err := s.Commit(ctx, won, w.index); err != nil {
		t.Fatal(err)
	}
	p, err := s.Proposal(ctx, "proposal00000001")
	if err != nil || p.State != ombud.ProposalExecuted || p.ExecIndex != w.index || len(p.Approvers()) != 1 || p.Approvers()[0] != admin2 {
		t.Fatalf("the proposal after its change: %+v, %v", p, err)
	}
	if err := s.Reserve(ctx, carried(issuer("court.example/p3"), "proposal00000001")); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a proposal executed twice: %v, want ErrStale", err)
	}
	if err := vote("proposal00000001", "lateadminlatead0", true); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a vote on an executed proposal: %v, want ErrStale", err)
	}
	// Refused: closed for good.
	propose("proposal00000002", ombud.OpIssuerRegister, time.Hour)
	if err := vote("proposal00000002", admin2, false); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Proposal(ctx, "proposal00000002"); p.State != ombud.ProposalRefused {
		t.Fatalf("a refused proposal reads %s", p.State)
	}
	if err := vote("proposal00000002", "thirdadminthird0", true); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("approving a refused proposal: %v, want ErrStale", err)
	}
	// Expired: no vote, no change, and its expiry is recorded.
	propose("proposal00000003", ombud.OpIssuerRegister, -time.Millisecond)
	if err := vote("proposal00000003", admin2, true); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("approving an expired proposal: %v, want ErrStale", err)
	}
	w.log(change(t, journal.ProposalExpire, "proposal00000003", journal.ExpirePayload{At: w.now}))
	if p, _ := s.Proposal(ctx, "proposal00000003"); p.State != ombud.ProposalExpired {
		t.Fatalf("an expired proposal reads %s", p.State)
	}
	if err := s.Reserve(ctx, change(t, journal.ProposalExpire, "proposal00000001", journal.ExpirePayload{At: w.now.Add(2 * time.Hour)})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("expiring an executed proposal: %v, want ErrStale", err)
	}
	// Lowered on an approved proposal: the set-up mode again.
	propose("proposal00000004", ombud.OpQuorumSet, time.Hour)
	if err := vote("proposal00000004", admin2, true); err != nil {
		t.Fatal(err)
	}
	w.log(carried(change(t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: false, Required: map[string]int{}, Set: w.now}}), "proposal00000004"))
	if q, _ := s.Quorum(ctx); q.Enabled || q.Index != w.index {
		t.Fatalf("the quorum after it was disabled on a proposal: %+v", q)
	}
	if ps, err := s.Proposals(ctx, ombud.ProposalOpen, 10); err != nil || len(ps) != 0 {
		t.Fatalf("open proposals: %d, %v", len(ps), err)
	}
	if ps, err := s.Proposals(ctx, "", 10); err != nil || len(ps) != 7 {
		t.Fatalf("all proposals: %d, %v", len(ps), err)
	}
}
