package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// Quorum implements ombud.QuorumStore.
func (s *Store) Quorum(ctx context.Context) (*ombud.Quorum, error) {
	return quorumIn(ctx, s.r)
}

// rowQuerier is what a one-row read needs of a pool or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// quorumIn reads the quorum in force: the latest row, or the set-up mode.
func quorumIn(ctx context.Context, q rowQuerier) (*ombud.Quorum, error) {
	var enabled int
	var required string
	var set int64
	var index uint64
	err := q.QueryRowContext(ctx, `SELECT enabled, required, set_at, log_index FROM quorum_settings ORDER BY version DESC LIMIT 1`).Scan(&enabled, &required, &set, &index)
	if errors.Is(err, sql.ErrNoRows) {
		return &ombud.Quorum{Required: map[string]int{}}, nil
	}
	if err != nil {
		return nil, err
	}
	qu := &ombud.Quorum{Enabled: enabled == 1, Set: fromMS(set), Index: index}
	if err := json.Unmarshal([]byte(required), &qu.Required); err != nil {
		return nil, fmt.Errorf("store: the quorum's counts: %w", err)
	}
	return qu, nil
}

// checkQuorum settles a change against the quorum in force, in its
// reservation: a privileged change (name, "" for none) needs a proposal
// of that operation once the quorum asks more than one admin of it; a
// change carrying a proposal takes it (takeProposal), and only a
// privileged change of the proposal's own operation may.
func checkQuorum(ctx context.Context, tx *sql.Tx, c *journal.Change, id, name string, needs func(*ombud.Quorum) int) error {
	if name != "" {
		// A privileged change and a change of the quorum are never in
		// flight together, so each is logged under the quorum that
		// decided it: the one reserved second waits (ErrBusy).
		if _, err := tx.ExecContext(ctx, `UPDATE changes SET privileged = $1 WHERE token = $2`, name, c.Token); err != nil {
			return err
		}
		var n int
		q := `SELECT count(*) FROM changes WHERE token <> $1 AND op = $2`
		if c.Op == journal.QuorumSet.Op {
			q = `SELECT count(*) FROM changes WHERE token <> $1 AND (op = $2 OR privileged <> '')`
		}
		if err := tx.QueryRowContext(ctx, q, c.Token, string(journal.QuorumSet.Op)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%s waits for a change of the quorum, or a privileged change, in flight: %w", name, ombud.ErrBusy)
		}
	} else if c.Op == journal.QuorumSet.Op {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM changes WHERE token <> $1 AND privileged <> ''`, c.Token).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("a change of the quorum waits for a privileged change in flight: %w", ombud.ErrBusy)
		}
	}
	if c.Proposal != "" {
		if name == "" {
			return fmt.Errorf("store: %s carries proposal %s, but it is no privileged operation: %w", c.Op, c.Proposal, ombud.ErrStale)
		}
		return takeProposal(ctx, tx, c, id, name, needs)
	}
	if name == "" {
		return nil
	}
	q, err := quorumIn(ctx, tx)
	if err != nil {
		return err
	}
	if n := needs(q); n > 1 {
		return fmt.Errorf("%s needs %d admins: %w", name, n, ombud.ErrQuorumRequired)
	}
	return nil
}

// takeProposal takes the proposal a privileged change carries out, in the
// change's reservation: it must be logged, of the change's operation,
// of the change's target when it names one (an object, a principal, a
// system), open, unexpired at the change's time, and approved by as many
// distinct admins, the proposer included, as the quorum in force asks of
// its operation. A second change on the same proposal finds it taken.
func takeProposal(ctx context.Context, tx *sql.Tx, c *journal.Change, id, name string, needs func(*ombud.Quorum) int) error {
	var op, target, state, proposer string
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT operation, target, state, proposer, expires FROM proposals WHERE id = $1 AND pending = 0`, c.Proposal).Scan(&op, &target, &state, &proposer, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("proposal %s: %w", c.Proposal, ombud.ErrNotFound)
	case err != nil:
		return err
	case op != name:
		return fmt.Errorf("proposal %s is of %s, not %s: %w", c.Proposal, op, name, ombud.ErrStale)
	case target != "" && target != id && !strings.HasPrefix(id, journal.Pair(target, "")):
		// (A version's id pairs the system the proposal names with it.)
		return fmt.Errorf("proposal %s is of %s, not %s: %w", c.Proposal, target, id, ombud.ErrStale)
	case state != ombud.ProposalOpen:
		return fmt.Errorf("proposal %s is %s: %w", c.Proposal, state, ombud.ErrStale)
	case ms(c.Created) >= expires:
		return fmt.Errorf("proposal %s expired: %w", c.Proposal, ombud.ErrStale)
	}
	q, err := quorumIn(ctx, tx)
	if err != nil {
		return err
	}
	// Only the approvals of admins still enabled count, and only while
	// the proposer is one.
	const enabledAdmin = `p.disabled = 0 AND p.pending = 0 AND (',' || p.roles || ',') LIKE '%,admin,%'`
	var proposers int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM principals p WHERE p.id = $1 AND `+enabledAdmin, proposer).Scan(&proposers); err != nil {
		return err
	}
	if proposers == 0 {
		return fmt.Errorf("proposal %s: its proposer is no longer an enabled admin: %w", c.Proposal, ombud.ErrForbidden)
	}
	var approvals int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM proposal_votes v JOIN principals p ON p.id = v.admin
		WHERE v.proposal_id = $1 AND v.approve = 1 AND v.admin <> $2 AND `+enabledAdmin, c.Proposal, proposer).Scan(&approvals); err != nil {
		return err
	}
	if need := needs(q); 1+approvals < need {
		return fmt.Errorf("proposal %s has %d of the %d admins %s needs: %w", c.Proposal, 1+approvals, need, op, ombud.ErrQuorumRequired)
	}
	return exactlyOne(ctx, tx, `UPDATE proposals SET state = 'executing' WHERE id = $1 AND state = $2`, c.Proposal, ombud.ProposalOpen)
}

