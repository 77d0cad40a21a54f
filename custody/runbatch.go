package custody

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

// batchBuilder gathers one batch of a run's reads and the gates it holds.
type batchBuilder struct {
	items []*runItem
	gates *gate.Hold      // nil until open
	open  bool            // its gates are held
	end   *access.Verdict // the denial that ends the run's reading
}

func (b *batchBuilder) abort() {
	for _, it := range b.items {
		it.close()
	}
	if b.gates != nil {
		b.gates.Release()
	}
	*b = batchBuilder{}
}

// openBatch takes a batch's gates, which it holds until its entries are
// logged, so that a close, a revocation, a disabling or an erasure is
// logged before the batch or after it; under them, it checks what ends
// the run's reading. The gates are taken in the order every reader takes
// them, so that no two holders wait on each other: the run's, the
// version's, the reader's (and the starter's), the objects' (sorted by
// id), the authorization's.
func (s *Service) openBatch(ctx context.Context, r *ombud.Run, p *ombud.Principal, objects []string, b *batchBuilder) error {
	b.open = true
	b.gates = s.gates.Begin()
	gates := []string{runGate(r.ID), versionGate(r.System, r.Version), principalGate(p.ID)}
	if r.Principal != p.ID {
		// The run's authority came through its starter: the starter's
		// disabling waits for this batch to be logged, as the reader's
		// does.
		gates = append(gates, principalGate(r.Principal))
	}
	objects = slices.Clone(objects)
	slices.Sort(objects)
	for i, id := range objects {
		if i == 0 || id != objects[i-1] {
			gates = append(gates, objectGate(id))
		}
	}
	if r.Authorization != "" {
		gates = append(gates, access.Gate(r.Authorization))
	}
	if err := b.gates.Shared(ctx, gates...); err != nil {
		return err
	}
	if _, err := s.checkReader(ctx, p); err != nil {
		return err
	}
	targets := []string{journal.RunClose.Target(r.ID), journal.SystemRetire.Target(journal.Pair(r.System, r.Version)), journal.PrincipalDisable.Target(p.ID)}
	if r.Authorization != "" {
		targets = append(targets, journal.AuthorizationRevoke.Target(r.Authorization))
	}
	for i, id := range objects {
		if i == 0 || id != objects[i-1] {
			targets = append(targets, journal.Erase.Target(id))
		}
	}
	if err := s.checkSettled(ctx, targets...); err != nil {
		return err
	}
	if s.Access.Shared() {
		// Another gateway may have closed it.
		now, err := s.Store.Run(ctx, r.ID)
		if err != nil {
			return err
		}
		r = now
	}
	if _, closed := s.closedRuns.Load(r.ID); closed || r.Closed != nil {
		b.end = &access.Verdict{Reason: reason.RunClosed, Code: ombud.CodeConflict, Message: "the run is closed"}
		return nil
	}
	sys, err := s.Store.AnalyticSystem(ctx, r.System)
	if err != nil {
		return err
	}
	if v := sys.Version(r.Version); v == nil || v.Retired != nil {
		b.end = &access.Verdict{Reason: reason.VersionRetired, Code: ombud.CodeConflict, Message: "the run's system version was retired"}
		return nil
	}
	if r.Authorization != "" {
		revoked, err := s.Access.Revoked(ctx, r.Authorization)
		if err != nil {
			return err
		}
		if revoked {
			b.end = &access.Verdict{Reason: reason.AuthRevoked, Code: ombud.CodeForbidden, Message: "the run's authorization was revoked"}
			return nil
		}
	}
	if r.Principal != p.ID {
		// The run's authority came through its starter: a starter
		// disabled since ends it.
		starter, err := s.Store.Principal(ctx, r.Principal)
		if err != nil && !errors.Is(err, ombud.ErrNotFound) {
			return err
		}
		if _, gone := s.disabled.Load(r.Principal); gone || err != nil || starter.Disabled {
			b.end = &access.Verdict{Reason: reason.StarterDisabled, Code: ombud.CodeForbidden, Message: "the principal who started the run was disabled"}
		}
	}
	return nil
}

