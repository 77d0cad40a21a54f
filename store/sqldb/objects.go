package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

const objectCols = `id, class, subjects, source, region, collected_at, created, retain_until, size, cipher_size, cipher_sha256,
	wrapped_keyset, kek_version, ingest_index, hold_reason, hold_auth, hold_since, hold_by, erased_reason, erased_at, erase_index,
	ingest_detail_ms, ingest_detail, wrapping_key, key_format, plain_digest`

func ms(t time.Time) int64     { return t.UnixMilli() }
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func insertObject(ctx context.Context, tx *sql.Tx, o *ombud.Object) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO objects (`+objectCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,$14,$15,$16,$17,$18)`,
		o.ID, o.Class, strings.Join(o.Subjects, ","), o.Source, o.Region, ms(o.CollectedAt), ms(o.Created), ms(o.RetainUntil),
		o.Size, o.CipherSize, o.CipherSHA, o.WrappedKeyset, o.KEKVersion, nullMS(o.IngestDetail.Time), nullString(o.IngestDetail.Commitment),
		nullString(o.WrappingKey), o.KeyFormat, o.PlainDigest)
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
	var holdReason, holdAuth, holdBy, erasedReason, detail, wrappingKey sql.NullString
	if err := row.Scan(&o.ID, &o.Class, &subjects, &o.Source, &o.Region, &collected, &created, &retain, &o.Size, &o.CipherSize, &o.CipherSHA,
		&o.WrappedKeyset, &o.KEKVersion, &ingest, &holdReason, &holdAuth, &holdSince, &holdBy, &erasedReason, &erasedAt, &eraseIdx, &detailMS, &detail,
		&wrappingKey, &o.KeyFormat, &o.PlainDigest); err != nil {
		return nil, err
	}
	o.WrappingKey = wrappingKey.String
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
	return s.queryObjects(ctx, `WHERE erased_at IS NULL AND (retain_until <= $1 OR wrapped_keyset IS NULL) AND hold_reason IS NULL AND ingest_index IS NOT NULL ORDER BY retain_until LIMIT $2`, ms(now), limit)
}

func (s *Store) ObjectsBelowKEK(ctx context.Context, version int, limit int) ([]*ombud.Object, error) {
	return s.queryObjects(ctx, `WHERE wrapped_keyset IS NOT NULL AND wrapping_key IS NULL AND kek_version < $1 ORDER BY id LIMIT $2`, version, limit)
}

