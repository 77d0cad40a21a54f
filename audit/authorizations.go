package audit

import (
	"fmt"
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Issuer is a registered issuer as its public entry states it.
type Issuer struct {
	Index        uint64 `json:"index"`
	Kind         string `json:"kind"`
	Jurisdiction string `json:"jurisdiction"`
	KeyID        string `json:"key_id"`
}

// AuthState is a registered authorization as its public entry states it.
type AuthState struct {
	Index     uint64    `json:"index"`
	At        time.Time `json:"at"`
	Revoked   *uint64   `json:"revoked,omitempty"` // the revocation entry
	Kind      string    `json:"kind"`
	Purposes  []string  `json:"purposes"`
	Classes   []string  `json:"classes"`
	Subjects  []string  `json:"subjects,omitempty"`
	Wildcard  bool      `json:"wildcard"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	MaxUses   int64     `json:"max_uses"`
	Uses      int64     `json:"uses"`
	// Recipients and Transfers are its sharing scope: the recipients it
	// names (pseudonyms) and the jurisdictions exports may cross to.
	Recipients []string `json:"recipients,omitempty"`
	Transfers  []string `json:"transfers,omitempty"`
}

// EmergencyRead is an emergency permit not yet covered.
type EmergencyRead struct {
	Index    uint64    `json:"index"`
	At       time.Time `json:"at"`
	Object   string    `json:"object"`
	Class    string    `json:"class"`
	Purpose  string    `json:"purpose"`
	Subjects []string  `json:"subjects,omitempty"`
}

// issuer checks that an issuer is registered once and records it.
func (r *rules) issuer(idx uint64, b *entry.Issuer, add adder) {
	name := b.Issuer
	if prev := r.st.Issuers[name]; prev != nil {
		what := "again"
		if prev.KeyID != b.KeyID {
			what = fmt.Sprintf("with a second key (%s; entry %d registered %s)", b.KeyID, prev.Index, prev.KeyID)
		}
		add(RuleIssuerReregistered, "issuer %s was registered %s", name, what)
		return
	}
	r.st.Issuers[name] = &Issuer{Index: idx, Kind: b.IssuerKind, Jurisdiction: b.Jurisdiction, KeyID: b.KeyID}
}

// authorization checks an authorization's registration or revocation.
func (r *rules) authorization(idx uint64, e *entry.Entry, b *entry.Authorization, add adder) {
	switch b.Op {
	case entry.OpRegister:
		r.registration(idx, e, b, add)
	case entry.OpRevoke:
		r.revocation(idx, b, add)
	}
}

// registration checks a registration (named, first, signed by a
// registered issuer within its jurisdiction), records it, and clears the
// emergency reads it covers.
func (r *rules) registration(idx uint64, e *entry.Entry, b *entry.Authorization, add adder) {
	id := b.Authorization
	if id == "" {
		add(RuleAuthorizationMalformed, "a registration names no authorization")
		return
	}
	if _, dup := r.st.Auths[id]; dup {
		add(RuleAuthorizationReregistered, "authorization %s was registered before", id)
		return
	}
	if iss := r.st.Issuers[b.Issuer]; iss == nil {
		add(RuleAuthorizationUnknownIssuer, "authorization %s is signed by %s, which no issuer entry registered", id, b.Issuer)
	} else if !ombud.JurisdictionCovers(iss.Jurisdiction, b.Jurisdiction) {
		add(RuleAuthorizationBeyondIssuer, "authorization %s is for jurisdiction %s, outside its issuer's %s", id, b.Jurisdiction, iss.Jurisdiction)
	}
	a := &AuthState{Index: idx, At: e.Time, Kind: b.AuthKind, Purposes: b.Purposes, Classes: b.Classes,
		Subjects: b.Subject, Wildcard: b.Wildcard, NotBefore: rfc3339(b.NotBefore), NotAfter: rfc3339(b.NotAfter), MaxUses: b.MaxUses,
		Recipients: b.Recipient, Transfers: b.TransferJurisdictions}
	r.st.Auths[id] = a
	r.cover(a)
}

// revocation checks that a revoked authorization was registered and
// records its first revocation.
func (r *rules) revocation(idx uint64, b *entry.Authorization, add adder) {
	id := b.Authorization
	a := r.st.Auths[id]
	if a == nil {
		add(RuleAuthorizationUnregistered, "revocation of authorization %s, which was never registered", id)
		return
	}
	if a.Revoked == nil {
		a.Revoked = ptr(idx)
	}
}

// cover removes the emergency reads a new registration covers in time.
func (r *rules) cover(a *AuthState) {
	kept := r.st.Emergencies[:0]
	for _, em := range r.st.Emergencies {
		inTime := !a.At.After(em.At.Add(r.cfg.EmergencyDeadline))
		inScope := slices.Contains(a.Classes, em.Class) && slices.Contains(a.Purposes, em.Purpose) &&
			(a.Wildcard || intersects(a.Subjects, em.Subjects)) && !em.At.Before(a.NotBefore) && em.At.Before(a.NotAfter)
		if inTime && inScope {
			continue
		}
		kept = append(kept, em)
	}
	r.st.Emergencies = kept
}

// breach reports a logged breach, with or without the emergency read it
// ends, and drops that read from the pending ones.
func (r *rules) breach(b *entry.Breach, add adder) {
	obj := b.Object
	kept := r.st.Emergencies[:0]
	found := false
	for _, em := range r.st.Emergencies {
		if em.Object == obj {
			found = true
			continue
		}
		kept = append(kept, em)
	}
	r.st.Emergencies = kept
	if found {
		add(RuleEmergencyBreach, "an emergency read of object %s was not covered by an authorization in time; the breach is logged and the reader's emergency access suspended", obj)
	} else {
		add(RuleEmergencyBreach, "a breach of object %s is logged without an emergency read of it", obj)
	}
}
