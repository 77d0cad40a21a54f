package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestReadsFailClosedBesideAnUnfinishedChange: a revocation left in
// flight (its commit failed after its entry was logged) stops the reads
// under its authorization until recovery settles it; the reads then go on
// as the log says. A gateway alone on its store knows it left the change
// (journal.Journal.Unsettled); gateways that share one find it in the
// store, where a dead gateway's changes are too (cmd/ombud's cluster
// tests).
func TestReadsFailClosedBesideAnUnfinishedChange(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := e.Principal(t, e.AddPrincipal(t, "analyst", ombud.RoleAnalyst))
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-u", 10))
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: strings.NewReader("a record")})
	if err != nil {
		t.Fatal(err)
	}
	read := func() error {
		rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "order-u"})
		if err == nil {
			rel.Body.Close()
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	// A revocation whose entry is logged but whose commit fails: the
	// gateway leaves it in flight.
	c, err := journal.AuthorizationRevoke.Change("order-u", journal.RevokePayload{Reason: "order_quashed", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	failing := func(context.Context, *journal.Change, journal.Leaf) error { return errors.New("the store went away") }
	w, err := e.Journal.Apply(ctx, c, journal.Record{Body: entry.Authorization{Op: entry.OpRevoke, Reason: "order_quashed", Authorization: "order-u", By: e.AdminID}}, failing)
	if ombud.ErrorCode(err) != ombud.CodeUnavailable || w.Entry == nil {
		t.Fatalf("a revocation whose commit failed: %v", err)
	}
	size := e.Size(t)
	if err := read(); ombud.ErrorCode(err) != ombud.CodeUnavailable {
		t.Fatalf("a read beside an unfinished revocation: %v, want unavailable", err)
	}
	if got := e.Size(t); got != size {
		t.Fatalf("the refused read logged %d entries", got-size)
	}
	// Its entry is in the log: recovery commits it, and reads are
	// denied as revoked.
	if st, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour)); err != nil || st.Committed != 1 {
		t.Fatalf("settle: %+v %v", st, err)
	}
	if e.Journal.Unsettled() {
		t.Fatal("the journal still counts a change left after its settlement")
	}
	var d *custody.Denial
	if err := read(); !errors.As(err, &d) || d.Reason != "authorization_revoked" {
		t.Fatalf("after the settlement: %v, want a denial as revoked", err)
	}
}
