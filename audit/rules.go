package audit

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/vocab"
)

// Rules are the auditor's settings for the invariants.
type Rules struct {
	// Sensitive classes need an authorization to read (default: the
	// sensitive classes of ombud's defaults).
	Sensitive []string
	// Shared classes need a sharing scope naming the recipient on export
	// (default: biometric and location, docs/INVARIANTS.md, I7).
	Shared []string
	// MinReviews is how many distinct confirming reviewers an action needs
	// (default DefaultMinReviews).
	MinReviews int
	// EmergencyDeadline is how long an emergency read may stay uncovered
	// (default vocab.DefaultEmergencyDeadline).
	EmergencyDeadline time.Duration
	// SweepGrace is how long after an emergency deadline the retention
	// sweep may take to log the breach (default DefaultSweepGrace).
	SweepGrace time.Duration
	// TimeTolerance is how far an entry's time may lie before the latest
	// time seen (default DefaultTimeTolerance).
	TimeTolerance time.Duration
}

// The rules' defaults.
const (
	// DefaultMinReviews is how many distinct confirming reviewers an
	// action on a flag needs (docs/INVARIANTS.md, I6).
	DefaultMinReviews = 2
	// DefaultSweepGrace is how long after an emergency deadline the sweep
	// may take to log the breach (ombud sweeps hourly).
	DefaultSweepGrace = 2 * time.Hour
	// DefaultTimeTolerance is how far an entry's time may lie before the
	// latest time seen (entries are sequenced in batches).
	DefaultTimeTolerance = time.Minute
)

func (r *Rules) defaults() {
	if r.Sensitive == nil {
		for _, c := range ombud.DefaultClasses() {
			if c.IsSensitive() {
				r.Sensitive = append(r.Sensitive, c.Name)
			}
		}
	}
	if r.Shared == nil {
		r.Shared = []string{"biometric", "location"}
	}
	if r.MinReviews <= 0 {
		r.MinReviews = DefaultMinReviews
	}
	if r.EmergencyDeadline <= 0 {
		r.EmergencyDeadline = vocab.DefaultEmergencyDeadline
	}
	if r.SweepGrace <= 0 {
		r.SweepGrace = DefaultSweepGrace
	}
	if r.TimeTolerance <= 0 {
		r.TimeTolerance = DefaultTimeTolerance
	}
}

// RuleState is what the invariants remember between entries and runs.
// Keys are keyed pseudonyms, never identifiers.
type RuleState struct {
	LastTime    time.Time             `json:"last_time"`
	Auths       map[string]*AuthState `json:"authorizations"`
	Erased      map[string]uint64     `json:"erased"` // object → erase entry
	Held        map[string]uint64     `json:"held"`   // object → the hold entry in force
	Issuers     map[string]*Issuer    `json:"issuers"`
	Flags       map[string]*FlagState `json:"flags"`
	Emergencies []EmergencyRead       `json:"emergencies"` // uncovered, within or past deadline
	// Versions are the registered versions of analytic systems, by system
	// and version.
	Versions map[string]map[string]*VersionState `json:"versions"`
	// Runs are the analytic runs started, by run.
	Runs map[string]*RunState `json:"runs"`
	// DetailsErased is, by entry kind, the latest time before which a
	// logged summary says the kind's detail records were erased.
	DetailsErased map[string]time.Time `json:"details_erased"`
	// ActionFlags maps each action to its flag, for its contests.
	ActionFlags map[string]string `json:"action_flags,omitempty"`
	// ContestsDue holds each contest filed and not yet resolved, with the
	// time it is due by (the filing's time plus the deadline it logged).
	ContestsDue map[string]time.Time `json:"contests_due,omitempty"`
}

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
}

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

