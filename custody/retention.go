package custody

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
)

// SetHold puts a legal hold on an object: logged, then applied. While held
// the object is never shredded.
func (s *Service) SetHold(ctx context.Context, id, reason, authorization, by string) (ombud.Written, error) {
	return s.hold(ctx, true, id, reason, authorization, by)
}

// ReleaseHold lifts a legal hold: logged, then applied.
func (s *Service) ReleaseHold(ctx context.Context, id, reason, authorization, by string) (ombud.Written, error) {
	return s.hold(ctx, false, id, reason, authorization, by)
}

func (s *Service) hold(ctx context.Context, set bool, id, reason, authorization, by string) (ombud.Written, error) {
	if !isCode(reason) {
		return ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "reason must be a code, e.g. litigation or case_closed")
	}
	if err := ombud.ValidateIdentifier("authorization", authorization); err != nil {
		return ombud.Written{}, err
	}
	o, err := s.liveObject(ctx, id)
	if err != nil {
		return ombud.Written{}, err
	}
	if (o.Hold != nil) == set {
		return ombud.Written{}, conflict("object %s is %s on hold", id, map[bool]string{true: "already", false: "not"}[set])
	}
	op, h := "release", (*ombud.Hold)(nil)
	if set {
		op, h = "set", &ombud.Hold{Reason: reason, Authorization: authorization, Since: s.now(), By: by}
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindHold,
		Fields: map[string]any{"op": op, "reason": reason},
		Refs:   map[string][]string{"object": {id}, "authorization": {authorization}, "by": {by}},
		Detail: map[string]any{"object": id, "authorization": authorization, "reason": reason},
	})
	if err != nil {
		return ombud.Written{}, wrapLog(err)
	}
	return w, s.Store.SetHold(ctx, id, h)
}

func (s *Service) liveObject(ctx context.Context, id string) (*ombud.Object, error) {
	o, err := s.Store.Object(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && o.Pending) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if o.Erased != nil || o.WrappedKeyset == nil {
		return nil, ombud.Errorf(ombud.CodeGone, "object %s was erased", id)
	}
	return o, nil
}

// Erase crypto-shreds an object on demand (a court order, a refused
// authorization), the same way retention does. Objects on hold are refused.
func (s *Service) Erase(ctx context.Context, id, reason, authorization, by string) (ombud.Written, error) {
	ok := false
	for _, r := range ombud.EraseReasons {
		ok = ok || r == reason
	}
	if !ok {
		return ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "reason must be one of %v", ombud.EraseReasons)
	}
	if err := ombud.ValidateIdentifier("authorization", authorization); err != nil {
		return ombud.Written{}, err
	}
	o, err := s.liveObject(ctx, id)
	if err != nil {
		return ombud.Written{}, err
	}
	if o.Hold != nil {
		return ombud.Written{}, conflict("object %s is on legal hold (%s); release the hold first", id, o.Hold.Reason)
	}
	return s.shred(ctx, o, reason, authorization, by)
}

// shred is the one erasure path, in the order that makes it safe:
//  1. destroy the wrapped keyset: from here on the object cannot be read,
//     even by someone holding the blob and the KEK;
//  2. delete the ciphertext;
//  3. log the erase entry with the reason;
//  4. record the erasure.
//
// A crash after step 1 leaves the object unreadable with its reason noted;
// Sweep finishes steps 2 to 4.
func (s *Service) shred(ctx context.Context, o *ombud.Object, reason, authorization, by string) (ombud.Written, error) {
	if o.WrappedKeyset != nil {
		if err := s.Store.DestroyKeyset(ctx, o.ID, reason); err != nil {
			return ombud.Written{}, fmt.Errorf("failed to destroy keyset: %w", err)
		}
	}
	if err := s.Bucket.Delete(ctx, blob.Key(o.ID)); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return ombud.Written{}, fmt.Errorf("failed to delete ciphertext: %w", err)
	}
	refs := map[string][]string{"object": {o.ID}}
	if authorization != "" {
		refs["authorization"] = []string{authorization}
	}
	if by != "" {
		refs["by"] = []string{by}
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindErase,
		Fields: map[string]any{"reason": reason, "class": o.Class},
		Refs:   refs,
		Detail: map[string]any{"object": o.ID, "authorization": authorization, "retain_until": fmtTime(o.RetainUntil)},
	})
	if err != nil {
		return ombud.Written{}, wrapLog(err)
	}
	if err := s.Store.MarkErased(ctx, o.ID, ombud.Erasure{Reason: reason, At: s.now(), Index: w.Index}); err != nil {
		return ombud.Written{}, fmt.Errorf("failed to record erasure: %w", err)
	}
	return w, nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Erased    int `json:"erased"`
	Finished  int `json:"finished_erasures"`
	Recovered int `json:"recovered_ingests"`
	Failed    int `json:"failed"`
	Breaches  int `json:"emergency_breaches"`
}

