package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/client"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/internal/ombudtest"
)

// plateReader registers an analytic system that may process location
// records, version 2.0, and a machine principal of it: the system, the
// principal and a client that speaks as it.
func plateReader(t *testing.T, e *ombudtest.Env) (*apiv1.SystemVersionDone, *apiv1.Principal, *client.Client) {
	t.Helper()
	ctx := t.Context()
	admin, err := client.New(e.URL, e.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := admin.RegisterSystem(ctx, apiv1.RegisterSystem{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location"},
		Model: "anpr", Version: "2.0", Accuracy: apiv1.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := admin.CreatePrincipal(ctx, apiv1.CreatePrincipal{Name: "runner", Roles: []ombud.Role{ombud.RoleSystem}, System: sys.ID})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := client.New(e.URL, m.Token)
	if err != nil {
		t.Fatal(err)
	}
	return sys, m, machine
}

// TestRunDeniesWhatIsErasedAfterItsPageWasRead: a run reads its list a
// page ahead of deciding it; an object erased after its page was read and
// before its batch is decided is a logged denial, never released from the
// page's copy of its key. The stream is held at its first part so that
// the erasure lands in that window.
func TestRunDeniesWhatIsErasedAfterItsPageWasRead(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	ctx := t.Context()
	sys, m, machine := plateReader(t, e)
	e.Authorize(t, e.Court(t), ombudtest.Authorization("order-r", 5))
	// Eight pages of 256: the stream's batches (4 ahead) and its list (a
	// page ahead of them) hold the seventh page read and undecided while
	// the first part waits.
	const n = 8 * 256
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				o, _, err := e.Custody.Ingest(ctx, custody.IngestRequest{Class: "location", Subjects: []string{"plate:B-XY-123"}, By: e.AdminID, Body: strings.NewReader(fmt.Sprint("record ", i))})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = o.ID
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	run, err := machine.StartRun(ctx, apiv1.StartRun{System: sys.ID, Version: "2.0", Purpose: "criminal_investigation", Authorization: "order-r", Objects: ids})
	if err != nil {
		t.Fatal(err)
	}
	victim := 6*256 + 10
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var released, denied []int
	done := make(chan error, 1)
	go func() {
		done <- e.Custody.ReadRun(ctx, custody.RunRead{Principal: e.Principal(t, m.Token), RunID: run.ID, Emit: func(p custody.Part) error {
			once.Do(func() { close(held); <-release })
			if p.Denial != nil {
				if p.Denial.Reason != "erased" {
					return fmt.Errorf("position %d denied: %s", p.Position, p.Denial.Reason)
				}
				denied = append(denied, p.Position)
			} else {
				released = append(released, p.Position)
			}
			return nil
		}})
	}()
	<-held
	// The stream decides ahead until its batches are full; then the
	// seventh page is read and waits.
	time.Sleep(500 * time.Millisecond)
	if _, err := e.Custody.Erase(e.Approved(t, ctx, ombud.OpObjectErase, ids[victim]), custody.Order{Object: ids[victim], Reason: ombud.EraseCourtOrder, Authorization: "order 9", By: e.AdminID}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(denied) != 1 || denied[0] != victim || len(released) != n-1 {
		t.Fatalf("denied %v and released %d; want position %d denied, the other %d released", denied, len(released), victim, n-1)
	}
}
