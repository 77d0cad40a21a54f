package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/store"
)

// world is a store with one of everything logged: principals, an issuer
// and an authorization, a system, objects, a run that read two of them,
// two flags (one confirmed and acted on), and an emergency read. Each
// operation's case changes something in it.
type world struct {
	t        *testing.T
	s        store.Store
	now      time.Time
	index    uint64
	admin    *ombud.Principal
	reviewer *ombud.Principal
	auth     *ombud.RegisteredAuthorization
	sys      *ombud.AnalyticSystem
	objects  []string
	run      *ombud.Run
	acted    *ombud.Flag // confirmed, with an action
	open     *ombud.Flag // no review yet
	action   *ombud.Action
	// recipient is registered, not retired.
	recipient *ombud.Recipient
	// emergency is the index of the emergency read's permit.
	emergency uint64
}

// log reserves and commits c at the next index.
func (w *world) log(c *journal.Change) {
	w.t.Helper()
	w.index++
	apply(w.t, w.s, c, w.index)
}

func newWorld(t *testing.T, s store.Store) *world {
	ctx := context.Background()
	w := &world{t: t, s: s, now: time.Now().UTC().Truncate(time.Millisecond)}
	principal := func(name string, roles ...ombud.Role) *ombud.Principal {
		tok := ombud.NewToken(ombud.NewID())
		p := &ombud.Principal{ID: tok.PrincipalID(), Name: name, Roles: roles, TokenHash: tok.Hash(), Created: w.now}
		w.log(change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p}))
		return p
	}
	w.admin = principal("admin", ombud.RoleAdmin)
	w.reviewer = principal("reviewer", ombud.RoleReviewer)
	iss := &ombud.Issuer{Name: "court.example/w", Kind: "court", Jurisdiction: "EU", Key: "k", Registered: w.now}
	w.log(change(t, journal.IssuerRegister, iss.Name, journal.IssuerPayload{Issuer: iss}))
	w.auth = &ombud.RegisteredAuthorization{Note: "note", SubjectPseudonyms: []string{"*"}, Registered: w.now}
	w.auth.ID, w.auth.Issuer, w.auth.MaxUses = "auth-w", iss.Name, 100
	w.log(change(t, journal.AuthorizationRegister, w.auth.ID, journal.AuthorizationPayload{Authorization: w.auth}))
	w.sys = &ombud.AnalyticSystem{ID: ombud.NewID(), Name: "frs-w", Vendor: "v", Task: "face_identification", Classes: []string{"general"}, Registered: w.now,
		Versions: []*ombud.SystemVersion{{Version: "1", Model: "m", Registered: w.now}}}
	w.log(change(t, journal.SystemRegister, w.sys.Name, journal.SystemPayload{System: w.sys}))
	for range 4 {
		o := testObject(ombud.NewID(), w.now, time.Hour, 1)
		w.log(change(t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o}))
		w.objects = append(w.objects, o.ID)
	}
	w.run = w.newRun(w.objects[:2])
	w.log(change(t, journal.RunStart, w.run.ID, journal.RunPayload{Run: w.run, Objects: w.objects[:2]}))
	if err := s.RecordRunReads(ctx, w.run.ID, []ombud.RunRead{{Position: 0, Index: w.index + 1}, {Position: 1, Index: w.index + 2}}, 2); err != nil {
		t.Fatal(err)
	}
	w.index += 2
	w.acted, w.open = w.newFlag(w.objects[0]), w.newFlag(w.objects[1])
	w.log(change(t, journal.FlagCreate, w.acted.ID, journal.FlagPayload{Flag: w.acted}))
	w.log(change(t, journal.FlagCreate, w.open.ID, journal.FlagPayload{Flag: w.open}))
	w.index++
	if err := s.RecordViewing(ctx, ombud.Viewing{Flag: w.acted.ID, Reviewer: w.reviewer.ID, Object: w.objects[0], Index: w.index}); err != nil {
		t.Fatal(err)
	}
	rv := &ombud.Review{Flag: w.acted.ID, Reviewer: w.reviewer.ID, Verdict: "confirm", Created: w.now}
	w.log(change(t, journal.FlagReview, journal.Pair(rv.Flag, rv.Reviewer), journal.ReviewPayload{Review: rv}))
	w.action = &ombud.Action{ID: ombud.NewID(), Flag: w.acted.ID, Kind: "no_action", Reviewers: []string{w.reviewer.ID}, Created: w.now, By: w.admin.ID}
	w.log(change(t, journal.FlagAction, w.action.ID, journal.ActionPayload{Action: w.action, Confirmations: 1}))
	em := &ombud.Emergency{ObjectID: w.objects[3], Principal: w.admin.ID, Purpose: "missing_person", Reason: "missing_person", At: w.now, Deadline: w.now.Add(time.Hour)}
	w.log(change(t, journal.EmergencyRead, "w", journal.EmergencyPayload{Emergency: em}))
	w.emergency = w.index
	w.recipient = &ombud.Recipient{ID: ombud.NewID(), Name: "Police unit 12", Category: "foreign_authority", Jurisdiction: "EU-FR", Key: "age1w", Registered: w.now, By: w.admin.ID}
	w.log(change(t, journal.RecipientRegister, w.recipient.ID, journal.RecipientPayload{Recipient: w.recipient}))
	return w
}

