package custody

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/vocab"
)

// Order is an order on one object: a legal hold, its release, an erasure.
type Order struct {
	Object        string // the object's id
	Reason        string // a registered hold or erase reason
	Authorization string // the order's reference, such as a court file number
	By            string // the ordering principal's id
}

// SetHold puts a legal hold on an object through the one pattern. While
// held the object is never shredded: the store refuses it.
func (s *Service) SetHold(ctx context.Context, o Order) (journal.Leaf, error) {
	return s.hold(ctx, true, o.Object, o.Reason, o.Authorization, o.By)
}

// ReleaseHold lifts a legal hold through the one pattern.
func (s *Service) ReleaseHold(ctx context.Context, o Order) (journal.Leaf, error) {
	return s.hold(ctx, false, o.Object, o.Reason, o.Authorization, o.By)
}

func (s *Service) hold(ctx context.Context, set bool, id, reason, authorization, by string) (journal.Leaf, error) {
	if err := s.Vocabulary.Check(vocab.HoldReason, "reason", reason); err != nil {
		return journal.Leaf{}, err
	}
	if err := ombud.ValidateIdentifier("authorization", authorization); err != nil {
		return journal.Leaf{}, err
	}
	if _, err := s.liveObject(ctx, id); err != nil {
		return journal.Leaf{}, err
	}
	c, err := journal.HoldRelease.Change(id, journal.None{})
	if set {
		c, err = journal.HoldSet.Change(id, journal.HoldPayload{Hold: &ombud.Hold{Reason: reason, Authorization: authorization, Since: s.now(), By: by}})
	}
	if err != nil {
		return journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Hold{Op: map[bool]string{true: entry.OpSet, false: entry.OpRelease}[set], Reason: reason, Object: id, Authorization: authorization, By: by},
		Detail: entry.HoldDetail{Authorization: authorization, Object: id, Reason: reason},
	}, nil)
	return w, objectError(id, err)
}

// objectError turns the store's refusals of a change to object id into
// user errors.
func objectError(id string, err error) error {
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return notFound(id)
	case errors.Is(err, ombud.ErrErased):
		return ombud.Errorf(ombud.CodeGone, "object %s was erased", id)
	case errors.Is(err, ombud.ErrOnHold):
		return conflict("object %s is on legal hold; release the hold first", id)
	case errors.Is(err, ombud.ErrNotOnHold):
		return conflict("object %s is not on hold", id)
	}
	return err
}

func (s *Service) liveObject(ctx context.Context, id string) (*ombud.Object, error) {
	o, err := s.Store.Object(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if o.Erased != nil {
		return nil, ombud.Errorf(ombud.CodeGone, "object %s was erased", id)
	}
	return o, nil
}

// Erase crypto-shreds an object on demand (a court order, a refused
// authorization), the same way retention does. An object on hold is
// refused, by the store.
func (s *Service) Erase(ctx context.Context, order Order) (journal.Leaf, error) {
	id, reason, authorization, by := order.Object, order.Reason, order.Authorization, order.By
	if err := s.Vocabulary.Check(vocab.EraseReason, "reason", reason); err != nil {
		return journal.Leaf{}, err
	}
	if err := ombud.ValidateIdentifier("authorization", authorization); err != nil {
		return journal.Leaf{}, err
	}
	o, err := s.liveObject(ctx, id)
	if err != nil {
		return journal.Leaf{}, err
	}
	if o.Hold != nil {
		return journal.Leaf{}, conflict("object %s is on legal hold; release the hold first", id)
	}
	return s.shred(ctx, o, reason, authorization, by)
}

// shred is the one erasure path, through the one pattern:
//  1. reserve the erasure: the store refuses an object on hold, and no
//     hold can be set while the erasure is in flight;
//  2. log the erase entry with its reason;
//  3. commit: the store destroys the wrapped keyset (the crypto-shred; from
//     here on the object cannot be opened, even with the blob and the KEK;
//     a read or an export whose permit precedes the erase entry and that
//     has opened the object already streams it to its end, and an export
//     that has not yet opened it stops there, logged as object_erased),
//     records the erasure, the notices it owes to the recipients that
//     exports carried the object to, and erases the ingest detail;
//  4. delete the ciphertext.
//
// The object's gate is held alone throughout, so every read decided before
// is logged before the erase entry.
func (s *Service) shred(ctx context.Context, o *ombud.Object, reason, authorization, by string) (journal.Leaf, error) {
	release, err := s.gates.exclusive(ctx, objectGate(o.ID))
	if err != nil {
		return journal.Leaf{}, err
	}
	defer release()
	// Under the gate no export of the object starts, so the recipients
	// read here are those its commit records notices to; the store checks
	// them again in the reservation.
	recipients, err := s.Store.ExportRecipients(ctx, o.ID)
	if err != nil {
		return journal.Leaf{}, err
	}
	notices := make([]journal.NoticeOwed, len(recipients))
	for i, r := range recipients {
		notices[i] = journal.NoticeOwed{ID: ombud.NewID(), Recipient: r}
	}
	c, err := journal.Erase.Change(o.ID, journal.ErasePayload{Reason: reason, At: s.now(), Notices: notices})
	if err != nil {
		return journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Erase{Reason: reason, Class: o.Class, Object: o.ID, Authorization: authorization, By: by, Recipient: recipients},
		Detail: entry.EraseDetail{Authorization: authorization, Object: o.ID, RetainUntil: fmtTime(o.RetainUntil)},
	}, s.commitErase)
	return w, objectError(o.ID, err)
}

