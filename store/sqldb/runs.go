package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// reserveRun records a pending run with its object list, atomically with
// its preconditions: the version is registered and neither retired nor
// being retired, the authorization (if any) is neither revoked nor being
// revoked, and every object of the list exists and is not erased.
func reserveRun(ctx context.Context, tx *sql.Tx, p *journal.RunPayload) error {
	r := p.Run
	if len(p.Objects) != r.Objects || r.Objects == 0 {
		return fmt.Errorf("store: run %s lists %d objects and counts %d", r.ID, len(p.Objects), r.Objects)
	}
	var retired sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT retired FROM system_versions WHERE system_id = $1 AND version = $2 AND pending = 0`, r.System, r.Version).Scan(&retired)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("system %s version %s: %w", r.System, r.Version, ombud.ErrNotFound)
	case err != nil:
		return err
	case retired.Valid:
		return fmt.Errorf("system %s version %s: %w", r.System, r.Version, ombud.ErrRetired)
	}
	if err := inFlight(ctx, tx, journal.SystemRetire.Target(journal.Pair(r.System, r.Version)), fmt.Errorf("system %s version %s is being retired: %w", r.System, r.Version, ombud.ErrBusy)); err != nil {
		return err
	}
	if r.Authorization != "" {
		// The run's one use, taken with its reservation: an undone run
		// (its entry never logged, or a crash before) gives it back.
		if err := takeUse(ctx, tx, r.Authorization); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, system_id, version, purpose, authorization_id, principal, objects, classes, started, deadline, log_index, pending) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,0,1)`,
		r.ID, r.System, r.Version, r.Purpose, nullString(r.Authorization), r.Principal, r.Objects, strings.Join(r.Classes, ","), ms(r.Started), ms(r.Deadline)); err != nil {
		if isUnique(err) {
			return fmt.Errorf("run %s: %w", r.ID, ombud.ErrExists)
		}
		return err
	}
	const chunk = 500
	for i := 0; i < len(p.Objects); i += chunk {
		ids := p.Objects[i:min(i+chunk, len(p.Objects))]
		q := `INSERT INTO run_objects (run_id, position, object_id) VALUES ` + tuples(1, len(ids), 3)
		args := make([]any, 0, 3*len(ids))
		for k, id := range ids {
			args = append(args, r.ID, i+k, id)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	// An erasure in flight on one of its objects: the run waits for it,
	// and then sees the object erased (or not, if it was undone).
	var erasing int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM changes c JOIN run_objects ro ON c.target = 'object:' || ro.object_id
		WHERE ro.run_id = $1 AND c.op = $2`, r.ID, string(journal.Erase.Op)).Scan(&erasing); err != nil {
		return err
	}
	if erasing > 0 {
		return fmt.Errorf("run %s: an object of its list is being erased: %w", r.ID, ombud.ErrBusy)
	}
	var live int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM run_objects ro JOIN objects o ON o.id = ro.object_id
		WHERE ro.run_id = $1 AND o.ingest_index IS NOT NULL AND o.erased_at IS NULL`, r.ID).Scan(&live); err != nil {
		return err
	}
	if live != len(p.Objects) {
		var erased int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM run_objects ro JOIN objects o ON o.id = ro.object_id
			WHERE ro.run_id = $1 AND o.erased_at IS NOT NULL`, r.ID).Scan(&erased); err != nil {
			return err
		}
		if erased > 0 {
			return fmt.Errorf("run %s: %d objects of its list: %w", r.ID, erased, ombud.ErrErased)
		}
		return fmt.Errorf("run %s: %d objects of its list: %w", r.ID, len(p.Objects)-live, ombud.ErrNotFound)
	}
	return nil
}

// takeUse takes one use of authorization id for a change that spends one
// with its reservation (a run's start, an export): the authorization is
// registered, neither revoked nor being revoked, and has a use left.
func takeUse(ctx context.Context, tx *sql.Tx, id string) error {
	if err := authorizationStanding(ctx, tx, id); err != nil {
		return err
	}
	if err := inFlight(ctx, tx, journal.AuthorizationRevoke.Target(id), fmt.Errorf("authorization %s is being revoked: %w", id, ombud.ErrBusy)); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE authorizations SET uses = uses + 1 WHERE id = $1 AND uses < max_uses AND revoked IS NULL AND pending = 0`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("authorization %s: %w", id, ombud.ErrExhausted)
	}
	return nil
}

// runStartsInFlight reports whether a run citing what col names is
// reserved and not yet logged.
func runStartsInFlight(ctx context.Context, tx *sql.Tx, where string, args ...any) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE pending = 1 AND `+where, args...).Scan(&n)
	return n > 0, err
}

// flagsInFlight reports whether a flag matching where is reserved and not
// yet logged.
func flagsInFlight(ctx context.Context, tx *sql.Tx, where string, args ...any) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM flags WHERE pending = 1 AND `+where, args...).Scan(&n)
	return n > 0, err
}