func (w *world) newRun(objects []string) *ombud.Run {
	return &ombud.Run{ID: ombud.NewID(), System: w.sys.ID, Version: "1", Purpose: "p", Authorization: w.auth.ID, Principal: w.admin.ID,
		Objects: len(objects), Classes: []string{"general"}, Started: w.now, Deadline: w.now.Add(time.Hour)}
}

// newProposal is a proposal by the world's admin to register an issuer,
// expiring life after the world's time.
func (w *world) newProposal(id string, life time.Duration) *ombud.Proposal {
	return &ombud.Proposal{ID: id, Operation: ombud.OpIssuerRegister, Params: []byte(`{"name":"court.example/p"}`), ParamsSHA256: "00",
		Proposer: w.admin.ID, Created: w.now, Expires: w.now.Add(life), State: ombud.ProposalOpen}
}

func (w *world) newFlag(input string) *ombud.Flag {
	return &ombud.Flag{ID: ombud.NewID(), Run: w.run.ID, System: w.sys.ID, Version: "1", Inputs: []string{input},
		Candidates: []string{"ps1:AAAAAAAAAAAAAAAAAAAAAA"}, Rank: 1, Score: 0.9, Threshold: 0.8, ReferenceDB: "watchlist", GallerySize: 10,
		Matched: w.now, Created: w.now, By: w.admin.ID}
}

// opCase is one operation's case: what must be logged before it (nil for
// nothing), and a change of it, new each call, on the same target.
type opCase struct {
	before func(w *world)
	change func(w *world) *journal.Change
}