// commitErase commits a logged erasure and deletes the ciphertext.
func (s *Service) commitErase(ctx context.Context, c *journal.Change, w journal.Leaf) error {
	if err := s.Journal.CommitStore(ctx, c, w); err != nil {
		return err
	}
	s.erasures.Add(1) // after the commit, under the object's gate
	id, err := journal.Erase.TargetID(c)
	if err != nil {
		return err
	}
	if err := s.Bucket.Delete(ctx, blob.Key(id)); err != nil && !errors.Is(err, blob.ErrNotFound) {
		// The key is destroyed: the ciphertext left behind is noise.
		s.logger().ErrorContext(ctx, "erased object's ciphertext could not be deleted", "object", id, "err", err)
	}
	return nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Settled  journal.Settled `json:"settled_changes"`
	Erased   int             `json:"erased"`
	Failed   int             `json:"failed"`
	Breaches int             `json:"emergency_breaches"`
	// RunsClosed counts the analytic runs closed at their time limit.
	RunsClosed int `json:"runs_closed,omitempty"`
	// ProposalsExpired counts the proposals closed unapproved at their
	// expiry.
	ProposalsExpired int `json:"proposals_expired,omitempty"`
	// Details counts the detail records erased because their retention
	// ended, by entry kind.
	Details map[entry.Kind]int `json:"details_erased,omitempty"`
}

// SettleAge is how old a change in flight must be before the sweep settles
// it: far longer than any append may take, so its append is over.
const SettleAge = 2 * time.Minute

// Sweep finishes interrupted work and enforces retention: it settles
// changes a failure left in flight, logs a breach for every emergency read
// not covered in time, shreds every expired object not on hold, and erases
// the detail records whose retention ended. It stops at the first log
// failure (fail closed) and reports it.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	var r SweepResult
	var err error
	// Changes are stamped by the journal's clock, the real one; the
	// service's clock is for retention.
	if r.Settled, err = s.Settle(ctx, time.Now().Add(-SettleAge)); err != nil {
		return r, err
	}
	if err := s.breachEmergencies(ctx, &r); err != nil {
		return r, err
	}
	if r.RunsClosed, err = s.CloseExpiredRuns(ctx); err != nil {
		return r, err
	}
	if s.ExpireProposals != nil {
		if r.ProposalsExpired, err = s.ExpireProposals(ctx); err != nil {
			return r, err
		}
	}
	const batch = 200
	tried := map[string]bool{}
	for {
		os, err := s.Store.ExpiredObjects(ctx, s.now(), batch)
		if err != nil {
			return r, err
		}
		progress := false
		for _, o := range os {
			if tried[o.ID] {
				continue
			}
			tried[o.ID] = true
			reason := o.ShredReason
			if reason == "" {
				reason = ombud.EraseRetention
			}
			_, err := s.shred(ctx, o, reason, "", "")
			switch {
			case err == nil:
				r.Erased++
				progress = true
			case ombud.ErrorCode(err) == ombud.CodeConflict || ombud.ErrorCode(err) == ombud.CodeGone:
				// A hold or another change won the race; this sweep
				// leaves the object, and the next one sees it anew.
			case errors.Is(err, ombud.ErrQuorumRequired):
				// An erasure on order that an earlier version began
				// (ShredReason) is an admin's to finish under the quorum:
				// the sweep leaves it, and says so.
				r.Failed++
				s.logger().WarnContext(ctx, "an erasure on order an earlier version began awaits a proposal (ombud propose object.erase)", "object", o.ID, "reason", reason)
			default:
				r.Failed++
				s.logger().ErrorContext(ctx, "retention shred failed", "object", o.ID, "err", err)
				return r, err
			}
		}
		if !progress {
			break
		}
	}
	if err := s.eraseExpiredDetails(ctx, &r); err != nil {
		return r, err
	}
	return r, nil
}

