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
	wrapped_keyset, kek_version, ingest_index, hold_reason, hold_auth, hold_since, hold_by, erased_reason, erased_at, erase_index,
	ingest_detail_ms, ingest_detail`

func ms(t time.Time) int64     { return t.UnixMilli() }
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func insertObject(ctx context.Context, tx *sql.Tx, o *ombud.Object) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO objects (`+objectCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,?,?)`,
		o.ID, o.Class, strings.Join(o.Subjects, ","), o.Source, o.Region, ms(o.CollectedAt), ms(o.Created), ms(o.RetainUntil),
		o.Size, o.CipherSize, o.CipherSHA, o.WrappedKeyset, o.KEKVersion, nullMS(o.IngestDetail.Time), nullString(o.IngestDetail.Commitment))
	if isUnique(err) {
		return fmt.Errorf("object %s: %w", o.ID, ombud.ErrExists)
	}
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanObject(row scanner) (*ombud.Object, error) {
	var o ombud.Object
	var subjects string
	var collected, created, retain int64
	var ingest, holdSince, erasedAt, eraseIdx, detailMS sql.NullInt64
	var holdReason, holdAuth, holdBy, erasedReason, detail sql.NullString
	if err := row.Scan(&o.ID, &o.Class, &subjects, &o.Source, &o.Region, &collected, &created, &retain, &o.Size, &o.CipherSize, &o.CipherSHA,
		&o.WrappedKeyset, &o.KEKVersion, &ingest, &holdReason, &holdAuth, &holdSince, &holdBy, &erasedReason, &erasedAt, &eraseIdx, &detailMS, &detail); err != nil {
		return nil, err
	}
	if detailMS.Valid && detail.Valid {
		o.IngestDetail = ombud.DetailKey{Time: fromMS(detailMS.Int64), Commitment: detail.String}
	}
	if subjects != "" {
		o.Subjects = strings.Split(subjects, ",")
	}
	o.CollectedAt, o.Created, o.RetainUntil = fromMS(collected), fromMS(created), fromMS(retain)
	o.IngestIndex = uint64(ingest.Int64)
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

func (s *Store) queryObjects(ctx context.Context, q string, args ...any) ([]*ombud.Object, error) {
	return queryAll(ctx, s.r, scanObject, `SELECT `+objectCols+` FROM objects `+q, args...)
}

// ExpiredObjects also lists the objects an earlier version shredded
// without recording the erasure (keyset gone, erased_at NULL), so that the
// sweep erases them properly.
func (s *Store) ExpiredObjects(ctx context.Context, now time.Time, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE erased_at IS NULL AND (retain_until <= ? OR wrapped_keyset IS NULL) AND hold_reason IS NULL AND ingest_index IS NOT NULL ORDER BY retain_until LIMIT ?`, ms(now), limit)
}

func (s *Store) ObjectsBelowKEK(ctx context.Context, version int, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE wrapped_keyset IS NOT NULL AND kek_version < ? ORDER BY id LIMIT ?`, version, limit)
}

func (s *Store) Rewrap(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error {
	return s.exec1(ctx, "object", id, `UPDATE objects SET wrapped_keyset = ?, kek_version = ? WHERE id = ? AND kek_version = ? AND wrapped_keyset IS NOT NULL`,
		wrapped, version, id, oldVersion)
}
