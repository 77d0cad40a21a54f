package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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
	// ExpectBuilds, when set, are the SHA-256s of the executables the
	// auditor accepts (those it rebuilt): a build entry naming another is
	// a finding, and so is an entry logged before any build entry.
	ExpectBuilds []string
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
	// Disabled maps each disabled principal's pseudonym to its disabling.
	Disabled map[string]uint64 `json:"disabled,omitempty"`
	// Policy is the version of the latest policy logged, and PolicyAt
	// its entry.
	Policy   int64  `json:"policy,omitempty"`
	PolicyAt uint64 `json:"policy_at,omitempty"`
	// Recipients are the recipients of exports registered, by pseudonym.
	Recipients map[string]*RecipientState `json:"recipients,omitempty"`
	// Exports are the permitted exports, by pseudonym.
	Exports map[string]*ExportState `json:"exports,omitempty"`
	// Copies maps each object read in a permitted export, and not yet
	// erased, to the recipients it went to: those its erasure owes a
	// notice.
	Copies map[string][]string `json:"copies,omitempty"`
	// NoticesOwed holds each erasure notice owed and not yet logged as
	// sent, keyed "object recipient".
	NoticesOwed map[string]*NoticeDue `json:"notices_owed,omitempty"`
	// Quorum is the multi-party approval in force and the proposals open.
	Quorum QuorumState `json:"quorum"`
	// Tips are the whistleblower intake's tips, by pseudonym, and
	// TipCommitments the entry of each source's submission, by its
	// commitment (for the promises of filing an auditor is given).
	Tips           map[string]*TipState `json:"tips,omitempty"`
	TipCommitments map[string]TipRecord `json:"tip_commitments,omitempty"`
	// Contracts are the registered contracts, by ocid, as their latest
	// release; Imports the register entries of each import whose closing
	// entry has not been read yet, by its ref; SystemContracts each
	// analytic system's contract and task, by the system's pseudonym.
	Contracts       map[string]*ContractState      `json:"contracts,omitempty"`
	Imports         map[string][]*ContractState    `json:"contract_imports,omitempty"`
	SystemContracts map[string]SystemContractState `json:"system_contracts,omitempty"`
	// Build is the executable's SHA-256 of the latest build entry, and
	// BuildAt that entry.
	Build   string `json:"build,omitempty"`
	BuildAt uint64 `json:"build_at,omitempty"`
}

// NoticeDue is an erasure notice owed: its erase entry and when it is due.
type NoticeDue struct {
	Erase    uint64    `json:"erase"`
	Due      time.Time `json:"due"`
	Reported bool      `json:"reported,omitempty"` // reported overdue once
}

// ExportState is a permitted export as its entry stated it, and the reads
// logged in it so far.
type ExportState struct {
	Index         uint64   `json:"index"`
	Authorization string   `json:"authorization"`
	Recipient     string   `json:"recipient"`
	Purpose       string   `json:"purpose"`
	Classes       []string `json:"classes"`
	Objects       int64    `json:"objects"`
	Reads         int64    `json:"reads"`
}

// RecipientState is a recipient as its entries left it.
type RecipientState struct {
	Index        uint64 `json:"index"` // its registration
	Category     string `json:"category"`
	Jurisdiction string `json:"jurisdiction"`
	Retired      uint64 `json:"retired,omitempty"` // its retirement, 0 if none
}

type rules struct {
	cfg Rules
	st  RuleState
	// changes are the changes of build this run read, and unbuiltEntries
	// how many entries it read before any build entry.
	changes        []BuildChange
	unbuiltEntries uint64
}

