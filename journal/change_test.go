package journal_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// busyStore refuses the first reservations as busy, as a store does while
// another change to the target is in flight.
type busyStore struct {
	mu   sync.Mutex
	busy int
}

func (s *busyStore) Reserve(context.Context, *journal.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy > 0 {
		s.busy--
		return ombud.ErrBusy
	}
	return nil
}
func (s *busyStore) Commit(context.Context, *journal.Change, uint64) error { return nil }
func (s *busyStore) Undo(context.Context, *journal.Change) error           { return nil }
func (s *busyStore) Changes(context.Context, time.Time) ([]*journal.Change, error) {
	return nil, nil
}
func (s *busyStore) PutDetails(context.Context, []journal.Detail) error { return nil }
func (s *busyStore) Detail(context.Context, ombud.DetailKey) (journal.Detail, error) {
	return journal.Detail{}, ombud.ErrNotFound
}
func (s *busyStore) EraseDetail(context.Context, ombud.DetailKey) error { return nil }
func (s *busyStore) CountDetailsBefore(context.Context, entry.Kind, time.Time) (int, error) {
	return 0, nil
}

type memLog struct{ leaves [][]byte }

func (l *memLog) Append(_ context.Context, leaf []byte) (uint64, error) {
	l.leaves = append(l.leaves, leaf)
	return uint64(len(l.leaves) - 1), nil
}
func (l *memLog) Size(context.Context) (uint64, error) { return uint64(len(l.leaves)), nil }

// TestApplyBuildsAgainAfterWaiting: a change that waited for another one
// in flight on its target is logged with the time it went ahead, not the
// time it first tried: its entry comes after the other's in the log, and
// its time must not come before.
func TestApplyBuildsAgainAfterWaiting(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	lg := &memLog{}
	j := &journal.Journal{Store: &busyStore{busy: 3}, Log: lg, Key: ombud.NewLinkageKey(), Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second) // every look at the clock is a second later
		return clock
	}}
	c, err := journal.HoldSet.Change(("obj-1"), journal.HoldPayload{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := j.Apply(context.Background(), c, journal.Record{Body: entry.Hold{Op: entry.OpSet, Reason: "litigation", Object: "obj-1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := entry.Parse(lg.leaves[w.Index])
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 11, 30, 8, 0, 1, 0, time.UTC)
	if !e.Time.After(first.Add(3 * time.Second)) {
		t.Fatalf("the entry is timed %s, when it first tried (%s), not when it went ahead", e.Time, first)
	}
}
