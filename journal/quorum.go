package journal

import (
	"time"

	"github.com/ombud/ombud"
)

// Operations of multi-party approval: the quorum, the proposals and their
// votes. A privileged change made on a proposal carries its id
// (Change.Proposal); the store takes the proposal with the change's
// reservation, checked open, unexpired and approved by the quorum in
// force, so that it runs once.
var (
	// QuorumSet records the quorum in force; its target is the
	// singleton quorum.
	QuorumSet = Operation[QuorumPayload]{Op: "quorum.set", Kind: "quorum"}
	// ProposalCreate records a proposal; its target is proposal:ID.
	ProposalCreate = Operation[ProposalPayload]{Op: "proposal.create", Kind: "proposal",
		ID: func(p *ProposalPayload) string {
			return idOf(p.Proposal, func(x *ombud.Proposal) string { return x.ID })
		}}
	// ProposalVote records one admin's vote; its target is proposal:ID,
	// so that the votes on one proposal are recorded one at a time.
	ProposalVote = Operation[VotePayload]{Op: "proposal.vote", Kind: "proposal"}
	// ProposalExpire closes a proposal past its expiry; its target is
	// proposal:ID.
	ProposalExpire = Operation[ExpirePayload]{Op: "proposal.expire", Kind: "proposal"}
)

// quorumOperations lists this file's operations, for Operations.
var quorumOperations = []Named{QuorumSet, ProposalCreate, ProposalVote, ProposalExpire}

type (
	// QuorumPayload: QuorumSet, the quorum from now on.
	QuorumPayload struct{ Quorum *ombud.Quorum }
	// ProposalPayload: ProposalCreate.
	ProposalPayload struct{ Proposal *ombud.Proposal }
	// VotePayload: ProposalVote, an approval or a refusal.
	VotePayload struct{ Vote ombud.Vote }
	// ExpirePayload: ProposalExpire, when.
	ExpirePayload struct{ At time.Time }
)
