package sqldb

import (
	"cmp"
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
var recipientRegister = operation[journal.RecipientPayload]{Operation: journal.RecipientRegister, privileged: always[journal.RecipientPayload](ombud.OpRecipientAdd),
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
		if busy, err := exportStartsInFlight(ctx, tx, `recipient_id = $1`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("an export to recipient %s is being started: %w", id, ombud.ErrBusy))
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.RetirePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE recipients SET retired = $1, retire_index = $2 WHERE id = $3 AND retired IS NULL`, ms(p.At), index, id)
	},
	undo: nothingToUndo[journal.RetirePayload],
}

// recipientOperations lists this file's operations, for the table in operations.go.
var recipientOperations = []op{recipientRegister, recipientRetire, exportStart, noticeSend}

// Export implements ombud.RecipientStore.
func (s *Store) Export(ctx context.Context, id string) (*ombud.Export, error) {
	var e ombud.Export
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, recipient_id, authorization_id, principal, purpose, objects, created, log_index FROM exports WHERE id = $1 AND pending = 0`, id).
		Scan(&e.ID, &e.Recipient, &e.Authorization, &e.Principal, &e.Purpose, &e.Objects, &created, &e.Index)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("export %s: %w", id, ombud.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	e.Created = fromMS(created)
	return &e, nil
}

// ExportObjects implements ombud.RecipientStore.
func (s *Store) ExportObjects(ctx context.Context, id string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT eo.object_id FROM export_objects eo JOIN exports e ON e.id = eo.export_id WHERE e.id = $1 AND e.pending = 0 ORDER BY eo.position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// reserveExport checks an export's recipient (registered, neither retired
// nor being retired), its authorization (registered, neither revoked nor
// being revoked, a use left, which it takes) and its objects (each live,
// none being erased), and reserves its row and its list.
func reserveExport(ctx context.Context, tx *sql.Tx, p *journal.ExportPayload) error {
	e := p.Export
	if len(p.Objects) != e.Objects || e.Objects == 0 {
		return fmt.Errorf("store: export %s lists %d objects and counts %d", e.ID, len(p.Objects), e.Objects)
	}
	var retired sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT retired FROM recipients WHERE id = $1 AND pending = 0`, e.Recipient).Scan(&retired)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("recipient %s: %w", e.Recipient, ombud.ErrNotFound)
	case err != nil:
		return err
	case retired.Valid:
		return fmt.Errorf("recipient %s: %w", e.Recipient, ombud.ErrRetired)
	}
	if err := inFlight(ctx, tx, journal.RecipientRetire.Target(e.Recipient), fmt.Errorf("recipient %s is being retired: %w", e.Recipient, ombud.ErrBusy)); err != nil {
		return err
	}
	// The export's one use, taken with its reservation: an undone export
	// gives it back.
	if err := takeUse(ctx, tx, e.Authorization); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO exports (id, recipient_id, authorization_id, principal, purpose, objects, created, log_index, pending) VALUES ($1,$2,$3,$4,$5,$6,$7,0,1)`,
		e.ID, e.Recipient, e.Authorization, e.Principal, e.Purpose, e.Objects, ms(e.Created)); err != nil {
		if isUnique(err) {
			return fmt.Errorf("export %s: %w", e.ID, ombud.ErrExists)
		}
		return err
	}
	const chunk = 500
	for i := 0; i < len(p.Objects); i += chunk {
		ids := p.Objects[i:min(i+chunk, len(p.Objects))]
		args := make([]any, 0, 3*len(ids))
		for k, id := range ids {
			args = append(args, e.ID, i+k, id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO export_objects (export_id, position, object_id) VALUES `+tuples(1, len(ids), 3), args...); err != nil {
			return err
		}
	}
	var erasing int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM changes c JOIN export_objects eo ON c.target = 'object:' || eo.object_id
		WHERE eo.export_id = $1 AND c.op = $2`, e.ID, string(journal.Erase.Op)).Scan(&erasing); err != nil {
		return err
	}
	if erasing > 0 {
		return fmt.Errorf("export %s: an object of its list is being erased: %w", e.ID, ombud.ErrBusy)
	}
	var live, erased int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE o.erased_at IS NULL), count(*) FILTER (WHERE o.erased_at IS NOT NULL)
		FROM export_objects eo JOIN objects o ON o.id = eo.object_id WHERE eo.export_id = $1 AND o.ingest_index IS NOT NULL`, e.ID).Scan(&live, &erased); err != nil {
		return err
	}
	switch {
	case erased > 0:
		return fmt.Errorf("export %s: %d objects of its list: %w", e.ID, erased, ombud.ErrErased)
	case live != len(p.Objects):
		return fmt.Errorf("export %s: %d objects of its list: %w", e.ID, len(p.Objects)-live, ombud.ErrNotFound)
	}
	return nil
}

var exportStart = operation[journal.ExportPayload]{Operation: journal.ExportStart,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ExportPayload) error {
		return reserveExport(ctx, tx, p)
	},
	commit:     publish[journal.ExportPayload]("exports", "id"),
	commitByID: true,
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ExportPayload) error {
		if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET uses = uses - 1 WHERE uses > 0 AND id = (SELECT authorization_id FROM exports WHERE id = $1 AND pending = 1)`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM export_objects WHERE export_id IN (SELECT id FROM exports WHERE id = $1 AND pending = 1)`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM exports WHERE id = $1 AND pending = 1`, id)
		return err
	},
}

// exportStartsInFlight reports whether an export matching where is
// reserved and not yet logged.
func exportStartsInFlight(ctx context.Context, tx *sql.Tx, where string, args ...any) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE pending = 1 AND `+where, args...).Scan(&n)
	return n > 0, err
}
