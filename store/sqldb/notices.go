package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// ExportRecipients implements ombud.NoticeStore.
func (s *Store) ExportRecipients(ctx context.Context, object string) ([]string, error) {
	return exportRecipients(ctx, s.r, object)
}

// exportRecipients returns the recipients that logged exports carried
// object to, each once, sorted.
func exportRecipients(ctx context.Context, q querier, object string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT e.recipient_id FROM export_objects eo JOIN exports e ON e.id = eo.export_id
		WHERE eo.object_id = $1 AND e.pending = 0 ORDER BY e.recipient_id`, object)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// checkNotices refuses an erasure whose notices are not exactly one to
// each recipient that logged exports carried its object to.
func checkNotices(ctx context.Context, tx *sql.Tx, id string, owed []journal.NoticeOwed) error {
	want, err := exportRecipients(ctx, tx, id)
	if err != nil {
		return err
	}
	got := make([]string, len(owed))
	for i, n := range owed {
		got[i] = n.Recipient
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("object %s: the erasure owes notices to %d recipients, its exports went to %d: %w", id, len(got), len(want), ombud.ErrStale)
	}
	return nil
}

// recordNotices records the notices an erasure owes, in its commit.
func recordNotices(ctx context.Context, tx *sql.Tx, id string, p *journal.ErasePayload, index uint64) error {
	for _, n := range p.Notices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO erasure_notices (id, object_id, recipient_id, owed, erase_index) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT DO NOTHING`, n.ID, id, n.Recipient, ms(p.At), index); err != nil {
			return err
		}
	}
	return nil
}

const noticeColumns = `id, object_id, recipient_id, owed, erase_index, sent, sent_index, sent_by`

// Notices implements ombud.NoticeStore.
func (s *Store) Notices(ctx context.Context, f ombud.NoticeFilter) ([]*ombud.Notice, error) {
	q := `SELECT ` + noticeColumns + ` FROM erasure_notices WHERE id > $1`
	args := []any{f.After}
	if f.Recipient != "" {
		args = append(args, f.Recipient)
		q += fmt.Sprintf(` AND recipient_id = $%d`, len(args))
	}
	switch {
	case f.Owed && !f.Sent:
		q += ` AND sent IS NULL`
	case f.Sent && !f.Owed:
		q += ` AND sent IS NOT NULL`
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	return s.notices(ctx, q, args...)
}

// Notice implements ombud.NoticeStore.
func (s *Store) Notice(ctx context.Context, id string) (*ombud.Notice, error) {
	out, err := s.notices(ctx, `SELECT `+noticeColumns+` FROM erasure_notices WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("notice %s: %w", id, ombud.ErrNotFound)
	}
	return out[0], nil
}

// NoticesOverdue implements ombud.NoticeStore.
func (s *Store) NoticesOverdue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM erasure_notices WHERE sent IS NULL AND owed < $1`, ms(now.Add(-ombud.NoticeWithin))).Scan(&n)
	return n, err
}

func (s *Store) notices(ctx context.Context, q string, args ...any) ([]*ombud.Notice, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ombud.Notice
	for rows.Next() {
		var n ombud.Notice
		var owed int64
		var sent, sentIdx sql.NullInt64
		var by sql.NullString
		if err := rows.Scan(&n.ID, &n.Object, &n.Recipient, &owed, &n.EraseIndex, &sent, &sentIdx, &by); err != nil {
			return nil, err
		}
		n.Owed = fromMS(owed)
		if sent.Valid {
			t := fromMS(sent.Int64)
			n.Sent, n.SentIndex, n.SentBy = &t, uint64(sentIdx.Int64), by.String
		}
		out = append(out, &n)
	}
	return out, rows.Err()
}

// noticeSend marks an owed notice sent, once.
var noticeSend = operation[journal.NoticePayload]{Operation: journal.NoticeSend,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.NoticePayload) error {
		var sent sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT sent FROM erasure_notices WHERE id = $1`, id).Scan(&sent)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("notice %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case sent.Valid:
			return fmt.Errorf("notice %s was sent already: %w", id, ombud.ErrExists)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.NoticePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE erasure_notices SET sent = $1, sent_index = $2, sent_by = $3 WHERE id = $4 AND sent IS NULL`, ms(p.At), index, p.By, id)
	},
	undo: nothingToUndo[journal.NoticePayload],
}