func (s *Store) Rewrap(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error {
	return s.exec1(ctx, "object", id, `UPDATE objects SET wrapped_keyset = $1, kek_version = $2 WHERE id = $3 AND kek_version = $4 AND wrapped_keyset IS NOT NULL AND wrapping_key IS NULL`,
		wrapped, version, id, oldVersion)
}

const intermediateCols = `id, kek_version, wrapped, created, log_index`

func scanIntermediate(row scanner) (*ombud.IntermediateKey, error) {
	var k ombud.IntermediateKey
	var created int64
	if err := row.Scan(&k.ID, &k.KEKVersion, &k.Wrapped, &created, &k.LogIndex); err != nil {
		return nil, err
	}
	k.Created = fromMS(created)
	return &k, nil
}

func (s *Store) IntermediateKey(ctx context.Context, id string) (*ombud.IntermediateKey, error) {
	k, err := scanIntermediate(s.r.QueryRowContext(ctx, `SELECT `+intermediateCols+` FROM intermediate_keys WHERE id = $1 AND pending = 0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("intermediate key %s: %w", id, ombud.ErrNotFound)
	}
	return k, err
}

func (s *Store) LatestIntermediateKey(ctx context.Context) (*ombud.IntermediateKey, error) {
	k, err := scanIntermediate(s.r.QueryRowContext(ctx, `SELECT `+intermediateCols+` FROM intermediate_keys WHERE pending = 0 ORDER BY created DESC, id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no intermediate key: %w", ombud.ErrNotFound)
	}
	return k, err
}

func (s *Store) IntermediateKeysBelowKEK(ctx context.Context, version int, limit int) ([]*ombud.IntermediateKey, error) {
	return queryAll(ctx, s.r, scanIntermediate, `SELECT `+intermediateCols+` FROM intermediate_keys WHERE pending = 0 AND kek_version < $1 ORDER BY id LIMIT $2`, version, limit)
}

func (s *Store) RewrapIntermediateKey(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error {
	return s.exec1(ctx, "intermediate key", id, `UPDATE intermediate_keys SET wrapped = $1, kek_version = $2 WHERE id = $3 AND kek_version = $4 AND pending = 0`,
		wrapped, version, id, oldVersion)
}

// intermediateCreate records an intermediate key under the current KEK
// version. It shares the KEK's target with key.rotate, so at most one of
// either is in flight: a key is never recorded under a version a rotation
// is retiring, and its undo, from the target alone, drops the one
// pending key there can be.
var intermediateCreate = operation[journal.IntermediatePayload]{Operation: journal.IntermediateCreate,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.IntermediatePayload) error {
		k := p.Key
		if k == nil {
			return fmt.Errorf("no intermediate key: %w", ombud.ErrNotFound)
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 1) FROM kek_versions`).Scan(&v); err != nil {
			return err
		}
		if k.KEKVersion != v {
			return fmt.Errorf("intermediate key %s under KEK version %d, but %d is current: %w", k.ID, k.KEKVersion, v, ombud.ErrStale)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO intermediate_keys (id, kek_version, wrapped, created, log_index, pending) VALUES ($1, $2, $3, $4, 0, 1)`,
			k.ID, k.KEKVersion, k.Wrapped, ms(k.Created))
		if isUnique(err) {
			return fmt.Errorf("intermediate key %s: %w", k.ID, ombud.ErrExists)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.IntermediatePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE intermediate_keys SET pending = 0, log_index = $1 WHERE id = $2 AND pending = 1`, index, p.Key.ID)
	},
	undo: func(ctx context.Context, tx *sql.Tx, _ string, _ *journal.IntermediatePayload) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM intermediate_keys WHERE pending = 1`)
		return err
	},
}

var ingest = operation[journal.ObjectPayload]{Operation: journal.Ingest,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.ObjectPayload) error {
		return insertObject(ctx, tx, p.Object)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ObjectPayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE objects SET ingest_index = $1 WHERE id = $2 AND ingest_index IS NULL`, index, id)
	},
	commitByID: true,
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.ObjectPayload) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM objects WHERE id = $1 AND ingest_index IS NULL`, id)
		return err
	},
}

// objectState reads what a hold, a release or an erasure checks of a
// logged object: ErrNotFound if there is none, ErrErased if it is erased.
func objectState(ctx context.Context, tx *sql.Tx, id string) (held bool, err error) {
	var ingested, erased bool
	err = tx.QueryRowContext(ctx, `SELECT ingest_index IS NOT NULL, erased_at IS NOT NULL, hold_reason IS NOT NULL FROM objects WHERE id = $1`, id).Scan(&ingested, &erased, &held)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && !ingested):
		return false, fmt.Errorf("object %s: %w", id, ombud.ErrNotFound)
	case err != nil:
		return false, err
	case erased:
		return false, fmt.Errorf("object %s: %w", id, ombud.ErrErased)
	}
	return held, nil
}

var holdSet = operation[journal.HoldPayload]{Operation: journal.HoldSet,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.HoldPayload) error {
		held, err := objectState(ctx, tx, id)
		if err == nil && held {
			return fmt.Errorf("object %s: %w", id, ombud.ErrOnHold)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.HoldPayload, _ uint64) error {
		h := p.Hold
		if h == nil {
			return errors.New("no hold in the payload")
		}
		return exactlyOne(ctx, tx, `UPDATE objects SET hold_reason = $1, hold_auth = $2, hold_since = $3, hold_by = $4 WHERE id = $5 AND hold_reason IS NULL AND erased_at IS NULL`,
			h.Reason, h.Authorization, ms(h.Since), h.By, id)
	},
	undo: nothingToUndo[journal.HoldPayload],
}

