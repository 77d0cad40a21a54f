package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/reason"
)

// Read is a read to decide.
type Read struct {
	Principal       *ombud.Principal
	Object          *ombud.Object
	Class           ombud.Class
	Purpose         string
	AuthorizationID string // "" when none is cited
	Emergency       bool
	// Evidence: the read is a reviewer's viewing of a flag's evidence,
	// which ombud checked (the object is the flag's, the reader may review
	// it); the policy decides it with context.evidence.
	Evidence bool
}

// Verdict is a decision: its reason code, the authorization use it took,
// the policy that decided it.
type Verdict struct {
	Permit    bool
	Reason    string
	Code      ombud.Code // for denials: the API error code
	Message   string
	AuthKind  string
	Use       int // the authorization use admitted (0: none)
	PolicySHA string
	// NotAfter is the end of the cited authorization's window (zero when
	// none is cited): a run reads no later.
	NotAfter time.Time
	// authID names the authorization whose use was admitted.
	authID string
}

func deny(code ombud.Code, reason, msg string) Verdict {
	return Verdict{Reason: reason, Code: code, Message: msg}
}

// Decide checks the cited authorization (registered, not revoked, in its
// window, covering purpose, class, a subject of the object and the
// jurisdiction, with uses left) and then the Cedar policy. A permit under
// an authorization admits one use; the caller makes it durable with
// CommitUseCounted before logging the decision, and calls Refund if the
// read is not released. Object state (erased, pending) is checked by the caller before.
func (s *Service) Decide(ctx context.Context, r Read) (Verdict, error) {
	p, err := s.policyInForce(ctx)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{PolicySHA: p.SHA}
	if r.Emergency && r.Principal.EmergencySuspended != 0 {
		return s.with(v, deny(ombud.CodeForbidden, reason.EmergencySuspended, "your emergency access is suspended after an uncovered emergency read; an admin must restore it")), nil
	}
	authorized := false
	var ra *ombud.RegisteredAuthorization
	if r.AuthorizationID != "" {
		var refused *Verdict
		var err error
		if ra, refused, err = s.cited(ctx, r.AuthorizationID, v); refused != nil || err != nil {
			return derefVerdict(refused), err
		}
		v.AuthKind = ra.Kind
		if reason := ra.Covers(s.now(), r.Purpose, r.Class.Name, r.Object.Subjects, ra.SubjectPseudonyms, s.Jurisdiction); reason != "" {
			return s.with(v, deny(ombud.CodeForbidden, reason, "the authorization does not cover this read: "+reason)), nil
		}
		if s.usedUp(ra) {
			return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
		}
		authorized = true
	} else if r.Class.IsSensitive() && !r.Emergency && !r.Evidence {
		return s.with(v, deny(ombud.CodeForbidden, reason.AuthMissing, "class "+r.Class.Name+" is sensitive: cite a registered authorization (Ombud-Authorization)")), nil
	}
	roles := RoleNames(r.Principal)
	ok, _ := p.Decide(Input{
		Principal: r.Principal.ID, Roles: roles, Class: r.Class.Name, Sensitive: r.Class.IsSensitive(), Purpose: r.Purpose,
		Authorized: authorized, AuthorizationKind: v.AuthKind, Wildcard: ra != nil && ra.Wildcard(), Emergency: r.Emergency, Object: r.Object.ID,
		Evidence: r.Evidence,
	})
	if !ok {
		return s.with(v, deny(ombud.CodeForbidden, reason.PolicyDenied, "the access policy does not permit this read")), nil
	}
	v.Permit = true
	switch {
	case authorized:
		v.Reason = reason.AuthInScope
		use, ok := s.admit(ra)
		if !ok {
			// Other reads took the last uses between the check and now.
			return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
		}
		v.Use, v.authID = use, ra.ID
	case r.Evidence:
		v.Reason = reason.Evidence
	case r.Emergency && r.Class.IsSensitive():
		// Only a read that needed an authorization is an emergency read,
		// to be covered later; an ordinary class needs none.
		v.Reason = reason.Emergency
	default:
		v.Reason = "ordinary_class"
	}
	return v, nil
}

