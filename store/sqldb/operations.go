package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// Changes are reserved, committed and undone each in one transaction on
// the single writer connection (BEGIN IMMEDIATE), so the preconditions a
// reservation checks still hold when it is recorded. The changes table's
// UNIQUE target lets one change per target be in flight.
//
// What each operation does to the store is one value, operation[P],
// written beside its aggregate's queries (principals.go, objects.go, …)
// and listed in operations; Reserve, Commit and Undo look it up there.

// op is an operation of any payload, as the table holds it.
type op interface {
	journal.Named
	reserveTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error
	// checkTx checks the change's preconditions as reserveTx does, but
	// not the quorum (for a dry run, journal.WithDryRun).
	checkTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error
	commitTx(ctx context.Context, tx *sql.Tx, c *journal.Change, index uint64) error
	undoTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error
	shredsSecrets() bool
	// missing names a part the operation lacks ("" for none).
	missing() string
}

// operation is what the store does for one journal.Operation. Every part
// is set, a deliberate nothing included (noPrecondition, nothingToUndo):
// TestEveryOperationIsWhole fails on a missing one.
type operation[P any] struct {
	journal.Operation[P]
	// reserve checks the preconditions and records what the change
	// reserves (a pending row), in the reservation's transaction.
	reserve func(ctx context.Context, tx *sql.Tx, id string, p *P) error
	// commit makes the change take effect as logged at index.
	commit func(ctx context.Context, tx *sql.Tx, id string, p *P, index uint64) error
	// undo removes what reserve recorded, from the target's id alone (its
	// payload is nil).
	undo func(ctx context.Context, tx *sql.Tx, id string, p *P) error
	// shreds: commit destroys secret bytes, which may linger in the WAL.
	shreds bool
	// commitByID: commit needs only the target's id, so the payload (an
	// object, a run's whole list of objects), decoded and checked at the
	// reservation, is not decoded again (its p is nil).
	commitByID bool
	// privileged names the privileged operation (ombud.PrivilegedOperations)
	// a change of this operation is, "" when it is none (an erasure by
	// retention, a principal created without the admin role). Once the
	// quorum is enabled, such a change is refused unless it carries a
	// proposal of that operation that the quorum approved.
	privileged func(ctx context.Context, tx *sql.Tx, p *P) (string, error)
	// needs, when set, is how many admins a privileged change of this
	// operation needs under the quorum in force q (q.Needs of its
	// operation when nil).
	needs func(q *ombud.Quorum, p *P) int
}

func (o operation[P]) reserveTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	id, p, err := o.Decode(c)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	name := ""
	if o.privileged != nil {
		if name, err = o.privileged(ctx, tx, p); err != nil {
			return err
		}
	}
	needs := func(q *ombud.Quorum) int { return q.Needs(name) }
	if o.needs != nil {
		needs = func(q *ombud.Quorum) int { return o.needs(q, p) }
	}
	if err := checkQuorum(ctx, tx, c, id, name, needs); err != nil {
		return err
	}
	return o.reserve(ctx, tx, id, p)
}

func (o operation[P]) checkTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	id, p, err := o.Decode(c)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return o.reserve(ctx, tx, id, p)
}

func (o operation[P]) commitTx(ctx context.Context, tx *sql.Tx, c *journal.Change, index uint64) error {
	if o.commitByID {
		id, err := o.TargetID(c)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return o.commit(ctx, tx, id, nil, index)
	}
	id, p, err := o.Decode(c)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return o.commit(ctx, tx, id, p, index)
}

// undoTx needs only what the target names: every undo works from the id,
// so that a payload that no longer decodes cannot keep a reservation, and
// its target, held for ever.
func (o operation[P]) undoTx(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	id, err := o.TargetID(c)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return o.undo(ctx, tx, id, nil)
}

func (o operation[P]) shredsSecrets() bool { return o.shreds }

func (o operation[P]) missing() string {
	switch {
	case o.reserve == nil:
		return "reserve"
	case o.commit == nil:
		return "commit"
	case o.undo == nil:
		return "undo"
	}
	return ""
}

