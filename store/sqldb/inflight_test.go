package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/ombud/ombud"
	_ "modernc.org/sqlite"
)

// TestInFlightFailsClosed: a change in flight is busy, and a query that
// fails is its error, never "nothing in flight" (on PostgreSQL a failed
// statement aborts the transaction, and the serialization failure behind
// it must reach the retry).
func TestInFlightFailsClosed(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE changes (target TEXT)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO changes (target) VALUES ('run:r1')`); err != nil {
		t.Fatal(err)
	}
	busy := ombud.ErrBusy
	if err := inFlight(ctx, tx, "run:r1", busy); !errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a change in flight: %v", err)
	}
	if err := inFlight(ctx, tx, "run:r2", busy); err != nil {
		t.Fatalf("no change in flight: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := inFlight(cancelled, tx, "run:r2", busy); err == nil || errors.Is(err, ombud.ErrBusy) {
		t.Fatalf("a query that failed: %v, want its error", err)
	}
}
