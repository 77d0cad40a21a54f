package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/store"
)

// change returns a change ready to reserve, with a leaf hash and a time.
func change[P any](t *testing.T, op journal.Operation[P], id string, payload P) *journal.Change {
	t.Helper()
	c, err := op.Change(id, payload)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(c.Token))
	c.Leaf, c.Created = sum[:], time.Now().UTC().Truncate(time.Millisecond)
	return c
}

// apply reserves and commits c at index.
func apply(t *testing.T, s store.Store, c *journal.Change, index uint64) {
	t.Helper()
	ctx := context.Background()
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatalf("Reserve(%s %s): %v", c.Op, c.Target, err)
	}
	if err := s.Commit(ctx, c, index); err != nil {
		t.Fatalf("Commit(%s %s): %v", c.Op, c.Target, err)
	}
}

func testChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	// One change per target at a time, whatever the op.
	a := change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 2})
	a.From = 17
	if err := s.Reserve(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 2})); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a second change to the same target: %v, want ErrBusy", err)
	}
	b := change(t, journal.ReportPublish, "2026-11@5", journal.ReportPayload{Name: "2026-11@5"})
	if err := s.Reserve(ctx, b); err != nil {
		t.Fatalf("a change to another target: %v", err)
	}
	// In flight, listed for recovery by age, with everything recovery needs.
	cs, err := s.Changes(ctx, time.Now().Add(time.Minute))
	if err != nil || len(cs) != 2 {
		t.Fatalf("Changes = %v, %v; want 2", cs, err)
	}
	got := cs[0]
	if got.Token != a.Token {
		got = cs[1]
	}
	if got.Op != a.Op || got.Target != a.Target || !bytes.Equal(got.Leaf, a.Leaf) || got.From != 17 || !got.Created.Equal(a.Created) || string(got.Payload) != string(a.Payload) {
		t.Fatalf("Changes returned %+v, want %+v", got, a)
	}
	if cs, _ := s.Changes(ctx, a.Created.Add(-time.Second)); len(cs) != 0 {
		t.Fatalf("Changes(before any) = %v", cs)
	}
	if err := s.Undo(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, b, 3); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.Changes(ctx, time.Now().Add(time.Minute)); len(cs) != 0 {
		t.Fatalf("Changes after settling both = %v", cs)
	}
	// The target is free again.
	apply(t, s, change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 2}), 4)

	// Rotations: a version above every recorded one, once.
	if err := s.Reserve(ctx, change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 2})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a second rotation to version 2: %v, want ErrStale", err)
	}
	apply(t, s, change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 3}), 5)
	// Erasures of a kind's details: each to a later day than the last.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	apply(t, s, change(t, journal.DetailsErase, "access", journal.DetailsPayload{Kind: entry.KindAccess, Before: day}), 6)
	if err := s.Reserve(ctx, change(t, journal.DetailsErase, "access", journal.DetailsPayload{Kind: entry.KindAccess, Before: day})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a second erasure of access details to the same day: %v, want ErrStale", err)
	}
	apply(t, s, change(t, journal.DetailsErase, "hold", journal.DetailsPayload{Kind: entry.KindHold, Before: day}), 7)

	// Concurrent reservations of one target: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, busy := 0, 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Reserve(ctx, change(t, journal.ReportPublish, "x", journal.ReportPayload{Name: "x"}))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ombud.ErrBusy):
				busy++
			default:
				t.Errorf("Reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || busy != 19 {
		t.Fatalf("%d reservations won and %d were busy, want 1 and 19", won, busy)
	}

	// Policy versions advance one at a time.
	if v, sha, _ := s.LatestPolicy(ctx); v != 0 || sha != "" {
		t.Fatalf("LatestPolicy on an empty store = %d %q", v, sha)
	}
	apply(t, s, change(t, journal.PolicySet, "", journal.PolicyPayload{Version: 1, SHA: "abc"}), 5)
	if v, sha, _ := s.LatestPolicy(ctx); v != 1 || sha != "abc" {
		t.Fatalf("LatestPolicy = %d %q", v, sha)
	}
	if err := s.Reserve(ctx, change(t, journal.PolicySet, "", journal.PolicyPayload{Version: 1, SHA: "def"})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a policy version built on a stale one: %v, want ErrStale", err)
	}
}

func testObject(id string, now time.Time, retain time.Duration, kek int) *ombud.Object {
	return &ombud.Object{ID: id, Class: "general", Subjects: []string{"ps1:AAAAAAAAAAAAAAAAAAAAAA"}, Source: "cam-1", Region: "eu",
		CollectedAt: now.Add(-time.Hour), Created: now, RetainUntil: now.Add(retain), Size: 10, CipherSize: 50,
		CipherSHA: bytes.Repeat([]byte{1}, 32), WrappedKeyset: []byte("wrapped-" + id), KEKVersion: kek, KeyFormat: 1}
}

func testObjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b, c := testObject("aaaaaaaaaaaaaaaa", now, -time.Minute, 1), testObject("bbbbbbbbbbbbbbbb", now, time.Hour, 1), testObject("cccccccccccccccc", now, -2*time.Minute, 2)
	ingests := map[string]*journal.Change{}
	for _, o := range []*ombud.Object{a, b, c} {
		ingests[o.ID] = change(t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o})
		if err := s.Reserve(ctx, ingests[o.ID]); err != nil {
			t.Fatalf("Reserve(ingest): %v", err)
		}
	}
	// Reserved objects are invisible, and never expire.
	if _, err := s.Object(ctx, a.ID); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved object is visible: %v", err)
	}
	if exp, _ := s.ExpiredObjects(ctx, now, 10); len(exp) != 0 {
		t.Fatalf("reserved objects listed as expired: %d", len(exp))
	}
	if err := s.Reserve(ctx, change(t, journal.HoldSet, a.ID, journal.HoldPayload{Hold: &ombud.Hold{Reason: "litigation"}})); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a hold on an object whose ingest is in flight: %v, want ErrBusy", err)
	}
	for i, o := range []*ombud.Object{a, b, c} {
		if err := s.Commit(ctx, ingests[o.ID], uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Reserve(ctx, change(t, journal.Ingest, a.ID, journal.ObjectPayload{Object: a})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("ingesting an id twice: %v, want ErrExists", err)
	}
	got, err := s.Object(ctx, a.ID)
	if err != nil || got.IngestIndex != 10 || got.Class != "general" || string(got.WrappedKeyset) != "wrapped-"+a.ID || got.KeyFormat != 1 || !got.RetainUntil.Equal(a.RetainUntil) || len(got.Subjects) != 1 {
		t.Fatalf("Object = %+v, %v", got, err)
	}
	if _, err := s.Object(ctx, "nosuchobject0000"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("Object(missing): %v", err)
	}
	// An undone ingest leaves nothing.
	d := testObject("dddddddddddddddd", now, time.Hour, 1)
	ud := change(t, journal.Ingest, d.ID, journal.ObjectPayload{Object: d})
	if err := s.Reserve(ctx, ud); err != nil {
		t.Fatal(err)
	}
	if err := s.Undo(ctx, ud); err != nil {
		t.Fatal(err)
	}
	apply(t, s, change(t, journal.Ingest, d.ID, journal.ObjectPayload{Object: d}), 13)

	exp, err := s.ExpiredObjects(ctx, now, 10)
	if err != nil || len(exp) != 2 || exp[0].ID != c.ID || exp[1].ID != a.ID {
		t.Fatalf("ExpiredObjects = %v, %v; want c, a", exp, err)
	}
	// A hold keeps an object from expiring, and the store refuses to
	// erase it, whatever the caller checked.
	h := &ombud.Hold{Reason: "litigation", Authorization: "auth-1", Since: now, By: "admin"}
	apply(t, s, change(t, journal.HoldSet, a.ID, journal.HoldPayload{Hold: h}), 20)
	if got, _ := s.Object(ctx, a.ID); got.Hold == nil || got.Hold.Reason != "litigation" || got.Hold.By != "admin" {
		t.Fatalf("hold not stored: %+v", got.Hold)
	}
	if exp, _ := s.ExpiredObjects(ctx, now, 10); len(exp) != 1 || exp[0].ID != c.ID {
		t.Fatalf("held object still expires: %v", exp)
	}
	if err := s.Reserve(ctx, change(t, journal.Erase, a.ID, journal.ErasePayload{Reason: "court_order", At: now})); !errors.Is(err, ombud.ErrOnHold) {
		t.Fatalf("erasing a held object: %v, want ErrOnHold", err)
	}
	if err := s.Reserve(ctx, change(t, journal.HoldSet, a.ID, journal.HoldPayload{Hold: h})); !errors.Is(err, ombud.ErrOnHold) {
		t.Fatalf("holding twice: %v, want ErrOnHold", err)
	}
	apply(t, s, change(t, journal.HoldRelease, a.ID, journal.None{}), 21)
	if err := s.Reserve(ctx, change(t, journal.HoldRelease, a.ID, journal.None{})); !errors.Is(err, ombud.ErrNotOnHold) {
		t.Fatalf("releasing twice: %v, want ErrNotOnHold", err)
	}
	// An erasure in flight keeps a hold out; committed, it shreds.
	e := change(t, journal.Erase, c.ID, journal.ErasePayload{Reason: ombud.EraseRetention, At: now})
	if err := s.Reserve(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve(ctx, change(t, journal.HoldSet, c.ID, journal.HoldPayload{Hold: h})); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a hold during an erasure: %v, want ErrBusy", err)
	}
	if err := s.Commit(ctx, e, 99); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Object(ctx, c.ID)
	if got.Erased == nil || got.Erased.Index != 99 || got.Erased.Reason != ombud.EraseRetention || got.WrappedKeyset != nil {
		t.Fatalf("erased object = %+v", got)
	}
	if err := s.Reserve(ctx, change(t, journal.HoldSet, c.ID, journal.HoldPayload{Hold: h})); !errors.Is(err, ombud.ErrErased) {
		t.Fatalf("a hold after the erasure: %v, want ErrErased", err)
	}
	// Rotation: compare-and-swap on the version.
	below, _ := s.ObjectsBelowKEK(ctx, 2, 10)
	if len(below) != 3 {
		t.Fatalf("ObjectsBelowKEK = %d, want 3", len(below))
	}
	if err := s.Rewrap(ctx, a.ID, 1, []byte("new"), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Rewrap(ctx, a.ID, 1, []byte("newer"), 3); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("Rewrap with a stale version: %v", err)
	}
	if got, _ := s.Object(ctx, a.ID); string(got.WrappedKeyset) != "new" || got.KEKVersion != 2 {
		t.Fatalf("after Rewrap: %+v", got)
	}
}

// testDetailKinds: an object's erasure erases its ingest detail at once;
// an OpDetailsErase erases exactly the records of its kind before its time.
func testDetailKinds(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(kind entry.Kind, at time.Time, body string) journal.Detail {
		d := journal.Commit([]byte(body))
		d.Time, d.Kind = at, kind
		return d
	}
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
	ds := []journal.Detail{
		mk(entry.KindAccess, old, `{"n":1}`), mk(entry.KindAccess, old, `{"n":2}`), mk(entry.KindAccess, recent, `{"n":3}`),
		mk(entry.KindHold, old, `{"n":4}`), mk(entry.KindIngest, recent, `{"n":5}`), mk("", old, `{"n":6}`),
	}
	if err := s.PutDetails(ctx, ds); err != nil {
		t.Fatal(err)
	}
	before := now.Add(-24 * time.Hour)
	if n, err := s.CountDetailsBefore(ctx, entry.KindAccess, before); err != nil || n != 2 {
		t.Fatalf("CountDetailsBefore(access) = %d, %v; want 2", n, err)
	}
	apply(t, s, change(t, journal.DetailsErase, "access", journal.DetailsPayload{Kind: entry.KindAccess, Before: before, Count: 2}), 7)
	for i, want := range []bool{true, true, false, false, false, false} {
		got, err := s.Detail(ctx, ds[i].Key())
		if err != nil {
			t.Fatalf("Detail %d: %v", i, err)
		}
		if erased := got.Body == nil; erased != want {
			t.Errorf("detail %d (%s): erased %v, want %v", i, ds[i].Kind, erased, want)
		}
	}
	if n, _ := s.CountDetailsBefore(ctx, entry.KindAccess, before); n != 0 {
		t.Fatalf("CountDetailsBefore after the erasure = %d", n)
	}
	// The ingest detail goes with its object.
	o := testObject("eeeeeeeeeeeeeeee", now, time.Hour, 1)
	o.IngestDetail = ds[4].Key()
	apply(t, s, change(t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o}), 8)
	if got, _ := s.Object(ctx, o.ID); got.IngestDetail != o.IngestDetail {
		t.Fatalf("IngestDetail = %+v, want %+v", got.IngestDetail, o.IngestDetail)
	}
	apply(t, s, change(t, journal.Erase, o.ID, journal.ErasePayload{Reason: "court_order", At: now}), 9)
	if got, err := s.Detail(ctx, ds[4].Key()); err != nil || got.Body != nil {
		t.Fatalf("the erased object's ingest detail = %q, %v; want erased", got.Body, err)
	}
	if got, _ := s.Detail(ctx, ds[2].Key()); got.Body == nil {
		t.Fatal("an unrelated detail was erased")
	}
}

