package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What differs between the engines, in one place. The queries elsewhere
// are written in the SQL that SQLite and PostgreSQL share: numbered $N
// parameters, ON CONFLICT, RETURNING, partial indexes, COALESCE.

// A Dialect is what an engine brings besides its connections.
type Dialect struct {
	// Name names the engine in errors.
	Name string
	// Migrations holds the engine's NNNN_*.sql files at its root. Both
	// engines' migrations make the same tables and columns.
	Migrations fs.FS
	// WriteTx is the options of every writing transaction: PostgreSQL's
	// are serializable, so that a precondition read in a transaction still
	// holds at its commit whatever another gateway does meanwhile (a
	// transaction that would break that is aborted and run again).
	// SQLite's single writer connection serializes them already.
	WriteTx *sql.TxOptions
	// CountTx, when set, is the options of the transactions that only
	// count an authorization's uses: each of their statements is one
	// conditional UPDATE of one row, which READ COMMITTED already makes
	// atomic (PostgreSQL waits for the row and checks the condition again
	// on its newest version), and serializable would make the gateways
	// that share one authorization abort each other's batches.
	CountTx *sql.TxOptions
	// OneWriter: the engine has one writer connection, so the details
	// and the uses queued together are written in one transaction by one
	// goroutine (Store.oneWriter); otherwise each has its own.
	OneWriter bool
	// RowAtATime: a change to many rows, each with its own values, runs
	// as one prepared statement per row rather than one statement with a
	// parameter per value. SQLite finds each $N among a statement's
	// parameter names by a linear search, so a statement of n parameters
	// costs n² to prepare; a one-row statement prepared once costs
	// nothing more on its local connection. PostgreSQL, a round trip
	// away per statement, takes the one statement.
	RowAtATime bool
	// LockTarget, when set, is the first statement of a reservation, with
	// the change's target as $1: it locks the row of the change in flight
	// on that target, if any. Without it, a reservation whose INSERT
	// waits for that change's commit to delete its row would go on with
	// the snapshot it took before the wait, and check the target's state
	// as it was before the commit (PostgreSQL does not count a wait on a
	// unique index as a conflict). With it, the wait is on the row, and a
	// row deleted meanwhile aborts the transaction, which runs again with
	// a fresh snapshot. SQLite's single writer needs none.
	LockTarget string
	// ListHas returns an SQL condition that holds when the
	// comma-separated list in column col holds the item in parameter p.
	ListHas func(col, p string) string
	// AfterShred, when set, runs after a transaction that destroyed a
	// secret (a wrapped keyset, a detail record's bytes), to clear the
	// engine's own copies of the old rows where it can.
	AfterShred func(ctx context.Context, w *sql.DB)
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint, by the driver's error code: SQLite's extended result codes,
// or PostgreSQL's SQLSTATE 23505.
func isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return sqlState(err) == "23505"
}

// retryable reports whether err aborted a transaction that can simply run
// again: PostgreSQL's serialization failure (40001) or deadlock (40P01).
func (d Dialect) retryable(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// sqlState returns the SQLSTATE of a PostgreSQL error, "" for any other.
func sqlState(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}

// params returns n numbered parameters from $first, for an IN list:
// params(3, 2) is "$3,$4".
func params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

// tuples returns n parenthesized tuples of width numbered parameters
// from $first, for a multi-row VALUES: tuples(1, 2, 2) is
// "($1,$2),($3,$4)".
func tuples(first, n, width int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		b.WriteString(params(first+i*width, width))
		b.WriteByte(')')
	}
	return b.String()
}
