package custody_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/ombudtest"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/reason"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
)

var ctx = context.Background()

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func ingest(t *testing.T, e *ombudtest.Env, class string, body []byte, subjects ...string) *ombud.Object {
	t.Helper()
	o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: class, Subjects: subjects, Source: "cam-7", By: e.AdminID, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return o
}

var readers sync.Map // *ombudtest.Env → *ombud.Principal

// reader returns the env's analyst, creating it (one log entry) once.
func reader(t *testing.T, e *ombudtest.Env) *ombud.Principal {
	if p, ok := readers.Load(e); ok {
		return p.(*ombud.Principal)
	}
	p := e.Principal(t, e.AddPrincipal(t, "reader", ombud.RoleAnalyst))
	readers.Store(e, p)
	return p
}

func read(t *testing.T, e *ombudtest.Env, id string) ([]byte, error) {
	t.Helper()
	rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: id, Purpose: "audit_sample", Principal: reader(t, e)})
	if err != nil {
		return nil, err
	}
	defer rel.Body.Close()
	return io.ReadAll(rel.Body)
}

func TestRoundTripAndLogging(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	for _, n := range []int{0, 1, 1<<20 - 1, 1 << 20, 3<<20 + 17} {
		body := randomBytes(n)
		o := ingest(t, e, "general", body, "plate:B-XY-123")
		got, err := read(t, e, o.ID)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: round trip failed: %v (got %d bytes)", n, err, len(got))
		}
		// The blob holds ciphertext only.
		ct, _ := os.ReadFile(e.BlobFile(o.ID))
		if n > 64 && bytes.Contains(ct, body[:64]) {
			t.Fatal("plaintext found in the blob store")
		}
		// The ingest entry names the subject by pseudonym only.
		en := e.Entry(t, o.IngestIndex)
		raw, _ := e.Log.Entry(ctx, o.IngestIndex, e.Size(t))
		if en.Kind != entry.KindIngest || en.Refs["subject"][0] != e.Dir.Linkage.Pseudonym("subject", "plate:B-XY-123") || strings.Contains(string(raw), "B-XY") || strings.Contains(string(raw), o.ID) {
			t.Fatalf("ingest entry %s", raw)
		}
	}
}

func TestSensitiveNeedsSubjectsAndIsDenied(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	if _, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "biometric", Body: strings.NewReader("x")}); ombud.ErrorCode(err) != ombud.CodeInvalid {
		t.Fatalf("sensitive ingest without subjects: %v", err)
	}
	o := ingest(t, e, "biometric", []byte("face template"), "person:42")
	reader(t, e)
	before := e.Size(t)
	_, err := read(t, e, o.ID)
	var d *custody.Denial
	if !errors.As(err, &d) || d.Code != ombud.CodeForbidden || d.Reason != "authorization_required" {
		t.Fatalf("sensitive read: %v", err)
	}
	if en := e.Entry(t, d.Index); en.Kind != entry.KindAccess || en.Fields["decision"] != "deny" || d.Index != before {
		t.Fatalf("denial not logged as the next entry: %+v", en)
	}
}

func TestIntegrity(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	body := randomBytes(3<<20 + 5)
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"truncated at a segment boundary", func(b []byte) []byte { return b[:1<<20] }},
		{"truncated by one byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"one byte altered", func(b []byte) []byte { b[2<<20] ^= 1; return b }},
		{"one byte appended", func(b []byte) []byte { return append(b, 0) }},
		{"last segment altered", func(b []byte) []byte { b[len(b)-3] ^= 0x80; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ingest(t, e, "general", body)
			p := e.BlobFile(o.ID)
			ct, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, tc.damage(ct), 0o600)
			got, err := read(t, e, o.ID)
			if err == nil {
				t.Fatalf("damaged object read without error (%d bytes)", len(got))
			}
			if len(got) == len(body) && bytes.Equal(got, body) {
				t.Fatal("whole plaintext returned from a damaged blob")
			}
		})
	}
}

func TestRetentionHoldsAndShredding(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	now := time.Now().UTC()
	e.Custody.Now = func() time.Time { return now }
	expired := ingest(t, e, "general", []byte("old record"))
	held := ingest(t, e, "general", []byte("record under hold"))
	fresh := ingest(t, e, "document", []byte("young document"))
	if _, err := e.Custody.SetHold(ctx, custody.Order{Object: held.ID, Reason: "litigation", Authorization: "order 3 Gs 117/26", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	// A year and a day later: general (365 d) expired, document (6 y) not.
	now = now.Add(366 * 24 * time.Hour)
	res, err := e.Custody.Sweep(ctx)
	if err != nil || res.Erased != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 erased", res, err)
	}
	o, _ := e.Store.Object(ctx, expired.ID)
	if o.Erased == nil || o.Erased.Reason != ombud.EraseRetention || o.WrappedKeyset != nil {
		t.Fatalf("expired object not shredded: %+v", o)
	}
	if en := e.Entry(t, o.Erased.Index); en.Kind != entry.KindErase || en.Fields["reason"] != ombud.EraseRetention {
		t.Fatalf("erase entry %+v", en)
	}
	if ok, _ := e.Custody.Bucket.Exists(ctx, blob.Key(expired.ID)); ok {
		t.Fatal("ciphertext of a shredded object still stored")
	}
	var d *custody.Denial
	if _, err := read(t, e, expired.ID); !errors.As(err, &d) || d.Code != ombud.CodeGone {
		t.Fatalf("read after erase: %v, want gone", err)
	}
	if _, err := read(t, e, held.ID); err != nil {
		t.Fatalf("held object was touched: %v", err)
	}
	if _, err := read(t, e, fresh.ID); err != nil {
		t.Fatalf("unexpired object was touched: %v", err)
	}
	// Erasure on demand is refused while held, then works.
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: held.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 9", By: e.AdminID}); ombud.ErrorCode(err) != ombud.CodeConflict {
		t.Fatalf("erase of a held object: %v", err)
	}
	if _, err := e.Custody.ReleaseHold(ctx, custody.Order{Object: held.ID, Reason: "case_closed", Authorization: "order 10", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.Custody.Sweep(ctx); res.Erased != 1 {
		t.Fatalf("released object not swept: %+v", res)
	}
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: fresh.ID, Reason: "because", Authorization: "order 11", By: e.AdminID}); ombud.ErrorCode(err) != ombud.CodeInvalid {
		t.Fatalf("erase with an unknown reason: %v", err)
	}
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: fresh.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 11", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: fresh.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 11", By: e.AdminID}); ombud.ErrorCode(err) != ombud.CodeGone {
		t.Fatalf("second erase: %v", err)
	}
}