func newRules(cfg Rules, st RuleState) *rules {
	r := &rules{cfg: cfg, st: st}
	if r.st.Contracts == nil {
		r.st.Contracts = map[string]*ContractState{}
	}
	if r.st.Imports == nil {
		r.st.Imports = map[string][]*ContractState{}
	}
	if r.st.SystemContracts == nil {
		r.st.SystemContracts = map[string]SystemContractState{}
	}
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
	if r.st.Disabled == nil {
		r.st.Disabled = map[string]uint64{}
	}
	if r.st.Issuers == nil {
		r.st.Issuers = map[string]*Issuer{}
	}
	if r.st.Recipients == nil {
		r.st.Recipients = map[string]*RecipientState{}
	}
	if r.st.Exports == nil {
		r.st.Exports = map[string]*ExportState{}
	}
	if r.st.Copies == nil {
		r.st.Copies = map[string][]string{}
	}
	if r.st.NoticesOwed == nil {
		r.st.NoticesOwed = map[string]*NoticeDue{}
	}
	if r.st.Quorum.Proposals == nil {
		r.st.Quorum.Proposals = map[string]*ProposalState{}
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
	// A source's submission states its filing day, not when it was
	// logged: the tip rules check it instead.
	if !tipSubmission(body) {
		r.timeOrder(e, add)
	}
	// Every privileged entry against the quorum in force before it.
	r.privileged(idx, body, add)
	if _, ok := body.(*entry.Build); !ok && r.st.Build == "" {
		r.unbuilt(idx, add)
	}
	switch b := body.(type) {
	case *entry.Proposal:
		r.proposal(idx, b, add)
	case *entry.Quorum:
		r.quorumSet(b)
	case *entry.Authorization:
		r.authorization(idx, e, b, add)
	case *entry.Access:
		r.access(idx, e, b, add)
	case *entry.Analytic:
		r.analytic(idx, b)
	case *entry.Contract:
		r.contract(idx, b, add)
	case *entry.Run:
		r.run(idx, e, b, add)
	case *entry.Erase:
		r.erase(idx, e, b, add)
	case *entry.Notice:
		r.notice(e, b, add)
	case *entry.Tip:
		r.tip(idx, e, b, add)
	case *entry.Hold:
		r.hold(idx, b, add)
	case *entry.Issuer:
		r.issuer(idx, b, add)
	case *entry.System:
		r.detailsErased(b)
	case *entry.Build:
		r.build(idx, e, b, add)
	case *entry.Breach:
		r.breach(b, add)
	case *entry.Export:
		r.export(idx, b, add)
	case *entry.Recipient:
		r.recipient(idx, b, add)
	case *entry.Flag:
		r.flag(e, b)
	case *entry.Review:
		r.review(b, add)
	case *entry.Contest:
		r.contest(e, b, add)
	case *entry.Action:
		r.action(b, add)
	case *entry.Policy:
		if b.Op == entry.OpSet {
			if b.Version <= r.st.Policy {
				add(RulePolicyVersionNotIncreasing, "policy version %d logged after version %d (entry %d): a store restored from an older backup, or two stores behind one log", b.Version, r.st.Policy, r.st.PolicyAt)
			}
			r.st.Policy, r.st.PolicyAt = max(r.st.Policy, b.Version), idx
		}
	case *entry.Principal:
		if b.Op == entry.OpDisable && b.Principal != "" {
			if _, ok := r.st.Disabled[b.Principal]; !ok {
				r.st.Disabled[b.Principal] = idx
			}
		}
	}
	return out
}

// notDisabled checks that a permit's principal was not disabled before it;
// what is the permit, for the message.
func (r *rules) notDisabled(by, what string, add adder) {
	if at, ok := r.st.Disabled[by]; ok && by != "" {
		add(RuleAccessByDisabled, "%s by principal %s, disabled at entry %d", what, by, at)
	}
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
	// An erasure notice still owed past its due time: reported once, and
	// kept, so that its sending later is not taken for one never owed.
	for _, k := range slices.Sorted(maps.Keys(r.st.NoticesOwed)) {
		if n := r.st.NoticesOwed[k]; !n.Reported && now.After(n.Due) {
			obj, rcp, _ := strings.Cut(k, " ")
			out = append(out, Finding{Rule: RuleErasureNoticeOverdue, Index: ptr(n.Erase),
				Message: fmt.Sprintf("the notice to recipient %s of object %s's erasure was due at %s and is not logged as sent", rcp, obj, n.Due.Format(time.RFC3339))})
			n.Reported = true
		}
	}
	return append(out, r.tipsLate(now)...)
}
