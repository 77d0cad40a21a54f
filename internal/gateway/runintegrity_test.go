package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/internal/ombudtest"
)

// TestRunLogsAnIntegrityFailure: an object of many segments whose stored
// ciphertext was damaged stops a run's stream at the damaged segment, as
// a single read stops, and the failure is logged as a denial of that
// object in the run.
func TestRunLogsAnIntegrityFailure(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := t.Context()
	sys, m, machine := plateReader(t, e)
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-i", 5))
	large := make([]byte, 3<<20+7)
	for i := range large {
		large[i] = byte(i * 11)
	}
	var ids []string
	for _, body := range [][]byte{[]byte("a small record"), large} {
		o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	p := e.BlobFile(ids[1])
	ct, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ct[2<<20+100] ^= 4 // in the third segment
	if err := os.WriteFile(p, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	run, err := machine.StartRun(ctx, apiv1.StartRun{System: sys.ID, Version: "2.0", Purpose: "criminal_investigation", Authorization: "order-i", Objects: ids})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	err = e.Custody.ReadRun(ctx, custody.RunRead{Principal: e.Principal(t, m.Token), RunID: run.ID, Emit: func(p custody.Part) error {
		if p.Denial != nil {
			return fmt.Errorf("position %d denied before its bytes: %s", p.Position, p.Denial.Reason)
		}
		n, err := io.Copy(io.Discard, p.Body)
		got = append(got, n)
		return err
	}})
	if err == nil || len(got) != 2 || got[1] >= 2<<20 {
		t.Fatalf("the stream ended with %v after %v bytes: want it stopped in the damaged object's third segment", err, got)
	}
	en := e.Entry(t, e.Size(t)-1)
	if en.Fields["decision"] != "deny" || fmt.Sprint(en.Fields["reasons"]) != "[integrity_failure]" || len(en.Refs["run"]) != 1 {
		t.Fatalf("the last entry is %s %v %v: want the run's integrity failure logged", en.Fields["decision"], en.Fields["reasons"], en.Refs)
	}
}
