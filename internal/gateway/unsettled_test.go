package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestReadsFailClosedBesideAnUnfinishedChange: a revocation reserved and
// never finished (its gateway died, or its commit failed, after its entry
// may have been logged) stops the reads under its authorization until
// recovery settles it; the reads then go on as the log says.
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
	// A revocation reserved as a gateway does it, and left there.
	c, err := journal.AuthorizationRevoke.Change("order-u", journal.RevokePayload{Reason: "order_quashed", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c.Leaf, c.Created = make([]byte, 32), time.Now().Add(-time.Hour)
	if c.From, err = e.Log.Size(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Reserve(ctx, c); err != nil {
		t.Fatal(err)
	}
	size := e.Size(t)
	if err := read(); ombud.ErrorCode(err) != ombud.CodeUnavailable {
		t.Fatalf("a read beside an unfinished revocation: %v, want unavailable", err)
	}
	if got := e.Size(t); got != size {
		t.Fatalf("the refused read logged %d entries", got-size)
	}
	// Its entry is not in the log: recovery undoes it, and reads go on.
	if st, err := e.Custody.Settle(ctx, time.Now().Add(-custody.SettleAge)); err != nil || st.Undone != 1 {
		t.Fatalf("settle: %+v %v", st, err)
	}
	if err := read(); err != nil {
		t.Fatalf("after the settlement: %v", err)
	}
}
