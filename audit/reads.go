package audit

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// access checks a permitted read: never of an erased object, and then by
// its kind, an emergency read (left to be covered), a read in a run, a
// viewing of a flag's evidence or a read under an authorization.
func (r *rules) access(idx uint64, e *entry.Entry, b *entry.Access, add adder) {
	if b.Decision != entry.Permit {
		return
	}
	obj := b.Object
	if at, ok := r.st.Erased[obj]; ok && obj != "" {
		add(RuleAccessAfterErase, "object %s was read after its erase entry %d", obj, at)
	}
	r.notDisabled(b.By, "a permitted read", add)
	switch {
	case b.Emergency:
		r.st.Emergencies = append(r.st.Emergencies, EmergencyRead{Index: idx, At: e.Time, Object: obj, Class: b.Class, Purpose: b.Purpose, Subjects: b.Subject})
	case b.Run != "":
		r.runRead(e, b, add)
	case b.Export != "":
		r.exportRead(idx, b, add)
	case b.Flag != "":
		r.evidenceRead(e, b, add)
	default:
		r.authorizedRead(e, b, add)
	}
}

// authorizedRead checks a read under an authorization: one is cited for a
// sensitive class, registered before, not revoked, with a use left,
// within its window and, for a sensitive class, in scope.
func (r *rules) authorizedRead(e *entry.Entry, b *entry.Access, add adder) {
	id := b.Authorization
	sensitive := slices.Contains(r.cfg.Sensitive, b.Class)
	if id == "" {
		if sensitive {
			add(RuleAuthorizationMissing, "a permitted read of sensitive class %s cites no authorization", b.Class)
		}
		return
	}
	a := r.st.Auths[id]
	switch {
	case a == nil:
		add(RuleAuthorizationUnregistered, "a permitted read cites authorization %s, which was not registered before it", id)
	case a.Revoked != nil:
		add(RuleAuthorizationRevoked, "a permitted read cites authorization %s, revoked at entry %d", id, *a.Revoked)
	}
	if a == nil {
		return
	}
	a.Uses++
	if a.MaxUses > 0 && a.Uses > a.MaxUses {
		add(RuleAuthorizationExhausted, "use %d of authorization %s, which allows %d", a.Uses, id, a.MaxUses)
	}
	if e.Time.Before(a.NotBefore) || !e.Time.Before(a.NotAfter) {
		add(RuleAuthorizationOutOfWindow, "read at %s, outside the authorization's window %s to %s", e.Time.Format(time.RFC3339), a.NotBefore.Format(time.RFC3339), a.NotAfter.Format(time.RFC3339))
	}
	if sensitive {
		readScope(a, b, add)
	}
}

// readScope checks that a read of a sensitive class is within its
// authorization's purposes, classes and subjects.
func readScope(a *AuthState, b *entry.Access, add adder) {
	if !slices.Contains(a.Purposes, b.Purpose) {
		add(RuleAuthorizationOutOfScope, "purpose %s is not among the authorization's purposes %v", b.Purpose, a.Purposes)
	}
	if !slices.Contains(a.Classes, b.Class) {
		add(RuleAuthorizationOutOfScope, "class %s is not among the authorization's classes %v", b.Class, a.Classes)
	}
	if !a.Wildcard && !intersects(a.Subjects, b.Subject) {
		add(RuleAuthorizationOutOfScope, "no subject of the object is named by the authorization")
	}
}

func intersects(a, b []string) bool {
	for _, x := range b {
		if slices.Contains(a, x) {
			return true
		}
	}
	return false
}

