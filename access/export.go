package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/reason"
)

// ExportRequest is an export to decide: its objects gathered by class and
// subjects, as a run's are, and the recipient it goes to.
type ExportRequest struct {
	Principal       *ombud.Principal
	ExportID        string
	Purpose         string
	AuthorizationID string
	Recipient       *ombud.Recipient
	Sets            []RunSet
	Classes         map[string]ombud.Class
}

// CrossBorder reports whether an export to a recipient of jurisdiction
// recipient leaves the deployment's jurisdiction.
func (s *Service) CrossBorder(recipient string) bool {
	return !ombud.JurisdictionCovers(s.Jurisdiction, recipient)
}

// DecideExport decides an export as DecideRun decides a run, and more: an
// export always cites an authorization, which must cover every object as
// a read; a class whose rule is scoped leaves only under a sharing scope
// that names the recipient; a class whose rule is deny never leaves; a
// recipient outside the deployment's jurisdiction needs the transfer scope
// to name its jurisdiction; and the Cedar policy is asked once per class,
// with export set. A permit admits one use of the authorization, which the
// export's reservation takes in the store; the caller calls Refund if the
// export is not logged.
func (s *Service) DecideExport(ctx context.Context, r ExportRequest) (Verdict, error) {
	p, err := s.policyInForce(ctx)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{PolicySHA: p.SHA}
	if r.Recipient.Retired != nil {
		return s.with(v, deny(ombud.CodeForbidden, reason.RecipientRetired, "the recipient is retired: no export goes to it")), nil
	}
	if r.AuthorizationID == "" {
		return s.with(v, deny(ombud.CodeForbidden, reason.AuthMissing, "an export cites a registered authorization whose sharing scope allows it")), nil
	}
	ra, refused, err := s.cited(ctx, r.AuthorizationID, v)
	if refused != nil || err != nil {
		return derefVerdict(refused), err
	}
	v.AuthKind, v.NotAfter = ra.Kind, ra.NotAfter
	now := s.now()
	for _, set := range r.Sets {
		if why := ra.Covers(now, r.Purpose, set.Class, set.Subjects, ra.SubjectPseudonyms, s.Jurisdiction); why != "" {
			return s.with(v, deny(ombud.CodeForbidden, why, fmt.Sprintf("the authorization does not cover object %d of the export: %s", set.First, why))), nil
		}
		if len(ra.ShareClasses) > 0 && !slices.Contains(ra.ShareClasses, set.Class) {
			return s.with(v, deny(ombud.CodeForbidden, reason.AuthClass, fmt.Sprintf("the authorization's sharing scope does not name class %s (object %d)", set.Class, set.First))), nil
		}
	}
	seen := map[string]bool{}
	for _, set := range r.Sets {
		if seen[set.Class] {
			continue
		}
		seen[set.Class] = true
		switch c := r.Classes[set.Class]; {
		case c.Export == ombud.ExportDeny:
			return s.with(v, deny(ombud.CodeForbidden, reason.ClassNotExportable, "class "+c.Name+" is never exported")), nil
		case c.Export == ombud.ExportScoped && len(ra.ShareRecipients) == 0:
			return s.with(v, deny(ombud.CodeForbidden, reason.ShareScopeMissing, "class "+c.Name+" leaves only under an authorization whose sharing scope names the recipient; this one has no sharing scope")), nil
		case c.Export == ombud.ExportScoped && !slices.Contains(ra.ShareRecipients, r.Recipient.ID):
			return s.with(v, deny(ombud.CodeForbidden, reason.ShareScopeOther, "class "+c.Name+" leaves only under an authorization whose sharing scope names the recipient; this one names others")), nil
		}
	}
	if s.CrossBorder(r.Recipient.Jurisdiction) && !slices.ContainsFunc(ra.TransferJurisdictions, func(j string) bool { return ombud.JurisdictionCovers(j, r.Recipient.Jurisdiction) }) {
		return s.with(v, deny(ombud.CodeForbidden, reason.TransferScopeMissing, "the recipient's jurisdiction, "+r.Recipient.Jurisdiction+", is outside this deployment's; the authorization's transfer scope does not name it")), nil
	}
	if s.usedUp(ra) {
		return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
	}
	roles := RoleNames(r.Principal)
	for class := range seen {
		c := r.Classes[class]
		ok, _ := p.Decide(Input{
			Principal: r.Principal.ID, Roles: roles, Class: c.Name, Sensitive: c.IsSensitive(), Purpose: r.Purpose,
			Authorized: true, AuthorizationKind: v.AuthKind, Wildcard: ra.Wildcard(), Export: true, Object: "export:" + r.ExportID,
		})
		if !ok {
			return s.with(v, deny(ombud.CodeForbidden, reason.PolicyDenied, "the access policy does not permit this export of class "+c.Name)), nil
		}
	}
	v.Permit, v.Reason = true, reason.AuthInScope
	use, ok := s.admit(ra)
	if !ok {
		return s.with(v, deny(ombud.CodeForbidden, reason.AuthExhausted, "the authorization has no uses left")), nil
	}
	v.Use, v.authID = use, ra.ID
	return v, nil
}
