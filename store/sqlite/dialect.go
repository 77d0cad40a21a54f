package sqlite

import (
	"errors"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What is SQLite's own, kept in one place. The queries elsewhere are
// written in the SQL that SQLite and PostgreSQL share: numbered $N
// parameters, ON CONFLICT, RETURNING, partial indexes, COALESCE.

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint, by the driver's extended result code.
func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
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
