package ombud

import (
	"context"
	"time"

	"github.com/ombud/ombud/entry"
)

// Store is the metadata store: one interface per aggregate, each with its
// conformance suite in store/storetest, which every implementation must
// pass. Every state change goes through ChangeStore (the one pattern of
// docs/ARCHITECTURE.md); the other interfaces read, but for the use
// counting of reads. store/sqlite is the embedded implementation.
type Store interface {
	ChangeStore
	DetailStore
	PrincipalStore
	ObjectStore
	AuthorizationStore
	EmergencyStore
	SystemStore
	RunStore
	FlagStore
	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	Close() error
}

// ChangeStore holds the changes in flight: the one way state changes.
type ChangeStore interface {
	// Reserve records c against its target, atomically with the op's
	// preconditions (see Op). It fails with ErrBusy when another change to
	// the target is in flight, with ErrExists when a registration's name or
	// id is taken, with ErrNotFound when the target does not exist, and
	// with the op's own sentinel (ErrOnHold, ErrErased, ErrRevoked, …) when
	// a precondition does not hold. A reservation is durable when Reserve
	// returns. Reserved registrations (principals, issuers,
	// authorizations, objects) are invisible to every reader until
	// committed.
	Reserve(ctx context.Context, c *Change) error
	// Commit makes a reserved change take effect, index being its log
	// entry, and forgets the reservation. ErrNotFound if no such change is
	// reserved (it was committed or undone already).
	Commit(ctx context.Context, c *Change, index uint64) error
	// Undo forgets a reserved change and whatever Reserve stored for it.
	// ErrNotFound if no such change is reserved.
	Undo(ctx context.Context, c *Change) error
	// Changes lists the changes reserved before since and still in flight,
	// oldest first.
	Changes(ctx context.Context, since time.Time) ([]*Change, error)
}

// DetailStore holds the private detail records the log's entries commit to.
type DetailStore interface {
	// PutDetails durably stores detail records before their entries are
	// appended. Storing a commitment that already exists is a no-op.
	PutDetails(ctx context.Context, ds []Detail) error
	// Detail returns a record by key; ErrNotFound if there is none. An
	// erased record has a nil Body.
	Detail(ctx context.Context, k DetailKey) (Detail, error)
	// EraseDetail destroys a record's salt and body, keeping the commitment.
	// ErrNotFound if there is no such record.
	EraseDetail(ctx context.Context, k DetailKey) error
	// CountDetailsBefore counts the detail records, not erased, of entries
	// of kind whose time is before before: what an OpDetailsErase change
	// with that kind and time erases.
	CountDetailsBefore(ctx context.Context, kind entry.Kind, before time.Time) (int, error)
}

// PrincipalStore reads principals.
type PrincipalStore interface {
	// Principal returns a principal by id; ErrNotFound if there is none.
	Principal(ctx context.Context, id string) (*Principal, error)
	// Principals lists all principals, oldest first.
	Principals(ctx context.Context) ([]*Principal, error)
}

// ObjectStore reads objects and rewraps their keys.
type ObjectStore interface {
	// Object returns an object by id; ErrNotFound if there is none (or it
	// is only reserved).
	Object(ctx context.Context, id string) (*Object, error)
	// ExpiredObjects lists up to limit logged objects past their deadline,
	// not on hold and not erased, oldest deadline first.
	ExpiredObjects(ctx context.Context, now time.Time, limit int) ([]*Object, error)
	// ObjectsBelowKEK lists live objects whose keyset is wrapped under a
	// KEK version below version.
	ObjectsBelowKEK(ctx context.Context, version int, limit int) ([]*Object, error)
	// Rewrap replaces a wrapped keyset if it is still under oldVersion. A
	// rewrap changes no state the log records: the same key, wrapped anew.
	Rewrap(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error
}

// AuthorizationStore reads issuers, authorizations and the policy, and
// counts authorizations' uses.
type AuthorizationStore interface {
	// Issuers lists registered issuers.
	Issuers(ctx context.Context) ([]*Issuer, error)
	// Authorization returns one by id; ErrNotFound if there is none.
	Authorization(ctx context.Context, id string) (*RegisteredAuthorization, error)
	// UseAuthorization atomically takes one use and returns its number;
	// ErrExhausted when none are left, ErrRevoked when it is revoked.
	// Concurrent callers never exceed MaxUses between them.
	UseAuthorization(ctx context.Context, id string) (int, error)
	// RefundAuthorization gives back a use taken for a read whose decision
	// could not be logged.
	RefundAuthorization(ctx context.Context, id string) error
	// LatestPolicy returns the last recorded policy version and hash
	// (0, "" before the first).
	LatestPolicy(ctx context.Context) (int, string, error)
}

// SystemStore reads the registry of analytic systems.
type SystemStore interface {
	// AnalyticSystems lists the registered systems with their versions,
	// by name.
	AnalyticSystems(ctx context.Context) ([]*AnalyticSystem, error)
	// AnalyticSystem returns a system by id; ErrNotFound if there is none.
	AnalyticSystem(ctx context.Context, id string) (*AnalyticSystem, error)
}

// EmergencyStore reads emergency reads and marks them covered.
type EmergencyStore interface {
	// Emergency returns the emergency read logged at index; ErrNotFound if
	// there is none.
	Emergency(ctx context.Context, index uint64) (*Emergency, error)
	// OpenEmergencies lists the emergency reads neither covered nor
	// breached.
	OpenEmergencies(ctx context.Context) ([]*Emergency, error)
	// Breaches lists the emergency reads that were breached (not covered
	// in time), oldest first.
	Breaches(ctx context.Context) ([]*Emergency, error)
	// CoverEmergency marks an emergency read covered by an authorization
	// (one whose registration entry covers it, as the auditor computes).
	CoverEmergency(ctx context.Context, index uint64, authorizationID string) error
}

// Log is the transparency log as the domain sees it. tlog implements it.
type Log interface {
	// Append durably sequences one entry's bytes and returns its index. It
	// returns an error wrapping ErrLogUnavailable when it cannot, and the
	// caller must then fail closed.
	Append(ctx context.Context, leaf []byte) (uint64, error)
	// Size is the number of entries durably sequenced so far.
	Size(ctx context.Context) (uint64, error)
}