// quorumSet records the quorum from now on. Lowering an enabled quorum, or
// disabling it, needs a proposal approved under it: the change must carry
// one (takeProposal has checked it).
var quorumSet = operation[journal.QuorumPayload]{Operation: journal.QuorumSet,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.QuorumPayload) error {
		if p.Quorum == nil {
			return errors.New("store: a quorum change without its quorum")
		}
		// A quorum no set of the enabled admins can meet would lock
		// every privileged operation it covers for good.
		op, need := p.Quorum.Most()
		if need <= 1 {
			return nil
		}
		admins, err := enabledAdmins(ctx, tx)
		if err != nil {
			return err
		}
		if admins < need {
			return &ombud.Error{Code: ombud.CodeConflict, Reason: "quorum_unreachable",
				Message: fmt.Sprintf("this quorum asks %d admins of %s, and %d are enabled: create the admins first (ombud principal add --role admin)", need, op, admins)}
		}
		// One admin may raise an enabled quorum, but not to every enabled
		// admin: each would then hold a veto, and none could be disabled
		// (a stolen token revoked) without its own approval.
		cur, err := quorumIn(ctx, tx)
		if err != nil {
			return err
		}
		for _, o := range ombud.PrivilegedOperations {
			if n := p.Quorum.Needs(o); cur.Enabled && n >= admins && n > cur.Needs(o) {
				return &ombud.Error{Code: ombud.CodeConflict, Reason: "quorum_unreachable",
					Message: fmt.Sprintf("this quorum asks %d admins of %s, every enabled admin: each would hold a veto, and none could be disabled; create another admin first", n, o)}
			}
		}
		return nil
	},
	// Raising it, or enabling it, is any admin's; lowering or disabling
	// an enabled quorum is privileged, and needs as many admins as
	// quorum.set asks and as each operation it lowers asks now.
	needs: func(q *ombud.Quorum, p *journal.QuorumPayload) int { return q.NeedsToSet(p.Quorum) },
	privileged: func(ctx context.Context, tx *sql.Tx, p *journal.QuorumPayload) (string, error) {
		cur, err := quorumIn(ctx, tx)
		if err != nil || p.Quorum == nil || !cur.Lowers(p.Quorum) {
			return "", err
		}
		return ombud.OpQuorumSet, nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.QuorumPayload, index uint64) error {
		b, err := json.Marshal(p.Quorum.Required)
		if err != nil {
			return err
		}
		enabled := 0
		if p.Quorum.Enabled {
			enabled = 1
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO quorum_settings (version, enabled, required, set_at, log_index)
			SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4 FROM quorum_settings`, enabled, string(b), ms(p.Quorum.Set), index)
		return err
	},
	undo: nothingToUndo[journal.QuorumPayload],
}

// proposalCreate reserves the proposal's row, invisible until logged.
var proposalCreate = operation[journal.ProposalPayload]{Operation: journal.ProposalCreate,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ProposalPayload) error {
		x := p.Proposal
		// One open proposal of an operation on a target, or of a change
		// of the one policy, key or quorum, at a time (the index
		// proposals_open_target settles a race).
		if x.Target != "" || singular[x.Operation] {
			var open string
			err := tx.QueryRowContext(ctx, `SELECT id FROM proposals WHERE operation = $1 AND target = $2 AND state IN ('open', 'executing', 'closing')`, x.Operation, x.Target).Scan(&open)
			switch {
			case err == nil:
				return &ombud.Error{Code: ombud.CodeConflict, Reason: "proposal_open", Err: ombud.ErrExists,
					Message: fmt.Sprintf("proposal %s of %s%s is open: vote on it, or let it expire, before proposing it again", open, x.Operation, onTarget(x.Target))}
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO proposals (id, operation, target, params, params_sha256, proposer, created, expires, state, log_index, pending)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,0,1)`, x.ID, x.Operation, x.Target, x.Params, x.ParamsSHA256, x.Proposer, ms(x.Created), ms(x.Expires), ombud.ProposalOpen)
		if isUnique(err) {
			return fmt.Errorf("proposal %s: %w", x.ID, ombud.ErrExists)
		}
		return err
	},
	commit:     publish[journal.ProposalPayload]("proposals", "id"),
	commitByID: true,
	undo:       dropPending[journal.ProposalPayload]("proposals", "id"),
}

