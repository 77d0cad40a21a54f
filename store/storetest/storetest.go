// Package storetest holds the conformance suites that every store.Store
// implementation must pass: one per aggregate, and TestStore for all. A
// suite takes the whole store because every change goes through its
// ChangeStore, and changes cross aggregates (an erasure also erases its
// ingest's detail record).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/store"
)

// Open makes a fresh, empty store for one test.
type Open func(t *testing.T) store.Store

// TestStore runs every suite against stores made by open. Each subtest
// gets a fresh, empty store.
func TestStore(t *testing.T, open Open) {
	t.Run("principals", func(t *testing.T) { TestPrincipals(t, open) })
	t.Run("changes", func(t *testing.T) { TestChanges(t, open) })
	t.Run("details", func(t *testing.T) { TestDetails(t, open) })
	t.Run("objects", func(t *testing.T) { TestObjects(t, open) })
	t.Run("intermediate keys", func(t *testing.T) { TestIntermediateKeys(t, open) })
	t.Run("sessions", func(t *testing.T) { TestSessions(t, open) })
	t.Run("leases", func(t *testing.T) { TestLeases(t, open) })
	t.Run("authorizations", func(t *testing.T) { TestAuthorizations(t, open) })
	t.Run("systems", func(t *testing.T) { TestSystems(t, open) })
	t.Run("runs", func(t *testing.T) { TestRuns(t, open) })
	t.Run("recipients", func(t *testing.T) { TestRecipients(t, open) })
	t.Run("exports", func(t *testing.T) { TestExports(t, open) })
	t.Run("notices", func(t *testing.T) { TestNotices(t, open) })
	t.Run("quorum", func(t *testing.T) { TestQuorum(t, open) })
	t.Run("tips", func(t *testing.T) { TestTips(t, open) })
	t.Run("contracts", func(t *testing.T) { TestContracts(t, open) })
	t.Run("every operation", func(t *testing.T) { TestEveryOperation(t, open) })
	t.Run("undo without payload", func(t *testing.T) { TestUndoNeedsNoPayload(t, open) })
	t.Run("ping", func(t *testing.T) {
		if err := open(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// TestPrincipals checks PrincipalStore: a principal is invisible while
// reserved, can be disabled once, and an undone creation leaves nothing.
func TestPrincipals(t *testing.T, open Open) {
	ctx := context.Background()
	{
		s := open(t)
		tok := ombud.NewToken(ombud.NewID())
		p := &ombud.Principal{ID: tok.PrincipalID(), Name: "Ada Analyst", Roles: []ombud.Role{ombud.RoleAnalyst, ombud.RoleReviewer}, TokenHash: tok.Hash(), Created: time.Now().UTC().Truncate(time.Millisecond)}
		c := change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p})
		if err := s.Reserve(ctx, c); err != nil {
			t.Fatalf("Reserve(create): %v", err)
		}
		// Reserved, not committed: no one sees it, and it cannot act.
		if _, err := s.Principal(ctx, p.ID); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("a reserved principal is visible: %v", err)
		}
		if all, _ := s.Principals(ctx); len(all) != 0 {
			t.Fatalf("Principals lists a reserved principal: %v", all)
		}
		if err := s.Commit(ctx, c, 4); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if err := s.Commit(ctx, c, 4); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Commit twice: %v, want ErrNotFound", err)
		}
		got, err := s.Principal(ctx, p.ID)
		if err != nil {
			t.Fatalf("Principal: %v", err)
		}
		if got.Name != p.Name || len(got.Roles) != 2 || got.Roles[1] != ombud.RoleReviewer || !tok.Matches(got.TokenHash) || !got.Created.Equal(p.Created) || got.Disabled {
			t.Fatalf("Principal = %+v, want %+v", got, p)
		}
		// The same id again is refused at reservation.
		if err := s.Reserve(ctx, change(t, journal.PrincipalCreate, p.ID, journal.PrincipalPayload{Principal: p})); !errors.Is(err, ombud.ErrExists) {
			t.Fatalf("Reserve(create) of a taken id: %v, want ErrExists", err)
		}
		if _, err := s.Principal(ctx, "nosuchprincipal0"); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Principal(missing): got %v, want ErrNotFound", err)
		}
		apply(t, s, change(t, journal.PrincipalDisable, p.ID, journal.None{}), 5)
		if got, _ := s.Principal(ctx, p.ID); !got.Disabled || got.Has(ombud.RoleAnalyst) {
			t.Fatalf("disabled principal still active: %+v", got)
		}
		if err := s.Reserve(ctx, change(t, journal.PrincipalDisable, p.ID, journal.None{})); !errors.Is(err, ombud.ErrDisabled) {
			t.Fatalf("disabling twice: %v, want ErrDisabled", err)
		}
		if err := s.Reserve(ctx, change(t, journal.PrincipalDisable, "nosuchprincipal0", journal.None{})); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("disabling a missing principal: %v, want ErrNotFound", err)
		}
		// An undone creation leaves nothing behind.
		p2 := &ombud.Principal{ID: ombud.NewID(), Name: "second", Roles: []ombud.Role{ombud.RoleAdmin}, TokenHash: []byte{1}, Created: p.Created.Add(time.Second)}
		c2 := change(t, journal.PrincipalCreate, p2.ID, journal.PrincipalPayload{Principal: p2})
		if err := s.Reserve(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if err := s.Undo(ctx, c2); err != nil {
			t.Fatalf("Undo: %v", err)
		}
		if err := s.Undo(ctx, c2); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Undo twice: %v, want ErrNotFound", err)
		}
		apply(t, s, change(t, journal.PrincipalCreate, p2.ID, journal.PrincipalPayload{Principal: p2}), 6)
		all, err := s.Principals(ctx)
		if err != nil || len(all) != 2 || all[0].ID != p.ID || all[1].ID != p2.ID {
			t.Fatalf("Principals = %v, %v; want [%s %s]", all, err, p.ID, p2.ID)
		}
	}
}