// Sweep finishes interrupted work and enforces retention: it completes
// erasures interrupted after their keyset was destroyed, logs ingests that
// were stored but not logged, and shreds every expired object not on hold.
// It stops at the first log failure (fail closed) and reports it.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var r SweepResult
	const batch = 200
	for {
		os, err := s.Store.UnfinishedErasures(ctx, batch)
		if err != nil || len(os) == 0 {
			if err != nil {
				return r, err
			}
			break
		}
		for _, o := range os {
			reason := o.ShredReason
			if reason == "" {
				reason = ombud.EraseRetention
			}
			if _, err := s.shred(ctx, o, reason, "", ""); err != nil {
				return r, err
			}
			r.Finished++
		}
	}
	for {
		os, err := s.Store.PendingObjects(ctx, batch)
		if err != nil {
			return r, err
		}
		if len(os) == 0 {
			break
		}
		for _, o := range os {
			if _, err := s.logIngest(ctx, o, nil, ""); err != nil {
				return r, err
			}
			r.Recovered++
		}
	}
	if err := s.breachEmergencies(ctx, &r); err != nil {
		return r, err
	}
	for {
		os, err := s.Store.ExpiredObjects(ctx, s.now(), batch)
		if err != nil {
			return r, err
		}
		if len(os) == 0 {
			break
		}
		for _, o := range os {
			if _, err := s.shred(ctx, o, ombud.EraseRetention, "", ""); err != nil {
				r.Failed++
				s.logger().ErrorContext(ctx, "retention shred failed", "object", o.ID, "err", err)
				return r, err
			}
			r.Erased++
		}
	}
	return r, nil
}

// breachEmergencies erases the objects of every emergency read whose
// deadline passed without a covering authorization, and logs a breach for
// each. An object on legal hold is kept (the hold wins) but the breach is
// logged all the same.
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
		o, err := s.Store.Object(ctx, em.ObjectID)
		if err != nil {
			return err
		}
		if o.Erased == nil && o.Hold == nil {
			if _, err := s.shred(ctx, o, ombud.EraseEmergencyUncovered, "", ""); err != nil {
				return err
			}
			r.Erased++
		}
		w, err := s.Journal.Write(ctx, ombud.Record{
			Kind:   ombud.KindBreach,
			Fields: map[string]any{"reason": "emergency_not_covered", "class": o.Class, "deadline": em.Deadline.Format(time.RFC3339)},
			Refs:   map[string][]string{"object": {o.ID}, "by": {em.Principal}},
			Detail: map[string]any{"access_entry": em.Index, "emergency_reason": em.Reason, "purpose": em.Purpose, "held": o.Hold != nil},
		})
		if err != nil {
			return wrapLog(err)
		}
		if err := s.Store.BreachEmergency(ctx, em.Index, w.Index); err != nil {
			return err
		}
		r.Breaches++
	}
	return nil
}

// RotateResult reports a key rotation.
type RotateResult struct {
	Version int    `json:"kek_version"`
	Rewraps int    `json:"keysets_rewrapped"`
	Receipt uint64 `json:"receipt"`
	Retired bool   `json:"old_versions_retired"`
}

// Rotate adds a new KEK version, rewraps every keyset under it without
// touching any ciphertext, logs a key entry, and then retires the old
// versions. Interrupted, it is safe to run again.
func (s *Service) Rotate(ctx context.Context, by string) (RotateResult, error) {
	v, err := s.Keys.AddVersion()
	if err != nil {
		return RotateResult{}, fmt.Errorf("failed to add a KEK version: %w", err)
	}
	_, to := s.Keys.Current()
	r := RotateResult{Version: v}
	for {
		os, err := s.Store.ObjectsBelowKEK(ctx, v, 500)
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
			if err := s.Store.Rewrap(ctx, o.ID, o.KEKVersion, nw, v); err != nil && !errors.Is(err, ombud.ErrNotFound) {
				return r, err
			}
			r.Rewraps++
		}
	}
	refs := map[string][]string{}
	if by != "" {
		refs["by"] = []string{by}
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindKey,
		Fields: map[string]any{"op": "rotate", "kek_version": v, "keysets": r.Rewraps},
		Refs:   refs,
	})
	if err != nil {
		return r, wrapLog(err)
	}
	r.Receipt = w.Index
	// Keep the previous version one more round: an ingest that picked it
	// just before AddVersion may record its object after the loop above.
	// The next rotation rewraps it.
	if err := s.Keys.Retire(v - 1); err != nil {
		return r, fmt.Errorf("rotated and logged, but failed to retire old KEK versions: %w", err)
	}
	r.Retired = true
	return r, nil
}