// launch starts logging b's entries and hands the batch to out; b is
// emptied for the next batch.
func (s *Service) launch(ctx context.Context, r *ombud.Run, p *ombud.Principal, b *batchBuilder, stop bool, budget *semaphore.Weighted, out chan<- *runBatchT) (ended bool, err error) {
	items, rel := b.items, b.gates
	*b = batchBuilder{}
	releaseAll := func() {
		if rel != nil {
			rel.Release()
		}
	}
	// Build the entries now: an entry's time is when it is decided, and a
	// permit must be before the run's time limit. The first that is not
	// becomes the denial that ends the run's reading, and the objects
	// after it are not decided.
	built := make([]journal.Built, 0, len(items))
	for i, it := range items {
		if it.buildErr == nil && it.built.Entry == nil {
			s.build(r, p, it) // an ending denial, decided here
		}
		late := it.buildErr == nil && it.deny == nil && !it.built.Entry.Time.Before(r.Deadline)
		if late {
			it.close()
			budget.Release(it.weight)
			it.weight, it.deny = 0, &access.Verdict{Reason: reason.RunTimeLimit, Code: ombud.CodeGone, Message: "the run is past its time limit"}
			s.build(r, p, it)
			for _, rest := range items[i+1:] {
				rest.close()
				budget.Release(rest.weight)
			}
			items, stop = items[:i+1], true
			s.closeAfterLimit(r)
		}
		if err := it.buildErr; err != nil {
			for _, all := range items {
				all.close()
				budget.Release(all.weight)
			}
			releaseAll()
			return true, err
		}
		built = append(built, it.built)
		if late {
			break
		}
	}
	lb := &runBatchT{items: items, logged: make(chan struct{}), stop: stop}
	go func() {
		defer close(lb.logged)
		defer releaseAll()
		if rel != nil {
			if err := rel.Check(ctx); err != nil {
				lb.err = err
				return
			}
		}
		leaves, err := s.Journal.AppendAll(ctx, built)
		if err != nil {
			lb.err = wrapLog(err)
			return
		}
		var reads []ombud.RunRead
		var bytes int64
		for i, it := range lb.items {
			it.leaf = leaves[i]
			if it.deny == nil {
				reads = append(reads, ombud.RunRead{Position: it.pos, Index: it.leaf.Index})
				bytes += it.o.Size
			}
		}
		if len(reads) > 0 {
			if err := s.Store.RecordRunReads(context.WithoutCancel(ctx), r.ID, reads, bytes); err != nil {
				s.logger().ErrorContext(ctx, "a run's reads could not be recorded", "run", r.ID, "err", err)
			}
		}
	}()
	out <- lb
	return stop, nil
}

// decidePage decides the objects of one page of the run's list, in
// chunks that the budget admits (a chunk is cut where the budget would
// wait, so no batch waits on itself), and hands each chunk's batch, its
// appends started, to out. It reports whether the run's reading ended.
func (s *Service) decidePage(ctx context.Context, r *ombud.Run, p *ombud.Principal, page []ombud.RunObject, erasures uint64, budget *semaphore.Weighted, out chan<- *runBatchT) (bool, error) {
	for len(page) > 0 {
		var weights []int64
		for _, ro := range page {
			w := runWeight(ro.Object)
			if !budget.TryAcquire(w) {
				if len(weights) > 0 {
					break
				}
				// The budget first, holding no gate: a slow reader must
				// not hold back a close or an erasure.
				if err := budget.Acquire(ctx, w); err != nil {
					return true, err
				}
			}
			weights = append(weights, w)
		}
		chunk := page[:len(weights)]
		page = page[len(weights):]
		if stop, err := s.decideChunk(ctx, r, p, chunk, weights, erasures, budget, out); stop || err != nil {
			return true, err
		}
	}
	return false, ctx.Err()
}

