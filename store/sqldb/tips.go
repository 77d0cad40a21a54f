package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

// FileTip implements ombud.TipStore.
func (s *Store) FileTip(ctx context.Context, t *ombud.Tip, lookup, sealed []byte) error {
	if len(t.Messages) != 1 || t.Messages[0].Op != ombud.TipFiled {
		return errors.New("store: a tip is filed with its first submission")
	}
	m := t.Messages[0]
	defer s.forgetOrder(ctx)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tips (id, lookup, reply_key, commitment, filed) VALUES ($1,$2,$3,$4,$5)`,
			t.ID, lookup, t.ReplyKey, t.Commitment, t.Filed)
		if isUnique(err) {
			return fmt.Errorf("tip %s: %w", t.ID, ombud.ErrExists)
		}
		if err != nil {
			return err
		}
		return insertTipMessage(ctx, tx, t.ID, 1, m, sealed, nil)
	})
}

// forgetOrder clears what the engine keeps of the order of its recent
// writes, after a source's submission: SQLite's write-ahead log holds its
// pages in commit order beside those of decisions whose entries are
// public and timed, which would date it. (The tables keep no arrival
// order: SQLite's are WITHOUT ROWID, keyed by random ids.) Best effort: a
// reader can hold the log back until the next.
func (s *Store) forgetOrder(ctx context.Context) { s.afterShred(context.WithoutCancel(ctx)) }

func insertTipMessage(ctx context.Context, tx *sql.Tx, tip string, n int, m ombud.TipMessage, sealed []byte, index *uint64) error {
	var by sql.NullString
	if m.By != "" {
		by = sql.NullString{String: m.By, Valid: true}
	}
	var idx sql.NullInt64
	if index != nil {
		idx = sql.NullInt64{Int64: int64(*index), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO tip_messages (tip_id, n, op, day, commitment, size, sealed, logged_index, sent_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		tip, n, m.Op, m.Day, m.Commitment, int64(len(sealed)), sealed, idx, by)
	if isUnique(err) {
		return fmt.Errorf("tip %s: message %d or its commitment: %w", tip, n, ombud.ErrExists)
	}
	return err
}

// nextTipMessage is the number of tip's next message, or ErrNotFound.
func nextTipMessage(ctx context.Context, tx *sql.Tx, tip string) (int, error) {
	var n sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(n) FROM tip_messages WHERE tip_id = $1`, tip).Scan(&n); err != nil {
		return 0, err
	}
	if !n.Valid {
		return 0, fmt.Errorf("tip %s: %w", tip, ombud.ErrNotFound)
	}
	return int(n.Int64) + 1, nil
}

// FollowUpTip implements ombud.TipStore.
func (s *Store) FollowUpTip(ctx context.Context, id string, m ombud.TipMessage, sealed []byte) (int, error) {
	if m.Op != ombud.TipFollowedUp {
		return 0, errors.New("store: a follow-up is the source's")
	}
	var n int
	defer s.forgetOrder(ctx)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = nextTipMessage(ctx, tx, id); err != nil {
			return err
		}
		return insertTipMessage(ctx, tx, id, n, m, sealed, nil)
	})
	return n, err
}

// tipColumns read a tip; the days it was first acknowledged (any message
// of the oversight body) and answered are its messages'.
const tipColumns = `t.id, t.reply_key, t.commitment, t.filed,
	(SELECT min(m.day) FROM tip_messages m WHERE m.tip_id = t.id AND m.op IN ('acknowledged', 'answered', 'replied')),
	(SELECT min(m.day) FROM tip_messages m WHERE m.tip_id = t.id AND m.op = 'answered'),
	(SELECT m.logged_index FROM tip_messages m WHERE m.tip_id = t.id AND m.n = 1)`

func (s *Store) tips(ctx context.Context, q string, args ...any) ([]*ombud.Tip, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tipColumns+` FROM tips t `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ombud.Tip
	for rows.Next() {
		var t ombud.Tip
		var ack, ans sql.NullString
		var logged sql.NullInt64
		if err := rows.Scan(&t.ID, &t.ReplyKey, &t.Commitment, &t.Filed, &ack, &ans, &logged); err != nil {
			return nil, err
		}
		t.Acknowledged, t.Answered, t.Logged = ack.String, ans.String, logged.Valid
		out = append(out, &t)
	}
	return out, rows.Err()
}

// withMessages reads the messages of the one tip found, or ErrNotFound.
func (s *Store) withMessages(ctx context.Context, found []*ombud.Tip, what string) (*ombud.Tip, error) {
	if len(found) == 0 {
		return nil, fmt.Errorf("%s: %w", what, ombud.ErrNotFound)
	}
	t := found[0]
	rows, err := s.r.QueryContext(ctx, `SELECT n, op, day, commitment, size, logged_index, sent_by FROM tip_messages WHERE tip_id = $1 ORDER BY n`, t.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m ombud.TipMessage
		var idx sql.NullInt64
		var by sql.NullString
		if err := rows.Scan(&m.N, &m.Op, &m.Day, &m.Commitment, &m.Size, &idx, &by); err != nil {
			return nil, err
		}
		m.Logged, m.Index, m.By = idx.Valid, uint64(idx.Int64), by.String
		t.Messages = append(t.Messages, m)
	}
	return t, rows.Err()
}

