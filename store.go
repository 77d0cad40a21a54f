package ombud

import (
	"context"
	"time"
)

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
	// IntermediateKey returns a logged intermediate key by id;
	// ErrNotFound if there is none.
	IntermediateKey(ctx context.Context, id string) (*IntermediateKey, error)
	// LatestIntermediateKey returns the newest logged intermediate key;
	// ErrNotFound if there is none yet.
	LatestIntermediateKey(ctx context.Context) (*IntermediateKey, error)
	// IntermediateKeysBelowKEK lists logged intermediate keys wrapped under
	// a KEK version below version.
	IntermediateKeysBelowKEK(ctx context.Context, version int, limit int) ([]*IntermediateKey, error)
	// RewrapIntermediateKey replaces a wrapped intermediate key if it is
	// still under oldVersion.
	RewrapIntermediateKey(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error
	// KEKVersion returns the deployment's current KEK version: the last
	// rotation committed, 1 before any.
	KEKVersion(ctx context.Context) (int, error)
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
	// Concurrent callers never exceed MaxUses between them. The use is
	// recorded in flight, with from, a lower bound of the log index of
	// its decision's entry, until UseLogged or RefundAuthorization.
	UseAuthorization(ctx context.Context, id string, from uint64) (int, error)
	// UseLogged records that the decision of use n is in the log: the use
	// is no longer in flight. It returns at once; the record is written
	// with the next uses, and a use a crash leaves in flight is settled
	// by recovery (SettleUse) all the same.
	UseLogged(id string, n int)
	// RefundAuthorization gives back use n, taken for a read whose
	// decision could not be logged.
	RefundAuthorization(ctx context.Context, id string, n int) error
	// UsesInFlight lists the uses taken before before whose decisions are
	// not known to be logged.
	UsesInFlight(ctx context.Context, before time.Time) ([]UseInFlight, error)
	// SettleUse ends a use in flight: kept when its decision is in the
	// log (logged), given back when it is not.
	SettleUse(ctx context.Context, id string, n int, logged bool) error
	// LatestPolicy returns the last recorded policy version and hash
	// (0, "" before the first).
	LatestPolicy(ctx context.Context) (int, string, error)
}

// UseInFlight is an authorization's use whose decision is not known to
// be logged: recovery looks for its entry from log index From on.
type UseInFlight struct {
	Authorization string
	Use           int
	From          uint64
	Created       time.Time
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

// Session is a reviewer's signed-in session on the reviewer pages. Its id
// is kept only as its SHA-256.
type Session struct {
	IDHash    []byte
	Principal string
	CSRF      string
	Created   time.Time
	// Expires is when the session ends unless it is used again: the
	// earlier of its idle limit after its last use and its age limit.
	Expires time.Time
}

// SessionStore keeps what every gateway of a deployment must see alike
// but the log does not record: the reviewer pages' sessions, the public
// pages' rate windows and the leases of background work.
type SessionStore interface {
	// Lease takes or renews the lease name for holder until now+ttl, and
	// reports whether holder has it: it does if no one held it, if its
	// holder's time ran out, or if holder held it already. One holder at
	// a time, whichever gateway asks.
	Lease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// StartSession records s, after forgetting the expired sessions;
	// ErrBusy when limit sessions are live.
	StartSession(ctx context.Context, s *Session, limit int) error
	// Session returns the live session whose id hashes to idHash;
	// ErrNotFound if there is none, or it has expired.
	Session(ctx context.Context, idHash []byte, now time.Time) (*Session, error)
	// ExtendSession moves a live session's expiry.
	ExtendSession(ctx context.Context, idHash []byte, expires time.Time) error
	// EndSession forgets a session.
	EndSession(ctx context.Context, idHash []byte) error
	// CountEvent counts one event of key in fixed windows of length per:
	// it returns 0 when the event is within max in its window, else how
	// long until the window ends (and does not count it).
	CountEvent(ctx context.Context, key []byte, now time.Time, max int, per time.Duration) (time.Duration, error)
}