// cases holds a case for every operation; TestEveryOperation fails for
// an operation without one.
var cases = map[journal.Op]opCase{
	journal.PrincipalCreate.Op: {change: func(w *world) *journal.Change {
		p := &ombud.Principal{ID: "twinprincipal000", Name: "twin", Roles: []ombud.Role{ombud.RoleAnalyst}, TokenHash: []byte("h"), Created: w.now}
		return change(w.t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p})
	}},
	journal.PrincipalDisable.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.PrincipalDisable, w.reviewer.ID, journal.None{})
	}},
	journal.EmergencyRestore.Op: {before: breachIt, change: func(w *world) *journal.Change {
		return change(w.t, journal.EmergencyRestore, w.admin.ID, journal.None{})
	}},
	journal.IssuerRegister.Op: {change: func(w *world) *journal.Change {
		i := &ombud.Issuer{Name: "court.example/twin", Kind: "court", Jurisdiction: "EU", Key: "k2", Registered: w.now}
		return change(w.t, journal.IssuerRegister, i.Name, journal.IssuerPayload{Issuer: i})
	}},
	journal.AuthorizationRegister.Op: {change: func(w *world) *journal.Change {
		a := &ombud.RegisteredAuthorization{Note: "note 2", SubjectPseudonyms: []string{"*"}, Registered: w.now}
		a.ID, a.Issuer, a.MaxUses = "auth-twin", w.auth.Issuer, 1
		return change(w.t, journal.AuthorizationRegister, a.ID, journal.AuthorizationPayload{Authorization: a})
	}},
	journal.AuthorizationRevoke.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.AuthorizationRevoke, w.auth.ID, journal.RevokePayload{Reason: "order_quashed", At: w.now})
	}},
	journal.PolicySet.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.PolicySet, "", journal.PolicyPayload{Version: 1, SHA: "abc"})
	}},
	journal.EmergencyRead.Op: {change: func(w *world) *journal.Change {
		em := &ombud.Emergency{ObjectID: w.objects[3], Principal: w.admin.ID, Purpose: "missing_person", Reason: "missing_person", At: w.now, Deadline: w.now.Add(time.Hour)}
		return change(w.t, journal.EmergencyRead, "twin", journal.EmergencyPayload{Emergency: em})
	}},
	journal.Breach.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.Breach, journal.EmergencyID(w.emergency), journal.BreachPayload{Emergency: w.emergency, Principal: w.admin.ID})
	}},
	journal.Attest.Op: {before: breachIt, change: func(w *world) *journal.Change {
		return change(w.t, journal.Attest, journal.EmergencyID(w.emergency), journal.AttestPayload{Breach: w.emergency})
	}},
	journal.Ingest.Op: {change: func(w *world) *journal.Change {
		o := testObject("twinobject000000", w.now, time.Hour, 1)
		return change(w.t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o})
	}},
	journal.HoldSet.Op: {change: holdIt},
	journal.HoldRelease.Op: {before: func(w *world) { w.log(holdIt(w)) }, change: func(w *world) *journal.Change {
		return change(w.t, journal.HoldRelease, w.objects[2], journal.None{})
	}},
	journal.Erase.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.Erase, w.objects[2], journal.ErasePayload{Reason: ombud.EraseCourtOrder, At: w.now})
	}},
	journal.KeyRotate.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.KeyRotate, "", journal.KeyPayload{Version: 2})
	}},
	journal.IntermediateCreate.Op: {change: func(w *world) *journal.Change {
		k := &ombud.IntermediateKey{ID: "intermediate0001", KEKVersion: 1, Wrapped: []byte("wrapped"), Created: w.now}
		return change(w.t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: k})
	}},
	journal.DetailsErase.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.DetailsErase, "access", journal.DetailsPayload{Kind: "access", Before: w.now})
	}},
	journal.ReportPublish.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.ReportPublish, "2026-12@5", journal.ReportPayload{Name: "2026-12@5"})
	}},
	journal.SystemRegister.Op: {change: func(w *world) *journal.Change {
		s := &ombud.AnalyticSystem{ID: "twinsystem000000", Name: "twin-system", Vendor: "v", Task: "plate_reading", Classes: []string{"general"}, Registered: w.now,
			Versions: []*ombud.SystemVersion{{Version: "1", Model: "m", Registered: w.now}}}
		return change(w.t, journal.SystemRegister, s.Name, journal.SystemPayload{System: s})
	}},
	journal.SystemVersion.Op: {change: func(w *world) *journal.Change {
		v := &ombud.SystemVersion{Version: "2", Model: "m", Registered: w.now}
		return change(w.t, journal.SystemVersion, journal.Pair(w.sys.ID, "2"), journal.VersionPayload{System: w.sys.ID, Version: v})
	}},
	journal.SystemRetire.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.SystemRetire, journal.Pair(w.sys.ID, "1"), journal.VersionPayload{System: w.sys.ID, Version: &ombud.SystemVersion{Version: "1"}, At: w.now})
	}},
	journal.RunStart.Op: {change: func(w *world) *journal.Change {
		r := w.newRun(w.objects[2:3])
		r.ID = "twinrun000000000"
		return change(w.t, journal.RunStart, r.ID, journal.RunPayload{Run: r, Objects: w.objects[2:3]})
	}},
	journal.RunClose.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.RunClose, w.run.ID, journal.RunClosePayload{Reason: ombud.RunClosed, At: w.now, Read: 2, Bytes: 2})
	}},
	journal.FlagCreate.Op: {change: func(w *world) *journal.Change {
		f := w.newFlag(w.objects[1])
		f.ID, f.Candidates = "twinflag00000000", []string{"ps1:BBBBBBBBBBBBBBBBBBBBBB"}
		return change(w.t, journal.FlagCreate, f.ID, journal.FlagPayload{Flag: f})
	}},
	journal.FlagReview.Op: {change: func(w *world) *journal.Change {
		rv := &ombud.Review{Flag: w.open.ID, Reviewer: w.reviewer.ID, Verdict: "reject", Created: w.now}
		return change(w.t, journal.FlagReview, journal.Pair(rv.Flag, rv.Reviewer), journal.ReviewPayload{Review: rv})
	}},
	journal.FlagAction.Op: {change: func(w *world) *journal.Change {
		a := &ombud.Action{ID: "twinaction000000", Flag: w.open.ID, Kind: "no_action", Created: w.now, By: w.admin.ID}
		return change(w.t, journal.FlagAction, a.ID, journal.ActionPayload{Action: a})
	}},
	journal.RecipientRegister.Op: {change: func(w *world) *journal.Change {
		r := &ombud.Recipient{ID: "twinrecipient000", Name: "twin court", Category: "court", Jurisdiction: "EU", Key: "age1t", Registered: w.now, By: w.admin.ID}
		return change(w.t, journal.RecipientRegister, r.ID, journal.RecipientPayload{Recipient: r})
	}},
	journal.RecipientRetire.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.RecipientRetire, w.recipient.ID, journal.RetirePayload{At: w.now})
	}},
	journal.ExportStart.Op: {change: func(w *world) *journal.Change {
		x := &ombud.Export{ID: "twinexport000000", Recipient: w.recipient.ID, Authorization: w.auth.ID, Principal: w.admin.ID, Purpose: "p", Objects: 2, Created: w.now}
		return change(w.t, journal.ExportStart, x.ID, journal.ExportPayload{Export: x, Objects: w.objects[1:3]})
	}},
	journal.NoticeSend.Op: {before: func(w *world) {
		x := &ombud.Export{ID: "noticeexport0000", Recipient: w.recipient.ID, Authorization: w.auth.ID, Principal: w.admin.ID, Purpose: "p", Objects: 1, Created: w.now}
		w.log(change(w.t, journal.ExportStart, x.ID, journal.ExportPayload{Export: x, Objects: w.objects[:1]}))
		w.log(change(w.t, journal.Erase, w.objects[0], journal.ErasePayload{Reason: ombud.EraseCourtOrder, At: w.now,
			Notices: []journal.NoticeOwed{{ID: "twinnotice000000", Recipient: w.recipient.ID}}}))
	}, change: func(w *world) *journal.Change {
		return change(w.t, journal.NoticeSend, "twinnotice000000", journal.NoticePayload{At: w.now, By: w.admin.ID})
	}},
	journal.QuorumSet.Op: {change: func(w *world) *journal.Change {
		// (One admin each: the world has one admin, and a quorum it could
		// not meet is refused.)
		return change(w.t, journal.QuorumSet, "", journal.QuorumPayload{Quorum: &ombud.Quorum{Enabled: true, Required: map[string]int{ombud.OpPolicyReload: 1}, Set: w.now}})
	}},
	journal.ProposalCreate.Op: {change: func(w *world) *journal.Change {
		return change(w.t, journal.ProposalCreate, "twinproposal0000", journal.ProposalPayload{Proposal: w.newProposal("twinproposal0000", time.Hour)})
	}},
	journal.ProposalVote.Op: {before: func(w *world) {
		w.log(change(w.t, journal.ProposalCreate, "voteproposal0000", journal.ProposalPayload{Proposal: w.newProposal("voteproposal0000", time.Hour)}))
	}, change: func(w *world) *journal.Change {
		return change(w.t, journal.ProposalVote, "voteproposal0000", journal.VotePayload{Vote: ombud.Vote{By: w.reviewer.ID, Approve: true, At: w.now}})
	}},
	journal.ProposalExpire.Op: {before: func(w *world) {
		w.log(change(w.t, journal.ProposalCreate, "oldproposal00000", journal.ProposalPayload{Proposal: w.newProposal("oldproposal00000", -time.Millisecond)}))
	}, change: func(w *world) *journal.Change {
		return change(w.t, journal.ProposalExpire, "oldproposal00000", journal.ExpirePayload{At: w.now})
	}},
	journal.TipLog.Op: {before: func(w *world) { fileTip(w.t, w.s, "twintip000000000", "2026-12-01") }, change: func(w *world) *journal.Change {
		return change(w.t, journal.TipLog, journal.TipMessageID("twintip000000000", 1), journal.TipLogPayload{Tip: "twintip000000000", N: 1})
	}},
	journal.TipReply.Op: {before: func(w *world) {
		fileTip(w.t, w.s, "twintip000000000", "2026-12-01")
		w.log(change(w.t, journal.TipLog, journal.TipMessageID("twintip000000000", 1), journal.TipLogPayload{Tip: "twintip000000000", N: 1}))
	}, change: func(w *world) *journal.Change {
		return change(w.t, journal.TipReply, "twintip000000000", journal.TipReplyPayload{Tip: "twintip000000000", Op: ombud.TipAcknowledged, Day: "2026-12-02",
			Commitment: "7c" + strings.Repeat("0", 62), Sealed: []byte("sealed"), By: w.admin.ID})
	}},
	journal.ContractImport.Op: {change: func(w *world) *journal.Change {
		return importOf(w.t, "twinimport000000", testContract("ocds-twin-1", 1, w.now))
	}},
	journal.ContractAmend.Op: {before: func(w *world) { w.log(importOf(w.t, "amendbase0000000", testContract("ocds-twin-2", 1, w.now))) },
		change: func(w *world) *journal.Change {
			c := testContract("ocds-twin-2", 2, w.now)
			return change(w.t, journal.ContractAmend, c.OCID, journal.ContractAmendPayload{Contract: c})
		}},
	journal.ContestFile.Op: {change: fileIt},
	journal.ContestResolve.Op: {before: func(w *world) { w.log(fileIt(w)) }, change: func(w *world) *journal.Change {
		ct := &ombud.Contest{ID: "twincontest00000", Action: w.action.ID, Outcome: ombud.ContestOverturned, Resolved: w.now, ResolvedBy: w.reviewer.ID}
		return change(w.t, journal.ContestResolve, ct.ID, journal.ContestPayload{Contest: ct})
	}},
}