// operations is the table: every journal.Operation, by name. Each
// aggregate's file lists its own operations, so that a new operation is
// written beside its aggregate's queries and nowhere else in this package.
var operations = table(slices.Concat(
	principalOperations, authorizationOperations, objectOperations,
	detailOperations, []op{reportPublish}, systemOperations, runOperations,
	flagOperations, recipientOperations, quorumOperations, tipOperations, contractOperations,
)...)

func table(ops ...op) map[journal.Op]op {
	t := make(map[journal.Op]op, len(ops))
	for _, o := range ops {
		if _, dup := t[o.Name()]; dup {
			panic("store: operation " + string(o.Name()) + " listed twice")
		}
		t[o.Name()] = o
	}
	return t
}

func lookup(c *journal.Change) (op, error) {
	o, ok := operations[c.Op]
	if !ok {
		return nil, fmt.Errorf("store: unknown change op %q", c.Op)
	}
	return o, nil
}

// noPrecondition is the reserve of an operation the change's own row
// reserves whole: nothing else is checked or recorded.
func noPrecondition[P any](context.Context, *sql.Tx, string, *P) error { return nil }

// nothingToUndo is the undo of an operation whose reserve recorded nothing
// but the change's row, which Undo deletes.
func nothingToUndo[P any](context.Context, *sql.Tx, string, *P) error { return nil }

// publish is the commit of a registration: its pending row, keyed by col,
// becomes visible with its log index.
func publish[P any](table, col string) func(context.Context, *sql.Tx, string, *P, uint64) error {
	return func(ctx context.Context, tx *sql.Tx, id string, _ *P, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE `+table+` SET pending = 0, log_index = $1 WHERE `+col+` = $2 AND pending = 1`, index, id)
	}
}

// dropPending is the undo of a registration: its pending row goes.
func dropPending[P any](table, col string) func(context.Context, *sql.Tx, string, *P) error {
	return func(ctx context.Context, tx *sql.Tx, id string, _ *P) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+col+` = $1 AND pending = 1`, id)
		return err
	}
}

// registration is the operation of a registration: reserve checks it and
// records its pending row in table, keyed by col; commit publishes the
// row, undo drops it.
func registration[P any](o journal.Operation[P], table, col string, reserve func(context.Context, *sql.Tx, *P) error) operation[P] {
	return operation[P]{Operation: o,
		reserve:    func(ctx context.Context, tx *sql.Tx, _ string, p *P) error { return reserve(ctx, tx, p) },
		commit:     publish[P](table, col),
		undo:       dropPending[P](table, col),
		commitByID: true,
	}
}

// reportPublish reserves nothing in the store: publish/ keeps the
// report's file staged until its entry is logged.
var reportPublish = operation[journal.ReportPayload]{Operation: journal.ReportPublish,
	reserve: noPrecondition[journal.ReportPayload],
	commit:  func(context.Context, *sql.Tx, string, *journal.ReportPayload, uint64) error { return nil },
	undo:    nothingToUndo[journal.ReportPayload],
}

// Reserve implements journal.ChangeStore.
func (s *Store) Reserve(ctx context.Context, c *journal.Change) error {
	return s.reserve(ctx, c, false)
}

// errChecked rolls back the transaction of a change that was only checked.
var errChecked = errors.New("store: checked, not reserved")

// Check implements journal.ChangeChecker: it checks c's preconditions in
// a reservation's transaction, and rolls it back. The quorum is not
// checked: a dry run tries an operation before its proposal is approved.
func (s *Store) Check(ctx context.Context, c *journal.Change) error {
	if err := s.reserve(ctx, c, true); !errors.Is(err, errChecked) {
		return err
	}
	return nil
}

func (s *Store) reserve(ctx context.Context, c *journal.Change, checkOnly bool) error {
	if c.Token == "" || c.Target == "" || len(c.Leaf) != 32 {
		return fmt.Errorf("store: incomplete change %+v", c)
	}
	o, err := lookup(c)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if q := s.d.LockTarget; q != "" {
			if _, err := tx.ExecContext(ctx, q, c.Target); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (token, op, target, leaf, from_size, created, payload, proposal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.Token, string(c.Op), c.Target, c.Leaf, c.From, ms(c.Created), c.Payload, nullString(c.Proposal)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("%s: %w", c.Target, ombud.ErrBusy)
			}
			return err
		}
		if checkOnly {
			if err := o.checkTx(ctx, tx, c); err != nil {
				return err
			}
			return errChecked
		}
		return o.reserveTx(ctx, tx, c)
	})
}

// Commit implements journal.ChangeStore.
func (s *Store) Commit(ctx context.Context, c *journal.Change, index uint64) error {
	o, err := s.finish(ctx, c, "committing", func(o op, tx *sql.Tx) error {
		if c.Proposal != "" {
			if err := exactlyOne(ctx, tx, `UPDATE proposals SET state = $1, exec_index = $2 WHERE id = $3 AND state = 'executing'`, ombud.ProposalExecuted, index, c.Proposal); err != nil {
				return fmt.Errorf("proposal %s: %w", c.Proposal, err)
			}
		}
		return o.commitTx(ctx, tx, c, index)
	})
	if err == nil && o.shredsSecrets() {
		// The keyset or the detail bytes may still sit in the engine's old
		// copies of the rows.
		s.afterShred(ctx)
	}
	return err
}

// Undo implements journal.ChangeStore.
func (s *Store) Undo(ctx context.Context, c *journal.Change) error {
	_, err := s.finish(ctx, c, "undoing", func(o op, tx *sql.Tx) error {
		if c.Proposal != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE proposals SET state = $1 WHERE id = $2 AND state = 'executing'`, ombud.ProposalOpen, c.Proposal); err != nil {
				return err
			}
		}
		return o.undoTx(ctx, tx, c)
	})
	return err
}