// TestShreddedIsUnrecoverable: an adversary who copied the ciphertext and
// holds the KEK still cannot recover a shredded object, because the only
// copy of its data key was the wrapped keyset, and that is gone from every
// file ombud keeps.
func TestShreddedIsUnrecoverable(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	secret := []byte("Zebedee Quarrington-Vasquez was at the station at 06:12. " + strings.Repeat("x", 4096))
	o := ingest(t, e, "general", secret)
	// The adversary's copies, taken before the shred.
	ct, err := os.ReadFile(e.BlobFile(o.ID))
	if err != nil {
		t.Fatal(err)
	}
	kek, err := keys.OpenLocal(e.Dir.KEKPath())
	if err != nil {
		t.Fatal(err)
	}
	// The adversary also holds the intermediate key, which the KEK opens.
	wk, err := e.Store.IntermediateKey(ctx, o.WrappingKey)
	if err != nil {
		t.Fatal(err)
	}
	keeper, _ := kek.Keeper(wk.KEKVersion)
	ik, err := keys.UnwrapIntermediate(ctx, keeper, wk.Wrapped, wk.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Sanity: with the wrapped keyset, ciphertext and keys decrypt.
	k, err := keys.UnwrapWith(ik, o.WrappedKeyset, o.ID, keys.Format(o.KeyFormat))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := decrypt(k, ct, o.ID); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("control decryption failed: %v", err)
	}
	wrapped := bytes.Clone(o.WrappedKeyset)
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseCourtOrder, Authorization: "order 1", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	e.Store.Close() // let SQLite fold its WAL into the file
	// The wrapped keyset is in no file of the data directory any more.
	filepath.Walk(e.Dir.Path, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, wrapped[len(wrapped)-48:]) {
			t.Errorf("%s still holds the wrapped keyset", p)
		}
		if bytes.Contains(b, ct[len(ct)-64:]) {
			t.Errorf("%s still holds the ciphertext", p)
		}
		return nil
	})
	// Without it, the KEK and the ciphertext give nothing: any other
	// keyset, fresh or unwrapped for another object, fails to decrypt.
	other, _ := keys.NewObjectKey()
	if _, err := decrypt(other, ct, o.ID); err == nil {
		t.Fatal("a different keyset decrypted the object")
	}
	for _, f := range []keys.Format{keys.FormatKeyset, keys.FormatRawKey} {
		if _, err := keys.UnwrapWith(ik, ct, o.ID, f); err == nil {
			t.Fatalf("the ciphertext unwrapped as a key of format %d", f)
		}
	}
}

