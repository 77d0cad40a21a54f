package custody

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ombud/ombud"
)

// sweptStore counts the sweeps of open runs past their limit: what a
// run's timer does when it fires.
type sweptStore struct {
	Store
	sweeps atomic.Int32
}

func (s *sweptStore) OpenRunsBefore(ctx context.Context, t time.Time) ([]*ombud.Run, error) {
	s.sweeps.Add(1)
	return nil, nil
}

// heldTimer is a timer the test fires by hand.
type heldTimer struct{ stopped atomic.Bool }

func (h *heldTimer) Stop() bool { return !h.stopped.Swap(true) }

// newTimedService returns a service whose run timers the test fires: the
// last one armed is fire, its timer t.
func newTimedService() (s *Service, st *sweptStore, fire *func(), t **heldTimer) {
	st = &sweptStore{}
	s = &Service{Config: Config{Store: st}}
	s.bg.init()
	fire, t = new(func()), new(*heldTimer)
	s.bg.afterFunc = func(d time.Duration, f func()) timer {
		*fire, *t = f, &heldTimer{}
		return *t
	}
	return s, st, fire, t
}

// TestCloseStopsRunTimers: once Close returns, a run's timer neither
// fires (it is stopped) nor, if it fired as Close ran, touches the store;
// and the close a timer started before Close is finished when Close
// returns.
func TestCloseStopsRunTimers(t *testing.T) {
	ctx := context.Background()
	r := &ombud.Run{ID: "r", Deadline: time.Now()}

	s, st, fire, tm := newTimedService()
	s.scheduleRunClose(r)
	(*fire)()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := st.sweeps.Load(); n != 1 {
		t.Fatalf("a timer fired before Close: %d sweeps when Close returned, want 1", n)
	}

	s, st, fire, tm = newTimedService()
	s.scheduleRunClose(r)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !(*tm).stopped.Load() {
		t.Fatal("Close left a run's timer armed")
	}
	(*fire)() // as a timer that fired while Close ran
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := st.sweeps.Load(); n != 0 {
		t.Fatalf("a run's timer swept the store after Close: %d sweeps", n)
	}
	*tm = nil
	s.scheduleRunClose(r)
	if *tm != nil {
		t.Fatal("a run's timer was armed after Close")
	}
}

// TestCloseWaitsForRunCloses: Close returns only once the closes the
// stream started have ended; when its ctx ends first, it cancels them and
// still waits.
func TestCloseWaitsForRunCloses(t *testing.T) {
	s, _, _, _ := newTimedService()
	started := make(chan struct{})
	var ended atomic.Bool
	s.bg.do(func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		ended.Store(true)
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); err == nil {
		t.Fatal("Close cut short reported no error")
	}
	if !ended.Load() {
		t.Fatal("Close returned before the background work ended")
	}
}