// proposalVote records a vote on an open, unexpired proposal, once per
// admin, never the proposer's; a refusal closes the proposal.
var proposalVote = operation[journal.VotePayload]{Operation: journal.ProposalVote,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, p *journal.VotePayload) error {
		var state, proposer string
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT state, proposer, expires FROM proposals WHERE id = $1 AND pending = 0`, id).Scan(&state, &proposer, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("proposal %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case state != ombud.ProposalOpen || ms(p.Vote.At) >= expires:
			return fmt.Errorf("proposal %s is %s: %w", id, state, ombud.ErrStale)
		case p.Vote.By == proposer:
			return fmt.Errorf("proposal %s: its proposer cannot vote: %w", id, ombud.ErrForbidden)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM proposal_votes WHERE proposal_id = $1 AND admin = $2`, id, p.Vote.By).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("proposal %s: a second vote by %s: %w", id, p.Vote.By, ombud.ErrExists)
		}
		// The proposal's row settles a vote against a change carrying the
		// proposal out (takeProposal): whichever takes it first wins. A
		// refusal holds it closing until it commits, so no change takes
		// it meanwhile.
		next := ombud.ProposalOpen
		if !p.Vote.Approve {
			next = proposalClosing
		}
		return holdProposal(ctx, tx, id, next)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.VotePayload, index uint64) error {
		approve := 0
		if p.Vote.Approve {
			approve = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proposal_votes (proposal_id, admin, approve, at, log_index) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`,
			id, p.Vote.By, approve, ms(p.Vote.At), index); err != nil {
			return err
		}
		if !p.Vote.Approve {
			return exactlyOne(ctx, tx, `UPDATE proposals SET state = $1 WHERE id = $2 AND state = $3`, ombud.ProposalRefused, id, proposalClosing)
		}
		return nil
	},
	// A proposal's changes share its target, so the one in flight is the
	// one that held it closing.
	undo: reopen[journal.VotePayload],
}

// singular are the privileged operations without a target that change
// the deployment's one policy, key or quorum.
var singular = map[string]bool{ombud.OpPolicyReload: true, ombud.OpKeyRotate: true, ombud.OpQuorumSet: true}

// proposalClosing is the state of a proposal whose refusal or expiry is
// in flight: it reads as open, and no change takes it.
const proposalClosing = "closing"

// holdProposal takes an open proposal's row for a vote or an expiry in
// its reservation, setting its state to next; ErrStale when the proposal
// is no longer open (executed, refused, expired, or taken by a change in
// flight).
// The statement's own error (a serialization failure) is returned as it
// is, so that it reaches the retry and does not read as "not open".
func holdProposal(ctx context.Context, tx *sql.Tx, id, next string) error {
	res, err := tx.ExecContext(ctx, `UPDATE proposals SET state = $1 WHERE id = $2 AND state = $3`, next, id, ombud.ProposalOpen)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("proposal %s is taken by a change in flight or closed: %w", id, ombud.ErrStale)
	}
	return nil
}

// reopen undoes holdProposal.
func reopen[P any](ctx context.Context, tx *sql.Tx, id string, _ *P) error {
	_, err := tx.ExecContext(ctx, `UPDATE proposals SET state = $1 WHERE id = $2 AND state = $3`, ombud.ProposalOpen, id, proposalClosing)
	return err
}

// proposalExpire closes an open proposal once its expiry has passed.
var proposalExpire = operation[journal.ExpirePayload]{Operation: journal.ProposalExpire,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ExpirePayload) error {
		var state string
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT state, expires FROM proposals WHERE id = $1 AND pending = 0`, id).Scan(&state, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("proposal %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case state != ombud.ProposalOpen || ms(p.At) < expires:
			return fmt.Errorf("proposal %s is %s, expiring at %d: %w", id, state, expires, ombud.ErrStale)
		}
		return holdProposal(ctx, tx, id, proposalClosing)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ExpirePayload, _ uint64) error {
		return exactlyOne(ctx, tx, `UPDATE proposals SET state = $1 WHERE id = $2 AND state = $3`, ombud.ProposalExpired, id, proposalClosing)
	},
	undo: reopen[journal.ExpirePayload],
}

