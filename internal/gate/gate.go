// Package gate orders reads against the changes that conflict with them,
// within one gateway process: a read of an object holds its gate shared
// from the check of the object's state until its decision is logged; an
// erasure holds it exclusively from its reservation until it is
// committed. So a permit is never logged after the erase entry of its
// object, nor after the revocation of its authorization.
//
// The store serialises the changes themselves (journal.ChangeStore.Reserve) and
// refuses an erased object's key or a revoked authorization's use whatever
// a gate says; the gates add the order of reads and changes in the log.
// They are process-local: the embedded store admits one gateway process
// (the data directory is locked). Gateways sharing a database need the
// database's own row locks for this order.
package gate

import "sync"

// Set is a set of read-write gates named by key, made on first use and
// dropped when no one holds them.
type Set struct {
	mu sync.Mutex
	m  map[string]*entry
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

// Shared holds gate k shared (with other readers) and returns its release.
func (s *Set) Shared(k string) (release func()) {
	e := s.acquire(k)
	e.rw.RLock()
	return func() {
		e.rw.RUnlock()
		s.release(k, e)
	}
}

// Exclusive holds gate k alone, once every shared holder has released it,
// and returns its release.
func (s *Set) Exclusive(k string) (release func()) {
	e := s.acquire(k)
	e.rw.Lock()
	return func() {
		e.rw.Unlock()
		s.release(k, e)
	}
}
