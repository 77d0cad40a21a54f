// Package approval keeps multi-party approval: the quorum in force, and
// the proposals of privileged operations with their votes. Every change
// goes through the one pattern and is logged; the store refuses, in the
// reservation of a privileged change, one made without a proposal the
// quorum approved (journal.WithApproval carries one), so that no gateway
// can bypass it.
package approval

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Store is what the service reads; it changes only through the journal.
type Store interface {
	ombud.QuorumStore
	Principal(ctx context.Context, id string) (*ombud.Principal, error)
}

// Config is what a service is built from (New).
type Config struct {
	Store   Store
	Journal *journal.Journal
	Now     func() time.Time
	// Lifetime is how long a proposal stays open
	// (ombud.DefaultProposalLifetime when zero).
	Lifetime time.Duration
}

// Service keeps the quorum and the proposals.
type Service struct{ Config }

// New checks c and returns its service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Journal == nil {
		return nil, errors.New("approval: a store and a journal are required")
	}
	if c.Lifetime <= 0 {
		c.Lifetime = ombud.DefaultProposalLifetime
	}
	return &Service{Config: c}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func invalid(format string, a ...any) error { return ombud.Errorf(ombud.CodeInvalid, format, a...) }

// SetQuorum records q as the quorum from now on. Enabling or raising it
// is any admin's; lowering or disabling an enabled quorum is refused
// unless ctx carries the proposal its own quorum approved.
func (s *Service) SetQuorum(ctx context.Context, q *ombud.Quorum, by string) (journal.Leaf, error) {
	q.Set = s.now()
	op := entry.OpEnable
	if !q.Enabled {
		op, q.Required = entry.OpDisable, map[string]int{}
	}
	for name, n := range q.Required {
		if !ombud.IsPrivileged(name) || n < 1 || n > ombud.MaxQuorum {
			return journal.Leaf{}, invalid("required: %q: a privileged operation (%s) and from 1 to %d admins", name, strings.Join(ombud.PrivilegedOperations, ", "), ombud.MaxQuorum)
		}
	}
	c, err := journal.QuorumSet.Change("", journal.QuorumPayload{Quorum: q})
	if err != nil {
		return journal.Leaf{}, err
	}
	return s.Journal.Apply(ctx, c, journal.Record{Body: entry.Quorum{Op: op, Required: q.Counts(), By: by}}, nil)
}

// Proposal is a request to propose a privileged operation.
type Proposal struct {
	Operation string
	// Target is what the operation changes, as its direct request's path
	// names it ("" for none).
	Target string
	// Params are the direct request's JSON body ("" or null for none).
	Params json.RawMessage
}

// Propose logs a proposal of p by admin by.
func (s *Service) Propose(ctx context.Context, p Proposal, by string) (*ombud.Proposal, journal.Leaf, error) {
	if !ombud.IsPrivileged(p.Operation) {
		return nil, journal.Leaf{}, invalid("operation: one of %s", strings.Join(ombud.PrivilegedOperations, ", "))
	}
	if len(p.Target) > 64 || strings.ContainsAny(p.Target, "/\\?#") || strings.ContainsFunc(p.Target, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return nil, journal.Leaf{}, invalid("target: an id, of at most 64 printable bytes, without / \\ ? #")
	}
	params := []byte("{}")
	if len(p.Params) > 0 && string(p.Params) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, p.Params); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return nil, journal.Leaf{}, invalid("params: the direct request's JSON body, an object")
		}
		params = buf.Bytes()
	}
	if len(params) > ombud.MaxProposalParams {
		return nil, journal.Leaf{}, invalid("params: at most %d bytes", ombud.MaxProposalParams)
	}
	// A salted commitment: the parameters may name an admin or a case,
	// and a bare hash of them would let anyone confirm a guess.
	var salt [32]byte
	rand.Read(salt[:])
	sum := sha256.Sum256(append(salt[:], params...))
	now := s.now()
	x := &ombud.Proposal{ID: ombud.NewID(), Operation: p.Operation, Target: p.Target, Params: params, ParamsSHA256: hex.EncodeToString(sum[:]),
		Proposer: by, Created: now, Expires: now.Add(s.Lifetime), State: ombud.ProposalOpen}
	c, err := journal.ProposalCreate.Change(x.ID, journal.ProposalPayload{Proposal: x})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Proposal{Op: entry.OpPropose, Operation: x.Operation, ParamsSHA256: x.ParamsSHA256, Expires: x.Expires.Format(time.RFC3339), Proposal: x.ID, By: by},
		Detail: entry.ProposalDetail{Operation: x.Operation, Params: string(params), Proposal: x.ID, Target: x.Target, Salt: hex.EncodeToString(salt[:])}}, nil)
	if err != nil {
		return nil, w, err
	}
	x.Index = w.Index
	return x, w, nil
}