// Settle settles the changes reserved before since that are still in
// flight (see journal.Journal.Settle), with this service's committers, and
// discards what an unfinished ingest left behind.
func (s *Service) Settle(ctx context.Context, since time.Time) (journal.Settled, error) {
	var acknowledge []string
	st, err := s.Journal.Settle(ctx, s.Log, since, func(op journal.Op) journal.Committer {
		switch op {
		case journal.Erase.Op:
			return s.commitErase
		case journal.KeyRotate.Op:
			return s.commitRotate
		case journal.Ingest.Op:
			// Logged, but its client was never told: commit as the log
			// says, then erase it below (logged too).
			return func(ctx context.Context, c *journal.Change, w journal.Leaf) error {
				id, err := journal.Ingest.TargetID(c)
				if err != nil {
					return err
				}
				if err := s.Journal.CommitStore(ctx, c, w); err != nil {
					return err
				}
				acknowledge = append(acknowledge, id)
				return nil
			}
		}
		for _, f := range s.Committers {
			if c := f(op); c != nil {
				return c
			}
		}
		return nil
	}, func(ctx context.Context, c *journal.Change) error {
		if c.Op == journal.Ingest.Op {
			id, err := journal.Ingest.TargetID(c)
			if err != nil {
				return err
			}
			if err := s.Bucket.Delete(ctx, blob.Key(id)); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return err
			}
		}
		for _, f := range s.Undoers {
			if err := f(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	for _, id := range acknowledge {
		o, err := s.Store.Object(ctx, id)
		if err != nil {
			return st, err
		}
		if _, err := s.shred(ctx, o, ombud.EraseIngestUnacknowledged, "", ""); err != nil {
			return st, err
		}
	}
	kept, refunded, err := s.settleUses(ctx, since)
	st.Committed += kept
	st.Undone += refunded
	return st, err
}

// settleUses settles the authorizations' uses taken before since whose
// permits are not known to be logged (a crash came between the use and
// its permit): a use whose permit is in the log is kept, any other is
// given back. It reads the log once, from the lowest bound on.
func (s *Service) settleUses(ctx context.Context, since time.Time) (kept, refunded int, err error) {
	us, err := s.Store.UsesInFlight(ctx, since)
	if err != nil || len(us) == 0 {
		return 0, 0, err
	}
	size, err := s.Log.Size(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
	}
	type use struct {
		auth string // the authorization's keyed pseudonym, as entries hold it
		n    int
	}
	want := map[use]ombud.UseInFlight{}
	from := size
	for _, u := range us {
		want[use{s.Journal.Key.Pseudonym(entry.RefNamespace("authorization"), u.Authorization), u.Use}] = u
		from = min(from, u.From)
	}
	found := map[use]bool{}
	const page = 256
	for i := from; i < size && len(found) < len(want); i += page {
		leaves, err := s.Log.Leaves(ctx, i, min(i+page, size))
		if err != nil {
			return kept, refunded, fmt.Errorf("failed to read the log for recovery: %w", err)
		}
		for k, l := range leaves {
			e, err := entry.Parse(l)
			if err != nil || e.Kind != entry.KindAccess {
				continue
			}
			b, err := e.Body()
			a, ok := b.(*entry.Access)
			if err != nil || !ok || a.Decision != entry.Permit {
				continue
			}
			key := use{a.Authorization, int(a.Use)}
			if u, ok := want[key]; ok && i+uint64(k) >= u.From {
				found[key] = true
			}
		}
	}
	for key, u := range want {
		if _, live := s.reading.Load(useKey{u.Authorization, u.Use}); live {
			continue // its read is appending its permit here: its own to settle
		}
		err := s.Store.SettleUse(ctx, u.Authorization, u.Use, found[key])
		switch {
		case errors.Is(err, ombud.ErrNotFound):
			continue // settled meanwhile by its own read
		case err != nil:
			return kept, refunded, fmt.Errorf("failed to settle use %d of authorization %s: %w", u.Use, u.Authorization, err)
		case found[key]:
			kept++
		default:
			refunded++
			s.Access.Unadmit(u.Authorization)
			s.logger().WarnContext(ctx, "a use whose permit was never logged was given back", "authorization", u.Authorization, "use", u.Use)
		}
	}
	return kept, refunded, nil
}

// breachEmergencies logs a breach for every emergency read whose deadline
// passed without a covering authorization, and suspends the emergency
// access of the principal who read. The object read is kept: erasing it
// would let a low-privilege principal destroy evidence. The deletion of
// data derived from the read, which lives outside ombud, is the
// controller's to attest (Attest).
func (s *Service) breachEmergencies(ctx context.Context, r *SweepResult) error {
	es, err := s.Store.OpenEmergencies(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for _, em := range es {
		if now.Before(em.Deadline) {
			continue
		}
		class := ""
		if o, err := s.Store.Object(ctx, em.ObjectID); err == nil {
			class = o.Class
		}
		c, err := journal.Breach.Change(journal.EmergencyID(em.Index), journal.BreachPayload{Emergency: em.Index, Principal: em.Principal})
		if err != nil {
			return err
		}
		// The reader's emergency reads already decided are logged before
		// the breach that suspends them.
		release, err := s.gates.exclusive(ctx, principalGate(em.Principal))
		if err != nil {
			return err
		}
		w, err := s.Journal.Apply(ctx, c, journal.Record{
			Body:   entry.Breach{Reason: "emergency_not_covered", Class: class, Deadline: em.Deadline.Format(time.RFC3339), Object: em.ObjectID, By: em.Principal},
			Detail: entry.BreachDetail{AccessEntry: em.Index, EmergencyReason: em.Reason, Principal: em.Principal, Purpose: em.Purpose},
		}, nil)
		if err == nil {
			s.suspended.Store(em.Principal, w.Index)
		}
		release()
		if errors.Is(err, ombud.ErrStale) || ombud.ErrorCode(err) == ombud.CodeConflict {
			continue // covered or breached meanwhile
		}
		if err != nil {
			return err
		}
		r.Breaches++
	}
	return nil
}

// SyncKeys brings the keyring to the deployment's current KEK version, as
// the store records it: a rotation through another gateway moves it, and
// a gateway that has not seen it would wrap under a version the store
// refuses, or miss the version its keys are now wrapped by.
func (s *Service) SyncKeys(ctx context.Context) error {
	v, err := s.Store.KEKVersion(ctx)
	if err != nil {
		return err
	}
	return s.Keys.Sync(v)
}

// RotateResult reports a key rotation.
type RotateResult struct {
	Version int `json:"kek_version"`
	Rewraps int `json:"keysets_rewrapped"`
	// Intermediates counts the intermediate keys rewrapped; Rewraps the
	// keysets of objects stored before intermediate keys.
	Intermediates int    `json:"intermediate_keys_rewrapped"`
	Receipt       uint64 `json:"receipt"`
	Retired       bool   `json:"old_versions_retired"`
}

// Rotate rotates the key-encryption key through the one pattern: the
// rotation is reserved (one at a time), its key entry logged, and then it
// takes effect: a new KEK version, every keyset rewrapped under it without
// touching any ciphertext, the old versions retired. A rotation
// interrupted after its entry is logged is finished by recovery.
func (s *Service) Rotate(ctx context.Context, by string) (RotateResult, error) {
	if err := s.SyncKeys(ctx); err != nil {
		return RotateResult{}, err
	}
	cur, _ := s.Keys.Current()
	v := cur + 1
	c, err := journal.KeyRotate.Change("", journal.KeyPayload{Version: v})
	if err != nil {
		return RotateResult{}, err
	}
	var r RotateResult
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Key{Op: entry.OpRotate, KEKVersion: int64(v), By: by},
	}, func(ctx context.Context, c *journal.Change, w journal.Leaf) (err error) {
		r, err = s.rotate(ctx, c, w)
		return err
	})
	if errors.Is(err, ombud.ErrStale) {
		now, _ := s.Store.KEKVersion(context.WithoutCancel(ctx))
		return r, conflict("another rotation was recorded meanwhile; KEK version %d is current", max(now, cur+1))
	}
	if err != nil {
		return r, err
	}
	r.Receipt = w.Index
	return r, nil
}

func (s *Service) commitRotate(ctx context.Context, c *journal.Change, w journal.Leaf) error {
	_, err := s.rotate(ctx, c, w)
	return err
}

// rotate makes a logged rotation take effect. It is idempotent: run again,
// it adds no second version and rewraps only what is left.
func (s *Service) rotate(ctx context.Context, c *journal.Change, w journal.Leaf) (RotateResult, error) {
	_, p, err := journal.KeyRotate.Decode(c)
	if err != nil {
		return RotateResult{}, err
	}
	r := RotateResult{Version: p.Version, Receipt: w.Index}
	// Another gateway may have added the version (and died before its
	// commit) or rotated before: the keyring is read again first.
	if err := s.SyncKeys(ctx); err != nil {
		return r, err
	}
	if cur, _ := s.Keys.Current(); cur < p.Version {
		v, err := s.Keys.AddVersion()
		if err != nil {
			return r, fmt.Errorf("failed to add a KEK version: %w", err)
		}
		if v != p.Version {
			return r, fmt.Errorf("the keyring added KEK version %d, not %d as logged", v, p.Version)
		}
	}
	// Rewrapped under the version logged, whatever else the keyring holds.
	to, err := s.Keys.Keeper(p.Version)
	if err != nil {
		return r, err
	}
	// The intermediate keys, which wrap every object stored since they
	// came: the KMS is called once per key, and no object is touched.
	for {
		ks, err := s.Store.IntermediateKeysBelowKEK(ctx, p.Version, 500)
		if err != nil {
			return r, err
		}
		if len(ks) == 0 {
			break
		}
		for _, k := range ks {
			from, err := s.Keys.Keeper(k.KEKVersion)
			if err != nil {
				return r, err
			}
			nw, err := keys.RewrapIntermediate(ctx, from, to, k.Wrapped, k.ID)
			if err != nil {
				return r, fmt.Errorf("intermediate key %s: %w", k.ID, err)
			}
			if err := s.Store.RewrapIntermediateKey(ctx, k.ID, k.KEKVersion, nw, p.Version); err != nil && !errors.Is(err, ombud.ErrNotFound) {
				return r, err
			}
			r.Intermediates++
		}
	}
	// Objects stored before intermediate keys: their keysets one by one.
	for {
		os, err := s.Store.ObjectsBelowKEK(ctx, p.Version, 500)
		if err != nil {
			return r, err
		}
		if len(os) == 0 {
			break
		}
		for _, o := range os {
			from, err := s.Keys.Keeper(o.KEKVersion)
			if err != nil {
				return r, err
			}
			nw, err := keysRewrap(ctx, from, to, o)
			if err != nil {
				return r, fmt.Errorf("object %s: %w", o.ID, err)
			}
			if err := s.Store.Rewrap(ctx, o.ID, o.KEKVersion, nw, p.Version); err != nil && !errors.Is(err, ombud.ErrNotFound) {
				return r, err
			}
			r.Rewraps++
		}
	}
	// Keep the previous version one more round: an ingest that picked it
	// just before AddVersion may record its object after the loop above.
	// The next rotation rewraps it.
	if err := s.Keys.Retire(p.Version - 1); err != nil {
		return r, fmt.Errorf("rotated and logged, but failed to retire old KEK versions: %w", err)
	}
	r.Retired = true
	return r, s.Journal.CommitStore(ctx, c, w)
}

// RestoreEmergency gives back a principal's emergency access, which a
// breach suspended, through the one pattern (an admin decision, logged).
func (s *Service) RestoreEmergency(ctx context.Context, principal, by string) (journal.Leaf, error) {
	p, err := s.Store.Principal(ctx, principal)
	if errors.Is(err, ombud.ErrNotFound) {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no principal %q", principal)
	}
	if err != nil {
		return journal.Leaf{}, err
	}
	if p.EmergencySuspended == 0 {
		return journal.Leaf{}, conflict("principal %s's emergency access is not suspended", principal)
	}
	c, err := journal.EmergencyRestore.Change(principal, journal.None{})
	if err != nil {
		return journal.Leaf{}, err
	}
	release, err := s.gates.exclusive(ctx, principalGate(principal))
	if err != nil {
		return journal.Leaf{}, err
	}
	defer release()
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Principal{Op: entry.OpEmergencyRestore, Roles: roleStrings(p.Roles), Principal: principal, By: by},
	}, nil)
	if err == nil {
		s.suspended.Delete(principal)
	}
	if errors.Is(err, ombud.ErrNotSuspended) {
		return journal.Leaf{}, conflict("principal %s's emergency access is not suspended", principal)
	}
	return w, err
}