func decrypt(k *keys.ObjectKey, ct []byte, id string) ([]byte, error) {
	r, err := k.Decrypter(bytes.NewReader(ct), id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// crashAfterReserve reserves c and, when logged is set, appends its entry:
// the state a crash between the log and the commit leaves.
func crashAfterReserve(t *testing.T, e *ombudtest.Env, c *journal.Change, rec journal.Record, logged bool) {
	t.Helper()
	en, leaf, d, err := e.Journal.Build(rec)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf)
	c.Leaf, c.Created = sum[:], time.Now().Add(-time.Hour)
	if c.From, err = e.Log.Size(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Reserve(ctx, c); err != nil {
		t.Fatal(err)
	}
	if logged {
		if _, err := e.Journal.Append(ctx, en, leaf, d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoveryAfterCrashes: a change a crash left between its reservation
// and its commit is committed if its entry reached the log and undone if
// not, so that the store ends as the log says.
func TestRecoveryAfterCrashes(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	// An erasure logged, then the crash: recovery finishes it.
	a := ingest(t, e, "general", []byte("a"))
	ca, _ := journal.Erase.Change(a.ID, journal.ErasePayload{Reason: ombud.EraseCourtOrder, At: time.Now()})
	crashAfterReserve(t, e, ca, journal.Record{Body: entry.Erase{Reason: ombud.EraseCourtOrder, Class: "general", Object: a.ID}}, true)
	// A hold reserved, the crash before its entry: recovery undoes it.
	h := ingest(t, e, "general", []byte("h"))
	ch, _ := journal.HoldSet.Change(h.ID, journal.HoldPayload{Hold: &ombud.Hold{Reason: "litigation", Since: time.Now()}})
	crashAfterReserve(t, e, ch, journal.Record{Body: entry.Hold{Op: entry.OpSet, Reason: "litigation", Object: h.ID}}, false)
	// Two ingests: one whose entry never reached the log, one whose entry
	// did but whose client was never told.
	mk := func(body string) *ombud.Object {
		id := ombud.NewID()
		if _, _, err := e.Custody.Bucket.Write(ctx, blob.Key(id), func(w io.Writer) error { _, err := w.Write([]byte(body)); return err }); err != nil {
			t.Fatal(err)
		}
		return &ombud.Object{ID: id, Class: "general", Subjects: []string{e.Dir.Linkage.Pseudonym("subject", "s1")}, Source: "cam", CollectedAt: time.Now(), Created: time.Now(),
			RetainUntil: time.Now().Add(time.Hour), CipherSHA: make([]byte, 32), WrappedKeyset: []byte("w"), KEKVersion: 1}
	}
	ingestRecord := func(o *ombud.Object) journal.Record {
		return journal.Record{Body: entry.Ingest{Class: "general", Object: o.ID}}
	}
	b, c := mk("never logged"), mk("logged, never acknowledged")
	cb, _ := journal.Ingest.Change(b.ID, journal.ObjectPayload{Object: b})
	crashAfterReserve(t, e, cb, ingestRecord(b), false)
	cc, _ := journal.Ingest.Change(c.ID, journal.ObjectPayload{Object: c})
	crashAfterReserve(t, e, cc, ingestRecord(c), true)

	// An emergency read logged, then the crash before its record: the read
	// is recorded by recovery, so its deadline is watched.
	em := ingest(t, e, "general", []byte("e"))
	emergency := &ombud.Emergency{ObjectID: em.ID, Principal: e.AdminID, Purpose: "missing_person", Reason: "missing_person", At: time.Now(), Deadline: time.Now().Add(time.Hour)}
	ce, _ := journal.EmergencyRead.Change(ombud.NewID(), journal.EmergencyPayload{Emergency: emergency})
	crashAfterReserve(t, e, ce, journal.Record{Body: entry.Access{Decision: entry.Permit, Class: "general", Purpose: "missing_person", Reasons: []string{"emergency"}, Emergency: true, Object: em.ID}}, true)

	var d *custody.Denial
	if _, err := read(t, e, b.ID); !errors.As(err, &d) || d.Code != ombud.CodeNotFound {
		t.Fatalf("a reserved object was served: %v", err)
	}
	res, err := e.Custody.Sweep(ctx)
	if err != nil || res.Settled.Committed != 3 || res.Settled.Undone != 2 {
		t.Fatalf("Sweep = %+v, %v; want 3 committed, 2 undone", res, err)
	}
	if open, _ := e.Store.OpenEmergencies(ctx); len(open) != 1 || open[0].ObjectID != em.ID || open[0].Index == 0 {
		t.Fatalf("the logged emergency read was not recorded: %+v", open)
	}
	if oa, _ := e.Store.Object(ctx, a.ID); oa.Erased == nil || oa.Erased.Reason != ombud.EraseCourtOrder || oa.WrappedKeyset != nil {
		t.Fatalf("logged erasure not finished: %+v", oa)
	}
	if oh, _ := e.Store.Object(ctx, h.ID); oh.Hold != nil {
		t.Fatalf("unlogged hold took effect: %+v", oh.Hold)
	}
	if _, err := e.Store.Object(ctx, b.ID); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("an unlogged ingest became an object: %v", err)
	}
	if _, _, err := e.Custody.Bucket.Get(ctx, blob.Key(b.ID)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("an unlogged ingest's blob is left: %v", err)
	}
	oc, err := e.Store.Object(ctx, c.ID)
	if err != nil || oc.Erased == nil || oc.Erased.Reason != ombud.EraseIngestUnacknowledged {
		t.Fatalf("an unacknowledged ingest was not discarded: %+v, %v", oc, err)
	}
	if en := e.Entry(t, oc.Erased.Index); en.Kind != entry.KindErase || en.Fields["reason"] != ombud.EraseIngestUnacknowledged {
		t.Fatalf("its erase entry: %+v", en)
	}
	// Nothing is left in flight, and a second sweep does nothing.
	if cs, _ := e.Store.Changes(ctx, time.Now().Add(time.Hour)); len(cs) != 0 {
		t.Fatalf("changes left in flight: %v", cs)
	}
	if res, err := e.Custody.Sweep(ctx); err != nil || res.Settled.Committed+res.Settled.Undone != 0 {
		t.Fatalf("second Sweep = %+v, %v", res, err)
	}
	// A change younger than SettleAge is left alone: its append may still
	// be under way.
	young := ingest(t, e, "general", []byte("y"))
	cy, _ := journal.HoldSet.Change(young.ID, journal.HoldPayload{Hold: &ombud.Hold{Reason: "litigation", Since: time.Now()}})
	crashAfterReserve(t, e, cy, journal.Record{Body: entry.Hold{Op: entry.OpSet, Reason: "litigation", Object: young.ID}}, false)
	e.Store.Undo(ctx, cy)
	cy.Created = time.Now()
	if err := e.Store.Reserve(ctx, cy); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.Custody.Sweep(ctx); res.Settled.Undone != 0 {
		t.Fatalf("a young change was settled: %+v", res)
	}
}

// TestRotation: a KEK rotation rewraps the intermediate keys and the
// objects stored before them, touches no ciphertext, and leaves every
// object readable in each format its key may be kept in: a bare key (new
// objects) or a keyset, wrapped by an intermediate key or by the KEK.
func TestRotation(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	var objs []*ombud.Object
	var bodies [][]byte
	for i := range 5 {
		bodies = append(bodies, randomBytes(1000*i+1))
		objs = append(objs, ingest(t, e, "general", bodies[i]))
	}
	blobSum := func() [32]byte {
		h := sha256.New()
		for _, o := range objs {
			b, _ := os.ReadFile(e.BlobFile(o.ID))
			h.Write(b)
		}
		return [32]byte(h.Sum(nil))
	}
	before := blobSum()
	// The objects share one intermediate key; the first is made as an
	// object stored before intermediate keys was: its keyset wrapped by
	// the KEK itself.
	legacy := objs[0]
	for _, o := range objs {
		if o.WrappingKey == "" || o.WrappingKey != objs[1].WrappingKey {
			t.Fatalf("object %s is wrapped by intermediate key %q", o.ID, o.WrappingKey)
		}
	}
	asLegacy(t, e, legacy)
	// The second is made as an object stored before bare keys: its key a
	// Tink keyset, wrapped by the intermediate key.
	asKeyset(t, e, objs[1])
	r1, err := e.Custody.Rotate(ctx, e.AdminID)
	if err != nil || r1.Version != 2 || r1.Intermediates != 1 || r1.Rewraps != 1 {
		t.Fatalf("Rotate = %+v, %v", r1, err)
	}
	r2, err := e.Custody.Rotate(ctx, e.AdminID)
	if err != nil || r2.Version != 3 || r2.Intermediates != 1 || r2.Rewraps != 1 {
		t.Fatalf("second Rotate = %+v, %v", r2, err)
	}
	if blobSum() != before {
		t.Fatal("rotation touched ciphertext")
	}
	kr, _ := keys.OpenLocal(e.Dir.KEKPath())
	if vs := kr.Versions(); len(vs) != 2 || vs[0] != 2 {
		t.Fatalf("KEK versions after two rotations: %v, want [2 3]", vs)
	}
	for i, o := range objs {
		got, err := read(t, e, o.ID)
		if err != nil || !bytes.Equal(got, bodies[i]) {
			t.Fatalf("object %d after rotation: %v", i, err)
		}
		cur, _ := e.Store.Object(ctx, o.ID)
		kek := cur.KEKVersion
		if cur.WrappingKey != "" {
			k, err := e.Store.IntermediateKey(ctx, cur.WrappingKey)
			if err != nil {
				t.Fatal(err)
			}
			kek = k.KEKVersion
		}
		if kek != 3 {
			t.Fatalf("object %d still under KEK %d", i, kek)
		}
	}
	if en := e.Entry(t, r2.Receipt); en.Kind != entry.KindKey || en.Fields["op"] != "rotate" {
		t.Fatalf("key entry %+v", en)
	}
}

func TestLogFailureReleasesNothing(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	o := ingest(t, e, "general", []byte("nothing leaves unlogged"))
	reader(t, e)
	e.Log.Close(ctx)
	if _, err := read(t, e, o.ID); !errors.Is(err, ombud.ErrLogUnavailable) {
		t.Fatalf("read with the log down: %v", err)
	}
	if _, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", Body: strings.NewReader("x")}); !errors.Is(err, ombud.ErrLogUnavailable) {
		t.Fatalf("ingest with the log down: %v", err)
	}
	// The refused ingest left nothing to become live later: no
	// reservation, and no blob but the first object's.
	if cs, _ := e.Store.Changes(ctx, time.Now().Add(time.Hour)); len(cs) != 0 {
		t.Fatalf("a refused ingest left a reservation: %v", cs)
	}
	n := 0
	filepath.WalkDir(e.Dir.BlobPath(), func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d blobs stored, want the first object's only", n)
	}
}

// TestSmallObjectIntegrity: objects of one segment are verified and
// decrypted before the decision is logged, so a damaged one is a logged
// denial (reason integrity_failure), never a permit.
func TestSmallObjectIntegrity(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	body := randomBytes(4096)
	for _, damage := range []func([]byte) []byte{
		func(b []byte) []byte { return b[:len(b)-1] },
		func(b []byte) []byte { b[100] ^= 1; return b },
		func(b []byte) []byte { return append(b, 1) },
	} {
		o := ingest(t, e, "general", body)
		p := e.BlobFile(o.ID)
		ct, _ := os.ReadFile(p)
		os.WriteFile(p, damage(ct), 0o600)
		reader(t, e)
		var d *custody.Denial
		if got, err := read(t, e, o.ID); !errors.As(err, &d) || d.Reason != reason.Integrity {
			t.Fatalf("damaged small object: %d bytes, %v", len(got), err)
		}
		if en := e.Entry(t, d.Index); en.Fields["decision"] != "deny" || fmt.Sprint(en.Fields["reasons"]) != "[integrity_failure]" {
			t.Fatalf("the damaged object's decision entry: %+v", en.Fields)
		}
	}
	o := ingest(t, e, "general", body)
	if got, err := read(t, e, o.ID); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("intact small object: %v", err)
	}
}

// TestHoldsWinOverTheSweep: holds set on 40 expired objects while sweeps
// run: every hold that was acknowledged keeps its object, and every object
// the sweep shredded refused its hold (410), never both.
func TestHoldsWinOverTheSweep(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	var objs []*ombud.Object
	for i := range 40 {
		objs = append(objs, ingest(t, e, "general", []byte(fmt.Sprint("record ", i))))
	}
	later := time.Now().UTC().Add(400 * 24 * time.Hour)
	e.Custody.Now = func() time.Time { return later } // every general object has expired
	// erasures[k] closes when the k-th erase entry is appended.
	erasures := make([]chan struct{}, len(objs)+1)
	for k := range erasures {
		erasures[k] = make(chan struct{})
	}
	close(erasures[0])
	e.Journal.Log = &eraseCounter{Log: e.Journal.Log, reached: erasures}
	held := make([]bool, len(objs))
	var wg, sweeps sync.WaitGroup
	swept := make(chan struct{})
	for range 2 {
		wg.Add(1)
		sweeps.Add(1)
		go func() {
			defer wg.Done()
			defer sweeps.Done()
			if _, err := e.Custody.Sweep(ctx); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		}()
	}
	go func() { sweeps.Wait(); close(swept) }()
	for i, o := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread over the sweeps: the hold of object i comes once
			// i/2 objects are erased, so some come before the sweeps reach
			// their object, some after, and some race them.
			select {
			case <-erasures[i/2]:
			case <-swept:
			}
			_, err := e.Custody.SetHold(ctx, custody.Order{Object: o.ID, Reason: "litigation", Authorization: "order 1", By: e.AdminID})
			switch ombud.ErrorCode(err) {
			case "":
				held[i] = true
			case ombud.CodeGone:
			default:
				t.Errorf("SetHold: %v", err)
			}
		}()
	}
	wg.Wait()
	shredded := 0
	for i, o := range objs {
		cur, err := e.Store.Object(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case held[i] && cur.Erased != nil:
			t.Errorf("object %d: the hold was acknowledged, and the object shredded", i)
		case held[i] && cur.Hold == nil:
			t.Errorf("object %d: the hold was acknowledged but is not in force", i)
		case !held[i] && cur.Erased == nil:
			t.Errorf("object %d: the hold was refused as gone, but the object was not erased", i)
		}
		if cur.Erased != nil {
			shredded++
		}
	}
	t.Logf("%d of %d objects shredded, %d held", shredded, len(objs), len(objs)-shredded)
}

