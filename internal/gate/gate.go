// Package gate orders reads against the changes that conflict with them:
// a read of an object holds its gate shared from the check of the
// object's state until its decision is logged; an erasure holds it
// exclusively from its reservation until it is committed. So a permit is
// never logged after the erase entry of its object, nor after the
// revocation of its authorization.
//
// The store serialises the changes themselves (journal.ChangeStore.Reserve) and
// refuses an erased object's key or a revoked authorization's use whatever
// a gate says; the gates add the order of reads and changes in the log.
//
// Within one gateway process the gates are read-write mutexes. Gateways
// that share a database share their gates through it (Locker): PostgreSQL's
// advisory locks, held by a transaction that the hold keeps open and ends
// at its release, so a gateway that dies releases what it held.
package gate

import (
	"context"
	"sync"
)

// Set is a set of read-write gates named by key, made on first use and
// dropped when no one holds them. With a Locker, the gates are the
// Locker's, shared with every process that uses it.
type Set struct {
	// Locker, when set, holds the gates for every process sharing it.
	// Set it before the first hold.
	Locker Locker

	mu sync.Mutex
	m  map[string]*entry
}

// Locker holds gates shared by several processes.
type Locker interface {
	// Begin opens a hold, which takes gates until it is released.
	Begin(ctx context.Context) (Holder, error)
}

// Holder is a hold on a Locker's gates. Lock waits (within ctx) until
// it holds every key, shared or alone; a failure leaves the hold unusable
// but still to be released. Release frees every gate the hold took.
type Holder interface {
	Lock(ctx context.Context, exclusive bool, keys ...string) error
	// Check reports whether the hold still holds what it took: a
	// connection to the database that another process could see closed
	// (a partition, a pause past a timeout) no longer does.
	Check(ctx context.Context) error
	Release()
}

// Begin opens a hold on s's gates. Release it, once, whatever happens.
func (s *Set) Begin() *Hold { return &Hold{set: s} }

// Hold is the gates one operation takes, released together.
type Hold struct {
	set      *Set
	remote   Holder
	releases []func()
}

// Shared holds each of keys shared with other readers.
func (h *Hold) Shared(ctx context.Context, keys ...string) error {
	return h.lock(ctx, false, keys)
}

// Exclusive holds each of keys alone, once every shared holder has
// released it.
func (h *Hold) Exclusive(ctx context.Context, keys ...string) error {
	return h.lock(ctx, true, keys)
}

func (h *Hold) lock(ctx context.Context, exclusive bool, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if l := h.set.Locker; l != nil {
		if h.remote == nil {
			r, err := l.Begin(ctx)
			if err != nil {
				return err
			}
			h.remote = r
		}
		return h.remote.Lock(ctx, exclusive, keys...)
	}
	for _, k := range keys {
		e := h.set.acquire(k)
		if exclusive {
			e.rw.Lock()
			h.releases = append(h.releases, func() { e.rw.Unlock(); h.set.release(k, e) })
		} else {
			e.rw.RLock()
			h.releases = append(h.releases, func() { e.rw.RUnlock(); h.set.release(k, e) })
		}
	}
	return nil
}

// Check reports whether the hold still holds its gates; call it just
// before logging what they order. A process's own gates always hold.
func (h *Hold) Check(ctx context.Context) error {
	if h.remote != nil {
		return h.remote.Check(ctx)
	}
	return nil
}

// Release frees every gate the hold took, in the reverse order.
func (h *Hold) Release() {
	if h.remote != nil {
		h.remote.Release()
		h.remote = nil
	}
	for i := len(h.releases) - 1; i >= 0; i-- {
		h.releases[i]()
	}
	h.releases = nil
}

type entry struct {
	rw sync.RWMutex
	n  int
}

func (s *Set) acquire(k string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*entry{}
	}
	e := s.m[k]
	if e == nil {
		e = &entry{}
		s.m[k] = e
	}
	e.n++
	return e
}

func (s *Set) release(k string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.n--; e.n == 0 {
		delete(s.m, k)
	}
}
