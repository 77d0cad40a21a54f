package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/internal/poll"
)

// TestSweeperTakesTurns: while another gateway holds the sweep's lease,
// this one does not sweep; once that lease runs out, it takes the lease
// and sweeps.
func TestSweeperTakesTurns(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t, ombudtest.Config(func(c *datadir.Config) {
		c.Classes = append(c.Classes, datadir.ClassConfig{Name: "shortlived", Sensitivity: "ordinary", Retention: "1h", Export: "allow"})
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Expired at once: collected two hours ago, kept for one.
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "shortlived", Source: "cam-1", By: e.AdminID,
		CollectedAt: time.Now().Add(-2 * time.Hour), Body: strings.NewReader("a record")})
	if err != nil {
		t.Fatal(err)
	}
	// Another gateway holds the lease for 700 ms more.
	if ok, err := e.Store.Lease(ctx, sweepLease, "another gateway", time.Now(), 700*time.Millisecond); err != nil || !ok {
		t.Fatalf("Lease: %v %v", ok, err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweeper(ctx, e.Custody, nil, nil, e.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), 50*time.Millisecond)
	}()
	erased := func() bool {
		got, err := e.Store.Object(ctx, o.ID)
		return err == nil && got.Erased != nil
	}
	poll.Until(t, 10*time.Second, 20*time.Millisecond, "the expired object's erasure", erased)
	if waited := time.Since(start); waited < 600*time.Millisecond {
		t.Fatalf("the object was swept after %v, while another gateway held the lease", waited)
	}
	cancel()
	<-done
	if ok, err := e.Store.Lease(context.Background(), sweepLease, "another gateway", time.Now(), time.Minute); err != nil || ok {
		t.Fatalf("the lease is free or the other's right after this gateway swept: %v %v", ok, err)
	}
}
