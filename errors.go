package ombud

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Code is a stable, machine-readable error code. Codes are part of the API:
// once published they are never renamed (see docs/API.md).
type Code string

// Error codes shared by the API and the CLI.
const (
	CodeInvalid             Code = "invalid_argument"
	CodeMalformedJSON       Code = "malformed_json"
	CodeUnknownField        Code = "unknown_field"
	CodeBodyTooLarge        Code = "body_too_large"
	CodeUnsupportedMedia    Code = "unsupported_media_type"
	CodeUnauthenticated     Code = "unauthenticated"
	CodeForbidden           Code = "forbidden"
	CodeNotFound            Code = "not_found"
	CodeMethodNotAllowed    Code = "method_not_allowed"
	CodeConflict            Code = "conflict"
	CodeGone                Code = "gone"
	CodeTooLarge            Code = "too_large"
	CodeRangeNotSatisfiable Code = "range_not_satisfiable"
	CodeNotIntegrated       Code = "not_yet_integrated"
	CodeLogUnavailable      Code = "log_unavailable"
	CodeUnavailable         Code = "unavailable"
	CodeInternal            Code = "internal"
)

// Error is an error meant for a user: a stable code and a message that is
// safe to show. Internal causes are wrapped, logged, and never sent.
type Error struct {
	Code Code
	// Reason, when set, is the refusal's own stable code within Code, such
	// as version_retired; a logged decision logs the same one.
	Reason  string
	Message string
	// Problems, when set, are every problem of an invalid input, each at
	// its field (a JSON pointer).
	Problems []Problem
	Err      error // internal cause; never shown to users
}

// Problem is one thing wrong with an input, at a JSON pointer into it,
// with its own stable code when it has one.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

// ErrorProblems returns the problems err carries, if any.
func ErrorProblems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, mapping the
// package sentinels (see sentinels), and CodeInternal for anything else.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	if s, ok := sentinelOf(err); ok {
		return s.code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || unreachable(err) {
		return CodeUnavailable
	}
	return CodeInternal
}

// unreachable reports whether err is a connection to a service ombud
// depends on (its database) that failed or was ended: a refused or reset
// connection, a server shutting down or out of connections, a statement
// cancelled by its timeout. Retried later, the request may succeed; it is
// not an internal error.
func unreachable(err error) bool {
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne) {
		return true
	}
	var st interface{ SQLState() string }
	if !errors.As(err, &st) {
		return false
	}
	switch code := st.SQLState(); {
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"),                     // insufficient resources: too many connections
		code == "57P01", code == "57P02", code == "57P03", // shutdown, crash, starting up
		code == "57014", code == "55P03": // statement or lock timeout
		return true
	}
	return false
}

// ErrorMessage returns the user-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if s, ok := sentinelOf(err); ok {
		if s.message != "" {
			return s.message
		}
		return "refused: " + s.err.Error()
	}
	if unreachable(err) {
		return "a service ombud depends on cannot be reached; retry"
	}
	return "internal error"
}

// sentinels gives each sentinel error its code and, where its own text
// does not read as a refusal, its message: one table, first match wins.
var sentinels = []sentinel{
	{ErrNotFound, CodeNotFound, "not found", ""},
	{ErrExists, CodeConflict, "already exists", ""},
	{ErrBusy, CodeConflict, "another change to it is in progress; retry", ""},
	{ErrOnHold, CodeConflict, "", ""},
	{ErrNotOnHold, CodeConflict, "", ""},
	{ErrRevoked, CodeConflict, "", ""},
	{ErrDisabled, CodeConflict, "", ""},
	{ErrNotSuspended, CodeConflict, "", ""},
	{ErrStale, CodeConflict, "", ""},
	{ErrRetired, CodeConflict, "", ""},
	{ErrRunClosed, CodeConflict, "", ""},
	{ErrNotRead, CodeConflict, "", ""},
	{ErrResolved, CodeConflict, "", ""},
	{ErrNotCandidate, CodeConflict, "", ""},
	{ErrActed, CodeConflict, "", ""},
	{ErrErased, CodeGone, "it was erased", ""},
	{ErrQuorumRequired, CodeForbidden, "it is a privileged operation: propose it (POST /v1/proposals, ombud propose), and another admin approves", "quorum_required"},
	{ErrForbidden, CodeForbidden, "", ""},
	{ErrLogUnavailable, CodeLogUnavailable, "the transparency log cannot be written; ombud fails closed", ""},
}

type sentinel struct {
	err     error
	code    Code
	message string // "" for "refused: " and the error's text
	reason  string // the refusal's own code within code, if it has one
}

// ErrorReason returns the reason of the first *Error in err's chain, or
// of its sentinel: the refusal's own stable code within its Code.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if s, ok := sentinelOf(err); ok {
		return s.reason
	}
	return ""
}

func sentinelOf(err error) (sentinel, bool) {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s, true
		}
	}
	return sentinel{}, false
}

// Sentinels returned by Store and Log implementations.
var (
	// ErrNotFound: the record does not exist (or was erased).
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with that identity already exists.
	ErrExists = errors.New("already exists")
	// ErrRetired: the version of an analytic system is retired.
	ErrRetired = errors.New("the version is retired")
	// ErrRunClosed: the run is closed.
	ErrRunClosed = errors.New("the run is closed")
	// ErrLogUnavailable: the log could not durably sequence an entry. Callers
	// must fail closed: deny, release nothing.
	ErrLogUnavailable = errors.New("log unavailable")
)

// Sentinels of Reserve. Stores wrap them with what was refused.
var (
	// ErrBusy: another change to the same target is in flight.
	ErrBusy = errors.New("another change to it is in progress")
	// ErrOnHold: the object is on legal hold.
	ErrOnHold = errors.New("on legal hold")
	// ErrNotOnHold: the object is not on legal hold.
	ErrNotOnHold = errors.New("not on legal hold")
	// ErrErased: the object was erased.
	ErrErased = errors.New("erased")
	// ErrRevoked: the authorization is already revoked.
	ErrRevoked = errors.New("already revoked")
	// ErrDisabled: the principal is already disabled.
	ErrDisabled = errors.New("already disabled")
	// ErrNotSuspended: the principal's emergency access is not suspended.
	ErrNotSuspended = errors.New("emergency access is not suspended")
	// ErrStale: the state the change was built on has moved on (a policy
	// version, an emergency already settled).
	ErrStale = errors.New("the state it was built on has changed")
	// ErrQuorumRequired: a privileged change made without the proposal
	// the quorum in force asks for.
	ErrQuorumRequired = errors.New("quorum required")
	// ErrForbidden: the change is not the caller's to make (a proposer
	// voting on their own proposal).
	ErrForbidden = errors.New("not allowed")
)