// TestDetailLifecycle: erasing an object erases its ingest detail at once;
// access details are kept for their retention and then erased by the
// sweep, which logs one summary entry for the kind.
func TestDetailLifecycle(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	now := time.Now().UTC()
	e.Custody.Now = func() time.Time { return now }
	o := ingest(t, e, "document", []byte("a record"))
	if en := e.Entry(t, o.IngestIndex); !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(fmt.Sprint(en.Fields["retain_until"])) {
		t.Fatalf("retain_until is published as %v, not a day", en.Fields["retain_until"])
	}
	ingestDetail := journal.DetailKeyOf(e.Entry(t, o.IngestIndex))
	rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "audit_sample", Principal: reader(t, e), Justification: "quality sample 12"})
	if err != nil {
		t.Fatal(err)
	}
	rel.Body.Close()
	accessDetail := journal.DetailKeyOf(e.Entry(t, rel.Index))
	if _, err := e.Custody.Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseControllerOrder, Authorization: "decision 4", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	if d, err := e.Store.Detail(ctx, ingestDetail); err != nil || d.Body != nil {
		t.Fatalf("the erased object's ingest detail: %q, %v", d.Body, err)
	}
	if d, _ := e.Store.Detail(ctx, accessDetail); d.Body == nil {
		t.Fatal("the access detail went with the object; it has its own retention")
	}
	// Within the access retention, the sweep keeps it; past it, it erases
	// it and logs a summary.
	if res, err := e.Custody.Sweep(ctx); err != nil || len(res.Details) != 0 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
	e.Custody.DetailRetention[entry.KindAccess] = 48 * time.Hour
	now = now.Add(72 * time.Hour)
	before := e.Size(t)
	res, err := e.Custody.Sweep(ctx)
	if err != nil || res.Details[entry.KindAccess] < 1 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
	if d, _ := e.Store.Detail(ctx, accessDetail); d.Body != nil {
		t.Fatal("the access detail outlived its retention")
	}
	summary := e.Entry(t, before)
	if summary.Kind != entry.KindSystem || summary.Fields["op"] != "details_erased" || summary.Fields["entry_kind"] != "access" {
		t.Fatalf("summary entry: %+v", summary)
	}
	if res, _ := e.Custody.Sweep(ctx); len(res.Details) != 0 {
		t.Fatalf("a second sweep erased again: %+v", res)
	}
}