// Vote logs an admin's approval or refusal of a proposal and returns it
// with its votes. The proposer does not vote, nobody votes twice, and a
// proposal that is not open takes no vote: each with its own reason.
func (s *Service) Vote(ctx context.Context, id, by string, approve bool) (*ombud.Proposal, journal.Leaf, error) {
	p, err := s.proposal(ctx, id)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	now := s.now()
	if err := ombud.CheckVoter(p, by, now); err != nil {
		return nil, journal.Leaf{}, err
	}
	op := entry.OpRefuse
	if approve {
		op = entry.OpApprove
	}
	c, err := journal.ProposalVote.Change(id, journal.VotePayload{Vote: ombud.Vote{By: by, Approve: approve, At: now}})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{Body: entry.Proposal{Op: op, Operation: p.Operation, ParamsSHA256: p.ParamsSHA256, Proposal: id, By: by}}, nil)
	if err != nil {
		// The store's word, when another vote or a change won meanwhile.
		if q, qerr := s.proposal(ctx, id); qerr == nil {
			if verr := ombud.CheckVoter(q, by, s.now()); verr != nil {
				return nil, journal.Leaf{}, verr
			}
		}
		if errors.Is(err, ombud.ErrStale) {
			return nil, w, &ombud.Error{Code: ombud.CodeConflict, Reason: "proposal_in_flight", Err: err,
				Message: fmt.Sprintf("proposal %s is being carried out, refused or expired at this moment; read it again (ombud proposals)", id)}
		}
		return nil, w, err
	}
	p, err = s.proposal(ctx, id)
	return p, w, err
}

func (s *Service) proposal(ctx context.Context, id string) (*ombud.Proposal, error) {
	if id == "" || len(id) > 64 {
		return nil, ombud.Errorf(ombud.CodeNotFound, "no such proposal")
	}
	p, err := s.Store.Proposal(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, ombud.Errorf(ombud.CodeNotFound, "no proposal %q (ombud proposals)", id)
	}
	return p, err
}

// Approved reports whether p has, with its proposer, as many distinct
// admins as q asks of its operation, and is open.
func Approved(p *ombud.Proposal, q *ombud.Quorum, now time.Time) bool {
	return p.StateAt(now) == ombud.ProposalOpen && 1+len(p.Approvers()) >= Needs(p, q)
}

// Needs is how many admins, its proposer counted, p needs under q: its
// operation's count, and for a quorum.set as many as the store asks of
// the quorum it proposes (ombud.Quorum.NeedsToSet).
func Needs(p *ombud.Proposal, q *ombud.Quorum) int {
	n := q.Needs(p.Operation)
	if p.Operation == ombud.OpQuorumSet {
		var req struct {
			Enabled  bool     `json:"enabled"`
			Required []string `json:"required"`
		}
		if json.Unmarshal(p.Params, &req) == nil {
			if next, err := ombud.NewQuorum(req.Enabled, req.Required); err == nil {
				n = max(n, q.NeedsToSet(next))
			}
		}
	}
	return n
}

// Expire closes every open proposal past its expiry, each logged; it
// returns how many.
func (s *Service) Expire(ctx context.Context) (int, error) {
	ps, err := s.Store.Proposals(ctx, ombud.ProposalOpen, 1000)
	if err != nil {
		return 0, err
	}
	now, n := s.now(), 0
	for _, p := range ps {
		if now.Before(p.Expires) {
			continue
		}
		c, err := journal.ProposalExpire.Change(p.ID, journal.ExpirePayload{At: now})
		if err != nil {
			return n, err
		}
		_, err = s.Journal.Apply(ctx, c, journal.Record{Body: entry.Proposal{Op: entry.OpExpire, Operation: p.Operation, ParamsSHA256: p.ParamsSHA256, Proposal: p.ID}}, nil)
		switch {
		case errors.Is(err, ombud.ErrStale), errors.Is(err, ombud.ErrBusy):
			continue // executed, refused or expired meanwhile
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}