func breachIt(w *world) {
	w.log(change(w.t, journal.Breach, journal.EmergencyID(w.emergency), journal.BreachPayload{Emergency: w.emergency, Principal: w.admin.ID}))
}

func holdIt(w *world) *journal.Change {
	return change(w.t, journal.HoldSet, w.objects[2], journal.HoldPayload{Hold: &ombud.Hold{Reason: "litigation", Since: w.now, By: w.admin.ID}})
}

func fileIt(w *world) *journal.Change {
	ct := &ombud.Contest{ID: "twincontest00000", Action: w.action.ID, Filed: w.now, Due: w.now.Add(time.Hour)}
	return change(w.t, journal.ContestFile, ct.ID, journal.ContestPayload{Contest: ct})
}

// leaves is a log holding given leaves, for Settle.
type leaves [][]byte

func (l leaves) Size(context.Context) (uint64, error) { return uint64(len(l)), nil }
func (l leaves) Leaves(_ context.Context, from, to uint64) ([][]byte, error) {
	return l[from:to], nil
}

// TestEveryOperation runs every operation of journal.Operations on a
// world where it can take place:
//
//   - against its conflicting twin (the same operation on the same
//     target), reserved at once: exactly one is reserved, the other is
//     refused;
//   - recovered by Settle with its entry in the log: committed, nothing
//     left in flight;
//   - recovered by Settle with its entry not in the log: undone, and the
//     undo leaves nothing behind, so the same change can be reserved
//     again.
//
// An operation without a case fails it: a new operation brings its case.
func TestEveryOperation(t *testing.T, open Open) {
	ctx := context.Background()
	for _, o := range journal.Operations {
		cs, ok := cases[o.Name()]
		if !ok {
			t.Errorf("operation %s has no case in storetest: add its twin and recovery", o.Name())
			continue
		}
		setup := func(t *testing.T) *world {
			w := newWorld(t, open(t))
			if cs.before != nil {
				cs.before(w)
			}
			return w
		}
		t.Run(string(o.Name())+"/twin", func(t *testing.T) {
			t.Parallel()
			w := setup(t)
			pair := [2]*journal.Change{cs.change(w), cs.change(w)}
			var errs [2]error
			var wg sync.WaitGroup
			for i := range pair {
				wg.Go(func() { errs[i] = w.s.Reserve(ctx, pair[i]) })
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("twins reserved at once: %v and %v, want exactly one refused", errs[0], errs[1])
			}
			if lost := errors.Join(errs[:]...); !errors.Is(lost, ombud.ErrBusy) && !errors.Is(lost, ombud.ErrExists) {
				t.Fatalf("the twin was refused with %v, want busy or exists", lost)
			}
		})
		t.Run(string(o.Name())+"/settle", func(t *testing.T) {
			t.Parallel()
			w := setup(t)
			j := &journal.Journal{Store: w.s}
			logged := cs.change(w)
			if err := w.s.Reserve(ctx, logged); err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			// The logged change's entry is in the log: committed.
			s, err := j.Settle(ctx, leaves{[]byte("other"), []byte(logged.Token)}, time.Now().Add(time.Hour), nil, nil)
			if err != nil || s.Committed != 1 || s.Undone != 0 {
				t.Fatalf("Settle with the entry logged: %+v, %v", s, err)
			}
			// A crash before the log: undone, and nothing is left behind,
			// so the same change can be reserved again.
			w2 := setup(t)
			j2 := &journal.Journal{Store: w2.s}
			lost := cs.change(w2)
			if err := w2.s.Reserve(ctx, lost); err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			s, err = j2.Settle(ctx, leaves{[]byte("other")}, time.Now().Add(time.Hour), nil, nil)
			if err != nil || s.Committed != 0 || s.Undone != 1 {
				t.Fatalf("Settle with the entry not logged: %+v, %v", s, err)
			}
			again := cs.change(w2)
			if err := w2.s.Reserve(ctx, again); err != nil {
				t.Fatalf("after the undo, the same change is refused: %v", err)
			}
			if cs, err := w2.s.Changes(ctx, time.Now().Add(time.Hour)); err != nil || len(cs) != 1 {
				t.Fatalf("in flight after the undo and a new reservation: %d, %v", len(cs), err)
			}
		})
	}
}

// TestUndoNeedsNoPayload: a reservation whose payload no longer decodes is
// still undone, from its target alone, and its target is free again.
func TestUndoNeedsNoPayload(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	reserve := func() *journal.Change {
		p := &ombud.Principal{ID: "principal0000000", Name: "p", Roles: []ombud.Role{ombud.RoleAnalyst}, TokenHash: []byte("h"), Created: now}
		c := change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p})
		if err := s.Reserve(ctx, c); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		return c
	}
	c := reserve()
	c.Payload = []byte(`{"Principal": not json`)
	if err := s.Undo(ctx, c); err != nil {
		t.Fatalf("Undo of a change whose payload does not decode: %v", err)
	}
	if cs, err := s.Changes(ctx, now.Add(time.Hour)); err != nil || len(cs) != 0 {
		t.Fatalf("in flight after the undo: %d, %v", len(cs), err)
	}
	reserve() // the id and the target are free again
}
