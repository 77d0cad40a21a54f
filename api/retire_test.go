package api_test

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/reason"
)

// TestRetirementEndsRunReads: a version's retirement ends the reading of
// its runs started before it. A stream read at the same time as the
// retirement releases nothing after the retirement entry, whatever the
// order; a read after it is a logged denial, version_retired.
func TestRetirementEndsRunReads(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	ctx := t.Context()
	mc := e.client(t, e.machine)
	// Enough objects for a stream of several batches.
	objects := make([]string, 400)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(objects); i += 8 {
				o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "general", By: e.AdminID, Body: strings.NewReader("record " + strconv.Itoa(i))})
				if err != nil {
					t.Error(err)
					return
				}
				objects[i] = o.ID
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// start registers a new version and starts a run of it.
	start := func(version string) *apiv1.RunStarted {
		t.Helper()
		resp := e.Do(t, "POST", "/v1/systems/"+e.system+"/versions", e.AdminToken, "application/json", `{"model":"anpr","version":"`+version+`","accuracy":{"threshold":0.9}}`)
		if resp.StatusCode != 201 && resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("a version: %d %s", resp.StatusCode, b)
		}
		resp.Body.Close()
		run, err := mc.StartRun(ctx, apiv1.StartRun{System: e.system, Version: version, Purpose: "criminal_investigation", Objects: objects})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	retire := func(version string) {
		resp := e.Do(t, "POST", "/v1/systems/"+e.system+"/versions/"+version+"/retire", e.AdminToken, "", "")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("retire %s: %d", version, resp.StatusCode)
		}
	}

	// A read against the retirement, at once.
	from := e.Size(t)
	runs := map[string]string{} // run id → its version
	for i := range 4 {
		version := fmt.Sprintf("3.%d", i)
		run := start(version)
		runs[run.ID] = version
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			s, err := mc.ReadRun(ctx, run.ID, 0)
			if err != nil {
				return // the retirement came first
			}
			defer s.Close()
			for p, err := s.Next(); err == nil; p, err = s.Next() {
				io.Copy(io.Discard, p.Body)
			}
		}()
		go func() {
			defer wg.Done()
			retire(version)
		}()
		wg.Wait()
	}
	retired := map[string]bool{}
	for _, b := range entriesFrom(t, e.Env, from) {
		switch b := b.(type) {
		case *entry.Analytic:
			if b.Op == entry.OpRetire {
				retired[b.ModelVersion] = true
			}
		case *entry.Access:
			if v, ok := runs[b.Run]; ok && b.Decision == entry.Permit && retired[v] {
				t.Fatalf("a read in run %s permitted after the retirement of its version %s", b.Run, v)
			}
		}
	}
	if len(retired) != len(runs) {
		t.Fatalf("%d retirements logged, want %d", len(retired), len(runs))
	}

	// A read after the retirement: a logged denial.
	run := start("4.0")
	drainPart := func() error {
		s, err := mc.ReadRun(ctx, run.ID, 0)
		if err != nil {
			return err
		}
		defer s.Close()
		p, err := s.Next()
		if err != nil {
			return err
		}
		return fmt.Errorf("a part was sent: position %d, denied %v (%s)", p.Position, p.Denied, p.Reason)
	}
	retire("4.0")
	err := drainPart()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Reason != reason.VersionRetired || ce.Status != 409 {
		t.Fatalf("a read after the retirement: %v, want 409 %s", err, reason.VersionRetired)
	}
}
