package custody

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
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
// (Gates.VersionExclusive).
func versionGate(system, version string) string { return "version:" + system + "/" + version }

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
	h := s.gates.Begin()
	defer h.Release()
	gates := []string{principalGate(p.ID), access.PolicyGate}
	if req.AuthorizationID != "" {
		gates = append(gates, access.Gate(req.AuthorizationID))
	}
	if err := h.Shared(ctx, gates...); err != nil {
		return nil, journal.Leaf{}, err
	}
	if _, err := s.checkReader(ctx, p); err != nil {
		return nil, journal.Leaf{}, err
	}
	st := s.newRunStart(req)
	// Check the version, then the objects: a selection is decided, and
	// admits its use, before it is looked up.
	if err := st.checkVersion(ctx); err != nil {
		return nil, journal.Leaf{}, err
	}
	if err := st.selectObjects(ctx); err != nil {
		return nil, journal.Leaf{}, err
	}
	if err := st.checkObjects(ctx); err != nil {
		return nil, journal.Leaf{}, err
	}
	// Decide, admitting one use of the authorization in memory.
	if err := st.decide(ctx); err != nil {
		return nil, journal.Leaf{}, err
	}
	// Reserve, log and commit the run's change.
	w, err := st.apply(ctx)
	if err != nil {
		return nil, w, err
	}
	run := st.run
	run.Index = w.Index
	s.scheduleRunClose(run)
	return run, w, nil
}

// runStart is a run being started: what the steps of StartRun share.
type runStart struct {
	s      *Service
	req    RunRequest
	run    *ombud.Run
	body   entry.Run
	detail entry.RunDetail
	// v is the run's decision once taken; a refusal after it gives back
	// the use it admitted.
	v   access.Verdict
	sys *ombud.AnalyticSystem
	sv  *ombud.SystemVersion
	ids []string
	// sets are the distinct (class, subjects) sets of the objects: the
	// decision depends only on them.
	sets []access.RunSet
}

func (s *Service) newRunStart(req RunRequest) *runStart {
	p := req.Principal
	run := &ombud.Run{ID: ombud.NewID(), System: req.System, Version: req.Version, Purpose: req.Purpose, Authorization: req.AuthorizationID,
		Principal: p.ID, Started: s.now().Truncate(time.Millisecond)}
	body := entry.Run{Op: entry.OpStart, Decision: entry.Deny, ModelVersion: req.Version, Purpose: req.Purpose, Objects: int64(len(req.Objects)),
		Run: run.ID, System: req.System, Authorization: req.AuthorizationID, By: p.ID}
	detail := entry.RunDetail{Justification: req.Justification, Objects: req.Objects, Principal: p.ID, Run: run.ID}
	if req.Selection != nil {
		detail.SelectionClass = req.Selection.Class
	}
	return &runStart{s: s, req: req, run: run, body: body, detail: detail, ids: req.Objects}
}

func (st *runStart) refund(ctx context.Context) {
	st.s.Access.Refund(context.WithoutCancel(ctx), st.v, false)
	st.v.Use = 0
}

// refuse logs a refusal and returns it.
func (st *runStart) refuse(ctx context.Context, code ombud.Code, reason, format string, a ...any) error {
	st.refund(ctx)
	st.body.Reasons = []string{reason}
	if st.body.PolicySHA256 == "" {
		if pol := st.s.Access.Policy(); pol != nil {
			st.body.PolicySHA256 = pol.SHA
		}
	}
	w, err := st.s.Journal.Write(ctx, journal.Record{Body: st.body, Detail: st.detail})
	if err != nil {
		return wrapLog(err)
	}
	return &Denial{Code: code, Reason: reason, Message: fmt.Sprintf(format, a...), Index: w.Index}
}

func (st *runStart) fail(ctx context.Context, err error) error {
	st.refund(ctx)
	return err
}

// checkVersion checks the system version: registered, not retired, and
// of the starter's own system for a machine.
func (st *runStart) checkVersion(ctx context.Context) error {
	p, req := st.req.Principal, st.req
	if p.Has(ombud.RoleSystem) && p.System != req.System {
		return st.refuse(ctx, ombud.CodeForbidden, reason.SystemMismatch, "a system principal starts runs of its own system only")
	}
	sys, err := st.s.Store.AnalyticSystem(ctx, req.System)
	if errors.Is(err, ombud.ErrNotFound) {
		return st.refuse(ctx, ombud.CodeNotFound, reason.VersionUnknown, "no such analytic system is registered")
	} else if err != nil {
		return err
	}
	sv := sys.Version(req.Version)
	switch {
	case sv == nil:
		return st.refuse(ctx, ombud.CodeNotFound, reason.VersionUnknown, "system %s has no registered version %s", sys.Name, req.Version)
	case sv.Retired != nil:
		return st.refuse(ctx, ombud.CodeConflict, reason.VersionRetired, "version %s of system %s is retired", req.Version, sys.Name)
	}
	st.sys, st.sv = sys, sv
	return nil
}