// FlagState is a flag's creator and the reviewers who confirmed it.
type FlagState struct {
	Creator   []string `json:"creator"`
	Confirms  []string `json:"confirms"`
	Reviewers []string `json:"reviewers,omitempty"` // everyone who reviewed it, either way
	Acted     bool     `json:"acted,omitempty"`     // an action was taken on it
	// Contested: a contest of its action is filed and not resolved.
	Contested bool `json:"contested,omitempty"`
	// At, Run and Objects: when it was raised, its run, and its inputs
	// and reference images, the only objects its reviewers may view.
	At      time.Time `json:"at,omitzero"`
	Run     string    `json:"run,omitempty"`
	Objects []string  `json:"objects,omitempty"`
	// Inputs is how many of Objects, first, are inputs; Viewed holds each
	// viewing of one by a reviewer, as "reviewer object": a confirmation
	// needs the confirming reviewer's viewing of every input.
	Inputs int      `json:"inputs,omitempty"`
	Viewed []string `json:"viewed,omitempty"`
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

type rules struct {
	cfg Rules
	st  RuleState
}

func newRules(cfg Rules, st RuleState) *rules {
	r := &rules{cfg: cfg, st: st}
	if r.st.Auths == nil {
		r.st.Auths = map[string]*AuthState{}
	}
	if r.st.Erased == nil {
		r.st.Erased = map[string]uint64{}
	}
	if r.st.Flags == nil {
		r.st.Flags = map[string]*FlagState{}
	}
	if r.st.ActionFlags == nil {
		r.st.ActionFlags = map[string]string{}
	}
	if r.st.ContestsDue == nil {
		r.st.ContestsDue = map[string]time.Time{}
	}
	if r.st.Held == nil {
		r.st.Held = map[string]uint64{}
	}
	if r.st.Issuers == nil {
		r.st.Issuers = map[string]*Issuer{}
	}
	if r.st.DetailsErased == nil {
		r.st.DetailsErased = map[string]time.Time{}
	}
	if r.st.Versions == nil {
		r.st.Versions = map[string]map[string]*VersionState{}
	}
	if r.st.Runs == nil {
		r.st.Runs = map[string]*RunState{}
	}
	r.st.Emergencies = slices.Clone(r.st.Emergencies)
	return r
}

func (r *rules) state() RuleState { return r.st }

// rfc3339 reads a time field; a field that is not one reads as zero.
func rfc3339(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// adder records a finding of rule, about the entry being checked.
type adder func(rule, format string, args ...any)

// entry checks one entry, e with its body, against the public invariants
// and updates the state.
func (r *rules) entry(idx uint64, e *entry.Entry, body entry.Body) []Finding {
	var out []Finding
	add := func(rule, format string, args ...any) {
		out = append(out, Finding{Rule: rule, Index: ptr(idx), Message: fmt.Sprintf(format, args...)})
	}
	r.timeOrder(e, add)
	switch b := body.(type) {
	case *entry.Authorization:
		r.authorization(idx, e, b, add)
	case *entry.Access:
		r.access(idx, e, b, add)
	case *entry.Analytic:
		r.analytic(idx, b)
	case *entry.Run:
		r.run(idx, e, b, add)
	case *entry.Erase:
		r.erase(idx, b, add)
	case *entry.Hold:
		r.hold(idx, b, add)
	case *entry.Issuer:
		r.issuer(idx, b, add)
	case *entry.System:
		r.detailsErased(b)
	case *entry.Breach:
		r.breach(b, add)
	case *entry.Export:
		r.export(b, add)
	case *entry.Flag:
		r.flag(e, b)
	case *entry.Review:
		r.review(b, add)
	case *entry.Contest:
		r.contest(e, b, add)
	case *entry.Action:
		r.action(b, add)
	}
	return out
}

// timeOrder checks that e's time is not before the latest time seen, by
// more than the tolerance, and advances the latest time.
func (r *rules) timeOrder(e *entry.Entry, add adder) {
	if !r.st.LastTime.IsZero() && e.Time.Before(r.st.LastTime.Add(-r.cfg.TimeTolerance)) {
		add(RuleTimeBackwards, "entry time %s is %v before the latest time already logged (%s); tolerance %v",
			e.Time.Format(time.RFC3339Nano), r.st.LastTime.Sub(e.Time).Round(time.Millisecond), r.st.LastTime.Format(time.RFC3339Nano), r.cfg.TimeTolerance)
	}
	if e.Time.After(r.st.LastTime) {
		r.st.LastTime = e.Time
	}
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
		Subjects: b.Subject, Wildcard: b.Wildcard, NotBefore: rfc3339(b.NotBefore), NotAfter: rfc3339(b.NotAfter), MaxUses: b.MaxUses}
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
	switch {
	case b.Emergency:
		r.st.Emergencies = append(r.st.Emergencies, EmergencyRead{Index: idx, At: e.Time, Object: obj, Class: b.Class, Purpose: b.Purpose, Subjects: b.Subject})
	case b.Run != "":
		r.runRead(e, b, add)
	case b.Flag != "":
		r.evidenceRead(e, b, add)
	default:
		r.authorizedRead(e, b, add)
	}
}

// evidenceRead checks a reviewer's viewing of a flag's evidence: of a
// logged flag, for the purpose review, not by the flag's creator, and
// records the viewing.
func (r *rules) evidenceRead(e *entry.Entry, b *entry.Access, add adder) {
	obj, purpose := b.Object, b.Purpose
	switch f := r.st.Flags[b.Flag]; {
	case f == nil:
		add(RuleEvidenceReadInvalid, "a viewing of evidence of flag %s, which was never logged", b.Flag)
	case purpose != vocab.PurposeReview:
		add(RuleEvidenceReadInvalid, "a viewing of a flag's evidence for the purpose %s, not %s", purpose, vocab.PurposeReview)
	case b.By != "" && slices.Contains(f.Creator, b.By):
		add(RuleEvidenceReadInvalid, "the creator of flag %s, or the starter of its run, viewed its evidence as a reviewer", b.Flag)
	case len(f.Objects) > 0 && !slices.Contains(f.Objects, obj):
		add(RuleEvidenceReadInvalid, "a viewing as evidence of flag %s of an object that is neither its input nor its reference image", b.Flag)
	case r.evidenceAuthEnded(f, e.Time):
		add(RuleEvidenceReadInvalid, "a viewing of the evidence of flag %s after its run's authorization was revoked or, outside a contest, its review window closed", b.Flag)
	case b.By != "" && slices.Contains(f.Reviewers, b.By):
		add(RuleEvidenceReadInvalid, "a reviewer viewed the evidence of flag %s after reviewing it", b.Flag)
	case f.Acted && !f.Contested:
		add(RuleEvidenceReadInvalid, "a viewing of the evidence of flag %s after its action, with no contest open", b.Flag)
	default:
		if v := b.By + " " + obj; b.By != "" && !slices.Contains(f.Viewed, v) {
			f.Viewed = append(f.Viewed, v)
		}
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

// erase checks that an erased object is not on hold and records its
// first erasure.
func (r *rules) erase(idx uint64, b *entry.Erase, add adder) {
	obj := b.Object
	if obj == "" {
		return
	}
	if at, held := r.st.Held[obj]; held {
		add(RuleEraseUnderHold, "object %s was erased while on legal hold (hold entry %d, never released)", obj, at)
	}
	if _, ok := r.st.Erased[obj]; !ok {
		r.st.Erased[obj] = idx
	}
}

// hold checks that a hold is not set on an erased object and records the
// hold in force, or its release.
func (r *rules) hold(idx uint64, b *entry.Hold, add adder) {
	obj := b.Object
	switch b.Op {
	case entry.OpSet:
		if _, ok := r.st.Erased[obj]; ok {
			add(RuleHoldAfterErase, "a hold was set on object %s after its erase entry", obj)
		}
		r.st.Held[obj] = idx
	case entry.OpRelease:
		delete(r.st.Held, obj)
	}
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

// detailsErased records a summary's erasure of a kind's detail records,
// which explains their absence later.
func (r *rules) detailsErased(b *entry.System) {
	if b.Op != entry.OpDetailsErased {
		return
	}
	if t, err := time.Parse(time.DateOnly, b.Before); err == nil && t.After(r.st.DetailsErased[b.EntryKind]) {
		r.st.DetailsErased[b.EntryKind] = t
	}
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

// export checks that a permitted export of a shared class names its
// recipient.
func (r *rules) export(b *entry.Export, add adder) {
	if b.Decision == entry.Permit && slices.Contains(r.cfg.Shared, b.Class) {
		if b.Recipient == "" || b.RecipientCategory == "" {
			add(RuleExportWithoutScope, "an export of class %s carries no sharing scope naming its recipient", b.Class)
		}
	}
}

// flag records a flag raised: its creators (its raiser and its run's
// starter, who may not review it) and the objects its reviewers may view.
func (r *rules) flag(e *entry.Entry, b *entry.Flag) {
	if b.Flag == "" {
		return
	}
	var creator []string
	if b.By != "" {
		creator = []string{b.By}
	}
	f := &FlagState{Creator: creator, At: e.Time, Run: b.Run, Objects: append(slices.Clone(b.Input), b.Reference...), Inputs: len(b.Input)}
	if run := r.st.Runs[b.Run]; run != nil && run.Starter != "" && !slices.Contains(creator, run.Starter) {
		f.Creator = append(f.Creator, run.Starter)
	}
	r.st.Flags[b.Flag] = f
}

// review checks that a review is of a logged flag and that a confirmation
// follows the reviewer's viewing of every input, and records the reviewer.
func (r *rules) review(b *entry.Review, add adder) {
	f := r.st.Flags[b.Flag]
	if f == nil {
		add(RuleReviewUnknownFlag, "a review of flag %s, which was never logged", b.Flag)
		return
	}
	if b.Outcome == entry.Confirm && b.By != "" && !slices.Contains(f.Confirms, b.By) {
		f.Confirms = append(f.Confirms, b.By)
		for _, in := range f.Objects[:min(f.Inputs, len(f.Objects))] {
			if !slices.Contains(f.Viewed, b.By+" "+in) {
				add(RuleConfirmationUnviewed, "a reviewer confirmed flag %s without a logged viewing of its input %s", b.Flag, in)
				break
			}
		}
	}
	if b.By != "" && !slices.Contains(f.Reviewers, b.By) {
		f.Reviewers = append(f.Reviewers, b.By)
	}
}

// contest records a contest filed against an action, with the time it is
// due by, and checks that its resolution came in time.
func (r *rules) contest(e *entry.Entry, b *entry.Contest, add adder) {
	if f := r.st.Flags[r.st.ActionFlags[b.Action]]; f != nil && b.Action != "" {
		f.Contested = b.Op == entry.OpFiled
	}
	switch due, ok := r.st.ContestsDue[b.Contest]; {
	case b.Op == entry.OpFiled && b.DeadlineDays > 0 && b.Contest != "":
		r.st.ContestsDue[b.Contest] = e.Time.Add(time.Duration(b.DeadlineDays) * 24 * time.Hour)
	case b.Op == entry.OpResolved && ok:
		if e.Time.After(due) {
			add(RuleContestOverdue, "contest %s was resolved at %s, after it was due at %s", b.Contest, e.Time.Format(time.RFC3339), due.Format(time.RFC3339))
		}
		delete(r.st.ContestsDue, b.Contest)
	}
}

// action checks that an action on a flag follows enough distinct
// confirming reviewers other than its creators, claims no more than the
// log shows, and is the flag's only one; it records the action.
func (r *rules) action(b *entry.Action, add adder) {
	id := b.Flag
	f := r.st.Flags[id]
	if f == nil {
		add(RuleActionWithoutReviews, "an action on flag %s, which was never logged", id)
		return
	}
	n := 0
	for _, c := range f.Confirms {
		if !slices.Contains(f.Creator, c) {
			n++
		}
	}
	if n < r.cfg.MinReviews {
		add(RuleActionWithoutReviews, "an action on flag %s after %d distinct confirming reviewers (not its creator); %d are required", id, n, r.cfg.MinReviews)
	}
	if b.Confirmations > int64(n) {
		add(RuleActionWithoutReviews, "the action claims %d confirmations; the log shows %d", b.Confirmations, n)
	}
	if f.Acted {
		add(RuleActionRepeated, "a second action on flag %s, which has one already", id)
	}
	f.Acted = true
	if b.Action != "" {
		r.st.ActionFlags[b.Action] = id
	}
}

// evidenceAuthEnded reports whether a viewing of f's evidence at t comes
// after its run's authorization was revoked or, for a review (no contest
// open), after the review window or the authorization's window closed.
func (r *rules) evidenceAuthEnded(f *FlagState, t time.Time) bool {
	deadline := f.At.Add(ombud.ReviewWindow)
	if run := r.st.Runs[f.Run]; run != nil && run.Authorization != "" {
		if a := r.st.Auths[run.Authorization]; a != nil {
			if a.Revoked != nil {
				return true
			}
			if !a.NotAfter.IsZero() && a.NotAfter.Before(deadline) {
				deadline = a.NotAfter
			}
		}
	}
	return !f.Contested && !f.At.IsZero() && !t.Before(deadline.Add(r.cfg.TimeTolerance))
}

// analytic records the registry's versions.
func (r *rules) analytic(idx uint64, b *entry.Analytic) {
	vs := r.st.Versions[b.System]
	if vs == nil {
		vs = map[string]*VersionState{}
		r.st.Versions[b.System] = vs
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
	if !slices.Contains(rs.Classes, b.Class) {
		add(RuleRunReadOutsideList, "a read of class %s in run %s, whose objects are of classes %v", b.Class, b.Run, rs.Classes)
	}
	if a := r.st.Auths[rs.Authorization]; a != nil && a.Revoked != nil {
		add(RuleAuthorizationRevoked, "a read in run %s, whose authorization %s was revoked at entry %d", b.Run, rs.Authorization, *a.Revoked)
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

// finish reports emergency reads past their deadline with neither a
// covering authorization nor a breach entry. Reads still within their
// deadline stay in the state for the next run.
func (r *rules) finish(now time.Time) []Finding {
	var out []Finding
	late := func(em EmergencyRead) bool { return now.After(em.At.Add(r.cfg.EmergencyDeadline + r.cfg.SweepGrace)) }
	for _, em := range r.st.Emergencies {
		if late(em) {
			out = append(out, Finding{Rule: RuleEmergencyUncovered, Index: ptr(em.Index),
				Message: fmt.Sprintf("an emergency read of %s at %s was not covered by an authorization within %v, and no breach was logged", em.Object, em.At.Format(time.RFC3339), r.cfg.EmergencyDeadline)})
		}
	}
	// Reported once: a past-deadline read leaves the pending set.
	kept := r.st.Emergencies[:0]
	for _, em := range r.st.Emergencies {
		if !late(em) {
			kept = append(kept, em)
		}
	}
	r.st.Emergencies = kept
	// A contest still open past its due time, by the later of the clock
	// and the last entry: reported once, as a resolution after it would
	// be.
	if r.st.LastTime.After(now) {
		now = r.st.LastTime
	}
	for _, ct := range slices.Sorted(maps.Keys(r.st.ContestsDue)) {
		if due := r.st.ContestsDue[ct]; now.After(due) {
			out = append(out, Finding{Rule: RuleContestOverdue, Message: fmt.Sprintf("contest %s was due at %s and is not resolved", ct, due.Format(time.RFC3339))})
			delete(r.st.ContestsDue, ct)
		}
	}
	return out
}

// erasedDetailExplained reports whether the log explains why the detail
// record of e is erased: its object's erase entry (an ingest's detail goes
// with its object), or a summary entry erasing its kind's details from
// before its time.
func (r *rules) erasedDetailExplained(e *entry.Entry, body entry.Body) bool {
	if in, ok := body.(*entry.Ingest); ok {
		if _, ok := r.st.Erased[in.Object]; ok {
			return true
		}
	}
	return e.Time.Before(r.st.DetailsErased[string(e.Kind)])
}