// eraseCounter passes appends to Log, and closes reached[k] once the
// k-th erase entry is appended.
type eraseCounter struct {
	journal.Log
	mu      sync.Mutex
	n       int
	reached []chan struct{}
}

func (c *eraseCounter) Append(ctx context.Context, leaf []byte) (uint64, error) {
	idx, err := c.Log.Append(ctx, leaf)
	if e, perr := entry.Parse(leaf); err == nil && perr == nil && e.Kind == entry.KindErase {
		c.mu.Lock()
		if c.n++; c.n < len(c.reached) {
			close(c.reached[c.n])
		}
		c.mu.Unlock()
	}
	return idx, err
}

// TestDisableWaitsForDecidedReads: a principal disabled while its reads
// run has no permit logged after its disabling.
func TestDisableWaitsForDecidedReads(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	o := ingest(t, e, "general", []byte("a record"))
	p := e.Principal(t, e.AddPrincipal(t, "reader", ombud.RoleAnalyst))
	var wg, reading sync.WaitGroup
	stop := time.Now().Add(600 * time.Millisecond)
	for range 24 {
		wg.Add(1)
		reading.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for time.Now().Before(stop) {
				rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "audit_sample", Principal: p})
				if first {
					reading.Done()
					first = false
				}
				if err != nil {
					return // disabled: 401
				}
				io.Copy(io.Discard, rel.Body)
				rel.Body.Close()
			}
		}()
	}
	// Disable once every reader has had a read decided, while they read on.
	reading.Wait()
	w, err := e.Custody.DisablePrincipal(ctx, p.ID, e.AdminID)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	size := e.Size(t)
	e.AwaitSize(t, size)
	leaves, _ := e.Log.Leaves(ctx, w.Index+1, size)
	by := e.Dir.Linkage.Pseudonym("principal", p.ID)
	for i, l := range leaves {
		en, _ := entry.Parse(l)
		if en.Kind == entry.KindAccess && en.Fields["decision"] == "permit" && en.Refs["by"][0] == by {
			t.Fatalf("entry %d permits a read by the principal disabled at entry %d", w.Index+1+uint64(i), w.Index)
		}
	}
}