// decideSets takes the run's decision over sets.
func (st *runStart) decideSets(ctx context.Context, sets []access.RunSet) error {
	req := st.req
	var err error
	if st.v, err = st.s.Access.DecideRun(ctx, access.RunRequest{Principal: req.Principal, RunID: st.run.ID, Purpose: req.Purpose, AuthorizationID: req.AuthorizationID, Sets: sets, Classes: st.s.Classes}); err != nil {
		return err
	}
	st.body.PolicySHA256, st.body.AuthKind = st.v.PolicySHA, st.v.AuthKind
	return nil
}

// selectObjects decides a selection and then looks up its objects; a
// request that lists its objects has nothing to do here.
func (st *runStart) selectObjects(ctx context.Context) error {
	sel := st.req.Selection
	if sel == nil {
		return nil
	}
	// Whether a person has records is itself sensitive: a selection
	// is decided whole, on its class and subject alone, before it is
	// looked up, so that every refusal by the system's classes, the
	// authorization or the policy is the same, and counts nothing,
	// for a person with records and one without. Every object the
	// selection holds is of its class and names its subject, so the
	// decision covers them all.
	if !slices.Contains(st.sys.Classes, sel.Class) {
		return st.refuse(ctx, ombud.CodeForbidden, reason.ClassNotAllowed, "the selection is of a class system %s may not process", st.sys.Name)
	}
	subject := st.s.Journal.Key.Pseudonym("subject", sel.Subject)
	if err := st.decideSets(ctx, []access.RunSet{{Class: sel.Class, Subjects: []string{subject}}}); err != nil {
		return err
	}
	if !st.v.Permit {
		return st.refuse(ctx, st.v.Code, st.v.Reason, "%s", st.v.Message)
	}
	ids, err := st.s.Store.SelectObjects(ctx, sel.Class, subject, ombud.MaxRunObjects+1)
	if err != nil {
		return st.fail(ctx, err)
	}
	st.ids = ids
	st.detail.Objects, st.body.Objects = ids, int64(len(ids))
	switch {
	case len(ids) == 0:
		return st.refuse(ctx, ombud.CodeNotFound, reason.ObjectUnknown, "the selection holds no live object")
	case len(ids) > ombud.MaxRunObjects:
		st.body.Objects = 0
		return st.refuse(ctx, ombud.CodeTooLarge, reason.TooManyObjects, "the selection holds more than %d objects; a run reads at most that many", ombud.MaxRunObjects)
	}
	return nil
}

