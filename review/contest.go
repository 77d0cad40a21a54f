package review

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

// MaxStatement bounds a contest's statement, kept only in its detail.
const MaxStatement = 8192

// Case is what the person holding a notice code may see: the action
// taken, the flag behind it, the system and version that raised it with
// their published accuracy, the human confirmations and when they were
// given, and the contest if one was filed.
type Case struct {
	Action        *ombud.Action
	Flag          *ombud.Flag
	System        *ombud.AnalyticSystem
	Version       *ombud.SystemVersion
	Confirmations []time.Time // when each distinct confirmation was recorded
	Rejections    int
	Contest       *ombud.Contest // nil when none was filed
	// Rationale is the resolving reviewer's, once resolved ("" if its
	// record was erased with its retention).
	Rationale string
	run       *ombud.Run
	reviews   []*ombud.Review
}

// Involved reports whether who took part in the case's decision: raised
// the flag, started its run, reviewed it or took the action. Whoever did
// may not resolve its contest.
func (c *Case) Involved(who string) bool { return involved(c.Flag, c.run, c.Action, c.reviews, who) }

func involved(f *ombud.Flag, run *ombud.Run, a *ombud.Action, reviews []*ombud.Review, who string) bool {
	return who == f.By || who == run.Principal || who == a.By ||
		slices.ContainsFunc(reviews, func(r *ombud.Review) bool { return r.Reviewer == who })
}

// errUnknownNotice is the one answer to any code that names no action.
var errUnknownNotice = refuse(ombud.CodeNotFound, reason.NoticeUnknown, "no decision has this notice code")

// Lookup returns the case of a notice code. Every code that names no
// action, malformed or not, gets the same error.
func (s *Service) Lookup(ctx context.Context, code string) (*Case, error) {
	if !WellFormedNotice(code) {
		return nil, errUnknownNotice
	}
	sum := NoticeHash(code)
	a, err := s.Store.ActionByNotice(ctx, sum[:])
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, errUnknownNotice
	}
	if err != nil {
		return nil, err
	}
	return s.caseOf(ctx, a)
}

