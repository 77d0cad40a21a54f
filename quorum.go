package ombud

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Multi-party approval. Once the quorum is enabled, a privileged operation
// (one that decides who may read what: a new trust anchor, the policy, the
// keys, another admin, a registry entry that the public log keeps for
// ever, a hold's release, an erasure on order) runs only on a proposal
// that enough distinct admins other than its proposer approved. Proposals,
// votes and the quorum itself are logged; a new deployment starts in a
// single-admin set-up mode, which its pages show.

// The privileged operations, named as their proposals name them.
const (
	OpIssuerRegister   = "issuer.register"
	OpPolicyReload     = "policy.reload"
	OpKeyRotate        = "key.rotate"
	OpAdminCreate      = "admin.create"
	OpEmergencyRestore = "emergency.restore"
	OpSystemRegister   = "system.register"
	OpSystemVersion    = "system.version"
	OpRecipientAdd     = "recipient.register"
	OpHoldRelease      = "hold.release"
	OpObjectErase      = "object.erase"
	// OpContractAmend records a later release of a registered contract:
	// it can record an exception to a safeguard clause, which clears the
	// marks of the systems bought under it.
	OpContractAmend = "contract.amend"
	// OpQuorumSet changes the quorum itself: raising it, lowering it or
	// disabling it.
	OpQuorumSet = "quorum.set"
)

// PrivilegedOperations lists every operation a quorum covers, in order.
var PrivilegedOperations = []string{
	OpIssuerRegister, OpPolicyReload, OpKeyRotate, OpAdminCreate, OpEmergencyRestore,
	OpSystemRegister, OpSystemVersion, OpRecipientAdd, OpHoldRelease, OpObjectErase, OpContractAmend, OpQuorumSet,
}

// IsPrivileged reports whether op is one of PrivilegedOperations.
func IsPrivileged(op string) bool { return slices.Contains(PrivilegedOperations, op) }

// DefaultQuorum is how many distinct admins a privileged operation needs
// by default: the proposer's and one other's.
const DefaultQuorum = 2

// MaxQuorum bounds the admins one operation may need.
const MaxQuorum = 16

// Quorum is the multi-party approval in force.
type Quorum struct {
	// Enabled is false in the set-up mode of a new deployment: one admin
	// does everything alone, and the pages say so.
	Enabled bool
	// Required is, for each privileged operation, how many distinct
	// admins it needs: the proposer and Required-1 approvers.
	Required map[string]int
	Index    uint64 // its entry; 0 for the set-up mode of a new deployment
	Set      time.Time
}

// DefaultQuorumRequired is DefaultQuorum for every privileged operation.
func DefaultQuorumRequired() map[string]int {
	m := make(map[string]int, len(PrivilegedOperations))
	for _, op := range PrivilegedOperations {
		m[op] = DefaultQuorum
	}
	return m
}

// Needs returns how many distinct admins op needs under q: 1 while the
// quorum is off or for an operation it does not cover.
func (q *Quorum) Needs(op string) int {
	if q == nil || !q.Enabled {
		return 1
	}
	if n := q.Required[op]; n > 1 {
		return n
	}
	return 1
}

// Lowers reports whether next asks less than q of any operation (or
// disables it): such a change needs q's own quorum.
func (q *Quorum) Lowers(next *Quorum) bool {
	if q == nil || !q.Enabled {
		return false
	}
	for _, op := range PrivilegedOperations {
		if next.Needs(op) < q.Needs(op) {
			return true
		}
	}
	return false
}

// Most returns the operation that needs the most admins under q, and how
// many: 1 while the quorum is off.
func (q *Quorum) Most() (op string, n int) {
	n = 1
	for _, o := range PrivilegedOperations {
		if k := q.Needs(o); k > n {
			op, n = o, k
		}
	}
	return op, n
}

// NewQuorum is the quorum that enabled (or not) and counts ("operation:N",
// as ParseQuorumCounts reads them) describe: DefaultQuorum for each
// operation counts leaves out.
func NewQuorum(enabled bool, counts []string) (*Quorum, error) {
	m, err := ParseQuorumCounts(counts)
	if err != nil {
		return nil, err
	}
	q := &Quorum{Enabled: enabled, Required: DefaultQuorumRequired()}
	for op, n := range m {
		q.Required[op] = n
	}
	return q, nil
}

// NeedsToSet is how many admins a change of q to next needs: a lowering
// needs as many as quorum.set asks, and as many as each operation it
// lowers asks now, so that an operation raised above quorum.set's count
// is not lowered by fewer admins than it needs; a change that lowers
// nothing needs one.
func (q *Quorum) NeedsToSet(next *Quorum) int {
	if !q.Lowers(next) {
		return 1
	}
	n := q.Needs(OpQuorumSet)
	for _, op := range PrivilegedOperations {
		if next.Needs(op) < q.Needs(op) {
			n = max(n, q.Needs(op))
		}
	}
	return n
}