// quorumOperations lists this file's operations, for the table in operations.go.
var quorumOperations = []op{quorumSet, proposalCreate, proposalVote, proposalExpire}

const proposalColumns = `id, operation, target, params, params_sha256, proposer, created, expires, state, log_index, COALESCE(exec_index, 0)`

// Proposal implements ombud.QuorumStore.
func (s *Store) Proposal(ctx context.Context, id string) (*ombud.Proposal, error) {
	out, err := s.proposals(ctx, `SELECT `+proposalColumns+` FROM proposals WHERE id = $1 AND pending = 0`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("proposal %s: %w", id, ombud.ErrNotFound)
	}
	return out[0], nil
}

// Proposals implements ombud.QuorumStore.
func (s *Store) Proposals(ctx context.Context, state string, limit int) ([]*ombud.Proposal, error) {
	if limit <= 0 {
		limit = 100
	}
	if state == "" {
		return s.proposals(ctx, `SELECT `+proposalColumns+` FROM proposals WHERE pending = 0 ORDER BY created DESC, id LIMIT $1`, limit)
	}
	return s.proposals(ctx, `SELECT `+proposalColumns+` FROM proposals WHERE pending = 0 AND state = $1 ORDER BY created DESC, id LIMIT $2`, state, limit)
}

func (s *Store) proposals(ctx context.Context, q string, args ...any) ([]*ombud.Proposal, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []*ombud.Proposal
	for rows.Next() {
		var p ombud.Proposal
		var created, expires int64
		if err := rows.Scan(&p.ID, &p.Operation, &p.Target, &p.Params, &p.ParamsSHA256, &p.Proposer, &created, &expires, &p.State, &p.Index, &p.ExecIndex); err != nil {
			rows.Close()
			return nil, err
		}
		p.Created, p.Expires = fromMS(created), fromMS(expires)
		if p.State == "executing" || p.State == proposalClosing {
			p.State = ombud.ProposalOpen // taken by a change in flight, not yet executed, refused or expired
		}
		out = append(out, &p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range out {
		vs, err := s.r.QueryContext(ctx, `SELECT admin, approve, at, log_index FROM proposal_votes WHERE proposal_id = $1 ORDER BY log_index`, p.ID)
		if err != nil {
			return nil, err
		}
		for vs.Next() {
			var v ombud.Vote
			var approve int
			var at int64
			if err := vs.Scan(&v.By, &approve, &at, &v.Index); err != nil {
				vs.Close()
				return nil, err
			}
			v.Approve, v.At = approve == 1, fromMS(at)
			p.Votes = append(p.Votes, v)
		}
		vs.Close()
		if err := vs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// always marks an operation privileged as name, whatever its payload.
func always[P any](name string) func(context.Context, *sql.Tx, *P) (string, error) {
	return func(context.Context, *sql.Tx, *P) (string, error) { return name, nil }
}

// privilegedAs returns o marked privileged as name.
func privilegedAs[P any](o operation[P], name string) operation[P] {
	o.privileged = always[P](name)
	return o
}

func onTarget(target string) string {
	if target == "" {
		return ""
	}
	return " on " + target
}