func testAuthorizations(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	iss := &ombud.Issuer{Name: "court.example/x", Kind: "court", Jurisdiction: "EU", Key: "k", Registered: now}
	ic := change(t, journal.IssuerRegister, iss.Name, journal.IssuerPayload{Issuer: iss})
	if err := s.Reserve(ctx, ic); err != nil {
		t.Fatal(err)
	}
	if is, _ := s.Issuers(ctx); len(is) != 0 {
		t.Fatalf("a reserved issuer is listed: %v", is)
	}
	if err := s.Commit(ctx, ic, 1); err != nil {
		t.Fatal(err)
	}
	if is, _ := s.Issuers(ctx); len(is) != 1 || is[0].Index != 1 || is[0].Key != "k" {
		t.Fatalf("Issuers = %v", is)
	}
	other := *iss
	other.Key = "another key"
	if err := s.Reserve(ctx, change(t, journal.IssuerRegister, iss.Name, journal.IssuerPayload{Issuer: &other})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second key under an issuer's name: %v, want ErrExists", err)
	}
	note := "ombud-authorization/v1\nid: a1\nissuer: court.example/x\nkind: court_order\ncase: c\npurpose: p\nclass: location\nsubject: *\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 7\njurisdiction: EU\n\n— court.example/x sig\n"
	a := &ombud.RegisteredAuthorization{Note: note, SubjectPseudonyms: []string{"*"}, Registered: now}
	a.ID, a.Issuer, a.MaxUses = "a1", "court.example/x", 7
	ac := change(t, journal.AuthorizationRegister, a.ID, journal.AuthorizationPayload{Authorization: a})
	if err := s.Reserve(ctx, ac); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authorization(ctx, "a1"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved authorization is visible: %v", err)
	}
	if _, err := s.UseAuthorization(ctx, "a1", 0); err == nil {
		t.Fatal("a use of a reserved authorization")
	}
	if err := s.Commit(ctx, ac, 2); err != nil {
		t.Fatal(err)
	}
	// A second note with the same id is refused at reservation.
	if err := s.Reserve(ctx, change(t, journal.AuthorizationRegister, a.ID, journal.AuthorizationPayload{Authorization: a})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("registering an id twice: %v, want ErrExists", err)
	}
	if got, err := s.Authorization(ctx, "a1"); err != nil || got.Index != 2 || got.MaxUses != 7 || got.Kind != "court_order" {
		t.Fatalf("Authorization = %+v, %v", got, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]bool{}
	exhausted := 0
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.UseAuthorization(ctx, "a1", 5)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if got[n] {
					t.Errorf("use %d handed out twice", n)
				}
				got[n] = true
			case errors.Is(err, ombud.ErrExhausted):
				exhausted++
			default:
				t.Errorf("UseAuthorization: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(got) != 7 || exhausted != 33 {
		t.Fatalf("%d uses and %d exhausted, want 7 and 33", len(got), exhausted)
	}
	// Every use taken is in flight until its decision is logged.
	inFlight := func() map[int]uint64 {
		t.Helper()
		us, err := s.UsesInFlight(ctx, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		m := map[int]uint64{}
		for _, u := range us {
			if u.Authorization != "a1" {
				t.Fatalf("a use in flight of %q", u.Authorization)
			}
			m[u.Use] = u.From
		}
		return m
	}
	if f := inFlight(); len(f) != 7 || f[1] != 5 {
		t.Fatalf("uses in flight %v, want 1 to 7 from 5", f)
	}
	if us, _ := s.UsesInFlight(ctx, time.Now().Add(-time.Hour)); len(us) != 0 {
		t.Fatalf("uses in flight taken an hour ago: %v", us)
	}
	for n := 1; n <= 6; n++ {
		s.UseLogged("a1", n)
	}
	// A use noted logged leaves in the writer's next transaction.
	deadline := time.Now().Add(10 * time.Second)
	for len(inFlight()) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := inFlight(); len(f) != 1 || f[7] == 0 {
		t.Fatalf("uses in flight after six were logged: %v, want 7 alone", f)
	}
	// A logged use is not given back; a use in flight is, once.
	if err := s.RefundAuthorization(ctx, "a1", 3); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("refund of a logged use: %v, want ErrNotFound", err)
	}
	if err := s.RefundAuthorization(ctx, "a1", 7); err != nil {
		t.Fatal(err)
	}
	if err := s.SettleUse(ctx, "a1", 7, false); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a second refund of a use: %v, want ErrNotFound", err)
	}
	if n, err := s.UseAuthorization(ctx, "a1", 9); err != nil || n != 7 {
		t.Fatalf("use after refund = %d, %v", n, err)
	}
	if f := inFlight(); len(f) != 1 || f[7] != 9 {
		t.Fatalf("uses in flight after a use taken again: %v", f)
	}
	// Recovery keeps a use whose decision it found in the log.
	if err := s.SettleUse(ctx, "a1", 7, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseAuthorization(ctx, "a1", 9); !errors.Is(err, ombud.ErrExhausted) {
		t.Fatalf("a use past the last after a kept use: %v, want ErrExhausted", err)
	}
	apply(t, s, change(t, journal.AuthorizationRevoke, "a1", journal.RevokePayload{Reason: "order_quashed", At: now}), 3)
	if got, _ := s.Authorization(ctx, "a1"); got.Revoked == nil || got.RevokeReason != "order_quashed" || got.RevokeIndex != 3 {
		t.Fatalf("revoked authorization = %+v", got)
	}
	if err := s.Reserve(ctx, change(t, journal.AuthorizationRevoke, "a1", journal.RevokePayload{Reason: "x", At: now})); !errors.Is(err, ombud.ErrRevoked) {
		t.Fatalf("second revoke: %v, want ErrRevoked", err)
	}
	if _, err := s.UseAuthorization(ctx, "a1", 0); !errors.Is(err, ombud.ErrRevoked) {
		t.Fatalf("use of a revoked authorization: %v, want ErrRevoked", err)
	}
	if _, err := s.UseAuthorization(ctx, "nosuch", 0); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("use of a missing authorization: %v", err)
	}
	// Many uses of one authorization at once, which the store may take
	// together: every use that fits is handed out once, numbered from 1
	// without a gap, and the rest are refused.
	a2 := &ombud.RegisteredAuthorization{Note: fmt.Sprintf("%s\nid: a2", note), SubjectPseudonyms: []string{"*"}, Registered: now}
	a2.ID, a2.Issuer, a2.MaxUses = "a2", "court.example/x", 64
	apply(t, s, change(t, journal.AuthorizationRegister, a2.ID, journal.AuthorizationPayload{Authorization: a2}), 25)
	useAll := func(n int) (map[int]bool, int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		got, refused := map[int]bool{}, 0
		for range n {
			wg.Go(func() {
				u, err := s.UseAuthorization(ctx, "a2", 5)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && !got[u]:
					got[u] = true
				case err == nil:
					t.Errorf("use %d of a2 handed out twice", u)
				case errors.Is(err, ombud.ErrExhausted):
					refused++
				default:
					t.Errorf("UseAuthorization: %v", err)
				}
			})
		}
		wg.Wait()
		return got, refused
	}
	for _, want := range []struct{ n, from, to, refused int }{{48, 1, 48, 0}, {20, 49, 64, 4}} {
		got, refused := useAll(want.n)
		for u := want.from; u <= want.to; u++ {
			if !got[u] {
				t.Fatalf("%d uses at once: use %d not handed out (%v, %d refused)", want.n, u, got, refused)
			}
		}
		if len(got) != want.to-want.from+1 || refused != want.refused {
			t.Fatalf("%d uses at once: %d handed out, %d refused; want %d to %d and %d refused", want.n, len(got), refused, want.from, want.to, want.refused)
		}
	}
	if got, _ := s.Authorization(ctx, "a2"); got.Uses != 64 {
		t.Fatalf("a2 counts %d uses, want 64", got.Uses)
	}

	// Emergencies: recorded with their permit's index, breached once,
	// which suspends the principal's emergency access; restored by an
	// admin; the deletion attested once.
	tok := ombud.NewToken(ombud.NewID())
	p := &ombud.Principal{ID: tok.PrincipalID(), Name: "analyst", Roles: []ombud.Role{ombud.RoleAnalyst}, TokenHash: tok.Hash(), Created: now}
	apply(t, s, change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p}), 4)
	em := &ombud.Emergency{ObjectID: "o", Principal: p.ID, Purpose: "missing_person", Reason: "missing_person", At: now, Deadline: now.Add(time.Hour)}
	apply(t, s, change(t, journal.EmergencyRead, "x", journal.EmergencyPayload{Emergency: em}), 30)
	if open, _ := s.OpenEmergencies(ctx); len(open) != 1 || open[0].Principal != p.ID {
		t.Fatalf("OpenEmergencies = %v", open)
	}
	if err := s.Reserve(ctx, change(t, journal.EmergencyRestore, p.ID, journal.None{})); !errors.Is(err, ombud.ErrNotSuspended) {
		t.Fatalf("restoring access that was not suspended: %v", err)
	}
	apply(t, s, change(t, journal.Breach, journal.EmergencyID(30), journal.BreachPayload{Emergency: 30, Principal: p.ID}), 31)
	if got, _ := s.Principal(ctx, p.ID); got.EmergencySuspended != 31 {
		t.Fatalf("breach did not suspend emergency access: %+v", got)
	}
	if err := s.Reserve(ctx, change(t, journal.Breach, journal.EmergencyID(30), journal.BreachPayload{Emergency: 30, Principal: p.ID})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("second breach: %v, want ErrStale", err)
	}
	if open, _ := s.OpenEmergencies(ctx); len(open) != 0 {
		t.Fatalf("a breached emergency is still open: %v", open)
	}
	apply(t, s, change(t, journal.EmergencyRestore, p.ID, journal.None{}), 32)
	if got, _ := s.Principal(ctx, p.ID); got.EmergencySuspended != 0 {
		t.Fatalf("restore did not lift the suspension: %+v", got)
	}
	apply(t, s, change(t, journal.Attest, journal.EmergencyID(30), journal.AttestPayload{Breach: 30}), 33)
	if err := s.Reserve(ctx, change(t, journal.Attest, journal.EmergencyID(30), journal.AttestPayload{Breach: 30})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("second attestation: %v, want ErrExists", err)
	}
	if bs, err := s.Breaches(ctx); err != nil || len(bs) != 1 || bs[0].Index != 30 || bs[0].BreachIndex != 31 {
		t.Fatalf("Breaches = %v, %v", bs, err)
	}
	if got, err := s.Emergency(ctx, 30); err != nil || got.BreachIndex != 31 || got.AttestIndex != 33 {
		t.Fatalf("Emergency = %+v, %v", got, err)
	}
	if _, err := s.Emergency(ctx, 99); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("Emergency(missing): %v", err)
	}
}