// Counts spells Required as sorted "operation:N" codes, as the log does.
func (q *Quorum) Counts() []string {
	out := make([]string, 0, len(q.Required))
	for _, op := range PrivilegedOperations {
		if n, ok := q.Required[op]; ok {
			out = append(out, op+":"+strconv.Itoa(n))
		}
	}
	return out
}

// ParseQuorumCounts reads "operation:N" codes, as Counts writes them.
func ParseQuorumCounts(counts []string) (map[string]int, error) {
	m := make(map[string]int, len(counts))
	for _, c := range counts {
		op, k, ok := strings.Cut(c, ":")
		n, err := strconv.Atoi(k)
		switch {
		case !ok || err != nil:
			return nil, Errorf(CodeInvalid, "quorum %q: want OPERATION:N", c)
		case !IsPrivileged(op):
			return nil, Errorf(CodeInvalid, "quorum %q: %s is not a privileged operation (%s)", c, op, strings.Join(PrivilegedOperations, ", "))
		case n < 1 || n > MaxQuorum:
			return nil, Errorf(CodeInvalid, "quorum %q: from 1 to %d admins", c, MaxQuorum)
		case m[op] != 0:
			return nil, Errorf(CodeInvalid, "quorum %q: %s named twice", c, op)
		}
		m[op] = n
	}
	return m, nil
}

// The states of a proposal.
const (
	ProposalOpen     = "open"
	ProposalExecuted = "executed"
	ProposalRefused  = "refused"
	ProposalExpired  = "expired"
)

// DefaultProposalLifetime is how long a proposal stays open by default.
const DefaultProposalLifetime = 72 * time.Hour

// MaxProposalParams bounds a proposal's parameters, in bytes of JSON.
const MaxProposalParams = 256 << 10

// Proposal is a privileged operation proposed by one admin, waiting for
// the others' votes.
type Proposal struct {
	ID        string
	Operation string // one of PrivilegedOperations
	// Target names what the operation changes, as its direct request's
	// path does (an object's or a principal's id), "" for none.
	Target string
	// Params are the operation's parameters: its direct request's JSON
	// body. ParamsSHA256 commits to them (the SHA-256 of a random salt,
	// kept with them in the proposal's detail record, and them), and the
	// log holds it.
	Params       []byte
	ParamsSHA256 string
	Proposer     string
	Created      time.Time
	Expires      time.Time
	State        string
	Votes        []Vote
	Index        uint64 // its proposal entry
	// ExecIndex is the entry of the operation it ran, once executed.
	ExecIndex uint64
}

// Vote is one admin's approval or refusal of a proposal.
type Vote struct {
	By      string
	Approve bool
	At      time.Time
	Index   uint64
}

// Approvers lists the admins who approved p, in the order they voted.
func (p *Proposal) Approvers() []string {
	var out []string
	for _, v := range p.Votes {
		if v.Approve {
			out = append(out, v.By)
		}
	}
	return out
}

// StateAt is p's state at now: an open proposal past its expiry is
// expired, whatever the store has recorded yet.
func (p *Proposal) StateAt(now time.Time) string {
	if p.State == ProposalOpen && !now.Before(p.Expires) {
		return ProposalExpired
	}
	return p.State
}

// QuorumStore reads the quorum in force and the proposals.
type QuorumStore interface {
	// Quorum returns the quorum in force; a deployment that never set one
	// is in set-up mode (Enabled false, Index 0).
	Quorum(ctx context.Context) (*Quorum, error)
	// Proposal returns a logged proposal with its votes; ErrNotFound if
	// there is none.
	Proposal(ctx context.Context, id string) (*Proposal, error)
	// Proposals lists the proposals in state ("" for every state), the
	// newest first, at most limit.
	Proposals(ctx context.Context, state string, limit int) ([]*Proposal, error)
}

// CheckVoter refuses a vote on p at now by admin: the proposer, a second
// vote, or a proposal not open. Each refusal has its own reason.
func CheckVoter(p *Proposal, by string, now time.Time) error {
	switch st := p.StateAt(now); {
	case st == ProposalExpired:
		return &Error{Code: CodeConflict, Reason: "proposal_expired", Message: fmt.Sprintf("proposal %s expired at %s", p.ID, p.Expires.Format(time.RFC3339))}
	case st == ProposalRefused:
		return &Error{Code: CodeConflict, Reason: "proposal_refused", Message: fmt.Sprintf("proposal %s was refused", p.ID)}
	case st == ProposalExecuted:
		return &Error{Code: CodeConflict, Reason: "proposal_executed", Message: fmt.Sprintf("proposal %s was executed already (entry %d)", p.ID, p.ExecIndex)}
	case by == p.Proposer:
		return &Error{Code: CodeForbidden, Reason: "proposer_cannot_vote", Message: "the proposer of a proposal cannot vote on it: another admin must"}
	}
	for _, v := range p.Votes {
		if v.By == by {
			return &Error{Code: CodeConflict, Reason: "already_voted", Message: fmt.Sprintf("you voted on proposal %s already (entry %d)", p.ID, v.Index)}
		}
	}
	return nil
}