// TestConcurrentRotationsLogOne: six rotations released at once make one
// rotation per KEK version and one key entry per rotation; the others are
// refused and log nothing. A rotation that reads the keyring only after
// another finished is a new rotation of its own (a busy machine can
// delay one that long), so the test counts versions, not winners.
func TestConcurrentRotationsLogOne(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ingest(t, e, "general", []byte("a record"))
	before := e.Size(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	versions := map[int]int{}
	var refused atomic.Int32
	start := make(chan struct{})
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := e.Custody.Rotate(ctx, e.AdminID)
			switch ombud.ErrorCode(err) {
			case "":
				mu.Lock()
				versions[r.Version]++
				mu.Unlock()
			case ombud.CodeConflict:
				refused.Add(1)
			default:
				t.Errorf("Rotate: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for v, n := range versions {
		if n != 1 {
			t.Fatalf("KEK version %d was rotated to %d times", v, n)
		}
	}
	ok := len(versions)
	if ok < 1 || refused.Load() < 1 || ok+int(refused.Load()) != 6 || e.Size(t) != before+uint64(ok) {
		t.Fatalf("%d rotations, %d refused, %d entries logged; want one entry per rotation and the rest refused", ok, refused.Load(), e.Size(t)-before)
	}
	if cur, _ := e.Gateway.Custody.Keys.Current(); cur != 1+ok {
		t.Fatalf("KEK version %d after %d rotations from 1", cur, ok)
	}
}

// TestLargeObjectIntegrityIsLogged: a segment past the first that fails
// its check stops the release there, and the failure is logged as a
// denial after the permit.
func TestLargeObjectIntegrityIsLogged(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	body := randomBytes(3 << 20)
	o := ingest(t, e, "general", body)
	p := e.BlobFile(o.ID)
	ct, _ := os.ReadFile(p)
	ct[len(ct)-(512<<10)] ^= 1
	os.WriteFile(p, ct, 0o600)
	rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "audit_sample", Principal: reader(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rel.Body)
	rel.Body.Close()
	if err == nil || n >= int64(len(body)) {
		t.Fatalf("a damaged object was released whole: %d bytes, %v", n, err)
	}
	size := e.Size(t)
	if size != rel.Index+2 {
		t.Fatalf("log size %d after the permit at %d: want the permit and one denial", size, rel.Index)
	}
	if en := e.Entry(t, rel.Index+1); en.Fields["decision"] != "deny" || fmt.Sprint(en.Fields["reasons"]) != "[integrity_failure]" {
		t.Fatalf("the entry after the permit: %+v", en.Fields)
	}
}

// asKeyset rewrites o in meta.db as an object stored before bare keys:
// its key a Tink keyset (keys.FormatKeyset) wrapped by its intermediate
// key.
func asKeyset(t *testing.T, e *ombudtest.Env, o *ombud.Object) {
	t.Helper()
	k, ik, _, _ := keysetOf(t, e, o)
	wrapped, err := k.WrapWith(ik, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	rewrite(t, e, `UPDATE objects SET wrapped_keyset = $1, key_format = 0 WHERE id = $2`, wrapped, o.ID)
}

// asLegacy rewrites o in meta.db as an object stored before intermediate
// keys: its keyset wrapped by the current KEK itself, under its id.
func asLegacy(t *testing.T, e *ombudtest.Env, o *ombud.Object) {
	t.Helper()
	k, _, ver, keeper := keysetOf(t, e, o)
	wrapped, err := k.Wrap(ctx, keeper, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	rewrite(t, e, `UPDATE objects SET wrapped_keyset = $1, wrapping_key = NULL, kek_version = $2, key_format = 0 WHERE id = $3`, wrapped, ver, o.ID)
}

// keysetOf unwraps a new object's bare key and returns it as a keyset,
// with its intermediate key and the current KEK (which wraps that key:
// the test makes no rotation first).
func keysetOf(t *testing.T, e *ombudtest.Env, o *ombud.Object) (*keys.ObjectKey, *keys.Intermediate, int, *secrets.Keeper) {
	t.Helper()
	wk, err := e.Store.IntermediateKey(ctx, o.WrappingKey)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keys.OpenLocal(e.Dir.KEKPath())
	if err != nil {
		t.Fatal(err)
	}
	ver, keeper := kr.Current()
	if ver != wk.KEKVersion {
		t.Fatalf("intermediate key under KEK %d, current %d", wk.KEKVersion, ver)
	}
	ik, err := keys.UnwrapIntermediate(ctx, keeper, wk.Wrapped, wk.ID)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.UnwrapWith(ik, o.WrappedKeyset, o.ID, keys.Format(o.KeyFormat))
	if err != nil || k.Format() != keys.FormatRawKey {
		t.Fatalf("a new object's key: format %d, %v", o.KeyFormat, err)
	}
	if k, err = k.AsKeyset(); err != nil {
		t.Fatal(err)
	}
	return k, ik, ver, keeper
}

// rewrite runs one statement on the deployment's meta.db, as an older
// version of ombud would have left it.
func rewrite(t *testing.T, e *ombudtest.Env, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", e.Dir.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// revokedKeyring is a KEK revoked in its KMS: every call of its keeper
// fails.
type revokedKeyring struct{ custody.Keyring }

func (revokedKeyring) Current() (int, *secrets.Keeper)     { return 1, revokedKeeper }
func (revokedKeyring) Keeper(int) (*secrets.Keeper, error) { return revokedKeeper, nil }

var revokedKeeper = secrets.NewKeeper(revoked{})

type revoked struct{ driver.Keeper }

func (revoked) Decrypt(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("the key is revoked")
}
func (revoked) Encrypt(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("the key is revoked")
}
func (revoked) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.PermissionDenied }

// TestKEKRevocationStopsReadsWithinTTL: once the KEK is revoked in its
// KMS, reads go on only while the gateway holds the unwrapped
// intermediate key, no longer than its TTL; then each read is a logged
// denial (key_unavailable).
func TestKEKRevocationStopsReadsWithinTTL(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	now := time.Now()
	var offset atomic.Int64
	e.Custody.Now = func() time.Time { return now.Add(time.Duration(offset.Load())) }
	o := ingest(t, e, "general", []byte("a record"))
	if _, err := read(t, e, o.ID); err != nil {
		t.Fatal(err)
	}
	e.Custody.Keys = revokedKeyring{e.Custody.Keys}
	offset.Store(int64(custody.DefaultKeyTTL - time.Second))
	if _, err := read(t, e, o.ID); err != nil {
		t.Fatalf("a read within the TTL of the held key: %v", err)
	}
	offset.Store(int64(custody.DefaultKeyTTL + time.Second))
	_, err := read(t, e, o.ID)
	var d *custody.Denial
	if !errors.As(err, &d) || d.Reason != reason.KeyUnavailable {
		t.Fatalf("a read after the TTL with the KEK revoked: %v", err)
	}
}

// permitWatch passes appends to Log; at each permit under an
// authorization it records the store's count of that authorization's uses
// as the permit reaches the log, and fails the append while fail is set.
type permitWatch struct {
	journal.Log
	store interface {
		Authorization(context.Context, string) (*ombud.RegisteredAuthorization, error)
	}
	id   string
	fail atomic.Bool
	mu   sync.Mutex
	seen []int
}

func (w *permitWatch) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if e, err := entry.Parse(leaf); err == nil && e.Kind == entry.KindAccess && e.Fields["decision"] == "permit" {
		ra, err := w.store.Authorization(ctx, w.id)
		if err != nil {
			return 0, err
		}
		w.mu.Lock()
		w.seen = append(w.seen, ra.Uses)
		w.mu.Unlock()
		if w.fail.Load() {
			return 0, ombud.ErrLogUnavailable
		}
	}
	return w.Log.Append(ctx, leaf)
}

// TestUseIsDurableBeforeItsPermit: a permit reaches the log only after
// its use is in the store, so that a gateway that dies between the two
// never grants one more; and a permit the log refuses keeps its use in
// flight until recovery, which gives it back.
func TestUseIsDurableBeforeItsPermit(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := reader(t, e)
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-d", 10))
	o := ingest(t, e, "location", []byte("a record"), "plate:B-XY-123")
	w := &permitWatch{Log: e.Journal.Log, store: e.Store, id: "order-d"}
	e.Journal.Log = w
	read := func() error {
		rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "order-d"})
		if err == nil {
			rel.Body.Close()
		}
		return err
	}
	for range 3 {
		if err := read(); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{1, 2, 3}; !slices.Equal(w.seen, want) {
		t.Fatalf("the store's uses as each permit reached the log: %v, want %v", w.seen, want)
	}
	w.fail.Store(true)
	if err := read(); !errors.Is(err, ombud.ErrLogUnavailable) {
		t.Fatalf("a read whose permit the log refused: %v", err)
	}
	// The log refused it, but a log may fail after taking an entry: the
	// use stays in flight until recovery reads the log.
	if ra, err := e.Store.Authorization(ctx, "order-d"); err != nil || ra.Uses != 4 {
		t.Fatalf("after a refused permit the store counts %d uses (%v), want 4, one in flight", ra.Uses, err)
	}
	if _, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ra, err := e.Store.Authorization(ctx, "order-d"); err != nil || ra.Uses != 3 {
		t.Fatalf("after recovery the store counts %d uses (%v), want 3", ra.Uses, err)
	}
}

// journalStore is what the journal keeps in the store.
type journalStore interface {
	journal.ChangeStore
	journal.DetailStore
}

// permitsIn counts the permits in e's log.
func permitsIn(t *testing.T, e *ombudtest.Env) int {
	t.Helper()
	n := 0
	for i := range e.Size(t) {
		if en := e.Entry(t, i); en.Kind == entry.KindAccess && en.Fields["decision"] == entry.Permit {
			n++
		}
	}
	return n
}

// detailsFail is a store whose detail writes fail, as on a full disk.
type detailsFail struct{ journalStore }

func (detailsFail) PutDetails(context.Context, []journal.Detail) error {
	return errors.New("no space left on device")
}

// TestPermitLoggedWithoutItsDetailKeepsItsUse: a permit whose entry
// reached the log while its detail record failed is not released, and
// its use is not given back: the log never holds more permits than the
// authorization's uses. Recovery keeps the use, as the log says.
func TestPermitLoggedWithoutItsDetailKeepsItsUse(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := reader(t, e)
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-x", 1))
	o := ingest(t, e, "location", []byte("a record"), "plate:B-XY-123")
	read := func() error {
		rel, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "order-x"})
		if err == nil {
			rel.Body.Close()
		}
		return err
	}
	live := e.Journal.Store
	e.Journal.Store = detailsFail{live}
	if err := read(); err == nil {
		t.Fatal("a read whose detail failed was released")
	}
	e.Journal.Store = live
	permits := func() int { return permitsIn(t, e) }
	if permits() != 1 {
		t.Fatalf("%d permits in the log, want the one whose detail failed", permits())
	}
	var d *custody.Denial
	if err := read(); !errors.As(err, &d) || d.Reason != "authorization_exhausted" {
		t.Fatalf("a second read of a one-use authorization: %v, want a denial as exhausted", err)
	}
	if _, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := read(); !errors.As(err, &d) || d.Reason != "authorization_exhausted" {
		t.Fatalf("a read after recovery: %v, want a denial as exhausted", err)
	}
	if n := permits(); n != 1 {
		t.Fatalf("%d permits in the log for an authorization of one use", n)
	}
}