// cited loads a cited authorization; unknown or revoked, it returns the
// denial instead.
func (s *Service) cited(ctx context.Context, id string, v Verdict) (*ombud.RegisteredAuthorization, *Verdict, error) {
	ra, err := s.authorization(ctx, id)
	var d Verdict
	switch {
	case errors.Is(err, ombud.ErrNotFound):
		d = s.with(v, deny(ombud.CodeForbidden, reason.AuthUnknown, "no such authorization is registered"))
	case err != nil:
		return nil, nil, err
	case ra.Revoked != nil:
		d = s.with(v, deny(ombud.CodeForbidden, reason.AuthRevoked, "the authorization was revoked"))
	default:
		return ra, nil, nil
	}
	return nil, &d, nil
}

func derefVerdict(v *Verdict) Verdict {
	if v == nil {
		return Verdict{}
	}
	return *v
}

// RoleNames returns p's roles as the policy sees them.
func RoleNames(p *ombud.Principal) []string {
	roles := make([]string, len(p.Roles))
	for i, role := range p.Roles {
		roles[i] = string(role)
	}
	return roles
}

func (s *Service) with(base, d Verdict) Verdict {
	d.PolicySHA, d.AuthKind = base.PolicySHA, base.AuthKind
	return d
}

// authorization returns a registered authorization, cached: its signed
// fields never change, and parsing the note on every read is the largest
// cost of a decision. Revocations made through this service drop the
// entry; one made through another gateway is caught by the store when the
// use is committed (its UPDATE requires revoked IS NULL), and then here.
func (s *Service) authorization(ctx context.Context, id string) (*ombud.RegisteredAuthorization, error) {
	if v, ok := s.authCache.Load(id); ok {
		return v.(*ombud.RegisteredAuthorization), nil
	}
	ra, err := s.Store.Authorization(ctx, id)
	if err != nil {
		return nil, err
	}
	if ra.Revoked == nil {
		s.authCache.Store(id, ra)
	}
	return ra, nil
}

// Uses are admitted in memory, under a mutex per authorization, so that a
// decision is made without a database round trip; CommitUseCounted then
// makes the use durable before the permit is logged, and the read is
// released only when both are. The store's conditional UPDATE stays the
// authority: if it refuses (another gateway took the use, or the
// authorization was just revoked), the refusal is logged as a denial.
// When gateways share the store (Shared) the count in memory is only this
// gateway's, and the store's is the one that decides.
type useCounter struct {
	mu     sync.Mutex
	loaded bool
	used   int
}

func (s *Service) counter(id string) *useCounter {
	c, _ := s.counters.LoadOrStore(id, &useCounter{})
	return c.(*useCounter)
}

// usedUp reports whether every use is taken, by this gateway's count.
func (s *Service) usedUp(ra *ombud.RegisteredAuthorization) bool {
	c := s.counter(ra.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.used, c.loaded = ra.Uses, true
	}
	return c.used >= ra.MaxUses
}

func (s *Service) admit(ra *ombud.RegisteredAuthorization) (int, bool) {
	c := s.counter(ra.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.used, c.loaded = ra.Uses, true
	}
	if c.used >= ra.MaxUses {
		return 0, false
	}
	c.used++
	return c.used, true
}

// CommitUseCounted makes an admitted use durable, and returns which use
// it was by the store's count, which every gateway's uses meet (v.Use is
// this gateway's count). Call it once per permitted verdict with a use,
// before its permit is logged, with from a lower bound of the log index
// the permit will have; on error the read must not be released, and
// Refund undoes the admission. The use stays in flight, for recovery to
// give back if no permit is found from from on, until UseLogged.
func (s *Service) CommitUseCounted(ctx context.Context, v Verdict, from uint64) (int, error) {
	if v.Use == 0 {
		return 0, nil
	}
	n, err := s.Store.UseAuthorization(ctx, v.authID, from)
	if err != nil {
		s.authCache.Delete(v.authID) // revoked or used up elsewhere: reload
		if errors.Is(err, ombud.ErrExhausted) {
			return 0, &ombud.Error{Code: ombud.CodeForbidden, Message: "the authorization has no uses left", Err: err}
		}
		return 0, err
	}
	return n, nil
}

// Unadmit gives back, in this process's count, a use of authorization id
// that recovery gave back in the store.
func (s *Service) Unadmit(id string) { s.unadmit(id) }

func (s *Service) unadmit(id string) {
	c := s.counter(id)
	c.mu.Lock()
	if c.used > 0 {
		c.used--
	}
	c.mu.Unlock()
}

