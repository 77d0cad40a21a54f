package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

const recipientColumns = `id, name, category, jurisdiction, age_key, registered, registered_by, log_index, retired, retire_index`

// Recipients implements ombud.RecipientStore.
func (s *Store) Recipients(ctx context.Context) ([]*ombud.Recipient, error) {
	return s.recipients(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE pending = 0 ORDER BY name`)
}

// Recipient implements ombud.RecipientStore.
func (s *Store) Recipient(ctx context.Context, id string) (*ombud.Recipient, error) {
	out, err := s.recipients(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE pending = 0 AND id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("recipient %s: %w", id, ombud.ErrNotFound)
	}
	return out[0], nil
}

func (s *Store) recipients(ctx context.Context, q string, args ...any) ([]*ombud.Recipient, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ombud.Recipient
	for rows.Next() {
		var r ombud.Recipient
		var reg int64
		var retired, retireIdx sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Name, &r.Category, &r.Jurisdiction, &r.Key, &reg, &r.By, &r.Index, &retired, &retireIdx); err != nil {
			return nil, err
		}
		r.Registered = fromMS(reg)
		if retired.Valid {
			t := fromMS(retired.Int64)
			r.Retired, r.RetireIdx = &t, uint64(retireIdx.Int64)
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

// recipientRegister reserves the recipient's row, invisible to every
// reader until its entry is logged; a name registered already is
// refused there.
var recipientRegister = operation[journal.RecipientPayload]{Operation: journal.RecipientRegister,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.RecipientPayload) error {
		r := p.Recipient
		_, err := tx.ExecContext(ctx, `INSERT INTO recipients (id, name, category, jurisdiction, age_key, registered, registered_by, log_index, pending) VALUES ($1,$2,$3,$4,$5,$6,$7,0,1)`,
			r.ID, r.Name, r.Category, r.Jurisdiction, r.Key, ms(r.Registered), r.By)
		if isUnique(err) {
			return fmt.Errorf("recipient %s: %w", r.ID, ombud.ErrExists)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RecipientPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE recipients SET pending = 0, log_index = $1 WHERE id = $2 AND pending = 1`, index, id)
	},
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RecipientPayload) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM recipients WHERE id = $1 AND pending = 1`, id)
		return err
	},
}

// recipientRetire retires a registered recipient once.
var recipientRetire = operation[journal.RetirePayload]{Operation: journal.RecipientRetire,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RetirePayload) error {
		var retired sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT retired FROM recipients WHERE id = $1 AND pending = 0`, id).Scan(&retired)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("recipient %s: %w", id, ombud.ErrNotFound)
		case err != nil:
			return err
		case retired.Valid:
			return fmt.Errorf("recipient %s: %w", id, ombud.ErrRetired)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.RetirePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE recipients SET retired = $1, retire_index = $2 WHERE id = $3 AND retired IS NULL`, ms(p.At), index, id)
	},
	undo: nothingToUndo[journal.RetirePayload],
}

// recipientOperations lists this file's operations, for the table in operations.go.
var recipientOperations = []op{recipientRegister, recipientRetire}
