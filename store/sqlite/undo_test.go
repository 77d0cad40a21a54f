package sqlite_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// TestUndoNeedsNoPayload: a reservation whose payload no longer decodes is
// still undone, from its target alone, and its target is free again.
func TestUndoNeedsNoPayload(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	now := time.Now().UTC().Truncate(time.Millisecond)
	reserve := func() *journal.Change {
		p := &ombud.Principal{ID: "principal0000000", Name: "p", Roles: []ombud.Role{ombud.RoleAnalyst}, TokenHash: []byte("h"), Created: now}
		c, err := journal.PrincipalCreate.Change(p.ID, journal.PrincipalPayload{Principal: p})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(c.Token))
		c.Leaf, c.Created = sum[:], now
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