// dyingLog is a log whose gateway dies while a permit is being appended:
// the permit's append reaches the log (when logs is set) or not, and the
// read never returns, as in a process killed then. release lets it return
// at the end of the test, as refused.
type dyingLog struct {
	journal.Log
	logs    bool
	reached chan struct{}
	release chan struct{}
}

func (d *dyingLog) Append(ctx context.Context, leaf []byte) (uint64, error) {
	e, err := entry.Parse(leaf)
	if err != nil || e.Kind != entry.KindAccess || e.Fields["decision"] != entry.Permit {
		return d.Log.Append(ctx, leaf)
	}
	if d.logs {
		if _, err := d.Log.Append(ctx, leaf); err != nil {
			return 0, err
		}
	}
	close(d.reached)
	<-d.release
	return 0, ombud.ErrLogUnavailable
}

// TestNoUseSpentWithoutItsPermit: a gateway that dies between a read's
// use and its permit leaves the use in flight; recovery, as a gateway
// runs it when it starts, gives the use back when the permit is not in
// the log and keeps it when it is. The sweep of a gateway whose read is
// still appending leaves that read's use alone. The read that was cut
// off, let go after recovery, gives nothing back twice.
func TestNoUseSpentWithoutItsPermit(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	analyst := reader(t, e)
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-c", 10))
	o := ingest(t, e, "location", []byte("a record"), "plate:B-XY-123")
	live := e.Journal.Log
	uses := func() int {
		t.Helper()
		ra, err := e.Store.Authorization(ctx, "order-c")
		if err != nil {
			t.Fatal(err)
		}
		return ra.Uses
	}
	permits := func() int { return permitsIn(t, e) }
	for _, tc := range []struct {
		name   string
		logged bool
	}{{"the permit never logged", false}, {"the permit logged", true}} {
		before := uses()
		d := &dyingLog{Log: live, logs: tc.logged, reached: make(chan struct{}), release: make(chan struct{})}
		e.Journal.Log = d
		done := make(chan error, 1)
		go func() {
			_, err := e.Custody.Read(ctx, custody.ReadRequest{ID: o.ID, Purpose: "criminal_investigation", Principal: analyst, AuthorizationID: "order-c"})
			done <- err
		}()
		<-d.reached
		e.Journal.Log = live
		if got := uses(); got != before+1 {
			t.Fatalf("%s: %d uses when the gateway died, want %d: the use is durable before its permit", tc.name, got, before+1)
		}
		// While its read lives, the gateway's own recovery (the sweep)
		// leaves the use to it: its permit may still land.
		if _, err := e.Custody.Settle(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("%s: the sweep: %v", tc.name, err)
		}
		if got := uses(); got != before+1 {
			t.Fatalf("%s: the sweep settled the use of a read still appending its permit: %d uses, want %d", tc.name, got, before+1)
		}
		// The gateway starts again, without the read: recovery settles
		// what it left.
		restarted, err := custody.New(e.Custody.Config)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := restarted.Settle(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("%s: recovery: %v", tc.name, err)
		}
		want := before
		if tc.logged {
			want++
		}
		if got := uses(); got != want {
			t.Fatalf("%s: %d uses after recovery, want %d", tc.name, got, want)
		}
		if got := permits(); got != uses() {
			t.Fatalf("%s: the log holds %d permits, the store counts %d uses", tc.name, got, uses())
		}
		if left, err := e.Store.UsesInFlight(ctx, time.Now().Add(time.Hour)); err != nil || len(left) != 0 {
			t.Fatalf("%s: uses in flight after recovery: %v, %v", tc.name, left, err)
		}
		// The read cut off returns now, refused: nothing is given back
		// twice.
		close(d.release)
		if err := <-done; !errors.Is(err, ombud.ErrLogUnavailable) {
			t.Fatalf("%s: the cut-off read: %v", tc.name, err)
		}
		if got := uses(); got != want {
			t.Fatalf("%s: %d uses after the cut-off read returned, want %d", tc.name, got, want)
		}
	}
}

