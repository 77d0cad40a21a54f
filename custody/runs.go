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
	time.AfterFunc(max(d, 0), func() {
		if _, err := s.CloseExpiredRuns(context.Background()); err != nil {
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

// closeAfterLimit closes a run the stream found past its time limit.
func (s *Service) closeAfterLimit(r *ombud.Run) {
	go func() {
		if _, err := s.CloseExpiredRuns(context.Background()); err != nil {
			s.logger().Error("closing a run at its time limit failed; the sweep retries", "run", r.ID, "err", err)
		}
	}()
}
