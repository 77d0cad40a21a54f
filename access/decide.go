package access

import (
	"context"
	"errors"

	"github.com/ombud/ombud"
)

// Read is a read to decide.
type Read struct {
	Principal       *ombud.Principal
	Object          *ombud.Object
	Class           ombud.Class
	Purpose         string
	AuthorizationID string // "" when none is cited
	Emergency       bool
}

// Verdict is a decision: its reason code, the authorization use it took,
// the policy that decided it.
type Verdict struct {
	Permit    bool
	Reason    string
	Code      ombud.Code // for denials: the API error code
	Message   string
	AuthKind  string
	Use       int // the authorization use taken (0: none)
	PolicySHA string
}

func deny(code ombud.Code, reason, msg string) Verdict {
	return Verdict{Reason: reason, Code: code, Message: msg}
}

// Decide checks the cited authorization (registered, not revoked, in its
// window, covering purpose, class, a subject of the object and the
// jurisdiction, with uses left) and then the Cedar policy. A permit under
// an authorization takes one use atomically; call Refund if the permit
// cannot be logged. Object state (erased, pending) is checked by the caller
// before.
func (s *Service) Decide(ctx context.Context, r Read) (Verdict, error) {
	p := s.Policy()
	if p == nil {
		return Verdict{}, errors.New("access: no policy loaded")
	}
	v := Verdict{PolicySHA: p.SHA}
	authorized := false
	var ra *ombud.RegisteredAuthorization
	if r.AuthorizationID != "" {
		var err error
		ra, err = s.Store.Authorization(ctx, r.AuthorizationID)
		switch {
		case errors.Is(err, ombud.ErrNotFound):
			return s.with(v, deny(ombud.CodeForbidden, ombud.ReasonAuthUnknown, "no such authorization is registered")), nil
		case err != nil:
			return Verdict{}, err
		case ra.Revoked != nil:
			return s.with(v, deny(ombud.CodeForbidden, ombud.ReasonAuthRevoked, "the authorization was revoked")), nil
		}
		v.AuthKind = ra.Kind
		if reason := ra.Covers(s.now(), r.Purpose, r.Class.Name, r.Object.Subjects, ra.SubjectPseudonyms, s.Jurisdiction); reason != "" {
			return s.with(v, deny(ombud.CodeForbidden, reason, "the authorization does not cover this read: "+reason)), nil
		}
		if ra.Uses >= ra.MaxUses {
			return s.with(v, deny(ombud.CodeForbidden, ombud.ReasonAuthExhausted, "the authorization has no uses left")), nil
		}
		authorized = true
	} else if r.Class.IsSensitive() && !r.Emergency {
		return s.with(v, deny(ombud.CodeForbidden, ombud.ReasonAuthMissing, "class "+r.Class.Name+" is sensitive: cite a registered authorization (Ombud-Authorization)")), nil
	}
	roles := make([]string, len(r.Principal.Roles))
	for i, role := range r.Principal.Roles {
		roles[i] = string(role)
	}
	ok, _ := p.Decide(Input{
		Principal: r.Principal.ID, Roles: roles, Class: r.Class.Name, Sensitive: r.Class.IsSensitive(), Purpose: r.Purpose,
		Authorized: authorized, AuthorizationKind: v.AuthKind, Emergency: r.Emergency, Object: r.Object.ID,
	})
	if !ok {
		return s.with(v, deny(ombud.CodeForbidden, "policy_denied", "the access policy does not permit this read")), nil
	}
	v.Permit = true
	switch {
	case authorized:
		v.Reason = ombud.ReasonAuthInScope
		use, err := s.Store.UseAuthorization(ctx, ra.ID)
		if errors.Is(err, ombud.ErrExhausted) {
			// Another read took the last use between the check and now.
			return s.with(v, deny(ombud.CodeForbidden, ombud.ReasonAuthExhausted, "the authorization has no uses left")), nil
		}
		if err != nil {
			return Verdict{}, err
		}
		v.Use = use
	case r.Emergency:
		v.Reason = "emergency"
	default:
		v.Reason = "ordinary_class"
	}
	return v, nil
}

func (s *Service) with(base, d Verdict) Verdict {
	d.PolicySHA, d.AuthKind = base.PolicySHA, base.AuthKind
	return d
}

// Refund returns a use taken by a permit that could not be logged.
func (s *Service) Refund(ctx context.Context, authorizationID string) error {
	return s.Store.RefundAuthorization(ctx, authorizationID)
}