// export checks a permitted export: its recipient registered and not
// retired before it; for a shared class, an authorization whose sharing
// scope names the recipient; across a border, one whose transfer scope
// names the recipient's jurisdiction; and its counts by class adding up.
func (r *rules) export(idx uint64, b *entry.Export, add adder) {
	if b.Decision != entry.Permit {
		return
	}
	if rc := r.st.Recipients[b.Recipient]; rc == nil || rc.Retired != 0 {
		add(RuleExportRecipientUnregistered, "an export to recipient %s, which no entry registered before it, or one retired it", b.Recipient)
	}
	a := r.st.Auths[b.Authorization]
	// The export spends one use of its authorization, as a read does.
	switch {
	case a == nil:
		add(RuleAuthorizationUnregistered, "an export cites authorization %s, which was not registered before it", b.Authorization)
	case a.Revoked != nil:
		add(RuleAuthorizationRevoked, "an export cites authorization %s, revoked at entry %d", b.Authorization, *a.Revoked)
	}
	if a != nil {
		a.Uses++
		if a.MaxUses > 0 && a.Uses > a.MaxUses {
			add(RuleAuthorizationExhausted, "use %d of authorization %s, which allows %d", a.Uses, b.Authorization, a.MaxUses)
		}
	}
	xs := &ExportState{Index: idx, Authorization: strings.Clone(b.Authorization), Recipient: strings.Clone(b.Recipient), Purpose: strings.Clone(b.Purpose), Objects: b.Objects}
	r.st.Exports[strings.Clone(b.Export)] = xs
	var n int64
	for _, cc := range b.ClassCounts {
		class, count, ok := strings.Cut(cc, ":")
		k, err := strconv.ParseInt(count, 10, 64)
		if !ok || err != nil || k < 1 {
			add(RuleExportMalformed, "class_counts holds %q, not CLASS:N", cc)
			return
		}
		n += k
		xs.Classes = append(xs.Classes, strings.Clone(class))
		if slices.Contains(r.cfg.Shared, class) && (a == nil || !slices.Contains(a.Recipients, b.Recipient)) {
			add(RuleExportWithoutScope, "an export of class %s under an authorization whose sharing scope does not name its recipient %s", class, b.Recipient)
		}
	}
	if n != b.Objects {
		add(RuleExportMalformed, "class_counts add up to %d objects, the export says %d", n, b.Objects)
	}
	if b.CrossBorder && (a == nil || !slices.ContainsFunc(a.Transfers, func(j string) bool { return ombud.JurisdictionCovers(j, b.Jurisdiction) })) {
		add(RuleExportWithoutTransferScope, "an export to %s, across a border, under an authorization whose transfer scope does not name it", b.Jurisdiction)
	}
}

// recipient checks a recipient's registration (once) and retirement (of
// one registered and not yet retired), and records it.
func (r *rules) recipient(idx uint64, b *entry.Recipient, add adder) {
	prev := r.st.Recipients[b.Recipient]
	switch b.Op {
	case entry.OpRegister:
		if prev != nil {
			add(RuleRecipientReregistered, "recipient %s was registered again (first at entry %d)", b.Recipient, prev.Index)
			return
		}
		r.st.Recipients[strings.Clone(b.Recipient)] = &RecipientState{Index: idx, Category: strings.Clone(b.RecipientCategory), Jurisdiction: strings.Clone(b.Jurisdiction)}
	case entry.OpRetire:
		switch {
		case prev == nil:
			add(RuleRecipientRetireUnknown, "recipient %s was retired, but no entry registered it", b.Recipient)
		case prev.Retired != 0:
			add(RuleRecipientRetireUnknown, "recipient %s was retired again (first at entry %d)", b.Recipient, prev.Retired)
		default:
			prev.Retired = idx
		}
	}
}

// exportRead checks a read in an export: the export permitted and logged
// before it, of one of its classes and its purpose, within its count.
func (r *rules) exportRead(idx uint64, b *entry.Access, add adder) {
	xs := r.st.Exports[b.Export]
	if xs == nil {
		add(RuleExportReadUnknown, "a read in export %s, which no permitted export entry logged before it", b.Export)
		return
	}
	xs.Reads++
	// The object has gone to the recipient: its erasure owes it a notice.
	if obj := b.Object; obj != "" && !slices.Contains(r.st.Copies[obj], xs.Recipient) {
		r.st.Copies[strings.Clone(obj)] = append(r.st.Copies[obj], xs.Recipient)
	}
	switch {
	case xs.Reads > xs.Objects:
		add(RuleExportReadUnknown, "read %d in export %s, which holds %d objects", xs.Reads, b.Export, xs.Objects)
	case !slices.Contains(xs.Classes, b.Class) || b.Purpose != xs.Purpose:
		add(RuleExportReadUnknown, "a read of class %s for %s in export %s, which holds classes %v for %s", b.Class, b.Purpose, b.Export, xs.Classes, xs.Purpose)
	}
	// Its authorization's revocation, or its recipient's retirement, ends
	// the export: no read of it may follow either.
	if a := r.st.Auths[xs.Authorization]; a != nil && a.Revoked != nil && *a.Revoked < idx {
		add(RuleAuthorizationRevoked, "a read in export %s after its authorization was revoked at entry %d", b.Export, *a.Revoked)
	}
	if rc := r.st.Recipients[xs.Recipient]; rc != nil && rc.Retired != 0 && rc.Retired < idx {
		add(RuleExportRecipientUnregistered, "a read in export %s after its recipient was retired at entry %d", b.Export, rc.Retired)
	}
}
