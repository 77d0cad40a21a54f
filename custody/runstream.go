package custody

import (
	"context"
	"errors"
	"io"

	"golang.org/x/sync/semaphore"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/reason"
)

// Part is one object of a run's stream: released (Body set, and Index its
// permit's entry) or denied (Denial set).
type Part struct {
	Position int
	Object   *ombud.Object
	Index    uint64
	Body     io.Reader
	Denial   *Denial
	// Last marks the last part of a batch: the next may take a while, so
	// a writer flushes here.
	Last bool
}

// RunRead asks to read a run's objects from position From on.
type RunRead struct {
	Principal *ombud.Principal
	RunID     string
	From      int
	// Emit receives each object in order, after its decision is durably
	// logged. It must not keep Part.Body past its return. An error stops
	// the stream.
	Emit func(Part) error
}

// The stream's bounds: objects are decided and logged in batches of at
// most runBatch, and the plaintext held for objects decided but not yet
// sent stays under runBudget bytes, so memory does not grow with the
// number or the size of the objects.
const (
	runBatch  = 256
	runBudget = 32 << 20
	// runLargeWeight is what an object of several segments counts against
	// the budget: the buffers of the stream that reads it ahead, not its
	// size.
	runLargeWeight = keys.StreamBuffers
)

// ReadRun streams a run's objects from position From. Each object's access
// entry, which names the run, is durably logged before Emit sees it; the
// entries of a batch are appended concurrently, so the log sequences them
// together. A read spends no further use: the run spent one when it
// started. The stream stops, with a logged denial of the next object, when
// the run is closed, passes its time limit, its authorization is revoked
// or its version retired. An erased object, or one that cannot be served, is a logged
// denial and the stream goes on. From lets an interrupted stream resume.
func (s *Service) ReadRun(ctx context.Context, req RunRead) error {
	p := req.Principal
	if p == nil {
		return errors.New("custody: run read without a principal")
	}
	if err := ombud.ValidateIdentifier("run", req.RunID); err != nil {
		return err
	}
	r, err := s.Store.Run(ctx, req.RunID)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && !maySee(p, r)) {
		return ombud.Errorf(ombud.CodeNotFound, "no such run")
	}
	if err != nil {
		return err
	}
	if req.From < 0 || req.From > r.Objects {
		return ombud.Errorf(ombud.CodeInvalid, "from must be a position from 0 to %d", r.Objects)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *runBatchT, 4)
	budget := semaphore.NewWeighted(runBudget)
	go s.produceRun(ctx, r, p, req.From, budget, batches)
	var failure error
	for b := range batches {
		if failure == nil {
			<-b.logged
			failure = b.err
		}
		for i, it := range b.items {
			if failure == nil {
				pt := it.part()
				pt.Last = i == len(b.items)-1
				if pt.Body != nil && it.o.CipherSize > smallObject {
					pt.Body = s.runStopLogged(ctx, r, p, it, pt.Body)
				}
				failure = req.Emit(pt)
				if failure != nil {
					cancel()
				}
			}
			it.close()
			budget.Release(it.weight)
		}
	}
	if failure != nil {
		return failure
	}
	return nil
}

// runBatchT is a batch of decided objects: logged when logged is closed,
// with err the failure to log them.
type runBatchT struct {
	items  []*runItem
	logged chan struct{}
	err    error
	// stop: the last batch, ending at a denial that ends the run's
	// reading.
	stop bool
}

type runItem struct {
	pos    int
	o      *ombud.Object
	op     *opened
	weight int64
	leaf   journal.Leaf
	deny   *access.Verdict
	// built is its access entry, built as soon as it is decided.
	built    journal.Built
	buildErr error
}

// build builds the item's access entry.
func (s *Service) build(r *ombud.Run, p *ombud.Principal, it *runItem) {
	e, leaf, d, err := s.Journal.Build(s.runAccessRecord(r, p, it))
	it.built, it.buildErr = journal.Built{Entry: e, Leaf: leaf, Detail: d}, err
}

func (it *runItem) part() Part {
	pt := Part{Position: it.pos, Object: it.o, Index: it.leaf.Index}
	if it.deny != nil {
		pt.Denial = &Denial{Code: it.deny.Code, Message: it.deny.Message, Reason: it.deny.Reason, Index: it.leaf.Index}
	} else {
		pt.Body = it.op.body
	}
	return pt
}

func (it *runItem) close() {
	if it.op != nil {
		it.op.close()
		it.op = nil
	}
}

func (s *Service) produceRun(ctx context.Context, r *ombud.Run, p *ombud.Principal, from int, budget *semaphore.Weighted, out chan<- *runBatchT) {
	defer close(out)
	fail := func(err error) {
		b := &runBatchT{logged: make(chan struct{}), err: err}
		close(b.logged)
		out <- b
	}
	// The next page is read while this one is decided.
	type pageT struct {
		objects []ombud.RunObject
		err     error
		// erasures is the count of this process's erasures before the
		// page was read.
		erasures uint64
	}
	pages := make(chan pageT, 1)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(pages)
		for pos := from; pos < r.Objects; {
			erasures := s.erasures.Load()
			page, err := s.Store.RunObjects(pctx, r.ID, pos, runBatch)
			if len(page) == 0 && err == nil {
				return
			}
			select {
			case pages <- pageT{page, err, erasures}:
			case <-pctx.Done():
				return
			}
			if err != nil {
				return
			}
			pos = page[len(page)-1].Position + 1
		}
	}()
	for pg := range pages {
		if pg.err != nil {
			fail(pg.err)
			return
		}
		stopped, err := s.decidePage(ctx, r, p, pg.objects, pg.erasures, budget, out)
		if err != nil {
			fail(err)
			return
		}
		if stopped {
			return
		}
	}
}

// runStopLogged logs, as a denial of the object in the run, a large
// object whose release stops midway (a segment fails its check, or the
// store fails to deliver it), as a single read does (failureLogged); the
// stream stops there.
func (s *Service) runStopLogged(ctx context.Context, r *ombud.Run, p *ombud.Principal, it *runItem, body io.Reader) io.Reader {
	return &failureLogged{ctx: ctx, r: body, log: func(cause error) {
		why := stopReason(body, cause)
		s.logger().ErrorContext(ctx, "a run's stream stopped: "+why, "run", r.ID, "object", it.o.ID, "receipt", it.leaf.Index, "err", cause)
		denied := *it
		denied.deny = &access.Verdict{Reason: why, Code: ombud.CodeInternal, Message: "the object's release stopped: " + why}
		if _, err := s.Journal.Write(context.WithoutCancel(ctx), s.runAccessRecord(r, p, &denied)); err != nil {
			s.logger().ErrorContext(ctx, "the stopped release could not be logged", "run", r.ID, "object", it.o.ID, "err", err)
		}
	}}
}

// runAccessRecord is the access entry of one object read in a run: it
// names the run, whose entry names the authorization and the system.
func (s *Service) runAccessRecord(r *ombud.Run, p *ombud.Principal, it *runItem) journal.Record {
	body := entry.Access{Decision: entry.Permit, Class: it.o.Class, Purpose: r.Purpose, Reasons: []string{reason.InRun},
		Object: it.o.ID, Subject: it.o.Subjects, Run: r.ID, By: p.ID}
	if it.deny != nil {
		body.Decision, body.Reasons = entry.Deny, []string{it.deny.Reason}
	}
	return journal.Record{Body: body, Detail: entry.RunReadDetail{Object: it.o.ID, Position: it.pos, Run: r.ID}}
}
