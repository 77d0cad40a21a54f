package journal

import (
	"time"

	"github.com/ombud/ombud"
)

// Operations on principals and issuers.
var (
	PrincipalCreate = Operation[PrincipalPayload]{Op: "principal.create", Kind: "principal",
		ID: func(p *PrincipalPayload) string {
			return idOf(p.Principal, func(p *ombud.Principal) string { return p.ID })
		}}
	PrincipalDisable = Operation[None]{Op: "principal.disable", Kind: "principal"}
	// EmergencyRestore lifts a principal's suspended emergency access.
	EmergencyRestore = Operation[None]{Op: "principal.emergency_restore", Kind: "principal"}
	IssuerRegister   = Operation[IssuerPayload]{Op: "issuer.register", Kind: "issuer",
		ID: func(p *IssuerPayload) string { return idOf(p.Issuer, func(i *ombud.Issuer) string { return i.Name }) }}
	AuthorizationRegister = Operation[AuthorizationPayload]{Op: "authorization.register", Kind: "authorization",
		ID: func(p *AuthorizationPayload) string {
			return idOf(p.Authorization, func(a *ombud.RegisteredAuthorization) string { return a.ID })
		}}
	AuthorizationRevoke = Operation[RevokePayload]{Op: "authorization.revoke", Kind: "authorization"}
	PolicySet           = Operation[PolicyPayload]{Op: "policy.set", Kind: "policy"}
)

// principalOperations lists this file's operations, for Operations.
var principalOperations = []Named{
	PrincipalCreate, PrincipalDisable, EmergencyRestore, IssuerRegister,
	AuthorizationRegister, AuthorizationRevoke, PolicySet,
}

type (
	// PrincipalPayload: PrincipalCreate.
	PrincipalPayload struct{ Principal *ombud.Principal }
	// IssuerPayload: IssuerRegister.
	IssuerPayload struct{ Issuer *ombud.Issuer }
	// AuthorizationPayload: AuthorizationRegister.
	AuthorizationPayload struct {
		Authorization *ombud.RegisteredAuthorization
	}
	// RevokePayload: AuthorizationRevoke.
	RevokePayload struct {
		Reason string
		At     time.Time
	}
	// PolicyPayload: PolicySet, the version it records (one past the
	// last) and the policy's hash.
	PolicyPayload struct {
		Version int
		SHA     string
	}
)

// idOf returns id(v), or "" for a nil v.
func idOf[T any](v *T, id func(*T) string) string {
	if v == nil {
		return ""
	}
	return id(v)
}