// finish ends a reserved change in one transaction: it forgets the
// reservation and runs f, the operation's commit or undo.
func (s *Store) finish(ctx context.Context, c *journal.Change, doing string, f func(op, *sql.Tx) error) (op, error) {
	o, err := lookup(c)
	if err != nil {
		return nil, err
	}
	return o, s.inTx(ctx, func(tx *sql.Tx) error {
		if err := forget(ctx, tx, c); err != nil {
			return err
		}
		if err := f(o, tx); err != nil {
			return fmt.Errorf("%s: %s %s on %s: %w", s.d.Name, doing, c.Op, c.Target, err)
		}
		return nil
	})
}

// forget deletes the change's reservation; ErrNotFound if there is none.
func forget(ctx context.Context, tx *sql.Tx, c *journal.Change) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE token = $1`, c.Token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("change %s (%s %s): %w", c.Token, c.Op, c.Target, ombud.ErrNotFound)
	}
	return nil
}

// exactlyOne runs q and fails unless it changed one row: a reserved change
// whose target moved is a bug, not a race, since the reservation holds it.
func exactlyOne(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("changed %d rows, want 1", n)
	}
	return nil
}

// inFlight returns busy, an error wrapping ErrBusy, if a change to target
// is reserved, and the query's own error if it fails (a serialization
// failure must reach the retry, not read as "nothing in flight").
func inFlight(ctx context.Context, tx *sql.Tx, target string, busy error) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM changes WHERE target = $1`, target).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return busy
	}
	return nil
}

// OpsInFlight returns the operations of the changes in flight on any of
// targets.
func (s *Store) OpsInFlight(ctx context.Context, targets []string) ([]journal.Op, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	args := make([]any, len(targets))
	ph := make([]string, len(targets))
	for i, t := range targets {
		args[i], ph[i] = t, fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT op FROM changes WHERE target IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []journal.Op
	for rows.Next() {
		var op string
		if err := rows.Scan(&op); err != nil {
			return nil, err
		}
		out = append(out, journal.Op(op))
	}
	return out, rows.Err()
}

// Changes implements journal.ChangeStore.
func (s *Store) Changes(ctx context.Context, since time.Time) ([]*journal.Change, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT token, op, target, leaf, from_size, created, payload, COALESCE(proposal, '') FROM changes WHERE created < $1 ORDER BY created, token`, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*journal.Change
	for rows.Next() {
		var c journal.Change
		var op string
		var created int64
		if err := rows.Scan(&c.Token, &op, &c.Target, &c.Leaf, &c.From, &created, &c.Payload, &c.Proposal); err != nil {
			return nil, err
		}
		c.Op, c.Created = journal.Op(op), fromMS(created)
		out = append(out, &c)
	}
	return out, rows.Err()
}
