package custody_test

import (
	"io"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
)

// TestRecoveryUnderQuorum: recovery discards an ingest that was logged but
// never acknowledged, with the quorum on as with it off: the erasure is
// ombud's own (ingest_unacknowledged), not an admin's order, so it needs
// no proposal, and the auditor finds nothing.
func TestRecoveryUnderQuorum(t *testing.T) {
	e := ombudtest.New(t)
	ctx := t.Context()
	e.AddPrincipal(t, "second admin", ombud.RoleAdmin)
	if _, err := e.Gateway.Approval.SetQuorum(ctx, &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired()}, e.AdminID); err != nil && !ombudtest.QuorumMode() {
		t.Fatal(err)
	}
	id := ombud.NewID()
	if _, _, err := e.Custody.Bucket.Write(ctx, blob.Key(id), func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	o := &ombud.Object{ID: id, Class: "general", Source: "cam", CollectedAt: now, Created: now, RetainUntil: now.Add(time.Hour),
		CipherSHA: make([]byte, 32), WrappedKeyset: []byte("w"), KEKVersion: 1}
	c, err := journal.Ingest.Change(o.ID, journal.ObjectPayload{Object: o})
	if err != nil {
		t.Fatal(err)
	}
	crashAfterReserve(t, e, c, journal.Record{Body: entry.Ingest{Class: "general", Object: o.ID}}, true)
	if _, err := e.Custody.Sweep(ctx); err != nil {
		t.Fatalf("recovery under the quorum: %v", err)
	}
	got, err := e.Store.Object(ctx, id)
	if err != nil || got.Erased == nil || got.Erased.Reason != ombud.EraseIngestUnacknowledged {
		t.Fatalf("the unacknowledged ingest after recovery: %+v %v", got, err)
	}
	if er, ok := e.EntryAt(t, got.Erased.Index).(*entry.Erase); !ok || er.Proposal != "" {
		t.Fatalf("the recovery's erase entry: %+v", e.EntryAt(t, got.Erased.Index))
	}
}
