package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/receipt"
)

// TestKillMidBulkRead kills 'ombud serve' with SIGKILL in the middle of a
// run's bulk read, restarts it, and checks that every object whose part
// the client began to receive has its access entry, naming the run and
// the object, in the log: each entry is durable before its object's
// first byte is sent.
func TestKillMidBulkRead(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	t.Parallel()
	bin, dir, c, admin := startFresh(t)
	dd, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ac, err := client.New(c.url, admin)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := ac.RegisterSystem(ctx, apiv1.RegisterSystem{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"general"},
		Model: "anpr", Version: "2.0", Accuracy: apiv1.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}})
	if err != nil {
		t.Fatal(err)
	}
	ingestor, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "ingest", Roles: []ombud.Role{ombud.RoleIngestor}})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ac.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "anpr runner", Roles: []ombud.Role{ombud.RoleSystem}, System: sys.ID})
	if err != nil {
		t.Fatal(err)
	}
	ic, _ := client.New(c.url, ingestor.Token)
	// 1,000 objects of 32 KiB, from 64 uploaders: each ingest waits for
	// its log batch, so many at once share the batches. At 32 KiB the
	// 600 parts after the kill are 19 MiB, more than the connection's
	// buffers hold: with 4 KiB objects a server fast enough had sent the
	// whole run into them before the kill.
	const n = 1000
	body := bytes.Repeat([]byte{'x'}, 32<<10)
	ids := putMany(ctx, t, ic, n, 64, func(int) []byte { return body }, client.Put{Class: "general", Source: "cam-1"})
	mc, _ := client.New(c.url, machine.Token)
	run, err := mc.StartRun(ctx, apiv1.StartRun{System: sys.ID, Version: "2.0", Purpose: "criminal_investigation", Objects: ids})
	if err != nil {
		t.Fatal(err)
	}
	// Read until 400 parts have begun to arrive, then kill the server
	// (the connection's buffers hold a few dozen more, not 600).
	type got struct {
		object  string
		receipt uint64
	}
	var received []got
	s, err := mc.ReadRun(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for len(received) < 400 {
		p, err := s.Next()
		if err != nil {
			t.Fatalf("after %d parts: %v", len(received), err)
		}
		received = append(received, got{p.Object, p.Receipt})
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	// Whatever was already in the connection's buffers arrived too.
	for {
		p, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatal("the stream ended cleanly after the server was killed")
			}
			break
		}
		received = append(received, got{p.Object, p.Receipt})
		if _, err := io.Copy(io.Discard, p.Body); err != nil {
			break
		}
	}
	s.Close()
	if len(received) >= n {
		t.Fatal("the whole run arrived before the kill; not a crash test")
	}
	t.Logf("killed after %d parts of %d", len(received), n)

	c2 := startChild(t, bin, dir)
	runPs := dd.Linkage.Pseudonym("run", run.ID)
	check := func(i int, g got) error {
		var r receipt.Receipt
		if code, err := getJSON(fmt.Sprintf("%s/v1/receipts/%d", c2.url, g.receipt), "", &r); code != 200 || err != nil {
			return fmt.Errorf("part %d (object %s): its access entry %d is not in the log after restart: %d %v", i, g.object, g.receipt, code, err)
		}
		_, e, err := receipt.Verify(&r, dd.Verifier)
		if err != nil {
			return fmt.Errorf("entry %d: %v", g.receipt, err)
		}
		if e.Kind != entry.KindAccess || e.Fields["decision"] != entry.Permit || e.Refs["run"][0] != runPs || e.Refs["object"][0] != dd.Linkage.Pseudonym("object", g.object) {
			return fmt.Errorf("entry %d is not the permit of object %s in run %s: %+v", g.receipt, g.object, run.ID, e)
		}
		return nil
	}
	// Every part's receipt, eight at a time.
	eightAtATime(t, len(received), func(i int) error { return check(i, received[i]) })
}
