package custody

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// RunRequest asks to start an analytic run.
type RunRequest struct {
	Principal       *ombud.Principal
	System          string // the analytic system's id
	Version         string
	Purpose         string
	AuthorizationID string
	// Objects lists the objects by id, in the order they are read; or
	// else Selection selects them.
	Objects   []string
	Selection *Selection
	// Justification is free text, kept only in the detail record.
	Justification string
}

// Selection selects a run's objects: every live object of a class that
// names a subject, oldest first.
type Selection struct {
	Class   string
	Subject string // the identifier; only its keyed pseudonym is used
}

// refuseRun is a refusal about a run that logs nothing (a refused
// operation), with its own reason.
func refuseRun(code ombud.Code, reason, format string, a ...any) *ombud.Error {
	return &ombud.Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, a...)}
}

// runGate names a run's gate: each batch of its reads holds it shared
// until logged, its close alone.
func runGate(id string) string { return "run:" + id }

// versionGate names a system version's gate: each batch of a run's reads
// holds it shared until logged, the version's retirement alone
// (VersionExclusive).
func versionGate(system, version string) string { return "version:" + system + "/" + version }

// VersionExclusive holds a system version's gate alone and returns its
// release: a retirement holds it while logged, so that every read of a
// run of the version decided before it is logged before it, and every
// read after it sees the version retired.
func (s *Service) VersionExclusive(system, version string) (release func()) {
	return s.gates.Exclusive(versionGate(system, version))
}

// maySee reports whether p may read through, close or look at run r: its
// starter, or a machine of its system.
func maySee(p *ombud.Principal, r *ombud.Run) bool {
	return p.ID == r.Principal || (p.Has(ombud.RoleSystem) && p.System == r.System)
}