// runWeight is what an object counts against a stream's budget: its
// plaintext, or Tink's streaming buffers for an object of several
// segments.
func runWeight(o *ombud.Object) int64 {
	if o.CipherSize > smallObject {
		return runLargeWeight
	}
	return o.Size
}

// runOpeners is how many objects of a chunk are opened at once: opening
// is mostly waiting on the object store.
const runOpeners = 8

// decideChunk decides a chunk of consecutive objects whose weights are
// acquired: under the batch's gates and the objects' own, it reads their
// state anew, denies the erased, opens the rest concurrently and launches
// the batch.
func (s *Service) decideChunk(ctx context.Context, r *ombud.Run, p *ombud.Principal, chunk []ombud.RunObject, weights []int64, erasures uint64, budget *semaphore.Weighted, out chan<- *runBatchT) (bool, error) {
	var b batchBuilder
	give := func(from int) {
		for _, w := range weights[from:] {
			budget.Release(w)
		}
	}
	fail := func(err error) (bool, error) {
		give(0)
		b.abort()
		return true, err
	}
	ids := make([]string, len(chunk))
	for i, ro := range chunk {
		ids[i] = ro.Object.ID
	}
	if err := s.openBatch(ctx, r, p, ids, &b); err != nil {
		return fail(err)
	}
	// Their state, under their gates: which of them were erased since the
	// page was read (the page's copy of a keyset may be one the erasure
	// destroyed). An erasure counts after its commit, under its object's
	// gate, which this batch now holds: a gateway alone on its store that
	// counts none since the page knows there is none.
	first, last := chunk[0].Position, chunk[len(chunk)-1].Position
	var erased []int
	if s.Access.Shared() || s.erasures.Load() != erasures {
		var err error
		if erased, err = s.Store.ErasedRunObjects(ctx, r.ID, first, last+1); err != nil {
			return fail(err)
		}
	}
	if b.end == nil && !s.now().Before(r.Deadline) {
		b.end = &access.Verdict{Reason: reason.RunTimeLimit, Code: ombud.CodeGone, Message: "the run is past its time limit"}
		s.closeAfterLimit(r)
	}
	if b.end != nil {
		// The first object's read is the decision that ends the run's
		// reading; the rest are not decided.
		give(0)
		b.items = []*runItem{{pos: first, o: chunk[0].Object, deny: b.end}}
		if _, err := s.launch(ctx, r, p, &b, true, budget, out); err != nil {
			return true, err
		}
		return true, nil
	}
	items := make([]*runItem, len(chunk))
	for i, ro := range chunk {
		o := ro.Object
		it := &runItem{pos: ro.Position, o: o, weight: weights[i]}
		if o.Erased != nil || o.WrappedKeyset == nil || slices.Contains(erased, ro.Position) {
			budget.Release(it.weight)
			it.weight = 0
			it.deny = &access.Verdict{Reason: reason.Erased, Code: ombud.CodeGone, Message: "the object was erased"}
		}
		items[i] = it
	}
	// Open concurrently, and build each decision's entry.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runOpeners, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(items) {
					return
				}
				it := items[k]
				if it.deny == nil {
					op, rf := s.open(ctx, it.o)
					if rf != nil {
						budget.Release(it.weight)
						it.weight = 0
						s.logger().ErrorContext(ctx, "a read in a run refused", "object", it.o.ID, "run", r.ID, "reason", rf.reason, "err", rf.cause)
						it.deny = &access.Verdict{Reason: rf.reason, Code: rf.code, Message: rf.msg}
					} else {
						it.op = op
					}
				}
				s.build(r, p, it)
			}
		}()
	}
	wg.Wait()
	b.items = items
	ended, err := s.launch(ctx, r, p, &b, false, budget, out)
	if ended || err != nil {
		return true, err
	}
	return false, ctx.Err()
}
