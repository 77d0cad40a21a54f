package audit

import (
	"slices"
	"time"

	"github.com/ombud/ombud/entry"
)

// VersionState is a registered version of an analytic system.
type VersionState struct {
	Index   uint64  `json:"index"`
	Retired *uint64 `json:"retired,omitempty"` // the retirement entry
}

// RunState is a run as its public entries state it.
type RunState struct {
	Index         uint64    `json:"index"`
	Classes       []string  `json:"classes"`
	Until         time.Time `json:"until"`
	Authorization string    `json:"authorization,omitempty"`
	Closed        *uint64   `json:"closed,omitempty"` // the close entry
	Starter       string    `json:"starter,omitempty"`
	// System and Version name the run's system version, whose retirement
	// ends its reading.
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
}

// analytic records the registry's versions.
func (r *rules) analytic(idx uint64, b *entry.Analytic) {
	vs := r.st.Versions[b.System]
	if vs == nil {
		vs = map[string]*VersionState{}
		r.st.Versions[b.System] = vs
	}
	if b.Op == entry.OpRegister {
		if _, ok := r.st.SystemContracts[b.System]; !ok {
			r.st.SystemContracts[b.System] = SystemContractState{Contract: b.Contract, Task: b.Task}
		}
	}
	switch b.Op {
	case entry.OpRegister, entry.OpVersion:
		if vs[b.ModelVersion] == nil {
			vs[b.ModelVersion] = &VersionState{Index: idx}
		}
	case entry.OpRetire:
		if v := vs[b.ModelVersion]; v != nil && v.Retired == nil {
			v.Retired = ptr(idx)
		}
	}
}

// run checks a run started (its version registered and in service, an
// authorization for sensitive classes, in scope and with a use left) and
// records it, or records its close.
func (r *rules) run(idx uint64, e *entry.Entry, b *entry.Run, add adder) {
	switch b.Op {
	case entry.OpClose:
		if rs := r.st.Runs[b.Run]; rs == nil {
			add(RuleRunUnknown, "a close of run %s, which was never started", b.Run)
		} else if rs.Closed == nil {
			rs.Closed = ptr(idx)
		}
		return
	case entry.OpStart:
	default:
		return
	}
	if b.Decision != entry.Permit {
		return
	}
	r.notDisabled(b.By, "run "+b.Run+" started", add)
	r.runContract(b, add)
	switch v := r.st.Versions[b.System][b.ModelVersion]; {
	case v == nil:
		add(RuleRunVersionUnregistered, "run %s names version %s of system %s, which no analytic entry registered before it", b.Run, b.ModelVersion, b.System)
	case v.Retired != nil:
		add(RuleRunVersionRetired, "run %s names version %s of system %s, retired at entry %d", b.Run, b.ModelVersion, b.System, *v.Retired)
	}
	sensitive := slices.ContainsFunc(b.Classes, func(c string) bool { return slices.Contains(r.cfg.Sensitive, c) })
	id := b.Authorization
	if id == "" && sensitive {
		add(RuleRunAuthorizationMissing, "run %s reads sensitive classes %v and cites no authorization", b.Run, b.Classes)
	}
	if id != "" {
		a := r.st.Auths[id]
		switch {
		case a == nil:
			add(RuleAuthorizationUnregistered, "run %s cites authorization %s, which was not registered before it", b.Run, id)
		case a.Revoked != nil:
			add(RuleAuthorizationRevoked, "run %s cites authorization %s, revoked at entry %d", b.Run, id, *a.Revoked)
		}
		if a != nil {
			a.Uses++
			if a.MaxUses > 0 && a.Uses > a.MaxUses {
				add(RuleAuthorizationExhausted, "use %d of authorization %s, which allows %d", a.Uses, id, a.MaxUses)
			}
			if e.Time.Before(a.NotBefore) || !e.Time.Before(a.NotAfter) {
				add(RuleAuthorizationOutOfWindow, "run started at %s, outside the authorization's window %s to %s", e.Time.Format(time.RFC3339), a.NotBefore.Format(time.RFC3339), a.NotAfter.Format(time.RFC3339))
			}
			if !slices.Contains(a.Purposes, b.Purpose) {
				add(RuleAuthorizationOutOfScope, "run %s: purpose %s is not among the authorization's purposes %v", b.Run, b.Purpose, a.Purposes)
			}
			for _, c := range b.Classes {
				if !slices.Contains(a.Classes, c) {
					add(RuleAuthorizationOutOfScope, "run %s: class %s is not among the authorization's classes %v", b.Run, c, a.Classes)
				}
			}
		}
	}
	if _, dup := r.st.Runs[b.Run]; !dup {
		r.st.Runs[b.Run] = &RunState{Index: idx, Classes: b.Classes, Until: rfc3339(b.Until), Authorization: id, Starter: b.By,
			System: b.System, Version: b.ModelVersion}
	}
}

// runRead checks a permitted read in a run: the run was started, is
// neither closed nor past its time limit, its authorization is not
// revoked, its version is not retired, and the object's class is one the
// run declared.
func (r *rules) runRead(e *entry.Entry, b *entry.Access, add adder) {
	rs := r.st.Runs[b.Run]
	if rs == nil {
		add(RuleRunUnknown, "a read in run %s, which was never started", b.Run)
		return
	}
	// A run's reading ends at its close, its time limit or its version's
	// retirement; a read past the first is reported once.
	v := r.st.Versions[rs.System][rs.Version]
	switch {
	case rs.Closed != nil:
		add(RuleRunReadAfterClose, "a read in run %s after its close entry %d", b.Run, *rs.Closed)
	case !e.Time.Before(rs.Until):
		add(RuleRunReadAfterClose, "a read in run %s at %s, past its time limit %s", b.Run, e.Time.Format(time.RFC3339Nano), rs.Until.Format(time.RFC3339Nano))
	case v != nil && v.Retired != nil && *v.Retired > rs.Index:
		add(RuleRunReadAfterRetirement, "a read in run %s after version %s of system %s was retired at entry %d", b.Run, rs.Version, rs.System, *v.Retired)
	}
	if rs.Starter != b.By {
		// The run's authority came through its starter.
		r.notDisabled(rs.Starter, "a read in run "+b.Run+", started", add)
	}
	if !slices.Contains(rs.Classes, b.Class) {
		add(RuleRunReadOutsideList, "a read of class %s in run %s, whose objects are of classes %v", b.Class, b.Run, rs.Classes)
	}
	if a := r.st.Auths[rs.Authorization]; a != nil && a.Revoked != nil {
		add(RuleAuthorizationRevoked, "a read in run %s, whose authorization %s was revoked at entry %d", b.Run, rs.Authorization, *a.Revoked)
	}
}
