package audit

import (
	"reflect"
	"slices"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// QuorumState is the multi-party approval as the log shows it: the
// quorum in force and the proposals, by pseudonym.
type QuorumState struct {
	Enabled  bool           `json:"enabled"`
	Required map[string]int `json:"required,omitempty"`
	// Proposals are the proposals not yet executed, refused or expired.
	Proposals map[string]*ProposalState `json:"proposals,omitempty"`
}

// ProposalState is a proposal as its entries left it.
type ProposalState struct {
	Index     uint64   `json:"index"`
	Operation string   `json:"operation"`
	Proposer  string   `json:"proposer"`
	Approvers []string `json:"approvers,omitempty"`
	Voters    []string `json:"voters,omitempty"`
}

func (q *QuorumState) quorum() *ombud.Quorum {
	return &ombud.Quorum{Enabled: q.Enabled, Required: q.Required}
}

// privilegedOp names the privileged operation a privileged entry records,
// "" for an entry that is none: a quorum entry is one only when it lowers
// the quorum in force.
func (r *rules) privilegedOp(body entry.Body) string {
	if b, ok := body.(*entry.Quorum); ok {
		next := &ombud.Quorum{Enabled: b.Op == entry.OpEnable}
		next.Required, _ = ombud.ParseQuorumCounts(b.Required)
		if r.st.Quorum.quorum().Lowers(next) {
			return ombud.OpQuorumSet
		}
		return ""
	}
	return journal.PrivilegedOp(reflect.Indirect(reflect.ValueOf(body)).Interface().(entry.Body))
}

// privileged checks a privileged entry against the quorum in force: once
// enabled, it cites a proposal of its operation, logged before it and
// approved by enough distinct admins other than its proposer, each of
// whom it names. The proposal is then spent.
func (r *rules) privileged(idx uint64, body entry.Body, add adder) {
	op := r.privilegedOp(body)
	proposal, approvers := entry.ApprovalOf(body)
	if op == "" {
		return
	}
	need := r.st.Quorum.quorum().Needs(op)
	if b, ok := body.(*entry.Quorum); ok {
		next := &ombud.Quorum{Enabled: b.Op == entry.OpEnable}
		next.Required, _ = ombud.ParseQuorumCounts(b.Required)
		need = r.st.Quorum.quorum().NeedsToSet(next)
	}
	p := r.st.Quorum.Proposals[proposal]
	switch {
	case need <= 1 && proposal == "":
		return
	case proposal == "":
		add(RulePrivilegedWithoutQuorum, "%s needs %d admins under the quorum in force, and the entry cites no proposal", op, need)
		return
	case p == nil:
		add(RulePrivilegedWithoutQuorum, "%s cites proposal %s, which no open proposal entry logged before it", op, proposal)
		return
	case p.Operation != op:
		add(RulePrivilegedWithoutQuorum, "%s cites proposal %s, a proposal of %s", op, proposal, p.Operation)
	case 1+len(p.Approvers) < need:
		add(RulePrivilegedWithoutQuorum, "%s cites proposal %s, approved by %d admins besides its proposer; the quorum asks %d in all", op, proposal, len(p.Approvers), need)
	}
	for _, a := range approvers {
		if !slices.Contains(p.Approvers, a) {
			add(RulePrivilegedWithoutQuorum, "%s names approver %s, who did not approve proposal %s before it", op, a, proposal)
		}
	}
	delete(r.st.Quorum.Proposals, proposal)
}

// proposal follows a proposal's entries: proposed once, voted on once
// per admin, never by its proposer, while open.
func (r *rules) proposal(idx uint64, b *entry.Proposal, add adder) {
	qs := &r.st.Quorum
	p := qs.Proposals[b.Proposal]
	switch b.Op {
	case entry.OpPropose:
		if p != nil {
			add(RuleProposalInvalid, "proposal %s was proposed again (first at entry %d)", b.Proposal, p.Index)
			return
		}
		qs.Proposals[strings.Clone(b.Proposal)] = &ProposalState{Index: idx, Operation: strings.Clone(b.Operation), Proposer: strings.Clone(b.By)}
	case entry.OpApprove, entry.OpRefuse:
		switch {
		case p == nil:
			add(RuleProposalInvalid, "a vote on proposal %s, which is not open", b.Proposal)
			return
		case b.By == p.Proposer:
			add(RuleProposalInvalid, "the proposer of proposal %s voted on it", b.Proposal)
		case slices.Contains(p.Voters, b.By):
			add(RuleProposalInvalid, "admin %s voted twice on proposal %s", b.By, b.Proposal)
		}
		p.Voters = append(p.Voters, strings.Clone(b.By))
		if b.Op == entry.OpRefuse {
			delete(qs.Proposals, b.Proposal)
		} else if b.By != p.Proposer && !slices.Contains(p.Approvers, b.By) {
			p.Approvers = append(p.Approvers, strings.Clone(b.By))
		}
	case entry.OpExpire:
		delete(qs.Proposals, b.Proposal)
	}
}

// quorumSet records the quorum in force from a quorum entry.
func (r *rules) quorumSet(b *entry.Quorum) {
	r.st.Quorum.Enabled = b.Op == entry.OpEnable
	r.st.Quorum.Required, _ = ombud.ParseQuorumCounts(b.Required)
}