// TestChanges checks ChangeStore: one change per target in flight, and
// what Changes lists.
func TestChanges(t *testing.T, open Open) { testChanges(t, open(t)) }

// TestObjects checks ObjectStore: expiry, holds, erasure and rewrapping.
func TestObjects(t *testing.T, open Open) { testObjects(t, open(t)) }

// TestIntermediateKeys checks the intermediate keys of ObjectStore: the
// newest, by id, below a KEK version, rewrapped; and objects wrapped by
// one, which a KEK rotation does not list.
func TestIntermediateKeys(t *testing.T, open Open) { testIntermediateKeys(t, open(t)) }

// TestSessions checks SessionStore: sessions that expire and end, a limit
// on live ones, and rate windows counted exactly under concurrent events.
func TestSessions(t *testing.T, open Open) { testSessions(t, open(t)) }

// TestLeases checks the leases of background work: one holder at a time,
// taken over once it runs out, one winner of many at once.
func TestLeases(t *testing.T, open Open) { testLeases(t, open(t)) }

// TestAuthorizations checks AuthorizationStore and EmergencyStore: uses,
// refunds, revocation and emergency reads.
func TestAuthorizations(t *testing.T, open Open) { testAuthorizations(t, open(t)) }

// TestDetails checks DetailStore: records, their erasure, concurrent
// writes, and erasure by kind and time.
func TestDetails(t *testing.T, open Open) {
	ctx := context.Background()
	t.Run("records", func(t *testing.T) {
		s := open(t)
		d := journal.Commit([]byte(`{"name":"Ada"}`))
		d.Time = time.Now().UTC().Truncate(time.Millisecond)
		if err := s.PutDetails(ctx, []journal.Detail{d}); err != nil {
			t.Fatalf("PutDetails: %v", err)
		}
		if err := s.PutDetails(ctx, []journal.Detail{d}); err != nil {
			t.Fatalf("PutDetails again must be a no-op: %v", err)
		}
		got, err := s.Detail(ctx, d.Key())
		if err != nil {
			t.Fatalf("Detail: %v", err)
		}
		e := &entry.Entry{Detail: d.Commitment, Time: d.Time}
		if err := journal.CheckDetail(e, got); err != nil {
			t.Fatalf("stored detail does not check: %v", err)
		}
		missing := journal.Commit([]byte(`{}`))
		missing.Time = d.Time
		if _, err := s.Detail(ctx, missing.Key()); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Detail(missing): got %v, want ErrNotFound", err)
		}
		if _, err := s.Detail(ctx, ombud.DetailKey{Time: d.Time.Add(time.Millisecond), Commitment: d.Commitment}); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Detail(wrong time): got %v, want ErrNotFound", err)
		}
		if _, err := s.Detail(ctx, ombud.DetailKey{Time: d.Time, Commitment: "sha256:00"}); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("Detail(missing): got %v, want ErrNotFound", err)
		}
		if err := s.EraseDetail(ctx, d.Key()); err != nil {
			t.Fatalf("EraseDetail: %v", err)
		}
		got, err = s.Detail(ctx, d.Key())
		if err != nil {
			t.Fatalf("Detail after erase: %v", err)
		}
		if got.Body != nil || got.Salt != nil {
			t.Fatalf("erased detail still holds data: %+v", got)
		}
		if err := journal.CheckDetail(e, got); !errors.Is(err, journal.ErrDetailErased) {
			t.Fatalf("CheckDetail(erased) = %v, want ErrDetailErased", err)
		}
		if err := s.EraseDetail(ctx, missing.Key()); !errors.Is(err, ombud.ErrNotFound) {
			t.Fatalf("EraseDetail(missing): got %v, want ErrNotFound", err)
		}
	})
	t.Run("concurrent details", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		ds := make([]journal.Detail, 200)
		errs := make(chan error, len(ds))
		for i := range ds {
			ds[i] = journal.Commit(fmt.Appendf(nil, `{"n":%d}`, i))
			ds[i].Time = time.UnixMilli(int64(1_800_000_000_000 + i%7)).UTC()
			wg.Add(1)
			go func(d journal.Detail) {
				defer wg.Done()
				errs <- s.PutDetails(ctx, []journal.Detail{d})
			}(ds[i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("PutDetails: %v", err)
			}
		}
		for _, d := range ds {
			got, err := s.Detail(ctx, d.Key())
			if err != nil || string(got.Body) != string(d.Body) {
				t.Fatalf("Detail(%s) = %q, %v", d.Commitment, got.Body, err)
			}
		}
	})
	t.Run("incomplete detail", func(t *testing.T) {
		s := open(t)
		d := journal.Commit([]byte(`{}`)) // no time
		if err := s.PutDetails(ctx, []journal.Detail{d}); err == nil {
			t.Fatal("PutDetails accepted a detail without a time")
		}
	})
	t.Run("kinds", func(t *testing.T) { testDetailKinds(t, open(t)) })
}