// TestPlainDigest: an object's plaintext SHA-256 is kept sealed under its
// key: the store holds no digest in the clear, the service opens it, and
// an erasure clears it with the key.
func TestPlainDigest(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	for _, size := range []int{0, 5, 3<<20 + 7} {
		body := randomBytes(size)
		o := ingest(t, e, "general", body)
		want := sha256.Sum256(body)
		stored, err := e.Store.Object(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored.PlainDigest) == 0 || bytes.Contains(stored.PlainDigest, want[:]) {
			t.Fatalf("%d bytes: the store holds %x, want the digest sealed", size, stored.PlainDigest)
		}
		got, err := e.Custody.PlainDigest(ctx, stored)
		if err != nil || !bytes.Equal(got, want[:]) {
			t.Fatalf("%d bytes: PlainDigest %x, %v; want %x", size, got, err, want)
		}
		if size == 5 {
			if _, err := e.Custody.Erase(ctx, custody.Order{Object: o.ID, Reason: ombud.EraseControllerOrder, Authorization: "ctrl-2026-1", By: e.AdminID}); err != nil {
				t.Fatal(err)
			}
			if erased, err := e.Store.Object(ctx, o.ID); err != nil || erased.PlainDigest != nil {
				t.Fatalf("after its erasure the store keeps %x (%v)", erased.PlainDigest, err)
			}
		}
	}
}