// TestSystems checks SystemStore: a system and its first version are
// invisible while reserved, a name and a version are registered once, a
// version is retired once, and an undone registration leaves nothing.
func TestSystems(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	sys := &ombud.AnalyticSystem{ID: ombud.NewID(), Name: "vendor-x-frs", Vendor: "vendor-x", Task: "face_identification", Classes: []string{"biometric"},
		ImpactAssessment: "fria-1", Contract: "c-1", Registered: now,
		Versions: []*ombud.SystemVersion{{Version: "4.2.1", Model: "facematch", Accuracy: ombud.Accuracy{FPIR: 0.003, FNIR: 0.02, Threshold: 0.85, Source: "nist-1"}, Registered: now}}}
	c := change(t, journal.SystemRegister, sys.Name, journal.SystemPayload{System: sys})
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatalf("Reserve(system): %v", err)
	}
	if all, _ := s.AnalyticSystems(ctx); len(all) != 0 {
		t.Fatalf("a reserved system is listed: %v", all)
	}
	if err := s.Commit(ctx, c, 7); err != nil {
		t.Fatalf("Commit(system): %v", err)
	}
	got, err := s.AnalyticSystem(ctx, sys.ID)
	if err != nil || got.Name != sys.Name || len(got.Versions) != 1 || got.Versions[0].Accuracy.FNIR != 0.02 || got.Index != 7 || got.Versions[0].Index != 7 {
		t.Fatalf("AnalyticSystem = %+v, %v", got, err)
	}
	twin := *sys
	twin.ID = ombud.NewID()
	if err := s.Reserve(ctx, change(t, journal.SystemRegister, sys.Name, journal.SystemPayload{System: &twin})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second system of the name: %v, want ErrExists", err)
	}
	v2 := &ombud.SystemVersion{Version: "5.0.0", Model: "facematch", Registered: now}
	apply(t, s, change(t, journal.SystemVersion, journal.Pair(sys.ID, "5.0.0"), journal.VersionPayload{System: sys.ID, Version: v2}), 8)
	if err := s.Reserve(ctx, change(t, journal.SystemVersion, journal.Pair(sys.ID, "5.0.0"), journal.VersionPayload{System: sys.ID, Version: v2})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a version twice: %v, want ErrExists", err)
	}
	if err := s.Reserve(ctx, change(t, journal.SystemVersion, journal.Pair("nosuchsystem0000", "5.0.0"), journal.VersionPayload{System: "nosuchsystem0000", Version: v2})); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a version of no system: %v, want ErrNotFound", err)
	}
	retire := journal.VersionPayload{System: sys.ID, Version: &ombud.SystemVersion{Version: "4.2.1"}, At: now}
	apply(t, s, change(t, journal.SystemRetire, journal.Pair(sys.ID, "4.2.1"), retire), 9)
	if err := s.Reserve(ctx, change(t, journal.SystemRetire, journal.Pair(sys.ID, "4.2.1"), retire)); !errors.Is(err, ombud.ErrRetired) {
		t.Fatalf("retiring twice: %v, want ErrRetired", err)
	}
	got, _ = s.AnalyticSystem(ctx, sys.ID)
	if old := got.Version("4.2.1"); old == nil || old.Retired == nil || old.RetireIdx != 9 || got.Version("5.0.0") == nil || got.Version("5.0.0").Retired != nil {
		t.Fatalf("versions after a retirement: %+v", got.Versions)
	}
	other := &ombud.AnalyticSystem{ID: ombud.NewID(), Name: "plates", Vendor: "v", Task: "plate_reading", Classes: []string{"location"}, Registered: now,
		Versions: []*ombud.SystemVersion{{Version: "1", Model: "m", Registered: now}}}
	c = change(t, journal.SystemRegister, other.Name, journal.SystemPayload{System: other})
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Undo(ctx, c); err != nil {
		t.Fatalf("Undo(system): %v", err)
	}
	if all, _ := s.AnalyticSystems(ctx); len(all) != 1 {
		t.Fatalf("an undone system is listed: %d systems", len(all))
	}
	apply(t, s, change(t, journal.SystemRegister, other.Name, journal.SystemPayload{System: other}), 10)
}