func (s *Service) caseOf(ctx context.Context, a *ombud.Action) (*Case, error) {
	f, err := s.Store.Flag(ctx, a.Flag)
	if err != nil {
		return nil, err
	}
	sys, err := s.Store.AnalyticSystem(ctx, f.System)
	if err != nil {
		return nil, err
	}
	run, err := s.Store.Run(ctx, f.Run)
	if err != nil {
		return nil, err
	}
	reviews, err := s.Store.Reviews(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	c := &Case{Action: a, Flag: f, System: sys, Version: sys.Version(f.Version), run: run, reviews: reviews}
	for _, r := range reviews {
		// The action was decided on the reviews before it.
		if r.Index > a.Index {
			continue
		}
		if r.Verdict == entry.Confirm {
			c.Confirmations = append(c.Confirmations, r.Created)
		} else {
			c.Rejections++
		}
	}
	switch ct, err := s.Store.ContestOf(ctx, a.ID); {
	case err == nil:
		c.Contest = ct
		res, err := readDetail[entry.ContestResolvedDetail](ctx, s, ct.Resolution)
		if err != nil {
			return nil, err
		}
		c.Rationale = res.Rationale
	case !errors.Is(err, ombud.ErrNotFound):
		return nil, err
	}
	return c, nil
}

// WellFormedNotice reports whether code has the shape of a notice code:
// sixteen letters and digits of its alphabet, dashes and spaces aside.
func WellFormedNotice(code string) bool {
	c := normalizeNotice(code)
	if len(c) != 16 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if strings.IndexByte(noticeAlphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// File records a contest of the action a notice code names, with the
// person's statement (kept only in the contest's detail record), through
// the one pattern: one contest per action, even when two are filed at
// once. A code that names no action logs nothing.
func (s *Service) File(ctx context.Context, code, statement string) (*Case, journal.Leaf, error) {
	if len(statement) > MaxStatement {
		return nil, journal.Leaf{}, invalid("the statement is limited to %d bytes", MaxStatement)
	}
	if strings.TrimSpace(statement) == "" {
		return nil, journal.Leaf{}, invalid("say why you contest the decision")
	}
	if err := ombud.ValidateText("statement", statement); err != nil {
		return nil, journal.Leaf{}, err
	}
	cs, err := s.Lookup(ctx, code)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if cs.Contest != nil {
		return cs, journal.Leaf{}, refuse(ombud.CodeConflict, reason.ContestFiled, "this decision was contested already")
	}
	days := s.deadlineDays()
	ct := &ombud.Contest{ID: ombud.NewID(), Action: cs.Action.ID, Filed: s.now().Truncate(time.Millisecond)}
	e, leaf, d, err := s.Journal.Build(journal.Record{
		Body:   entry.Contest{Op: entry.OpFiled, DeadlineDays: days, Action: cs.Action.ID, Contest: ct.ID},
		Detail: entry.ContestFiledDetail{Action: cs.Action.ID, Contest: ct.ID, Statement: statement},
	})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	ct.Statement = journal.DetailKeyOf(e)
	// Due from the entry's own time, so that anyone can compute it from
	// the public entry alone.
	ct.Due = e.Time.Add(time.Duration(days) * 24 * time.Hour)
	c, err := journal.ContestFile.Change(ct.ID, journal.ContestPayload{Contest: ct})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.ApplyBuilt(ctx, c, e, leaf, d, nil)
	switch {
	case errors.Is(err, ombud.ErrExists):
		cs, _ = s.Lookup(ctx, code)
		return cs, journal.Leaf{}, refuse(ombud.CodeConflict, reason.ContestFiled, "this decision was contested already")
	case err != nil:
		return nil, w, err
	}
	ct.Index = w.Index
	cs.Contest = ct
	return cs, w, nil
}

// deadlineDays is the contest deadline in whole days, at least one.
func (s *Service) deadlineDays() int64 {
	d := s.ContestDeadline
	if d <= 0 {
		d = ombud.DefaultContestDeadline
	}
	return max(1, int64(d/(24*time.Hour)))
}

// Resolve records a reviewer's resolution of a contest, upheld or
// overturned, with a rationale kept only in its detail record. The
// resolver must be independent of the decision: not the flag's creator,
// its run's starter, one of its reviewers or the action's taker. A second
// resolution, even at the same time, is refused.
func (s *Service) Resolve(ctx context.Context, p *ombud.Principal, id, outcome, rationale string) (*ombud.Contest, journal.Leaf, error) {
	fail := func(err error) (*ombud.Contest, journal.Leaf, error) { return nil, journal.Leaf{}, err }
	if p == nil {
		return fail(errors.New("review: a resolution without a principal"))
	}
	if err := ombud.ValidateIdentifier("contest", id); err != nil {
		return fail(err)
	}
	if outcome != ombud.ContestUpheld && outcome != ombud.ContestOverturned {
		return fail(invalid("outcome must be %q or %q", ombud.ContestUpheld, ombud.ContestOverturned))
	}
	if strings.TrimSpace(rationale) == "" || len(rationale) > MaxRationale {
		return fail(invalid("rationale: say why, in 1 to %d bytes (kept only in the private detail record)", MaxRationale))
	}
	if err := ombud.ValidateText("rationale", rationale); err != nil {
		return fail(err)
	}
	ct, err := s.Store.Contest(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return fail(refuse(ombud.CodeNotFound, reason.ContestUnknown, "no such contest"))
	}
	if err != nil {
		return fail(err)
	}
	if ct.Outcome != "" {
		return fail(refuse(ombud.CodeConflict, reason.ContestResolved, "the contest is resolved already"))
	}
	a, err := s.Store.Action(ctx, ct.Action)
	if err != nil {
		return fail(err)
	}
	cs, err := s.caseOf(ctx, a)
	if err != nil {
		return fail(err)
	}
	if cs.Involved(p.ID) {
		return fail(refuse(ombud.CodeForbidden, reason.NotIndependent, "whoever raised, reviewed or acted on the flag may not resolve its contest"))
	}
	res := *ct
	res.Outcome, res.Resolved, res.ResolvedBy = outcome, s.now().Truncate(time.Millisecond), p.ID
	e, leaf, d, err := s.Journal.Build(journal.Record{
		Body:   entry.Contest{Op: entry.OpResolved, Outcome: outcome, Action: a.ID, Contest: ct.ID, By: p.ID},
		Detail: entry.ContestResolvedDetail{Contest: ct.ID, Outcome: outcome, Rationale: rationale},
	})
	if err != nil {
		return fail(err)
	}
	res.Resolution = journal.DetailKeyOf(e)
	c, err := journal.ContestResolve.Change(ct.ID, journal.ContestPayload{Contest: &res})
	if err != nil {
		return fail(err)
	}
	release, err := s.gate(ctx, a.Flag)
	if err != nil {
		return fail(err)
	}
	defer release()
	w, err := s.Journal.ApplyBuilt(ctx, c, e, leaf, d, nil)
	switch {
	case errors.Is(err, ombud.ErrResolved), errors.Is(err, ombud.ErrBusy):
		return fail(refuse(ombud.CodeConflict, reason.ContestResolved, "the contest is resolved already, or being resolved"))
	case errors.Is(err, ombud.ErrNotViewed):
		return fail(refuse(ombud.CodeConflict, reason.EvidenceNotViewed,
			"view every input of the flag before you uphold the action (each viewing is logged); overturning it needs no viewing"))
	case err != nil:
		return nil, w, err
	}
	res.ResolveIndex = w.Index
	return &res, w, nil
}

// OpenContest is a contest awaiting resolution, with its case.
type OpenContest struct {
	Contest *ombud.Contest
	Case    *Case
	// Involved: the principal asking took part in the decision and may
	// not resolve it.
	Involved bool
	// Statement is the person's, for a reviewer who may resolve the
	// contest ("" for one who may not, or if its record was erased).
	Statement string
}

// OpenContests lists the contests awaiting resolution, for p.
func (s *Service) OpenContests(ctx context.Context, p *ombud.Principal, limit int) ([]OpenContest, error) {
	cs, err := s.Store.OpenContests(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]OpenContest, 0, len(cs))
	for _, ct := range cs {
		a, err := s.Store.Action(ctx, ct.Action)
		if err != nil {
			return nil, err
		}
		cs, err := s.caseOf(ctx, a)
		if err != nil {
			return nil, err
		}
		oc := OpenContest{Contest: ct, Case: cs, Involved: cs.Involved(p.ID)}
		if !oc.Involved {
			filed, err := readDetail[entry.ContestFiledDetail](ctx, s, ct.Statement)
			if err != nil {
				return nil, err
			}
			oc.Statement = filed.Statement
		}
		out = append(out, oc)
	}
	return out, nil
}

// Evidence says whether p may view object as evidence of flag now: "" if
// so, else the reason and message of the logged denial. The object must
// be one of the flag's inputs or reference images (each read in its run,
// under the run's authorization, which must not have been revoked since),
// and p a reviewer with an open task on the flag: reviewing it (no action
// taken yet, not reviewed by p, p neither raised it nor started its run,
// within the review window and the authorization's) or resolving an open
// contest of its action (p took no part in it). hold is called with the
// run's authorization before its state is read, so that the caller holds
// its gate (custody holds the flag's); its error ends the check. The read itself goes through the
// normal access path with the purpose review.
func (s *Service) Evidence(ctx context.Context, p *ombud.Principal, flagID, object string, hold func(authorization string) error) (why, msg string, err error) {
	const notEvidence = "the object is not evidence of a flag you may review"
	if p == nil || !p.Has(ombud.RoleReviewer) {
		return reason.NotEvidence, notEvidence, nil
	}
	f, err := s.Store.Flag(ctx, flagID)
	if errors.Is(err, ombud.ErrNotFound) {
		return reason.NotEvidence, notEvidence, nil
	}
	if err != nil {
		return "", "", err
	}
	if !slices.Contains(f.Inputs, object) && !slices.Contains(f.References, object) {
		return reason.NotEvidence, notEvidence, nil
	}
	run, err := s.Store.Run(ctx, f.Run)
	if err != nil {
		return "", "", err
	}
	if p.ID == f.By || p.ID == run.Principal {
		return reason.NotEvidence, notEvidence, nil
	}
	deadline := f.Created.Add(ombud.ReviewWindow)
	if run.Authorization != "" {
		if err := hold(run.Authorization); err != nil {
			return "", "", err
		}
		ra, err := s.Store.Authorization(ctx, run.Authorization)
		switch {
		case errors.Is(err, ombud.ErrNotFound) || (err == nil && ra.Revoked != nil):
			return reason.AuthRevoked, "the authorization of the run that read this evidence was revoked", nil
		case err != nil:
			return "", "", err
		}
		if ra.NotAfter.Before(deadline) {
			deadline = ra.NotAfter
		}
	}
	acts, err := s.Store.Actions(ctx, f.ID)
	if err != nil {
		return "", "", err
	}
	reviews, err := s.Store.Reviews(ctx, f.ID)
	if err != nil {
		return "", "", err
	}
	const done = "you have no open review or contest of this flag: you reviewed it, or an action was taken and no contest of it awaits you"
	if len(acts) == 0 {
		switch {
		case slices.ContainsFunc(reviews, func(r *ombud.Review) bool { return r.Reviewer == p.ID }):
			return reason.ReviewDone, done, nil
		case slices.ContainsFunc(reviews, func(r *ombud.Review) bool { return r.Verdict == entry.Reject }):
			return reason.FlagRejected, "a reviewer rejected the flag, which closes it", nil
		case !s.now().Before(deadline):
			return reason.ReviewWindowClosed, "the flag's review window has closed (30 days, and never past its run's authorization)", nil
		}
		return "", "", nil
	}
	for _, a := range acts {
		ct, err := s.Store.ContestOf(ctx, a.ID)
		switch {
		case errors.Is(err, ombud.ErrNotFound):
		case err != nil:
			return "", "", err
		case ct.Outcome == "" && !involved(f, run, a, reviews, p.ID):
			return "", "", nil
		}
	}
	return reason.ReviewDone, done, nil
}

// Queued is a flag awaiting a reviewer, with its system's name. It says
// nothing of the reviews so far: each reviewer judges blind, so the
// first opinion does not anchor the second.
type Queued struct {
	Flag   *ombud.Flag
	System string
}

// Awaiting lists the flags p may review and has not: no action taken on
// them, not raised by p, not of a run p started, within the review
// window. Oldest first.
func (s *Service) Awaiting(ctx context.Context, p *ombud.Principal, limit int) ([]Queued, error) {
	fs, err := s.Store.AwaitingReview(ctx, p.ID, s.now().Add(-ombud.ReviewWindow), limit)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	stands := map[string]bool{} // by run: its authorization neither revoked nor expired
	out := make([]Queued, 0, len(fs))
	for _, f := range fs {
		ok, seen := stands[f.Run]
		if !seen {
			run, err := s.Store.Run(ctx, f.Run)
			if err != nil {
				return nil, err
			}
			err = s.standing(ctx, run)
			var oe *ombud.Error
			if err != nil && !errors.As(err, &oe) {
				return nil, err
			}
			ok, stands[f.Run] = err == nil, err == nil
		}
		if !ok {
			// Its review would be refused: the queue offers what may be
			// done. (The store leaves out revoked authorizations' flags;
			// an expiry is a matter of the clock.)
			continue
		}
		q := Queued{Flag: f}
		name, ok := names[f.System]
		if !ok {
			sys, err := s.Store.AnalyticSystem(ctx, f.System)
			if err != nil {
				return nil, err
			}
			name, names[f.System] = sys.Name, sys.Name
		}
		q.System = name
		out = append(out, q)
	}
	return out, nil
}

// readDetail reads the detail record k (a contest's filing or resolution)
// into a T, or returns the zero T when there is none or it was erased with
// its retention.
func readDetail[T any](ctx context.Context, s *Service, k ombud.DetailKey) (T, error) {
	var t T
	if k.Commitment == "" {
		return t, nil
	}
	d, err := s.Store.Detail(ctx, k)
	if errors.Is(err, ombud.ErrNotFound) || (err == nil && d.Body == nil) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	err = json.Unmarshal(d.Body, &t)
	return t, err
}

// Taken is an action as its taker and oversight see it: whether it
// stands or was withdrawn, and its contest, if one was filed.
type Taken struct {
	Action  *ombud.Action
	Contest *ombud.Contest // nil when none was filed
}

// errActionUnknown answers for an action the asker may not see as for one
// that does not exist.
var errActionUnknown = ombud.Errorf(ombud.CodeNotFound, "no such action")

// ActionFor returns an action to p: the analyst who took it, an admin or
// an auditor. To anyone else it does not exist.
func (s *Service) ActionFor(ctx context.Context, p *ombud.Principal, id string) (*Taken, error) {
	if err := ombud.ValidateIdentifier("action", id); err != nil {
		return nil, err
	}
	a, err := s.Store.Action(ctx, id)
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return nil, errActionUnknown
	case err != nil:
		return nil, err
	case p == nil || (p.ID != a.By && !p.Has(ombud.RoleAdmin) && !p.Has(ombud.RoleAuditor)):
		return nil, errActionUnknown
	}
	return s.taken(ctx, a)
}

// ActionsBy lists the actions p took, newest first, each with its
// contest: how the analyst learns that a contest withdrew one.
func (s *Service) ActionsBy(ctx context.Context, p *ombud.Principal, limit int) ([]*Taken, error) {
	as, err := s.Store.ActionsBy(ctx, p.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Taken, 0, len(as))
	for _, a := range as {
		t, err := s.taken(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Service) taken(ctx context.Context, a *ombud.Action) (*Taken, error) {
	t := &Taken{Action: a}
	ct, err := s.Store.ContestOf(ctx, a.ID)
	switch {
	case err == nil:
		t.Contest = ct
	case !errors.Is(err, ombud.ErrNotFound):
		return nil, err
	}
	return t, nil
}

// Overdue reports whether a contest is, or was, past its due time
// unresolved, by the service's clock.
func (s *Service) Overdue(ct *ombud.Contest) bool { return ct.Overdue(s.now()) }

// Desk is what a reviewer sees of one flag before their verdict: the
// match's facts, its system and version, and the legal basis of the run
// that read its evidence (the authorization's kind and issuer, never its
// case reference). It says nothing of other reviews.
type Desk struct {
	Flag    *ombud.Flag
	System  *ombud.AnalyticSystem
	Version *ombud.SystemVersion
	// AuthKind and AuthIssuer name the run's authorization ("" for a run
	// under none).
	AuthKind, AuthIssuer string
	// Closed says why the reviewer has no review to give here ("" while
	// they have): the desk then shows no evidence and no form.
	Closed string
}

// DeskFor returns the desk of a flag to a reviewer who may review it: not
// its creator or its run's starter. To anyone else it does not exist. The
// evidence itself is released only through the access path, each viewing
// decided and logged.
func (s *Service) DeskFor(ctx context.Context, p *ombud.Principal, flagID string) (*Desk, error) {
	unknown := refuse(ombud.CodeNotFound, reason.FlagUnknown, "no such flag")
	if err := ombud.ValidateIdentifier("flag", flagID); err != nil {
		return nil, unknown
	}
	f, err := s.Store.Flag(ctx, flagID)
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		return nil, unknown
	case err != nil:
		return nil, err
	}
	run, err := s.Store.Run(ctx, f.Run)
	if err != nil {
		return nil, err
	}
	if p == nil || !p.Has(ombud.RoleReviewer) || p.ID == f.By || p.ID == run.Principal {
		return nil, unknown
	}
	sys, err := s.Store.AnalyticSystem(ctx, f.System)
	if err != nil {
		return nil, err
	}
	d := &Desk{Flag: f, System: sys, Version: sys.Version(f.Version)}
	if run.Authorization != "" {
		ra, err := s.Store.Authorization(ctx, run.Authorization)
		if err != nil {
			return nil, err
		}
		d.AuthKind, d.AuthIssuer = ra.Kind, ra.Issuer
	}
	reviews, err := s.Store.Reviews(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	acts, err := s.Store.Actions(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	const closed = "This flag is closed to review: it was decided, its run's authorization ended, or its review window closed. Nothing here awaits your verdict."
	var oe *ombud.Error
	switch err := s.standing(ctx, run); {
	case slices.ContainsFunc(reviews, func(r *ombud.Review) bool { return r.Reviewer == p.ID }):
		d.Closed = "You reviewed this flag already."
	case len(acts) > 0, slices.ContainsFunc(reviews, func(r *ombud.Review) bool { return r.Verdict == entry.Reject }),
		!s.now().Before(f.Created.Add(ombud.ReviewWindow)), errors.As(err, &oe):
		// One sentence for every reason: a reviewer is not told another's
		// rejection.
		d.Closed = closed
	case err != nil:
		return nil, err
	}
	return d, nil
}
