// Package sqlite is the embedded metadata store: store.Store on SQLite
// through modernc.org/sqlite (pure Go, no cgo), with versioned migrations and
// group-committed detail writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ombud/ombud/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a Store.
type Config struct {
	// Path is the database file.
	Path string
	// MaxDetailBatch bounds how many detail records one transaction writes.
	MaxDetailBatch int
}

// Store implements store.Store.
type Store struct {
	w, r     *sql.DB // one writer connection; a pool of readers
	details  chan *putReq
	uses     chan *useReq
	stop     chan struct{}
	done     chan struct{}
	usesDone chan struct{}

	// Prepared once: every request authenticates and most read an object,
	// and preparing a statement costs more than running it.
	principalStmt, objectStmt *sql.Stmt
	maxB                      int
}

var _ store.Store = (*Store)(nil)

// New opens (creating if needed) the database and applies pending migrations.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Path is required")
	}
	if cfg.MaxDetailBatch <= 0 {
		cfg.MaxDetailBatch = 4096
	}
	// The database holds private detail records: owner-only from the start
	// (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(cfg.Path, os.O_CREATE|os.O_RDONLY, 0o600); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", cfg.Path, err)
	} else {
		f.Close()
	}
	// synchronous(FULL): a commit is on disk when it returns, so nothing
	// acknowledged is lost even on power failure; group commit pays for it.
	//
	// cache_size: 8 MiB of pages for the writer, 2 MiB for each of the 8
	// readers. SQLite's caches live outside Go's heap (and its memory
	// limit); at 8 MiB each the readers alone could hold 64 MiB, and the
	// operating system's page cache serves their misses.
	dsn := func(cache int, extra string) string {
		return "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() +
			fmt.Sprintf("?_pragma=cache_size(-%d)", cache) + "&_pragma=journal_mode(WAL)&_pragma=secure_delete(ON)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" + extra
	}
	w, err := sql.Open("sqlite", dsn(8192, "&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(2048, "&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to open %s: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(8)
	// Keep every reader open: database/sql keeps only 2 idle by default, and
	// a reopened SQLite connection re-runs its pragmas and re-prepares its
	// statements.
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, details: make(chan *putReq, 1024), uses: make(chan *useReq, 1024), stop: make(chan struct{}), done: make(chan struct{}), usesDone: make(chan struct{}), maxB: cfg.MaxDetailBatch}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	if s.principalStmt, err = r.PrepareContext(ctx, `SELECT `+principalCols+` FROM principals WHERE id = $1 AND pending = 0`); err == nil {
		s.objectStmt, err = r.PrepareContext(ctx, `SELECT `+objectCols+` FROM objects WHERE id = $1 AND ingest_index IS NOT NULL`)
	}
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("failed to prepare statements: %w", err)
	}
	go s.detailWriter()
	go s.useWriter()
	return s, nil
}

// migrate applies migrations/NNNN_*.sql in order, each in its own
// transaction, recording the version in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("failed to create schema_migrations: %w", err)
	}
	var current int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
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
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s failed: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, v, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s failed: %w", name, err)
		}
	}
	if current > latest {
		return fmt.Errorf("database schema version %d is newer than this ombud (%d): upgrade ombud", current, latest)
	}
	return nil
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

// Close stops the detail writer and closes the database.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
		<-s.usesDone
	}
	s.principalStmt.Close()
	s.objectStmt.Close()
	return errors.Join(s.w.Close(), s.r.Close())
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