// TestRecipients checks RecipientStore: a recipient is invisible while
// reserved, a name is registered once, a recipient is retired once and
// only when registered, and an undone registration leaves nothing.
func TestRecipients(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := &ombud.Recipient{ID: ombud.NewID(), Name: "Police nationale, unit 12", Category: "foreign_authority", Jurisdiction: "EU-FR",
		Key: "age1recipientkey", Registered: now, By: "admin0000000000a"}
	c := change(t, journal.RecipientRegister, r.ID, journal.RecipientPayload{Recipient: r})
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatalf("Reserve(recipient): %v", err)
	}
	if all, _ := s.Recipients(ctx); len(all) != 0 {
		t.Fatalf("a reserved recipient is listed: %v", all)
	}
	if _, err := s.Recipient(ctx, r.ID); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved recipient is found: %v", err)
	}
	if err := s.Commit(ctx, c, 7); err != nil {
		t.Fatalf("Commit(recipient): %v", err)
	}
	got, err := s.Recipient(ctx, r.ID)
	if err != nil || got.Name != r.Name || got.Category != r.Category || got.Jurisdiction != r.Jurisdiction || got.Key != r.Key ||
		!got.Registered.Equal(now) || got.By != r.By || got.Index != 7 || got.Retired != nil {
		t.Fatalf("Recipient = %+v, %v", got, err)
	}
	twin := *r
	twin.ID = ombud.NewID()
	if err := s.Reserve(ctx, change(t, journal.RecipientRegister, twin.ID, journal.RecipientPayload{Recipient: &twin})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second recipient of the name: %v, want ErrExists", err)
	}
	if err := s.Reserve(ctx, change(t, journal.RecipientRetire, "nosuchrecipient0", journal.RetirePayload{At: now})); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("retiring no recipient: %v, want ErrNotFound", err)
	}
	apply(t, s, change(t, journal.RecipientRetire, r.ID, journal.RetirePayload{At: now}), 9)
	if err := s.Reserve(ctx, change(t, journal.RecipientRetire, r.ID, journal.RetirePayload{At: now})); !errors.Is(err, ombud.ErrRetired) {
		t.Fatalf("retiring twice: %v, want ErrRetired", err)
	}
	got, _ = s.Recipient(ctx, r.ID)
	if got.Retired == nil || !got.Retired.Equal(now) || got.RetireIdx != 9 {
		t.Fatalf("after its retirement: %+v", got)
	}
	other := &ombud.Recipient{ID: ombud.NewID(), Name: "District court 3", Category: "court", Jurisdiction: "EU-DE", Key: "age1other", Registered: now, By: r.By}
	c = change(t, journal.RecipientRegister, other.ID, journal.RecipientPayload{Recipient: other})
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Undo(ctx, c); err != nil {
		t.Fatalf("Undo(recipient): %v", err)
	}
	if all, _ := s.Recipients(ctx); len(all) != 1 {
		t.Fatalf("an undone recipient is listed: %d recipients", len(all))
	}
	apply(t, s, change(t, journal.RecipientRegister, other.ID, journal.RecipientPayload{Recipient: other}), 10)
	if all, _ := s.Recipients(ctx); len(all) != 2 || all[0].Name != other.Name {
		t.Fatalf("Recipients = %v, want both, by name", all)
	}
}