// Refund gives back a use for a permit that was not released: the
// admission always, and the durable use when it was committed.
func (s *Service) Refund(ctx context.Context, v Verdict, committed bool) error {
	if v.Use == 0 {
		return nil
	}
	s.unadmit(v.authID)
	if committed {
		return s.Store.RefundAuthorization(ctx, v.authID, v.Use)
	}
	return nil
}

// UseLogged records that the permit of v, whose use was committed
// (CommitUseCounted, v.Use its number), is logged.
func (s *Service) UseLogged(v Verdict) {
	if v.Use != 0 {
		s.Store.UseLogged(v.authID, v.Use)
	}
}

// RunRequest is an analytic run to decide, over its whole set at once.
type RunRequest struct {
	Principal       *ombud.Principal
	RunID           string
	Purpose         string
	AuthorizationID string // "" when none is cited
	// Sets are the run's objects gathered by class and subjects: what
	// the decision depends on.
	Sets []RunSet
	// Classes are the deployment's classes, by name.
	Classes map[string]ombud.Class
}

// RunSet is the objects of a run that share a class and subjects.
type RunSet struct {
	First    int // the position of the first of them, for messages
	Class    string
	Subjects []string // keyed pseudonyms
}

// DecideRun decides a run as Decide decides a read, over every object of
// its set: the cited authorization must be registered, unrevoked, in its
// window and cover the purpose, every object's class and a subject of
// every object; without one, no object may be of a sensitive class. The
// Cedar policy is asked once per class, with run set. A permit under an
// authorization admits one use, whatever the number of objects; the run's
// reservation takes it in the store (and recovery gives it back if the run
// never reached the log), and the caller calls Refund if the run is not
// logged.
func (s *Service) DecideRun(ctx context.Context, r RunRequest) (Verdict, error) {
	p, err := s.policyInForce(ctx)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{PolicySHA: p.SHA}
	var ra *ombud.RegisteredAuthorization
	if r.AuthorizationID != "" {
		var refused *Verdict
		var err error
		if ra, refused, err = s.cited(ctx, r.AuthorizationID, v); refused != nil || err != nil {
			return derefVerdict(refused), err
		}
		v.AuthKind, v.NotAfter = ra.Kind, ra.NotAfter
		now := s.now()
		for _, set := range r.Sets {
			if reason := ra.Covers(now, r.Purpose, set.Class, set.Subjects, ra.SubjectPseudonyms, s.Jurisdiction); reason != "" {
				return s.with(v, deny(ombud.CodeForbidden, reason, fmt.Sprintf("the authorization does not cover object %d of the run: %s", set.First, reason))), nil
			}
		}
		if s.usedUp(ra) {
			return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
		}
	}
	roles := RoleNames(r.Principal)
	seen := map[string]bool{}
	for _, set := range r.Sets {
		if seen[set.Class] {
			continue
		}
		seen[set.Class] = true
		c := r.Classes[set.Class]
		if ra == nil && c.IsSensitive() {
			return s.with(v, deny(ombud.CodeForbidden, reason.AuthMissing, "class "+c.Name+" is sensitive: a run over it cites a registered authorization")), nil
		}
		ok, _ := p.Decide(Input{
			Principal: r.Principal.ID, Roles: roles, Class: c.Name, Sensitive: c.IsSensitive(), Purpose: r.Purpose,
			Authorized: ra != nil, AuthorizationKind: v.AuthKind, Wildcard: ra != nil && ra.Wildcard(), Run: true, Object: "run:" + r.RunID,
		})
		if !ok {
			return s.with(v, deny(ombud.CodeForbidden, reason.PolicyDenied, "the access policy does not permit this run to read class "+c.Name)), nil
		}
	}
	v.Permit = true
	if ra == nil {
		v.Reason = "ordinary_class"
		return v, nil
	}
	v.Reason = reason.AuthInScope
	use, ok := s.admit(ra)
	if !ok {
		return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
	}
	v.Use, v.authID = use, ra.ID
	return v, nil
}

// Revoked reports whether authorization id is revoked (or unknown), for a
// run that reads under it: its reads stop at a revocation.
func (s *Service) Revoked(ctx context.Context, id string) (bool, error) {
	load := s.authorization
	if s.Shared() {
		// Another gateway may have revoked it: ask the store.
		load = s.Store.Authorization
	}
	ra, err := load(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return ra.Revoked != nil, nil
}