var holdRelease = operation[journal.None]{Operation: journal.HoldRelease, privileged: always[journal.None](ombud.OpHoldRelease),
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None) error {
		held, err := objectState(ctx, tx, id)
		if err == nil && !held {
			return fmt.Errorf("object %s: %w", id, ombud.ErrNotOnHold)
		}
		return err
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.None, _ uint64) error {
		return exactlyOne(ctx, tx, `UPDATE objects SET hold_reason = NULL, hold_auth = NULL, hold_since = NULL, hold_by = NULL WHERE id = $1 AND hold_reason IS NOT NULL`, id)
	},
	undo: nothingToUndo[journal.None],
}

// erase shreds an object's keyset and its ingest's detail. A run over it
// being started is logged before the erasure, or refused.
var erase = operation[journal.ErasePayload]{Operation: journal.Erase,
	// An erasure on order is privileged; one because retention ended is
	// the sweep's, on its own schedule, and one of an ingest never
	// acknowledged is recovery's.
	privileged: func(_ context.Context, _ *sql.Tx, p *journal.ErasePayload) (string, error) {
		if !ombud.ErasedOnOrder(p.Reason) {
			return "", nil
		}
		return ombud.OpObjectErase, nil
	},
	reserve: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ErasePayload) error {
		held, err := objectState(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case held:
			return fmt.Errorf("object %s: %w", id, ombud.ErrOnHold)
		}
		if busy, err := runStartsInFlight(ctx, tx, `id IN (SELECT run_id FROM run_objects WHERE object_id = $1)`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a run over object %s is starting: %w", id, ombud.ErrBusy))
		}
		if busy, err := exportStartsInFlight(ctx, tx, `id IN (SELECT export_id FROM export_objects WHERE object_id = $1)`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("an export of object %s is starting: %w", id, ombud.ErrBusy))
		}
		return checkNotices(ctx, tx, id, p.Notices)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.ErasePayload, index uint64) error {
		var dms sql.NullInt64
		var dc sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT ingest_detail_ms, ingest_detail FROM objects WHERE id = $1`, id).Scan(&dms, &dc); err != nil {
			return err
		}
		// A held object is never shredded, whatever the caller checked.
		// The ingest's source is free text, and goes with the object.
		if err := exactlyOne(ctx, tx, `UPDATE objects SET wrapped_keyset = NULL, plain_digest = NULL, source = '', erased_reason = $1, erased_at = $2, erase_index = $3 WHERE id = $4 AND hold_reason IS NULL AND erased_at IS NULL`,
			p.Reason, ms(p.At), index, id); err != nil {
			return err
		}
		if dms.Valid && dc.Valid {
			if _, err := eraseDetail(ctx, tx, ombud.DetailKey{Time: fromMS(dms.Int64), Commitment: dc.String}); err != nil && !errors.Is(err, ombud.ErrNotFound) {
				return err
			}
		}
		return recordNotices(ctx, tx, id, p, index)
	},
	undo:   nothingToUndo[journal.ErasePayload],
	shreds: true,
}

// KEKVersion implements ombud.ObjectStore.
func (s *Store) KEKVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 1) FROM kek_versions`).Scan(&v)
	return v, err
}

// keyRotate records a KEK version above the last; the keys package adds
// the version and rewraps.
var keyRotate = operation[journal.KeyPayload]{Operation: journal.KeyRotate, privileged: always[journal.KeyPayload](ombud.OpKeyRotate),
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.KeyPayload) error {
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 1) FROM kek_versions`).Scan(&v); err != nil {
			return err
		}
		if p.Version <= v {
			return fmt.Errorf("KEK version %d is recorded already: %w", v, ombud.ErrStale)
		}
		return nil
	},
	commit: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.KeyPayload, index uint64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kek_versions (version, log_index) VALUES ($1, $2)`, p.Version, index)
		return err
	},
	undo: nothingToUndo[journal.KeyPayload],
}

// objectOperations lists this file's operations, for the table in operations.go.
var objectOperations = []op{ingest, holdSet, holdRelease, erase, keyRotate, intermediateCreate}