// StartRun checks a run over its whole set before anything is read, and
// logs it: the system version is registered and not retired, every object
// exists, is not erased and is of a class the system may process, the
// authorization covers the purpose, every class and a subject of every
// object (or no object is of a sensitive class), and the policy permits
// it. A selection is decided on its class and subject before it is
// looked up, so that a refusal does not tell whether the person has
// records. Starting spends one use of the authorization, taken with the
// run's reservation. The run entry's detail record holds the object list, so
// the entry commits to it.
//
// A request that is malformed is refused as bad input and logs nothing.
// Every other refusal is a decision on the objects the run names, logged
// as a run entry with decision deny and the refusal's reason (a
// *Denial with its Index), as a refused read is.
func (s *Service) StartRun(ctx context.Context, req RunRequest) (*ombud.Run, journal.Leaf, error) {
	p := req.Principal
	if p == nil {
		return nil, journal.Leaf{}, errors.New("custody: run without a principal")
	}
	if err := s.checkRunRequest(req); err != nil {
		return nil, journal.Leaf{}, err
	}
	if !p.Has(ombud.RoleSystem) && !p.Has(ombud.RoleAnalyst) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeForbidden, "starting a run needs the analyst or the system role")
	}
	// The starter's gate and the authorization's are held until the run
	// (or its refusal) is logged, so a disabling or a revocation is logged
	// before it or after it, never in between.
	defer s.gates.Shared(principalGate(p.ID))()
	if _, gone := s.disabled.Load(p.ID); gone {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeUnauthenticated, "invalid or disabled token")
	}
	if req.AuthorizationID != "" {
		defer s.Access.Shared(req.AuthorizationID)()
	}
	run := &ombud.Run{ID: ombud.NewID(), System: req.System, Version: req.Version, Purpose: req.Purpose, Authorization: req.AuthorizationID,
		Principal: p.ID, Started: s.now().Truncate(time.Millisecond)}
	body := entry.Run{Op: entry.OpStart, Decision: entry.Deny, ModelVersion: req.Version, Purpose: req.Purpose, Objects: int64(len(req.Objects)),
		Run: run.ID, System: req.System, Authorization: req.AuthorizationID, By: p.ID}
	detail := map[string]any{"run": run.ID, "objects": req.Objects, "principal": p.ID, "justification": req.Justification}
	if req.Selection != nil {
		detail["selection_class"] = req.Selection.Class
	}
	// v is the run's decision once taken; a refusal after it gives back
	// the use it admitted.
	var v access.Verdict
	refund := func() {
		s.Access.Refund(context.WithoutCancel(ctx), v, false)
		v.Use = 0
	}
	// refuse logs a refusal and returns it.
	refuse := func(code ombud.Code, reason, format string, a ...any) (*ombud.Run, journal.Leaf, error) {
		refund()
		body.Reasons = []string{reason}
		if body.PolicySHA256 == "" {
			if pol := s.Access.Policy(); pol != nil {
				body.PolicySHA256 = pol.SHA
			}
		}
		w, err := s.Journal.Write(ctx, journal.Record{Body: body, Detail: detail})
		if err != nil {
			return nil, journal.Leaf{}, wrapLog(err)
		}
		return nil, journal.Leaf{}, &Denial{Code: code, Reason: reason, Message: fmt.Sprintf(format, a...), Index: w.Index}
	}
	fail := func(err error) (*ombud.Run, journal.Leaf, error) {
		refund()
		return nil, journal.Leaf{}, err
	}
	if p.Has(ombud.RoleSystem) && p.System != req.System {
		return refuse(ombud.CodeForbidden, ombud.ReasonSystemMismatch, "a system principal starts runs of its own system only")
	}
	sys, err := s.Store.AnalyticSystem(ctx, req.System)
	if errors.Is(err, ombud.ErrNotFound) {
		return refuse(ombud.CodeNotFound, ombud.ReasonVersionUnknown, "no such analytic system is registered")
	} else if err != nil {
		return nil, journal.Leaf{}, err
	}
	sv := sys.Version(req.Version)
	switch {
	case sv == nil:
		return refuse(ombud.CodeNotFound, ombud.ReasonVersionUnknown, "system %s has no registered version %s", sys.Name, req.Version)
	case sv.Retired != nil:
		return refuse(ombud.CodeConflict, ombud.ReasonVersionRetired, "version %s of system %s is retired", req.Version, sys.Name)
	}
	decide := func(sets []access.RunSet) error {
		var err error
		if v, err = s.Access.DecideRun(ctx, access.RunRequest{Principal: p, RunID: run.ID, Purpose: req.Purpose, AuthorizationID: req.AuthorizationID, Sets: sets, Classes: s.Classes}); err != nil {
			return err
		}
		body.PolicySHA256, body.AuthKind = v.PolicySHA, v.AuthKind
		return nil
	}
	ids := req.Objects
	if sel := req.Selection; sel != nil {
		// Whether a person has records is itself sensitive: a selection
		// is decided whole, on its class and subject alone, before it is
		// looked up, so that every refusal by the system's classes, the
		// authorization or the policy is the same, and counts nothing,
		// for a person with records and one without. Every object the
		// selection holds is of its class and names its subject, so the
		// decision covers them all.
		if !slices.Contains(sys.Classes, sel.Class) {
			return refuse(ombud.CodeForbidden, ombud.ReasonClassNotAllowed, "the selection is of a class system %s may not process", sys.Name)
		}
		subject := s.Journal.Key.Pseudonym("subject", sel.Subject)
		if err := decide([]access.RunSet{{Class: sel.Class, Subjects: []string{subject}}}); err != nil {
			return nil, journal.Leaf{}, err
		}
		if !v.Permit {
			return refuse(v.Code, v.Reason, "%s", v.Message)
		}
		if ids, err = s.Store.SelectObjects(ctx, sel.Class, subject, ombud.MaxRunObjects+1); err != nil {
			return fail(err)
		}
		detail["objects"], body.Objects = ids, int64(len(ids))
		switch {
		case len(ids) == 0:
			return refuse(ombud.CodeNotFound, ombud.ReasonObjectUnknown, "the selection holds no live object")
		case len(ids) > ombud.MaxRunObjects:
			body.Objects = 0
			return refuse(ombud.CodeTooLarge, ReasonTooManyObjects, "the selection holds more than %d objects; a run reads at most that many", ombud.MaxRunObjects)
		}
	}
	// What the checks need of each object, read in parts; the decision
	// depends only on the distinct (class, subjects) sets.
	var sets []access.RunSet
	var classes []string
	bySet := map[string]bool{}
	for from := 0; from < len(ids); from += 2000 {
		part := ids[from:min(from+2000, len(ids))]
		facts, err := s.Store.ObjectFacts(ctx, part)
		if err != nil {
			return fail(err)
		}
		for k, id := range part {
			i := from + k
			f, ok := facts[id]
			switch {
			case !ok:
				return refuse(ombud.CodeNotFound, ombud.ReasonObjectUnknown, "object %d of the run (%s) does not exist", i, id)
			case f.Erased:
				return refuse(ombud.CodeGone, ombud.ReasonObjectErased, "object %d of the run (%s) was erased", i, id)
			case !slices.Contains(sys.Classes, f.Class):
				return refuse(ombud.CodeForbidden, ombud.ReasonClassNotAllowed, "object %d of the run is of a class system %s may not process", i, sys.Name)
			}
			if key := f.Class + "\x00" + f.Subjects; !bySet[key] {
				bySet[key] = true
				set := access.RunSet{First: i, Class: f.Class}
				if f.Subjects != "" {
					set.Subjects = strings.Split(f.Subjects, ",")
				}
				sets = append(sets, set)
			}
			if !slices.Contains(classes, f.Class) {
				classes = append(classes, f.Class)
			}
		}
	}
	slices.Sort(classes)
	run.Objects, run.Classes, body.Classes = len(ids), classes, classes
	limit := s.RunTimeLimit
	if limit <= 0 {
		limit = ombud.DefaultRunTimeLimit
	}
	run.Deadline = run.Started.Add(limit)
	if req.Selection == nil {
		if err := decide(sets); err != nil {
			return nil, journal.Leaf{}, err
		}
		if !v.Permit {
			return refuse(v.Code, v.Reason, "%s", v.Message)
		}
	}
	if !v.NotAfter.IsZero() && v.NotAfter.Before(run.Deadline) {
		run.Deadline = v.NotAfter.UTC().Truncate(time.Millisecond)
	}
	body.Decision, body.Reasons, body.Use, body.Until = entry.Permit, []string{v.Reason}, int64(v.Use), run.Deadline.Format(time.RFC3339Nano)
	// The use admitted in memory becomes durable with the run's
	// reservation, and goes back with it if the run is not logged.
	c, err := journal.RunStart.Change(run.ID, journal.RunPayload{Run: run, Objects: ids})
	if err != nil {
		return fail(err)
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: body, Detail: detail}, nil)
	if err != nil && w.Entry == nil {
		refund()
		// Decided against a state that changed meanwhile: the refusal is
		// decided anew against it, and logged.
		body.Use, body.Until = 0, ""
		body.Decision = entry.Deny
		switch {
		case errors.Is(err, ombud.ErrRetired):
			return refuse(ombud.CodeConflict, ombud.ReasonVersionRetired, "version %s of system %s was retired meanwhile", sv.Version, sys.Name)
		case errors.Is(err, ombud.ErrErased):
			return refuse(ombud.CodeGone, ombud.ReasonObjectErased, "an object of the run was erased meanwhile")
		case errors.Is(err, ombud.ErrRevoked):
			return refuse(ombud.CodeForbidden, ombud.ReasonAuthRevoked, "the authorization was revoked meanwhile")
		case errors.Is(err, ombud.ErrExhausted):
			return refuse(ombud.CodeForbidden, ombud.ReasonAuthExhausted, "the authorization has no uses left")
		case errors.Is(err, ombud.ErrNotFound):
			return refuse(ombud.CodeNotFound, ombud.ReasonObjectUnknown, "an object or the version of the run is gone")
		}
		return nil, journal.Leaf{}, wrapLog(err)
	}
	if err != nil {
		return nil, w, err
	}
	run.Index = w.Index
	s.scheduleRunClose(run)
	return run, w, nil
}

