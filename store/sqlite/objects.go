package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ombud/ombud"
)

const objectCols = `id, class, subjects, source, region, collected_at, created, retain_until, size, cipher_size, cipher_sha256,
	wrapped_keyset, kek_version, ingest_index, hold_reason, hold_auth, hold_since, hold_by, erased_reason, erased_at, erase_index`

func ms(t time.Time) int64     { return t.UnixMilli() }
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func (s *Store) CreateObject(ctx context.Context, o *ombud.Object) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO objects (`+objectCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL)`,
		o.ID, o.Class, strings.Join(o.Subjects, ","), o.Source, o.Region, ms(o.CollectedAt), ms(o.Created), ms(o.RetainUntil),
		o.Size, o.CipherSize, o.CipherSHA, o.WrappedKeyset, o.KEKVersion)
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("object %s: %w", o.ID, ombud.ErrExists)
	}
	return err
}

func scanObject(row interface{ Scan(...any) error }) (*ombud.Object, error) {
	var o ombud.Object
	var subjects string
	var collected, created, retain int64
	var ingest, holdSince, erasedAt, eraseIdx sql.NullInt64
	var holdReason, holdAuth, holdBy, erasedReason sql.NullString
	if err := row.Scan(&o.ID, &o.Class, &subjects, &o.Source, &o.Region, &collected, &created, &retain, &o.Size, &o.CipherSize, &o.CipherSHA,
		&o.WrappedKeyset, &o.KEKVersion, &ingest, &holdReason, &holdAuth, &holdSince, &holdBy, &erasedReason, &erasedAt, &eraseIdx); err != nil {
		return nil, err
	}
	if subjects != "" {
		o.Subjects = strings.Split(subjects, ",")
	}
	o.CollectedAt, o.Created, o.RetainUntil = fromMS(collected), fromMS(created), fromMS(retain)
	if ingest.Valid {
		o.IngestIndex = uint64(ingest.Int64)
	} else {
		o.Pending = true
	}
	if holdReason.Valid {
		o.Hold = &ombud.Hold{Reason: holdReason.String, Authorization: holdAuth.String, Since: fromMS(holdSince.Int64), By: holdBy.String}
	}
	if erasedAt.Valid {
		o.Erased = &ombud.Erasure{Reason: erasedReason.String, At: fromMS(erasedAt.Int64), Index: uint64(eraseIdx.Int64)}
	} else {
		o.ShredReason = erasedReason.String
	}
	return &o, nil
}

func (s *Store) Object(ctx context.Context, id string) (*ombud.Object, error) {
	o, err := scanObject(s.objectStmt.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("object %s: %w", id, ombud.ErrNotFound)
	}
	return o, err
}

func (s *Store) exec1(ctx context.Context, what, id, q string, args ...any) error {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, ombud.ErrNotFound)
	}
	return nil
}

func (s *Store) SetIngestIndex(ctx context.Context, id string, index uint64) error {
	return s.exec1(ctx, "object", id, `UPDATE objects SET ingest_index = ? WHERE id = ?`, index, id)
}

func (s *Store) SetHold(ctx context.Context, id string, h *ombud.Hold) error {
	if h == nil {
		return s.exec1(ctx, "object", id, `UPDATE objects SET hold_reason = NULL, hold_auth = NULL, hold_since = NULL, hold_by = NULL WHERE id = ?`, id)
	}
	return s.exec1(ctx, "object", id, `UPDATE objects SET hold_reason = ?, hold_auth = ?, hold_since = ?, hold_by = ? WHERE id = ?`,
		h.Reason, h.Authorization, ms(h.Since), h.By, id)
}

// DestroyKeyset deletes the wrapped keyset: the crypto-shred. secure_delete
// zeroes the freed bytes and the WAL is folded in, so the keyset is gone
// from the files too.
func (s *Store) DestroyKeyset(ctx context.Context, id, reason string) error {
	if err := s.exec1(ctx, "object", id, `UPDATE objects SET wrapped_keyset = NULL, erased_reason = ? WHERE id = ?`, reason, id); err != nil {
		return err
	}
	s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return nil
}

func (s *Store) MarkErased(ctx context.Context, id string, e ombud.Erasure) error {
	return s.exec1(ctx, "object", id, `UPDATE objects SET wrapped_keyset = NULL, erased_reason = ?, erased_at = ?, erase_index = ? WHERE id = ?`,
		e.Reason, ms(e.At), e.Index, id)
}

func (s *Store) queryObjects(ctx context.Context, q string, args ...any) ([]*ombud.Object, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+objectCols+` FROM objects `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ombud.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s *Store) ExpiredObjects(ctx context.Context, now time.Time, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE erased_at IS NULL AND retain_until <= ? AND hold_reason IS NULL AND ingest_index IS NOT NULL ORDER BY retain_until LIMIT ?`, ms(now), limit)
}

func (s *Store) UnfinishedErasures(ctx context.Context, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE erased_at IS NULL AND wrapped_keyset IS NULL ORDER BY id LIMIT ?`, limit)
}

func (s *Store) PendingObjects(ctx context.Context, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE ingest_index IS NULL AND wrapped_keyset IS NOT NULL ORDER BY created LIMIT ?`, limit)
}

func (s *Store) ObjectsBelowKEK(ctx context.Context, version int, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE wrapped_keyset IS NOT NULL AND kek_version < ? ORDER BY id LIMIT ?`, version, limit)
}

func (s *Store) Rewrap(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error {
	return s.exec1(ctx, "object", id, `UPDATE objects SET wrapped_keyset = ?, kek_version = ? WHERE id = ? AND kek_version = ? AND wrapped_keyset IS NOT NULL`,
		wrapped, version, id, oldVersion)
}
