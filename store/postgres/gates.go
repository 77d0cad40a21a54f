package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/internal/gate"
)

// Gates holds the gates of package internal/gate in PostgreSQL, for every
// gateway of a deployment: a hold is a connection of its own, its gates
// are advisory locks of that session (pg_advisory_lock_shared for a read,
// pg_advisory_lock for the change that ends reads), and its release
// drops them all (pg_advisory_unlock_all) and gives the connection back;
// a connection whose locks cannot be dropped is closed, which drops them.
// PostgreSQL releases the locks of a gateway that dies with its
// connection, detects a cycle of waiting holds (one of them fails, and
// its operation fails closed), and queues a shared request behind a
// waiting exclusive one, so reads do not starve a revocation. A lock
// waits at most Wait (lock_timeout, set on each connection).
//
// The holds have a pool of connections of their own: an operation holds
// one while it uses the store's, so with one pool the holds could take
// every connection and wait forever for the store.
type Gates struct {
	db *sql.DB
}

// GatesConfig configures the gates.
type GatesConfig struct {
	URL string
	// MaxConns bounds the holds open at once in this gateway (default 64);
	// a hold past it waits for one to end.
	MaxConns int
	// Wait bounds the wait for one gate (default 10 s); past it, the
	// operation fails with ombud.CodeUnavailable.
	Wait time.Duration
}

// NewGates connects the gates to the database.
func NewGates(ctx context.Context, cfg GatesConfig) (*Gates, error) {
	if !IsURL(cfg.URL) {
		return nil, errors.New("postgres: URL must begin with postgres://")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	q := u.Query()
	q.Set("lock_timeout", strconv.FormatInt(cfg.Wait.Milliseconds(), 10))
	u.RawQuery = q.Encode()
	db, err := open(ctx, u.String(), cfg.MaxConns)
	if err != nil {
		return nil, err
	}
	return &Gates{db: db}, nil
}

// Close closes the gates' connections.
func (g *Gates) Close() error { return g.db.Close() }

// Begin opens a hold: a connection that takes gates until its release.
func (g *Gates) Begin(ctx context.Context) (gate.Holder, error) {
	c, err := g.db.Conn(ctx)
	if err != nil {
		return nil, gateError(ctx, err)
	}
	return &hold{c: c}, nil
}

type hold struct {
	c      *sql.Conn
	locked bool // a lock statement ran, whatever its outcome
}

// Lock takes keys, in the order of their numbers, in one statement.
func (h *hold) Lock(ctx context.Context, exclusive bool, keys ...string) error {
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, gateKey(k))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	fn := "pg_advisory_lock_shared"
	if exclusive {
		fn = "pg_advisory_lock"
	}
	h.locked = true
	q := "SELECT count(" + fn + "(k)) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) AS keys"
	if _, err := h.c.ExecContext(ctx, q, ids); err != nil {
		return gateError(ctx, err)
	}
	return nil
}

// Check asks the session a question: a session PostgreSQL ended (and
// with it the locks) answers with an error.
func (h *hold) Check(ctx context.Context) error {
	if _, err := h.c.ExecContext(ctx, "SELECT 1"); err != nil {
		return &ombud.Error{Code: ombud.CodeUnavailable, Message: "this gateway lost the order of its operation in the database; nothing was logged; retry", Err: err}
	}
	return nil
}

// Release drops every lock of the session and gives the connection back;
// if the locks cannot be dropped, the connection is closed instead, which
// drops them.
func (h *hold) Release() {
	if h.locked {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := h.c.ExecContext(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
			h.c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	h.c.Close()
}

// gateKey is the advisory lock's number of gate k: the first eight bytes
// of its SHA-256. Two gates that share a number only wait for each other.
func gateKey(k string) int64 {
	sum := sha256.Sum256([]byte("ombud gate\n" + k))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// gateError says why a gate could not be held; the operation then fails
// closed, and the caller may retry.
func gateError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "55P03": // lock_not_available: lock_timeout passed
			return &ombud.Error{Code: ombud.CodeUnavailable, Message: "a conflicting operation held this record too long; retry", Err: err}
		case "40P01": // deadlock_detected
			return &ombud.Error{Code: ombud.CodeConflict, Message: "this operation crossed a conflicting one; retry", Err: err}
		}
	}
	return &ombud.Error{Code: ombud.CodeUnavailable, Message: "the metadata store could not order this operation; retry", Err: err}
}
