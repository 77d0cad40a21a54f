package store

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
)

func testObjects(t *testing.T, s ombud.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(id string, retain time.Duration, kek int) *ombud.Object {
		return &ombud.Object{ID: id, Class: "general", Subjects: []string{"ps1:AAAAAAAAAAAAAAAAAAAAAA"}, Source: "cam-1", Region: "eu",
			CollectedAt: now.Add(-time.Hour), Created: now, RetainUntil: now.Add(retain), Size: 10, CipherSize: 50,
			CipherSHA: bytes.Repeat([]byte{1}, 32), WrappedKeyset: []byte("wrapped-" + id), KEKVersion: kek}
	}
	a, b, c := mk("aaaaaaaaaaaaaaaa", -time.Minute, 1), mk("bbbbbbbbbbbbbbbb", time.Hour, 1), mk("cccccccccccccccc", -2*time.Minute, 2)
	for _, o := range []*ombud.Object{a, b, c} {
		if err := s.CreateObject(ctx, o); err != nil {
			t.Fatalf("CreateObject: %v", err)
		}
	}
	if err := s.CreateObject(ctx, a); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("CreateObject twice: %v", err)
	}
	got, err := s.Object(ctx, a.ID)
	if err != nil || !got.Pending || got.Class != "general" || string(got.WrappedKeyset) != "wrapped-"+a.ID || !got.RetainUntil.Equal(a.RetainUntil) || len(got.Subjects) != 1 {
		t.Fatalf("Object = %+v, %v", got, err)
	}
	if _, err := s.Object(ctx, "nosuchobject0000"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("Object(missing): %v", err)
	}
	// Pending objects are never expired, only listed for recovery.
	if exp, _ := s.ExpiredObjects(ctx, now, 10); len(exp) != 0 {
		t.Fatalf("pending objects listed as expired: %d", len(exp))
	}
	if p, _ := s.PendingObjects(ctx, 10); len(p) != 3 {
		t.Fatalf("PendingObjects = %d, want 3", len(p))
	}
	for i, o := range []*ombud.Object{a, b, c} {
		if err := s.SetIngestIndex(ctx, o.ID, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := s.ExpiredObjects(ctx, now, 10)
	if err != nil || len(exp) != 2 || exp[0].ID != c.ID || exp[1].ID != a.ID {
		t.Fatalf("ExpiredObjects = %v, %v; want c, a", exp, err)
	}
	// A hold keeps an object from expiring.
	h := &ombud.Hold{Reason: "litigation", Authorization: "auth-1", Since: now, By: "admin"}
	if err := s.SetHold(ctx, a.ID, h); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Object(ctx, a.ID); got.Hold == nil || got.Hold.Reason != "litigation" {
		t.Fatalf("hold not stored: %+v", got.Hold)
	}
	if exp, _ := s.ExpiredObjects(ctx, now, 10); len(exp) != 1 || exp[0].ID != c.ID {
		t.Fatalf("held object still expires: %v", exp)
	}
	if err := s.SetHold(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Shred: keyset first, then the erasure record.
	if err := s.DestroyKeyset(ctx, c.ID, ombud.EraseRetention); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UnfinishedErasures(ctx, 10); len(u) != 1 || u[0].ID != c.ID || u[0].ShredReason != ombud.EraseRetention {
		t.Fatalf("UnfinishedErasures = %v", u)
	}
	if err := s.MarkErased(ctx, c.ID, ombud.Erasure{Reason: ombud.EraseRetention, At: now, Index: 99}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Object(ctx, c.ID)
	if got.Erased == nil || got.Erased.Index != 99 || got.WrappedKeyset != nil {
		t.Fatalf("erased object = %+v", got)
	}
	if u, _ := s.UnfinishedErasures(ctx, 10); len(u) != 0 {
		t.Fatalf("UnfinishedErasures after MarkErased = %v", u)
	}
	// Rotation: compare-and-swap on the version.
	below, _ := s.ObjectsBelowKEK(ctx, 2, 10)
	if len(below) != 2 {
		t.Fatalf("ObjectsBelowKEK = %d, want 2", len(below))
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

func testUses(t *testing.T, s ombud.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateIssuer(ctx, &ombud.Issuer{Name: "court.example/x", Kind: "court", Jurisdiction: "EU", Key: "k", Registered: now, Index: 1}); err != nil {
		t.Fatal(err)
	}
	a := &ombud.RegisteredAuthorization{Note: "ombud-authorization/v1\nid: a1\nissuer: court.example/x\nkind: court_order\ncase: c\npurpose: p\nclass: location\nsubject: *\nnot-before: 2026-01-01T00:00:00Z\nnot-after: 2027-01-01T00:00:00Z\nmax-uses: 7\njurisdiction: EU\n\n— court.example/x sig\n",
		SubjectPseudonyms: []string{"*"}, Registered: now, Index: 2}
	a.ID, a.Issuer, a.MaxUses = "a1", "court.example/x", 7
	if err := s.CreateAuthorization(ctx, a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]bool{}
	exhausted := 0
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.UseAuthorization(ctx, "a1")
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
	if err := s.RefundAuthorization(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.UseAuthorization(ctx, "a1"); err != nil || n != 7 {
		t.Fatalf("use after refund = %d, %v", n, err)
	}
	if err := s.RevokeAuthorization(ctx, "a1", "quashed", now, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAuthorization(ctx, "a1", "quashed", now, 3); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := s.UseAuthorization(ctx, "nosuch"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("use of a missing authorization: %v", err)
	}
	if v, sha, _ := s.LatestPolicy(ctx); v != 0 || sha != "" {
		t.Fatalf("LatestPolicy on an empty store = %d %q", v, sha)
	}
	s.RecordPolicy(ctx, 1, "abc", 5)
	if v, sha, _ := s.LatestPolicy(ctx); v != 1 || sha != "abc" {
		t.Fatalf("LatestPolicy = %d %q", v, sha)
	}
}