// ReasonTooManyObjects: a selection holds more objects than a run may read.
const ReasonTooManyObjects = "too_many_objects"

// checkRunRequest refuses a malformed request: bad input, logged nowhere.
func (s *Service) checkRunRequest(req RunRequest) error {
	if err := s.checkPurpose(req.Purpose); err != nil {
		return err
	}
	if len(req.Justification) > 1024 {
		return ombud.Errorf(ombud.CodeInvalid, "justification is limited to 1024 bytes")
	}
	if req.AuthorizationID != "" {
		if err := ombud.ValidateIdentifier("authorization", req.AuthorizationID); err != nil {
			return err
		}
	}
	if err := ombud.ValidateIdentifier("system", req.System); err != nil {
		return err
	}
	if !entry.IsCode(req.Version) || len(req.Version) > 64 {
		return ombud.Errorf(ombud.CodeInvalid, "version must be a registered version's code")
	}
	if (len(req.Objects) == 0) == (req.Selection == nil) {
		return ombud.Errorf(ombud.CodeInvalid, "name the run's objects: a list of ids or a selection (class and subject), one of the two")
	}
	if sel := req.Selection; sel != nil {
		if _, err := s.class(sel.Class); err != nil {
			return err
		}
		return ombud.ValidateIdentifier("subject", sel.Subject)
	}
	if len(req.Objects) > ombud.MaxRunObjects {
		return ombud.Errorf(ombud.CodeTooLarge, "a run reads at most %d objects; this one lists %d", ombud.MaxRunObjects, len(req.Objects))
	}
	seen := make(map[string]struct{}, len(req.Objects))
	for i, id := range req.Objects {
		if err := ombud.ValidateIdentifier("object", id); err != nil {
			return ombud.Errorf(ombud.CodeInvalid, "objects[%d]: %s", i, ombud.ErrorMessage(err))
		}
		if _, dup := seen[id]; dup {
			return ombud.Errorf(ombud.CodeInvalid, "objects[%d]: object %s is listed twice", i, id)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// Run returns a run for p: its starter, or a machine of its system.
func (s *Service) Run(ctx context.Context, p *ombud.Principal, id string) (*ombud.Run, error) {
	if err := ombud.ValidateIdentifier("run", id); err != nil {
		return nil, err
	}
	r, err := s.Store.Run(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && !maySee(p, r) && !p.Has(ombud.RoleAdmin)) {
		return nil, ombud.Errorf(ombud.CodeNotFound, "no such run")
	}
	return r, err
}

// CloseRun ends a run with its summary entry: objects read and bytes. Its
// starter, a machine of its system or an admin may close it. It waits for
// the reads already decided, so the close entry follows every read of the
// run.
func (s *Service) CloseRun(ctx context.Context, p *ombud.Principal, id string) (*ombud.Run, journal.Leaf, error) {
	r, err := s.Run(ctx, p, id)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	return s.closeRun(ctx, r, ombud.RunClosed, p.ID)
}

func (s *Service) closeRun(ctx context.Context, r *ombud.Run, reason, by string) (*ombud.Run, journal.Leaf, error) {
	defer s.gates.Exclusive(runGate(r.ID))()
	r, err := s.Store.Run(ctx, r.ID) // the counts, now that no read is in flight
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if r.Closed != nil {
		return nil, journal.Leaf{}, refuseRun(ombud.CodeConflict, ombud.ReasonRunClosed, "the run is closed already")
	}
	at := s.now().Truncate(time.Millisecond)
	c, err := journal.RunClose.Change(r.ID, journal.RunClosePayload{Reason: reason, At: at, Read: r.Read, Bytes: r.Bytes})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	body := entry.Run{Op: entry.OpClose, ModelVersion: r.Version, Purpose: r.Purpose, Objects: int64(r.Objects), Reasons: []string{reason},
		Read: r.Read, Bytes: r.Bytes, Run: r.ID, System: r.System, Authorization: r.Authorization, By: by}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: body}, nil)
	switch {
	case errors.Is(err, ombud.ErrRunClosed):
		return nil, journal.Leaf{}, refuseRun(ombud.CodeConflict, ombud.ReasonRunClosed, "the run is closed already")
	case err != nil:
		return nil, w, err
	}
	s.closedRuns.Store(r.ID, true)
	r.Closed, r.CloseIndex, r.CloseReason = &at, w.Index, reason
	return r, w, nil
}

// scheduleRunClose closes r by itself at its time limit.
func (s *Service) scheduleRunClose(r *ombud.Run) {
	d := time.Until(r.Deadline)
	if s.Now != nil {
		d = r.Deadline.Sub(s.now())
	}
	s.bg.after(max(d, 0), func(ctx context.Context) {
		if _, err := s.CloseExpiredRuns(ctx); err != nil {
			s.logger().Error("closing runs at their time limit failed; the sweep retries", "err", err)
		}
	})
}

// ScheduleRunCloses sets the timers of the open runs, at start: each ends
// by itself at its time limit (the sweep catches any a timer missed).
func (s *Service) ScheduleRunCloses(ctx context.Context) error {
	rs, err := s.Store.OpenRunsBefore(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	for _, r := range rs {
		s.scheduleRunClose(r)
	}
	return nil
}

// CloseExpiredRuns closes every open run past its time limit, each with
// its summary entry, and returns how many it closed. The sweep calls it;
// so does each run's timer.
func (s *Service) CloseExpiredRuns(ctx context.Context) (int, error) {
	rs, err := s.Store.OpenRunsBefore(ctx, s.now().Add(time.Millisecond))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		_, _, err := s.closeRun(ctx, r, ombud.RunTimeLimit, "")
		if e := (*ombud.Error)(nil); errors.As(err, &e) && e.Reason == ombud.ReasonRunClosed {
			continue // closed meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

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
	// the budget: Tink's streaming buffers, not its size.
	runLargeWeight = 4 << 20
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
		for _, c := range it.op.closers {
			c.Close()
		}
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
	}
	pages := make(chan pageT, 1)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(pages)
		for pos := from; pos < r.Objects; {
			page, err := s.Store.RunObjects(pctx, r.ID, pos, runBatch)
			if len(page) == 0 && err == nil {
				return
			}
			select {
			case pages <- pageT{page, err}:
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
		stopped, err := s.decidePage(ctx, r, p, pg.objects, budget, out)
		if err != nil {
			fail(err)
			return
		}
		if stopped {
			return
		}
	}
}

// batchBuilder gathers one batch of a run's reads and the gates it holds.
type batchBuilder struct {
	items    []*runItem
	releases []func()
	open     bool            // its gates are held
	end      *access.Verdict // the denial that ends the run's reading
}

func (b *batchBuilder) hold(release func()) { b.releases = append(b.releases, release) }

func (b *batchBuilder) abort() {
	for _, it := range b.items {
		it.close()
	}
	for _, f := range b.releases {
		f()
	}
	*b = batchBuilder{}
}

// openBatch takes a batch's gates, which it holds until its entries are
// logged, so that a close, a revocation, a disabling or an erasure is
// logged before the batch or after it; under them, it checks what ends
// the run's reading. The gates are taken in the order every reader takes
// them, so that no two holders wait on each other: the run's, the
// version's, the reader's, the objects' (sorted by id), the
// authorization's.
func (s *Service) openBatch(ctx context.Context, r *ombud.Run, p *ombud.Principal, objects []string, b *batchBuilder) error {
	b.open = true
	b.hold(s.gates.Shared(runGate(r.ID)))
	b.hold(s.gates.Shared(versionGate(r.System, r.Version)))
	b.hold(s.gates.Shared(principalGate(p.ID)))
	objects = slices.Clone(objects)
	slices.Sort(objects)
	for i, id := range objects {
		if i == 0 || id != objects[i-1] {
			b.hold(s.gates.Shared(objectGate(id)))
		}
	}
	if r.Authorization != "" {
		b.hold(s.Access.Shared(r.Authorization))
	}
	if _, gone := s.disabled.Load(p.ID); gone {
		return ombud.Errorf(ombud.CodeUnauthenticated, "invalid or disabled token")
	}
	if _, closed := s.closedRuns.Load(r.ID); closed || r.Closed != nil {
		b.end = &access.Verdict{Reason: ombud.ReasonRunClosed, Code: ombud.CodeConflict, Message: "the run is closed"}
		return nil
	}
	sys, err := s.Store.AnalyticSystem(ctx, r.System)
	if err != nil {
		return err
	}
	if v := sys.Version(r.Version); v == nil || v.Retired != nil {
		b.end = &access.Verdict{Reason: ombud.ReasonVersionRetired, Code: ombud.CodeConflict, Message: "the run's system version was retired"}
		return nil
	}
	if r.Authorization != "" {
		revoked, err := s.Access.Revoked(ctx, r.Authorization)
		if err != nil {
			return err
		}
		if revoked {
			b.end = &access.Verdict{Reason: ombud.ReasonAuthRevoked, Code: ombud.CodeForbidden, Message: "the run's authorization was revoked"}
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
			b.end = &access.Verdict{Reason: ombud.ReasonStarterDisabled, Code: ombud.CodeForbidden, Message: "the principal who started the run was disabled"}
		}
	}
	return nil
}

// launch starts logging b's entries and hands the batch to out; b is
// emptied for the next batch.
func (s *Service) launch(ctx context.Context, r *ombud.Run, p *ombud.Principal, b *batchBuilder, stop bool, budget *semaphore.Weighted, out chan<- *runBatchT) (ended bool, err error) {
	items, rel := b.items, b.releases
	*b = batchBuilder{}
	releaseAll := func() {
		for _, f := range rel {
			f()
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
			it.weight, it.deny = 0, &access.Verdict{Reason: ombud.ReasonRunTimeLimit, Code: ombud.CodeGone, Message: "the run is past its time limit"}
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
func (s *Service) decidePage(ctx context.Context, r *ombud.Run, p *ombud.Principal, page []ombud.RunObject, budget *semaphore.Weighted, out chan<- *runBatchT) (bool, error) {
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
		if stop, err := s.decideChunk(ctx, r, p, chunk, weights, budget, out); stop || err != nil {
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
func (s *Service) decideChunk(ctx context.Context, r *ombud.Run, p *ombud.Principal, chunk []ombud.RunObject, weights []int64, budget *semaphore.Weighted, out chan<- *runBatchT) (bool, error) {
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
	// destroyed).
	first, last := chunk[0].Position, chunk[len(chunk)-1].Position
	erased, err := s.Store.ErasedRunObjects(ctx, r.ID, first, last+1)
	if err != nil {
		return fail(err)
	}
	if b.end == nil && !s.now().Before(r.Deadline) {
		b.end = &access.Verdict{Reason: ombud.ReasonRunTimeLimit, Code: ombud.CodeGone, Message: "the run is past its time limit"}
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
			it.deny = &access.Verdict{Reason: ReasonErased, Code: ombud.CodeGone, Message: "the object was erased"}
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

// runAccessRecord is the access entry of one object read in a run: it
// names the run, whose entry names the authorization and the system.
func (s *Service) runAccessRecord(r *ombud.Run, p *ombud.Principal, it *runItem) journal.Record {
	body := entry.Access{Decision: entry.Permit, Class: it.o.Class, Purpose: r.Purpose, Reasons: []string{ombud.ReasonInRun},
		Object: it.o.ID, Subject: it.o.Subjects, Run: r.ID, By: p.ID}
	if it.deny != nil {
		body.Decision, body.Reasons = entry.Deny, []string{it.deny.Reason}
	}
	return journal.Record{Body: body, Detail: runReadDetail{Object: it.o.ID, Position: it.pos, Run: r.ID}}
}

// runReadDetail is the detail record of a read in a run: what the auditor
// matches against the run's list. A struct, not a map, for its encoding's
// cost (one per object); the keys are in the order a map's would be.
type runReadDetail struct {
	Object   string `json:"object"`
	Position int    `json:"position"`
	Run      string `json:"run"`
}

// closeAfterLimit closes a run the stream found past its time limit.
func (s *Service) closeAfterLimit(r *ombud.Run) {
	s.bg.do(func(ctx context.Context) {
		if _, err := s.CloseExpiredRuns(ctx); err != nil {
			s.logger().Error("closing a run at its time limit failed; the sweep retries", "run", r.ID, "err", err)
		}
	})
}
