package tips

import (
	"context"
	"testing"
	"time"
)

// TestOpeningsLeaveFilingsASlot: while returning sources hold every slot
// returns may take, another return waits and is answered busy, and a new
// filing still gets a slot at once.
func TestOpeningsLeaveFilingsASlot(t *testing.T) {
	s := &Service{work: make(chan struct{}, Work), openings: make(chan struct{}, Work-1)}
	var held []func()
	for range Work - 1 {
		release, err := s.acquire(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.acquire(ctx, true); err == nil {
		t.Fatal("a return got a slot beyond the returns' share")
	}
	start := time.Now()
	release, err := s.acquire(context.Background(), false)
	if err != nil || time.Since(start) > time.Second {
		t.Fatalf("a filing waited %v: %v", time.Since(start), err)
	}
	release()
	for _, r := range held {
		r()
	}
	if len(s.work) != 0 || len(s.openings) != 0 {
		t.Fatalf("slots left taken: %d %d", len(s.work), len(s.openings))
	}
}
