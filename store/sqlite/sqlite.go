// Package sqlite is the embedded metadata store: the store of package
// sqldb on SQLite through modernc.org/sqlite (pure Go, no cgo), in one
// file beside the data directory.
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

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ombud/ombud/store/sqldb"
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

// Store is the SQL store, here on SQLite.
type Store = sqldb.Store

// Dialect is SQLite's: its migrations; one writer connection, which
// serializes writing transactions; instr for list membership; and a
// checkpoint that folds the WAL's old frames, which may hold a destroyed
// secret, into the database.
func Dialect() sqldb.Dialect {
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqldb.Dialect{
		Name:       "sqlite",
		Migrations: m,
		RowAtATime: true,
		OneWriter:  true,
		ListHas: func(col, p string) string {
			return "instr(',' || " + col + " || ',', ',' || " + p + " || ',') > 0"
		},
		// The freed space was zeroed by secure_delete; the WAL is truncated.
		// Best effort: a concurrent reader can hold it back until the next.
		AfterShred: func(ctx context.Context, w *sql.DB) {
			w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		},
	}
}

// New opens (creating if needed) the database and applies pending migrations.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Path is required")
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
	s, err := sqldb.New(ctx, sqldb.Config{Writer: w, Reader: r, Dialect: Dialect(), MaxDetailBatch: cfg.MaxDetailBatch})
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return s, nil
}