// TipByLookup implements ombud.TipStore.
func (s *Store) TipByLookup(ctx context.Context, lookup []byte) (*ombud.Tip, error) {
	found, err := s.tips(ctx, `WHERE t.lookup = $1`, lookup)
	if err != nil {
		return nil, err
	}
	return s.withMessages(ctx, found, "no tip of this codename")
}

// Tip implements ombud.TipStore.
func (s *Store) Tip(ctx context.Context, id string) (*ombud.Tip, error) {
	found, err := s.tips(ctx, `WHERE t.id = $1`, id)
	if err != nil {
		return nil, err
	}
	return s.withMessages(ctx, found, "tip "+id)
}

// Tips implements ombud.TipStore.
func (s *Store) Tips(ctx context.Context, f ombud.TipFilter) ([]*ombud.Tip, error) {
	q := `WHERE t.id > $1`
	if f.Unanswered {
		q += ` AND NOT EXISTS (SELECT 1 FROM tip_messages m WHERE m.tip_id = t.id AND m.op = 'answered')`
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	return s.tips(ctx, q+` ORDER BY t.id LIMIT $2`, f.After, limit)
}

// TipSealed implements ombud.TipStore.
func (s *Store) TipSealed(ctx context.Context, id string, n int) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT sealed FROM tip_messages WHERE tip_id = $1 AND n = $2`, id, n).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tip %s has no message %d: %w", id, n, ombud.ErrNotFound)
	}
	return b, err
}

// TipsPending implements ombud.TipStore.
func (s *Store) TipsPending(ctx context.Context, before string) ([]ombud.TipPending, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.tip_id, m.n, m.op, m.day, m.commitment, t.commitment FROM tip_messages m JOIN tips t ON t.id = m.tip_id
		WHERE m.logged_index IS NULL AND m.day < $1 AND m.op IN ('filed', 'followed_up') ORDER BY m.tip_id, m.n`, before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ombud.TipPending
	for rows.Next() {
		var p ombud.TipPending
		if err := rows.Scan(&p.Tip, &p.N, &p.Op, &p.Day, &p.Commitment, &p.TipCommitment); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// TipIndex implements ombud.TipStore.
func (s *Store) TipIndex(ctx context.Context, commitment string) (uint64, bool, error) {
	var idx sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT logged_index FROM tip_messages WHERE commitment = $1 AND op IN ('filed', 'followed_up')`, commitment).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return uint64(idx.Int64), idx.Valid, err
}

// TipBatchDue implements ombud.TipStore.
func (s *Store) TipBatchDue(ctx context.Context, day string, draw time.Time) (time.Time, error) {
	var due int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tip_batches (day, due) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING`, day, ms(draw)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT due FROM tip_batches WHERE day = $1`, day).Scan(&due)
	})
	return fromMS(due), err
}

// tipLog logs a source's submission in its day's batch: reserved while
// it is unlogged, committed with its entry's index.
var tipLog = operation[journal.TipLogPayload]{Operation: journal.TipLog,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.TipLogPayload) error {
		var idx sql.NullInt64
		var op string
		err := tx.QueryRowContext(ctx, `SELECT op, logged_index FROM tip_messages WHERE tip_id = $1 AND n = $2`, p.Tip, p.N).Scan(&op, &idx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("tip %s has no message %d: %w", p.Tip, p.N, ombud.ErrNotFound)
		case err != nil:
			return err
		case op != ombud.TipFiled && op != ombud.TipFollowedUp:
			return fmt.Errorf("tip %s: message %d is not the source's: %w", p.Tip, p.N, ombud.ErrStale)
		case idx.Valid:
			return fmt.Errorf("tip %s: message %d is logged already: %w", p.Tip, p.N, ombud.ErrExists)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.TipLogPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE tip_messages SET logged_index = $1 WHERE tip_id = $2 AND n = $3 AND logged_index IS NULL`, index, p.Tip, p.N)
	},
	undo: nothingToUndo[journal.TipLogPayload],
}

// tipReply records the oversight body's sealed message to the source,
// once the tip's filing is in the log.
var tipReply = operation[journal.TipReplyPayload]{Operation: journal.TipReply,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, p *journal.TipReplyPayload) error {
		var idx sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT logged_index FROM tip_messages WHERE tip_id = $1 AND n = 1`, id).Scan(&idx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("tip %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case !idx.Valid:
			return &ombud.Error{Code: ombud.CodeConflict, Reason: reason.TipPending, Err: ombud.ErrStale,
				Message: "the tip's filing is not in the log yet: it is logged in the next day's batch, and may be answered after that, so that no answer dates it"}
		}
		var n int
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM tip_messages WHERE commitment = $1`, p.Commitment).Scan(&n)
		if err == nil && n > 0 {
			return fmt.Errorf("tip %s: a message with this commitment: %w", id, ombud.ErrExists)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.TipReplyPayload, index uint64) error {
		// A commit recovery runs again finds its message there.
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tip_messages WHERE commitment = $1`, p.Commitment).Scan(&have); err != nil || have > 0 {
			return err
		}
		n, err := nextTipMessage(ctx, tx, id)
		if err != nil {
			return err
		}
		return insertTipMessage(ctx, tx, id, n, ombud.TipMessage{Op: p.Op, Day: p.Day, Commitment: p.Commitment, By: p.By}, p.Sealed, &index)
	},
	undo: nothingToUndo[journal.TipReplyPayload],
}

// tipOperations are the whistleblower intake's operations.
var tipOperations = []op{tipLog, tipReply}
