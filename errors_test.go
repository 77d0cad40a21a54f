package ombud_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/ombud/ombud"
)

// sqlState is a database error with its SQLSTATE, as PostgreSQL's driver
// returns.
type sqlState string

func (s sqlState) Error() string    { return "SQLSTATE " + string(s) }
func (s sqlState) SQLState() string { return string(s) }

// TestUnreachableIsUnavailable: a failed or ended connection to the
// database answers unavailable (503, retry), and a database's refusal of
// the statement itself stays internal.
func TestUnreachableIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want ombud.Code
	}{
		{fmt.Errorf("read: %w", sqlState("57P01")), ombud.CodeUnavailable}, // administrator ended it
		{sqlState("08006"), ombud.CodeUnavailable},                         // connection failure
		{sqlState("53300"), ombud.CodeUnavailable},                         // too many connections
		{sqlState("55P03"), ombud.CodeUnavailable},                         // lock timeout
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ombud.CodeUnavailable},
		{fmt.Errorf("query: %w", driver.ErrBadConn), ombud.CodeUnavailable},
		{context.DeadlineExceeded, ombud.CodeUnavailable},
		{sqlState("42P01"), ombud.CodeInternal}, // undefined table: a bug, not an outage
		{sqlState("23505"), ombud.CodeInternal},
		{errors.New("something else"), ombud.CodeInternal},
	} {
		if got := ombud.ErrorCode(tc.err); got != tc.want {
			t.Errorf("%v: code %s, want %s", tc.err, got, tc.want)
		}
		if tc.want == ombud.CodeUnavailable && tc.err != context.DeadlineExceeded && ombud.ErrorMessage(tc.err) == "internal error" {
			t.Errorf("%v: message %q", tc.err, ombud.ErrorMessage(tc.err))
		}
	}
}
