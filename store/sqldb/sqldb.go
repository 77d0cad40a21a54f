// Package sqldb is ombud's metadata store on SQL: store.Store over
// database/sql. Each operation's preconditions, commit and undo are
// written once, beside its aggregate's queries, in the SQL that SQLite
// and PostgreSQL share; an engine (store/sqlite, store/postgres) brings
// the connections, the migrations and a Dialect, which holds what differs.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ombud/ombud/store"
)

// Config configures a Store.
type Config struct {
	// Writer runs every transaction that writes; Reader every query that
	// only reads (it may be the same pool). The Store closes both.
	Writer, Reader *sql.DB
	Dialect        Dialect
	// MaxDetailBatch bounds how many detail records one transaction writes.
	MaxDetailBatch int
}

// Store implements store.Store.
type Store struct {
	w, r    *sql.DB
	d       Dialect
	details chan *putReq
	uses    chan *useReq
	// logged: uses whose decisions are logged, to delete from
	// uses_in_flight in the use writer's next transaction; loggedWake
	// wakes it when no uses come.
	loggedMu   sync.Mutex
	logged     []useKey
	loggedWake chan struct{}
	stop       chan struct{}
	done       chan struct{}
	usesDone   chan struct{}

	// Prepared once: every request authenticates and most read an object,
	// and preparing a statement costs more than running it.
	principalStmt, objectStmt *sql.Stmt
	// The use writer's statements, prepared once on the writer: preparing
	// them in every batch cost as much as running them.
	useStmt, usedStmt, flightStmt *sql.Stmt
	maxB                          int
}

var _ store.Store = (*Store)(nil)

// New applies the engine's pending migrations and starts the store's
// writers. On error it closes nothing; the caller closes its pools.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Writer == nil || cfg.Reader == nil {
		return nil, errors.New("sqldb: Writer and Reader are required")
	}
	if cfg.Dialect.Migrations == nil {
		return nil, errors.New("sqldb: the dialect has no migrations")
	}
	if cfg.MaxDetailBatch <= 0 {
		cfg.MaxDetailBatch = 4096
	}
	s := &Store{w: cfg.Writer, r: cfg.Reader, d: cfg.Dialect, details: make(chan *putReq, 1024), uses: make(chan *useReq, 1024), loggedWake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), usesDone: make(chan struct{}), maxB: cfg.MaxDetailBatch}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	var err error
	if s.principalStmt, err = s.r.PrepareContext(ctx, `SELECT `+principalCols+` FROM principals WHERE id = $1 AND pending = 0`); err == nil {
		s.objectStmt, err = s.r.PrepareContext(ctx, `SELECT `+objectCols+` FROM objects WHERE id = $1 AND ingest_index IS NOT NULL`)
	}
	if err == nil {
		s.useStmt, err = s.w.PrepareContext(ctx, `UPDATE authorizations SET uses = uses + 1 WHERE id = $1 AND uses < max_uses AND revoked IS NULL AND pending = 0 RETURNING uses`)
	}
	if err == nil {
		s.usedStmt, err = s.w.PrepareContext(ctx, `DELETE FROM uses_in_flight WHERE authorization_id = $1 AND use_number = $2`)
	}
	if err == nil {
		s.flightStmt, err = s.w.PrepareContext(ctx, `INSERT INTO uses_in_flight (authorization_id, use_number, log_from, created) VALUES ($1, $2, $3, $4)
			ON CONFLICT (authorization_id, use_number) DO UPDATE SET log_from = excluded.log_from, created = excluded.created`)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to prepare statements: %w", err)
	}
	if s.d.OneWriter {
		go s.oneWriter()
	} else {
		go s.detailWriter()
		go s.useWriter()
	}
	return s, nil
}

// migrate applies the dialect's migrations (NNNN_*.sql) in order, each in
// its own transaction, recording the version in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("failed to create schema_migrations: %w", err)
	}
	var current int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	latest := 0
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("bad migration name %s", name)
		}
		latest = v
		if v <= current {
			continue
		}
		body, err := fs.ReadFile(s.d.Migrations, name)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, v, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s failed: %w", name, err)
		}
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this ombud (%d): upgrade ombud", current, latest)
	}
	return nil
}

// maxAttempts bounds how often a transaction the engine aborted to keep
// transactions serializable is run again.
const maxAttempts = 20

// inTx runs f in one writing transaction and commits it. When the engine
// aborts the transaction to keep concurrent transactions serializable
// (PostgreSQL's serialization failures and deadlocks), f runs again in a
// new one: f must do nothing outside tx that a second run would repeat.
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.inTxWith(ctx, s.d.WriteTx, f)
}

// inTxWith is inTx with the transactions' options.
func (s *Store) inTxWith(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, opts, f)
		if err == nil || !s.d.retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return err
		}
		// A short, growing pause so that the transactions that collided do
		// not collide again at once.
		t := time.NewTimer(time.Duration(attempt*attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) tryTx(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Close stops the store's writers and closes its pools.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
		<-s.usesDone
	}
	for _, st := range []*sql.Stmt{s.principalStmt, s.objectStmt, s.useStmt, s.usedStmt, s.flightStmt} {
		st.Close()
	}
	if s.w == s.r {
		return s.w.Close()
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

// afterShred runs the dialect's AfterShred, if any.
func (s *Store) afterShred(ctx context.Context) {
	if s.d.AfterShred != nil {
		s.d.AfterShred(ctx, s.w)
	}
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func queryAll[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanOne scans a row of one column.
func scanOne[T any](row scanner) (T, error) {
	var v T
	err := row.Scan(&v)
	return v, err
}