// Attest records, through the one pattern, the controller's attestation
// that the data derived from an uncovered emergency read (which lives
// outside ombud: copies, analyses, reports) was deleted. breach is the
// breach entry's emergency read, named by its access entry's index; note
// is free text for the detail record.
func (s *Service) Attest(ctx context.Context, emergency uint64, note, by string) (journal.Leaf, error) {
	if len(note) > 4096 {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "note: at most 4096 bytes")
	}
	c, err := journal.Attest.Change(journal.EmergencyID(emergency), journal.AttestPayload{Breach: emergency})
	if err != nil {
		return journal.Leaf{}, err
	}
	var obj string
	if es, err := s.Store.Emergency(ctx, emergency); err == nil {
		obj = es.ObjectID
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Attestation{Op: entry.OpDerivedDataDeleted, Access: int64(emergency), Object: obj, By: by},
		Detail: entry.AttestationDetail{AccessEntry: emergency, Note: note},
	}, nil)
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no breached emergency read at entry %d", emergency)
	case errors.Is(err, ombud.ErrExists):
		return journal.Leaf{}, conflict("the deletion for emergency read %d is attested already", emergency)
	}
	return w, err
}

func roleStrings(rs []ombud.Role) []string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return s
}

// eraseExpiredDetails erases, through the one pattern, the detail records
// of every entry kind whose retention ended: one summary entry per kind
// (kind, the day before which its details are erased, how many), then the
// erasure. Retention counts whole days, so a kind is swept at most once a
// day.
func (s *Service) eraseExpiredDetails(ctx context.Context, r *SweepResult) error {
	for _, kind := range entry.Kinds() {
		ret, ok := s.DetailRetention[kind]
		if !ok || ret <= 0 {
			continue
		}
		before := s.now().Add(-ret).UTC().Truncate(24 * time.Hour)
		n, err := s.Store.CountDetailsBefore(ctx, kind, before)
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		c, err := journal.DetailsErase.Change(string(kind), journal.DetailsPayload{Kind: kind, Before: before, Count: n})
		if err != nil {
			return err
		}
		_, err = s.Journal.Apply(ctx, c, journal.Record{
			Body: entry.System{Op: entry.OpDetailsErased, EntryKind: string(kind), Before: ombud.Day(before), Count: int64(n)},
		}, nil)
		if ombud.ErrorCode(err) == ombud.CodeConflict {
			continue
		}
		if err != nil {
			return err
		}
		if r.Details == nil {
			r.Details = map[entry.Kind]int{}
		}
		r.Details[kind] += n
	}
	return nil
}