// checkObjects checks every object of the run (existence, erasure, a
// class the system may process) and gathers their distinct sets and
// classes.
func (st *runStart) checkObjects(ctx context.Context) error {
	// What the checks need of each object, read in parts; the decision
	// depends only on the distinct (class, subjects) sets.
	ids, sys := st.ids, st.sys
	var sets []access.RunSet
	var classes []string
	bySet := map[string]bool{}
	for from := 0; from < len(ids); from += 2000 {
		part := ids[from:min(from+2000, len(ids))]
		facts, err := st.s.Store.ObjectFacts(ctx, part)
		if err != nil {
			return st.fail(ctx, err)
		}
		for k, id := range part {
			i := from + k
			f, ok := facts[id]
			switch {
			case !ok:
				return st.refuse(ctx, ombud.CodeNotFound, reason.ObjectUnknown, "object %d of the run (%s) does not exist", i, id)
			case f.Erased:
				return st.refuse(ctx, ombud.CodeGone, reason.ObjectErased, "object %d of the run (%s) was erased", i, id)
			case !slices.Contains(sys.Classes, f.Class):
				return st.refuse(ctx, ombud.CodeForbidden, reason.ClassNotAllowed, "object %d of the run is of a class system %s may not process", i, sys.Name)
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
	st.sets = sets
	st.run.Objects, st.run.Classes, st.body.Classes = len(ids), classes, classes
	return nil
}

// decide takes the run's decision over its objects' sets (a selection's
// was taken before it was looked up) and sets the run's deadline: its
// time limit, or the authorization's end if sooner. A permit holds the
// use it admitted.
func (st *runStart) decide(ctx context.Context) error {
	run, body := st.run, &st.body
	limit := st.s.RunTimeLimit
	if limit <= 0 {
		limit = ombud.DefaultRunTimeLimit
	}
	run.Deadline = run.Started.Add(limit)
	if st.req.Selection == nil {
		if err := st.decideSets(ctx, st.sets); err != nil {
			return err
		}
		if !st.v.Permit {
			return st.refuse(ctx, st.v.Code, st.v.Reason, "%s", st.v.Message)
		}
	}
	v := st.v
	if !v.NotAfter.IsZero() && v.NotAfter.Before(run.Deadline) {
		run.Deadline = v.NotAfter.UTC().Truncate(time.Millisecond)
	}
	body.Decision, body.Reasons, body.Use, body.Until = entry.Permit, []string{v.Reason}, int64(v.Use), run.Deadline.Format(time.RFC3339Nano)
	return nil
}

// apply reserves the run's change, logs its entry and commits it
// (Journal.Apply). The use admitted in memory becomes durable with the
// run's reservation, and goes back with it if the run is not logged.
func (st *runStart) apply(ctx context.Context) (journal.Leaf, error) {
	c, err := journal.RunStart.Change(st.run.ID, journal.RunPayload{Run: st.run, Objects: st.ids})
	if err != nil {
		return journal.Leaf{}, st.fail(ctx, err)
	}
	w, err := st.s.Journal.Apply(ctx, c, journal.Record{Body: st.body, Detail: st.detail}, nil)
	if err != nil && w.Entry == nil {
		return journal.Leaf{}, st.refuseChanged(ctx, err)
	}
	return w, err
}

// refuseChanged refuses a run whose reservation failed: decided against a
// state that changed meanwhile, the refusal is decided anew against it,
// and logged.
func (st *runStart) refuseChanged(ctx context.Context, err error) error {
	st.refund(ctx)
	st.body.Use, st.body.Until = 0, ""
	st.body.Decision = entry.Deny
	sys, sv := st.sys, st.sv
	switch {
	case errors.Is(err, ombud.ErrRetired):
		return st.refuse(ctx, ombud.CodeConflict, reason.VersionRetired, "version %s of system %s was retired meanwhile", sv.Version, sys.Name)
	case errors.Is(err, ombud.ErrErased):
		return st.refuse(ctx, ombud.CodeGone, reason.ObjectErased, "an object of the run was erased meanwhile")
	case errors.Is(err, ombud.ErrRevoked):
		return st.refuse(ctx, ombud.CodeForbidden, reason.AuthRevoked, "the authorization was revoked meanwhile")
	case errors.Is(err, ombud.ErrExhausted):
		return st.refuse(ctx, ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")
	case errors.Is(err, ombud.ErrNotFound):
		return st.refuse(ctx, ombud.CodeNotFound, reason.ObjectUnknown, "an object or the version of the run is gone")
	}
	// The log's own failures are ErrLogUnavailable already; anything else
	// is the store's (busy, or unreachable) and says so.
	return err
}

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

func (s *Service) closeRun(ctx context.Context, r *ombud.Run, why, by string) (*ombud.Run, journal.Leaf, error) {
	release, err := s.gates.exclusive(ctx, runGate(r.ID))
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	defer release()
	r, err = s.Store.Run(ctx, r.ID) // the counts, now that no read is in flight
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if r.Closed != nil {
		return nil, journal.Leaf{}, refuseRun(ombud.CodeConflict, reason.RunClosed, "the run is closed already")
	}
	at := s.now().Truncate(time.Millisecond)
	c, err := journal.RunClose.Change(r.ID, journal.RunClosePayload{Reason: why, At: at, Read: r.Read, Bytes: r.Bytes})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	body := entry.Run{Op: entry.OpClose, ModelVersion: r.Version, Purpose: r.Purpose, Objects: int64(r.Objects), Reasons: []string{why},
		Read: r.Read, Bytes: r.Bytes, Run: r.ID, System: r.System, Authorization: r.Authorization, By: by}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: body}, nil)
	switch {
	case errors.Is(err, ombud.ErrRunClosed):
		return nil, journal.Leaf{}, refuseRun(ombud.CodeConflict, reason.RunClosed, "the run is closed already")
	case err != nil:
		return nil, w, err
	}
	s.closedRuns.Store(r.ID, true)
	r.Closed, r.CloseIndex, r.CloseReason = &at, w.Index, why
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
		if e := (*ombud.Error)(nil); errors.As(err, &e) && e.Reason == reason.RunClosed {
			continue // closed meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// closeAfterLimit closes a run the stream found past its time limit.
func (s *Service) closeAfterLimit(r *ombud.Run) {
	s.bg.do(func(ctx context.Context) {
		if _, err := s.CloseExpiredRuns(ctx); err != nil {
			s.logger().Error("closing a run at its time limit failed; the sweep retries", "run", r.ID, "err", err)
		}
	})
}