// TestExports checks exports: an export is reserved with its list and
// the one use of its authorization, invisible until committed, and an
// undone one gives the use back; it is refused for a recipient retired or
// unknown, an authorization revoked or spent, an object erased or
// unknown; and a retirement, a revocation or an erasure waits for an
// export of theirs being started.
func TestExports(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	w := newWorld(t, s)
	// An authorization whose note parses, so that its uses can be read.
	note := "ombud-authorization/v1\nid: ax\nissuer: court.example/w\nkind: court_order\ncase: c\npurpose: p\nclass: general\nsubject: *\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 50\njurisdiction: EU\n\n— court.example/w sig\n"
	w.auth = &ombud.RegisteredAuthorization{Note: note, SubjectPseudonyms: []string{"*"}, Registered: w.now}
	w.auth.ID, w.auth.Issuer, w.auth.MaxUses = "ax", "court.example/w", 50
	w.log(change(t, journal.AuthorizationRegister, w.auth.ID, journal.AuthorizationPayload{Authorization: w.auth}))
	x := func(id string, objects ...string) *journal.Change {
		e := &ombud.Export{ID: id, Recipient: w.recipient.ID, Authorization: w.auth.ID, Principal: w.admin.ID, Purpose: "p", Objects: len(objects), Created: w.now}
		return change(t, journal.ExportStart, e.ID, journal.ExportPayload{Export: e, Objects: objects})
	}
	uses := func() int {
		a, err := s.Authorization(ctx, w.auth.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.Uses
	}
	before := uses()
	c := x("export0000000001", w.objects[2], w.objects[1])
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatalf("Reserve(export): %v", err)
	}
	if uses() != before+1 {
		t.Fatalf("uses %d after the reservation, want %d", uses(), before+1)
	}
	if _, err := s.Export(ctx, "export0000000001"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved export is found: %v", err)
	}
	// While it is being started, its ending changes wait.
	for name, twin := range map[string]*journal.Change{
		"retire its recipient":        change(t, journal.RecipientRetire, w.recipient.ID, journal.RetirePayload{At: w.now}),
		"revoke its authorization":    change(t, journal.AuthorizationRevoke, w.auth.ID, journal.RevokePayload{Reason: "order_quashed", At: w.now}),
		"erase an object of its list": change(t, journal.Erase, w.objects[1], journal.ErasePayload{Reason: "court_order", At: w.now}),
	} {
		if err := s.Reserve(ctx, twin); !errors.Is(err, ombud.ErrBusy) {
			t.Errorf("%s while an export is starting: %v, want ErrBusy", name, err)
		}
	}
	w.index++
	if err := s.Commit(ctx, c, w.index); err != nil {
		t.Fatalf("Commit(export): %v", err)
	}
	got, err := s.Export(ctx, "export0000000001")
	if err != nil || got.Recipient != w.recipient.ID || got.Authorization != w.auth.ID || got.Objects != 2 || got.Index != w.index {
		t.Fatalf("Export = %+v, %v", got, err)
	}
	if list, err := s.ExportObjects(ctx, got.ID); err != nil || len(list) != 2 || list[0] != w.objects[2] || list[1] != w.objects[1] {
		t.Fatalf("ExportObjects = %v, %v", list, err)
	}
	// Undone: the use comes back, nothing is left.
	c = x("export0000000002", w.objects[0])
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Undo(ctx, c); err != nil {
		t.Fatalf("Undo(export): %v", err)
	}
	if uses() != before+1 {
		t.Fatalf("uses %d after an undone export, want %d", uses(), before+1)
	}
	if list, err := s.ExportObjects(ctx, "export0000000002"); err != nil || len(list) != 0 {
		t.Fatalf("an undone export's list: %v, %v", list, err)
	}
	// Refused, each for its own reason, taking no use.
	w.log(change(t, journal.Erase, w.objects[0], journal.ErasePayload{Reason: "court_order", At: w.now}))
	for name, tc := range map[string]struct {
		c    *journal.Change
		want error
	}{
		"an erased object":  {x("export0000000003", w.objects[0]), ombud.ErrErased},
		"an unknown object": {x("export0000000004", "nosuchobject0000"), ombud.ErrNotFound},
	} {
		if err := s.Reserve(ctx, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	other := *w.recipient
	other.ID, other.Name, other.Key = "otherrecipient00", "other", "age1other"
	w.log(change(t, journal.RecipientRegister, other.ID, journal.RecipientPayload{Recipient: &other}))
	w.log(change(t, journal.RecipientRetire, other.ID, journal.RetirePayload{At: w.now}))
	retired := x("export0000000005", w.objects[1])
	var p journal.ExportPayload
	json.Unmarshal(retired.Payload, &p)
	p.Export.Recipient = other.ID
	retired = change(t, journal.ExportStart, p.Export.ID, p)
	if err := s.Reserve(ctx, retired); !errors.Is(err, ombud.ErrRetired) {
		t.Errorf("to a retired recipient: %v, want ErrRetired", err)
	}
	w.log(change(t, journal.AuthorizationRevoke, w.auth.ID, journal.RevokePayload{Reason: "order_quashed", At: w.now}))
	if err := s.Reserve(ctx, x("export0000000006", w.objects[1])); !errors.Is(err, ombud.ErrRevoked) {
		t.Errorf("under a revoked authorization: %v, want ErrRevoked", err)
	}
	if uses() != before+1 {
		t.Fatalf("uses %d after refused exports, want %d", uses(), before+1)
	}
}

// TestRuns checks runs: a run is reserved with its list, invisible until
// committed, refused for a retired version, an erased or a missing
// object; its list reads back in order and by page; a close is taken
// once; a retirement waits for a run of its version being started.
func TestRuns(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	sys := &ombud.AnalyticSystem{ID: ombud.NewID(), Name: "plates", Vendor: "v", Task: "plate_reading", Classes: []string{"general"}, Registered: now,
		Versions: []*ombud.SystemVersion{{Version: "1", Model: "m", Registered: now}}}
	apply(t, s, change(t, journal.SystemRegister, sys.Name, journal.SystemPayload{System: sys}), 1)
	var ids []string
	for i := range 5 {
		o := testObject(ombud.NewID(), now, time.Hour, 1)
		if i == 2 {
			o.Subjects = []string{"ps1:BBBBBBBBBBBBBBBBBBBBBB", "ps1:AAAAAAAAAAAAAAAAAAAAAA"}
		}
		apply(t, s, change(t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o}), uint64(10+i))
		ids = append(ids, o.ID)
	}
	run := func(version string, objects []string) *ombud.Run {
		return &ombud.Run{ID: ombud.NewID(), System: sys.ID, Version: version, Purpose: "p", Principal: "m", Objects: len(objects), Classes: []string{"general"},
			Started: now, Deadline: now.Add(time.Hour)}
	}
	r := run("1", ids)
	c := change(t, journal.RunStart, r.ID, journal.RunPayload{Run: r, Objects: ids})
	if err := s.Reserve(ctx, c); err != nil {
		t.Fatalf("Reserve(run): %v", err)
	}
	if _, err := s.Run(ctx, r.ID); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved run is visible: %v", err)
	}
	// A retirement of its version waits for the run being started.
	retire := journal.VersionPayload{System: sys.ID, Version: &ombud.SystemVersion{Version: "1"}, At: now}
	if err := s.Reserve(ctx, change(t, journal.SystemRetire, journal.Pair(sys.ID, "1"), retire)); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("retiring a version while a run of it starts: %v, want ErrBusy", err)
	}
	if err := s.Commit(ctx, c, 20); err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(ctx, r.ID)
	if err != nil || got.Index != 20 || got.Objects != 5 || got.Closed != nil || !got.Deadline.Equal(r.Deadline) {
		t.Fatalf("Run = %+v, %v", got, err)
	}
	page, err := s.RunObjects(ctx, r.ID, 1, 3)
	if err != nil || len(page) != 3 || page[0].Position != 1 || page[0].Object.ID != ids[1] || page[2].Object.ID != ids[3] {
		t.Fatalf("RunObjects(1, 3) = %+v, %v", page, err)
	}
	facts, err := s.ObjectFacts(ctx, append([]string{"nosuchobject0000"}, ids...))
	if err != nil || len(facts) != 5 || facts[ids[0]].Class != "general" || facts[ids[0]].Erased {
		t.Fatalf("ObjectFacts = %+v, %v", facts, err)
	}
	sel, err := s.SelectObjects(ctx, "general", "ps1:BBBBBBBBBBBBBBBBBBBBBB", 10)
	if err != nil || len(sel) != 1 || sel[0] != ids[2] {
		t.Fatalf("SelectObjects = %v, %v", sel, err)
	}
	// An erased object: in the run's erased positions, and refused in a
	// new run's set.
	apply(t, s, change(t, journal.Erase, ids[3], journal.ErasePayload{Reason: "r", At: now}), 21)
	if er, err := s.ErasedRunObjects(ctx, r.ID, 0, 5); err != nil || len(er) != 1 || er[0] != 3 {
		t.Fatalf("ErasedRunObjects = %v, %v", er, err)
	}
	r2 := run("1", ids[2:4])
	if err := s.Reserve(ctx, change(t, journal.RunStart, r2.ID, journal.RunPayload{Run: r2, Objects: ids[2:4]})); !errors.Is(err, ombud.ErrErased) {
		t.Fatalf("a run over an erased object: %v, want ErrErased", err)
	}
	r3 := run("1", []string{"nosuchobject0000"})
	if err := s.Reserve(ctx, change(t, journal.RunStart, r3.ID, journal.RunPayload{Run: r3, Objects: []string{"nosuchobject0000"}})); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a run over a missing object: %v, want ErrNotFound", err)
	}
	// Counts, then one close.
	if err := s.RecordRunReads(ctx, r.ID, []ombud.RunRead{{Position: 0, Index: 30}, {Position: 1, Index: 31}, {Position: 2, Index: 32}, {Position: 4, Index: 33}}, 40); err != nil {
		t.Fatal(err)
	}
	cl := journal.RunClosePayload{Reason: ombud.RunClosed, At: now, Read: 4, Bytes: 40}
	apply(t, s, change(t, journal.RunClose, r.ID, cl), 22)
	if err := s.Reserve(ctx, change(t, journal.RunClose, r.ID, cl)); !errors.Is(err, ombud.ErrRunClosed) {
		t.Fatalf("closing twice: %v, want ErrRunClosed", err)
	}
	got, _ = s.Run(ctx, r.ID)
	if got.Closed == nil || got.CloseIndex != 22 || got.CloseReason != ombud.RunClosed || got.Read != 4 || got.Bytes != 40 {
		t.Fatalf("a closed run: %+v", got)
	}
	if counts, err := s.RunCounts(ctx, sys.ID, now); err != nil || len(counts) != 1 || counts[0] != (ombud.RunCount{Version: "1", Purpose: "p", Runs: 1, Open: 0, Read: 4}) {
		t.Fatalf("RunCounts = %+v, %v", counts, err)
	}
	if open, err := s.OpenRunsBefore(ctx, now.Add(2*time.Hour)); err != nil || len(open) != 0 {
		t.Fatalf("OpenRunsBefore after the close: %v, %v", open, err)
	}
	// A retired version is refused; an undone start leaves nothing.
	apply(t, s, change(t, journal.SystemRetire, journal.Pair(sys.ID, "1"), retire), 23)
	r4 := run("1", ids[:1])
	if err := s.Reserve(ctx, change(t, journal.RunStart, r4.ID, journal.RunPayload{Run: r4, Objects: ids[:1]})); !errors.Is(err, ombud.ErrRetired) {
		t.Fatalf("a run of a retired version: %v, want ErrRetired", err)
	}
	if runs, err := s.Runs(ctx, sys.ID, 10); err != nil || len(runs) != 1 || runs[0].ID != r.ID {
		t.Fatalf("Runs = %v, %v", runs, err)
	}
	// A run under an authorization takes its one use with its
	// reservation; an undone run gives it back; none is taken past max.
	v2 := &ombud.SystemVersion{Version: "2", Model: "m", Registered: now}
	apply(t, s, change(t, journal.SystemVersion, journal.Pair(sys.ID, "2"), journal.VersionPayload{System: sys.ID, Version: v2}), 24)
	note := "ombud-authorization/v1\nid: ra1\nissuer: court.example/x\nkind: court_order\ncase: c\npurpose: p\nclass: general\nsubject: *\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 1\njurisdiction: EU\n\n— court.example/x sig\n"
	iss := &ombud.Issuer{Name: "court.example/x", Kind: "court", Jurisdiction: "EU", Key: "k", Registered: now}
	apply(t, s, change(t, journal.IssuerRegister, iss.Name, journal.IssuerPayload{Issuer: iss}), 25)
	a := &ombud.RegisteredAuthorization{Note: note, SubjectPseudonyms: []string{"*"}, Registered: now}
	a.ID, a.Issuer, a.MaxUses = "ra1", "court.example/x", 1
	apply(t, s, change(t, journal.AuthorizationRegister, a.ID, journal.AuthorizationPayload{Authorization: a}), 25)
	uses := func() int {
		got, err := s.Authorization(ctx, "ra1")
		if err != nil {
			t.Fatal(err)
		}
		return got.Uses
	}
	r5 := run("2", ids[:1])
	r5.Authorization = "ra1"
	c5 := change(t, journal.RunStart, r5.ID, journal.RunPayload{Run: r5, Objects: ids[:1]})
	if err := s.Reserve(ctx, c5); err != nil {
		t.Fatal(err)
	}
	if uses() != 1 {
		t.Fatalf("a reserved run took %d uses", uses())
	}
	r6 := run("2", ids[:1])
	r6.Authorization = "ra1"
	if err := s.Reserve(ctx, change(t, journal.RunStart, r6.ID, journal.RunPayload{Run: r6, Objects: ids[:1]})); !errors.Is(err, ombud.ErrExhausted) {
		t.Fatalf("a second run on a one-use authorization: %v, want ErrExhausted", err)
	}
	if err := s.Undo(ctx, c5); err != nil {
		t.Fatal(err)
	}
	if uses() != 0 {
		t.Fatalf("an undone run kept its use: %d", uses())
	}
}

func testIntermediateKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.LatestIntermediateKey(ctx); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("LatestIntermediateKey of an empty store: %v", err)
	}
	a := &ombud.IntermediateKey{ID: "ik-a", KEKVersion: 1, Wrapped: []byte("wrapped-a"), Created: now.Add(-time.Minute)}
	b := &ombud.IntermediateKey{ID: "ik-b", KEKVersion: 1, Wrapped: []byte("wrapped-b"), Created: now}
	apply(t, s, change(t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: a}), 1)
	reserved := change(t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: b})
	if err := s.Reserve(ctx, reserved); err != nil {
		t.Fatal(err)
	}
	if k, err := s.LatestIntermediateKey(ctx); err != nil || k.ID != a.ID {
		t.Fatalf("a reserved key is the latest: %+v, %v", k, err)
	}
	if _, err := s.IntermediateKey(ctx, b.ID); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a reserved key is found: %v", err)
	}
	if err := s.Commit(ctx, reserved, 2); err != nil {
		t.Fatal(err)
	}
	if k, err := s.LatestIntermediateKey(ctx); err != nil || k.ID != b.ID || k.LogIndex != 2 || string(k.Wrapped) != "wrapped-b" || !k.Created.Equal(now) {
		t.Fatalf("LatestIntermediateKey = %+v, %v", k, err)
	}
	// A rotation and a key's recording never overlap: they share the
	// KEK's target.
	if err := s.Reserve(ctx, reserved); !errors.Is(err, ombud.ErrBusy) && err == nil {
		t.Fatal("reserved twice")
	}
	if err := s.Reserve(ctx, change(t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: a})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second key under one id: %v", err)
	}
	rot := change(t, journal.KeyRotate, "", journal.KeyPayload{Version: 2})
	if v, err := s.KEKVersion(ctx); err != nil || v != 1 {
		t.Fatalf("KEKVersion before any rotation = %d, %v", v, err)
	}
	if err := s.Reserve(ctx, rot); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KEKVersion(ctx); err != nil || v != 1 {
		t.Fatalf("KEKVersion while a rotation is reserved = %d, %v", v, err)
	}
	c := &ombud.IntermediateKey{ID: "ik-c", KEKVersion: 1, Wrapped: []byte("wrapped-c"), Created: now}
	if err := s.Reserve(ctx, change(t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: c})); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a key recorded while a rotation is in flight: %v", err)
	}
	if err := s.Commit(ctx, rot, 4); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KEKVersion(ctx); err != nil || v != 2 {
		t.Fatalf("KEKVersion after the rotation = %d, %v", v, err)
	}
	// Once the rotation is recorded, a key made under the old version is
	// stale: the maker must wrap it under the new one.
	if err := s.Reserve(ctx, change(t, journal.IntermediateCreate, "", journal.IntermediatePayload{Key: c})); !errors.Is(err, ombud.ErrStale) {
		t.Fatalf("a key under a KEK version a rotation left: %v", err)
	}
	// An object wrapped by a key is not the rotation's: the key is.
	o := testObject("wrappedbyikb0001", now, time.Hour, 0)
	o.WrappingKey = b.ID
	apply(t, s, change(t, journal.Ingest, o.ID, journal.ObjectPayload{Object: o}), 3)
	if got, err := s.Object(ctx, o.ID); err != nil || got.WrappingKey != b.ID {
		t.Fatalf("Object = %+v, %v", got, err)
	}
	if below, err := s.ObjectsBelowKEK(ctx, 2, 10); err != nil || len(below) != 0 {
		t.Fatalf("ObjectsBelowKEK lists %d objects wrapped by intermediate keys, %v", len(below), err)
	}
	below, err := s.IntermediateKeysBelowKEK(ctx, 2, 10)
	if err != nil || len(below) != 2 {
		t.Fatalf("IntermediateKeysBelowKEK = %d, %v", len(below), err)
	}
	if err := s.RewrapIntermediateKey(ctx, a.ID, 1, []byte("rewrapped-a"), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.RewrapIntermediateKey(ctx, a.ID, 1, []byte("again"), 2); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a rewrap from a version it left: %v", err)
	}
	if k, err := s.IntermediateKey(ctx, a.ID); err != nil || k.KEKVersion != 2 || string(k.Wrapped) != "rewrapped-a" {
		t.Fatalf("IntermediateKey after the rewrap = %+v, %v", k, err)
	}
	if below, _ := s.IntermediateKeysBelowKEK(ctx, 2, 10); len(below) != 1 || below[0].ID != b.ID {
		t.Fatalf("IntermediateKeysBelowKEK after the rewrap = %v", below)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	hash := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	a := &ombud.Session{IDHash: hash(1), Principal: "p1", CSRF: "c1", Created: now, Expires: now.Add(time.Minute)}
	if err := s.StartSession(ctx, a, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.StartSession(ctx, &ombud.Session{IDHash: hash(1), Principal: "p2", Created: now, Expires: now.Add(time.Minute)}, 2); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second session under one id: %v", err)
	}
	got, err := s.Session(ctx, hash(1), now)
	if err != nil || got.Principal != "p1" || got.CSRF != "c1" || !got.Expires.Equal(a.Expires) {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, hash(1), now.Add(time.Minute)); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("an expired session: %v", err)
	}
	if err := s.ExtendSession(ctx, hash(1), now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, hash(1), now.Add(time.Minute)); err != nil {
		t.Fatalf("an extended session: %v", err)
	}
	if err := s.StartSession(ctx, &ombud.Session{IDHash: hash(2), Principal: "p2", Created: now, Expires: now.Add(time.Second)}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.StartSession(ctx, &ombud.Session{IDHash: hash(3), Principal: "p3", Created: now, Expires: now.Add(time.Minute)}, 2); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a session past the limit: %v", err)
	}
	// Once one has expired, there is room again.
	if err := s.StartSession(ctx, &ombud.Session{IDHash: hash(3), Principal: "p3", Created: now.Add(2 * time.Second), Expires: now.Add(time.Minute)}, 2); err != nil {
		t.Fatalf("a session after another expired: %v", err)
	}
	if err := s.EndSession(ctx, hash(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, hash(1), now); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("an ended session: %v", err)
	}

	// Twenty events at once against a limit of seven: exactly seven pass.
	key := hash(9)
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			wait, err := s.CountEvent(ctx, key, now, 7, time.Minute)
			if err != nil {
				t.Error(err)
			} else if wait == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 7 {
		t.Fatalf("%d of 20 events passed a limit of 7", passed.Load())
	}
	if wait, err := s.CountEvent(ctx, key, now.Add(50*time.Second), 7, time.Minute); err != nil || wait != 10*time.Second {
		t.Fatalf("over the limit: wait %v, %v", wait, err)
	}
	if wait, err := s.CountEvent(ctx, key, now.Add(time.Minute), 7, time.Minute); err != nil || wait != 0 {
		t.Fatalf("in the next window: wait %v, %v", wait, err)
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	take := func(holder string, at time.Time) bool {
		t.Helper()
		ok, err := s.Lease(ctx, "sweep", holder, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take("a", now) || !take("a", now.Add(30*time.Second)) {
		t.Fatal("a free lease, or one's own, is not taken")
	}
	if take("b", now.Add(80*time.Second)) {
		t.Fatal("b took a live lease of a's (renewed until 90 s)")
	}
	if !take("b", now.Add(90*time.Second)) || take("a", now.Add(100*time.Second)) {
		t.Fatal("b did not take the lease a let run out, or a took it back")
	}
	// Eight holders at once on a free lease: exactly one has it.
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := s.Lease(ctx, "publish", fmt.Sprint("g", i), now, time.Minute)
			if err != nil {
				t.Error(err)
			} else if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of 8 holders took one lease at once", won.Load())
	}
}
