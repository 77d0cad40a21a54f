// Package postgres is the metadata store for several gateways: the store
// of package sqldb on PostgreSQL through github.com/jackc/pgx/v5, shared
// by every gateway of a deployment.
//
// Writing transactions are serializable: a precondition a reservation
// reads still holds when it commits, whichever gateway changes the same
// rows meanwhile; PostgreSQL aborts the one that would break that, and
// the store runs it again. Nothing is ordered in a gateway's memory.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/ombud/ombud/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a Store.
type Config struct {
	// URL is the database's URL, postgres://user@host:port/db?….
	URL string
	// MaxConns bounds the connections this gateway opens (default 32).
	MaxConns int
	// MaxDetailBatch bounds how many detail records one transaction writes.
	MaxDetailBatch int
}

// Store is the SQL store, here on PostgreSQL.
type Store = sqldb.Store

// Dialect is PostgreSQL's: its migrations, serializable writing
// transactions, and strpos for list membership. It has no AfterShred:
// an updated row's old version stays in the table's files until VACUUM
// reclaims it, and in the write-ahead log and its archives until they
// are recycled (docs/DEPLOYING.md).
func Dialect() sqldb.Dialect {
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqldb.Dialect{
		Name:       "postgres",
		Migrations: m,
		WriteTx:    &sql.TxOptions{Isolation: sql.LevelSerializable},
		CountTx:    &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		LockTarget: `SELECT 1 FROM changes WHERE target = $1 FOR UPDATE`,
		ListHas: func(col, p string) string {
			return "strpos(',' || " + col + " || ',', ',' || " + p + " || ',') > 0"
		},
	}
}

// IsURL reports whether u names a PostgreSQL database.
func IsURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// New connects to the database and applies pending migrations. Several
// gateways may call it at once: the migrations take a lock.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if !IsURL(cfg.URL) {
		return nil, errors.New("postgres: URL must begin with postgres://")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
	}
	db, err := open(ctx, cfg.URL, cfg.MaxConns)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// One gateway migrates at a time: the others wait for the lock, then
	// find the migrations applied.
	conn, err := db.Conn(pctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(pctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	s, err := sqldb.New(ctx, sqldb.Config{Writer: db, Reader: db, Dialect: Dialect(), MaxDetailBatch: cfg.MaxDetailBatch})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// open opens a pool of at most maxConns connections to the database at
// u and checks that it answers.
func open(ctx context.Context, u string, maxConns int) (*sql.DB, error) {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: cannot reach the database: %w", err)
	}
	return db, nil
}

// migrationLock is the advisory lock's key: "ombud" in ASCII.
const migrationLock = 0x6f6d627564