func reserveRunClose(ctx context.Context, tx *sql.Tx, id string) error {
	var closed sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT closed FROM runs WHERE id = $1 AND pending = 0`, id).Scan(&closed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("run %s: %w", id, ombud.ErrNotFound)
	case err != nil:
		return err
	case closed.Valid:
		return fmt.Errorf("run %s: %w", id, ombud.ErrRunClosed)
	}
	return nil
}

const runCols = `id, system_id, version, purpose, authorization_id, principal, objects, classes, started, deadline, log_index, closed, close_index, close_reason, read_objects, read_bytes`

func scanRun(row scanner) (*ombud.Run, error) {
	var r ombud.Run
	var auth, reason sql.NullString
	var classes string
	var started, deadline int64
	var closed, closeIdx sql.NullInt64
	if err := row.Scan(&r.ID, &r.System, &r.Version, &r.Purpose, &auth, &r.Principal, &r.Objects, &classes, &started, &deadline, &r.Index,
		&closed, &closeIdx, &reason, &r.Read, &r.Bytes); err != nil {
		return nil, err
	}
	r.Authorization, r.CloseReason = auth.String, reason.String
	if classes != "" {
		r.Classes = strings.Split(classes, ",")
	}
	r.Started, r.Deadline = fromMS(started), fromMS(deadline)
	if closed.Valid {
		t := fromMS(closed.Int64)
		r.Closed, r.CloseIndex = &t, uint64(closeIdx.Int64)
	}
	return &r, nil
}

// Run implements ombud.RunStore.
func (s *Store) Run(ctx context.Context, id string) (*ombud.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = $1 AND pending = 0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ombud.ErrNotFound)
	}
	return r, err
}

func (s *Store) runs(ctx context.Context, q string, args ...any) ([]*ombud.Run, error) {
	return queryAll(ctx, s.r, scanRun, `SELECT `+runCols+` FROM runs WHERE pending = 0 AND `+q, args...)
}

// Runs implements ombud.RunStore.
func (s *Store) Runs(ctx context.Context, system string, limit int) ([]*ombud.Run, error) {
	if system == "" {
		return s.runs(ctx, `1 ORDER BY started DESC, id LIMIT $1`, limit)
	}
	return s.runs(ctx, `system_id = $1 ORDER BY started DESC, id LIMIT $2`, system, limit)
}

// OpenRunsBefore implements ombud.RunStore.
func (s *Store) OpenRunsBefore(ctx context.Context, t time.Time) ([]*ombud.Run, error) {
	return s.runs(ctx, `closed IS NULL AND deadline < $1 ORDER BY deadline, id`, ms(t))
}

// RunObjects implements ombud.RunStore. Objects are never deleted once
// logged (an erasure keeps the row), so every position has its object. It
// reads only what a run's read needs: no retention, hold or provenance.
func (s *Store) RunObjects(ctx context.Context, id string, from, limit int) ([]ombud.RunObject, error) {
	return queryAll(ctx, s.r, scanRunObject, `SELECT ro.position, o.id, o.class, o.subjects, o.size, o.cipher_size, o.cipher_sha256,
		o.wrapped_keyset, o.wrapping_key, o.kek_version, o.key_format, o.erased_at
		FROM run_objects ro JOIN objects o ON o.id = ro.object_id
		WHERE ro.run_id = $1 AND ro.position >= $2 ORDER BY ro.position LIMIT $3`, id, from, limit)
}

func scanRunObject(row scanner) (ombud.RunObject, error) {
	var ro ombud.RunObject
	var o ombud.Object
	var subjects string
	var erased sql.NullInt64
	var wrappingKey sql.NullString
	if err := row.Scan(&ro.Position, &o.ID, &o.Class, &subjects, &o.Size, &o.CipherSize, &o.CipherSHA, &o.WrappedKeyset, &wrappingKey, &o.KEKVersion, &o.KeyFormat, &erased); err != nil {
		return ro, err
	}
	o.WrappingKey = wrappingKey.String
	if subjects != "" {
		o.Subjects = strings.Split(subjects, ",")
	}
	if erased.Valid {
		o.Erased = &ombud.Erasure{At: fromMS(erased.Int64)}
	}
	ro.Object = &o
	return ro, nil
}

// RecordRunReads implements ombud.RunStore, in one transaction.
func (s *Store) RecordRunReads(ctx context.Context, id string, reads []ombud.RunRead, bytes int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET read_objects = read_objects + $1, read_bytes = read_bytes + $2 WHERE id = $3`, len(reads), bytes, id); err != nil {
			return err
		}
		if s.d.RowAtATime {
			st, err := tx.PrepareContext(ctx, `UPDATE run_objects SET read_index = $1 WHERE run_id = $2 AND position = $3`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, r := range reads {
				if _, err := st.ExecContext(ctx, r.Index, id, r.Position); err != nil {
					return err
				}
			}
			return nil
		}
		const chunk = 300
		for i := 0; i < len(reads); i += chunk {
			part := reads[i:min(i+chunk, len(reads))]
			// One statement a chunk: read_index = CASE position WHEN … END.
			var q strings.Builder
			args := make([]any, 0, 3*len(part)+1)
			q.WriteString(`UPDATE run_objects SET read_index = CASE position`)
			for k, r := range part {
				q.WriteString(` WHEN $` + strconv.Itoa(2*k+1) + ` THEN CAST($` + strconv.Itoa(2*k+2) + ` AS BIGINT)`)
				args = append(args, r.Position, r.Index)
			}
			q.WriteString(` END WHERE run_id = $` + strconv.Itoa(2*len(part)+1) + ` AND position IN (` + params(2*len(part)+2, len(part)) + `)`)
			args = append(args, id)
			for _, r := range part {
				args = append(args, r.Position)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// SelectObjects implements ombud.RunStore.
func (s *Store) SelectObjects(ctx context.Context, class, subject string, limit int) ([]string, error) {
	return queryAll(ctx, s.r, scanOne[string], `SELECT id FROM objects WHERE class = $1 AND ingest_index IS NOT NULL AND erased_at IS NULL
		AND `+s.d.ListHas("subjects", "$2")+` ORDER BY created, id LIMIT $3`, class, subject, limit)
}

// ErasedRunObjects implements ombud.RunStore.
func (s *Store) ErasedRunObjects(ctx context.Context, id string, from, to int) ([]int, error) {
	return queryAll(ctx, s.r, scanOne[int], `SELECT ro.position FROM run_objects ro JOIN objects o ON o.id = ro.object_id
		WHERE ro.run_id = $1 AND ro.position >= $2 AND ro.position < $3 AND (o.erased_at IS NOT NULL OR o.wrapped_keyset IS NULL) ORDER BY ro.position`, id, from, to)
}

// ObjectFacts implements ombud.RunStore.
func (s *Store) ObjectFacts(ctx context.Context, ids []string) (map[string]ombud.ObjectFacts, error) {
	out := make(map[string]ombud.ObjectFacts, len(ids))
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]any, len(part))
		for k, id := range part {
			args[k] = id
		}
		rows, err := s.r.QueryContext(ctx, `SELECT id, class, subjects, erased_at IS NOT NULL OR wrapped_keyset IS NULL FROM objects
			WHERE ingest_index IS NOT NULL AND id IN (`+params(1, len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var f ombud.ObjectFacts
			if err := rows.Scan(&id, &f.Class, &f.Subjects, &f.Erased); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = f
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunCounts implements ombud.RunStore.
func (s *Store) RunCounts(ctx context.Context, system string, now time.Time) ([]ombud.RunCount, error) {
	return queryAll(ctx, s.r, func(row scanner) (ombud.RunCount, error) {
		var c ombud.RunCount
		err := row.Scan(&c.Version, &c.Purpose, &c.Runs, &c.Open, &c.Read)
		return c, err
	}, `SELECT version, purpose, count(*), count(*) FILTER (WHERE closed IS NULL AND deadline > $1), CAST(sum(read_objects) AS BIGINT) FROM runs
		WHERE system_id = $2 AND pending = 0 GROUP BY version, purpose ORDER BY version, purpose`, ms(now), system)
}

var runStart = operation[journal.RunPayload]{Operation: journal.RunStart,
	reserve: func(ctx context.Context, tx *sql.Tx, _ string, p *journal.RunPayload) error {
		return reserveRun(ctx, tx, p)
	},
	commit:     publish[journal.RunPayload]("runs", "id"),
	commitByID: true,
	undo: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RunPayload) error {
		// Give back the use its reservation took.
		if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET uses = uses - 1 WHERE uses > 0 AND id = (SELECT authorization_id FROM runs WHERE id = $1 AND pending = 1)`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM run_objects WHERE run_id IN (SELECT id FROM runs WHERE id = $1 AND pending = 1)`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = $1 AND pending = 1`, id)
		return err
	},
}

// runClose waits for the run's flags being raised: each is logged before
// the close, or refused.
var runClose = operation[journal.RunClosePayload]{Operation: journal.RunClose,
	reserve: func(ctx context.Context, tx *sql.Tx, id string, _ *journal.RunClosePayload) error {
		if busy, err := flagsInFlight(ctx, tx, `run_id = $1`, id); err != nil || busy {
			return cmp.Or(err, fmt.Errorf("a flag of run %s is being raised: %w", id, ombud.ErrBusy))
		}
		return reserveRunClose(ctx, tx, id)
	},
	commit: func(ctx context.Context, tx *sql.Tx, id string, p *journal.RunClosePayload, index uint64) error {
		return exactlyOne(ctx, tx, `UPDATE runs SET closed = $1, close_index = $2, close_reason = $3, read_objects = $4, read_bytes = $5 WHERE id = $6 AND closed IS NULL`,
			ms(p.At), index, p.Reason, p.Read, p.Bytes, id)
	},
	undo: nothingToUndo[journal.RunClosePayload],
}

// runOperations lists this file's operations, for the table in operations.go.
var runOperations = []op{runStart, runClose}
