package ombud

import (
	"context"
	"time"
)

// Store is the metadata store: principals, private detail records and (in
// later versions) objects, authorizations and flags. store/sqlite is the
// embedded implementation; store.TestStore is the conformance suite every
// implementation must pass.
type Store interface {
	// PutDetails durably stores detail records before their entries are
	// appended. Storing a commitment that already exists is a no-op.
	PutDetails(ctx context.Context, ds []Detail) error
	// Detail returns a record by key; ErrNotFound if there is none. An
	// erased record has a nil Body.
	Detail(ctx context.Context, k DetailKey) (Detail, error)
	// EraseDetail destroys a record's salt and body, keeping the commitment.
	// ErrNotFound if there is no such record.
	EraseDetail(ctx context.Context, k DetailKey) error

	// CreatePrincipal stores a new principal; ErrExists if the id is taken.
	CreatePrincipal(ctx context.Context, p *Principal) error
	// Principal returns a principal by id; ErrNotFound if there is none.
	Principal(ctx context.Context, id string) (*Principal, error)
	// Principals lists all principals, oldest first.
	Principals(ctx context.Context) ([]*Principal, error)
	// SetPrincipalDisabled disables or re-enables a principal; ErrNotFound
	// if there is none.
	SetPrincipalDisabled(ctx context.Context, id string, disabled bool) error

	// CreateObject stores a new object, pending until SetIngestIndex.
	// ErrExists if the id is taken.
	CreateObject(ctx context.Context, o *Object) error
	// Object returns an object by id; ErrNotFound if there is none.
	Object(ctx context.Context, id string) (*Object, error)
	// SetIngestIndex records the ingest entry's index; the object is then
	// no longer pending. ErrNotFound if there is no such object.
	SetIngestIndex(ctx context.Context, id string, index uint64) error
	// SetHold sets (h != nil) or releases (h == nil) a legal hold.
	SetHold(ctx context.Context, id string, h *Hold) error
	// DestroyKeyset deletes the object's wrapped keyset (the crypto-shred)
	// so that no byte of it remains in the store's files, and notes the
	// reason so that a crash before MarkErased can be finished.
	DestroyKeyset(ctx context.Context, id, reason string) error
	// MarkErased records the erasure and its log entry.
	MarkErased(ctx context.Context, id string, e Erasure) error
	// ExpiredObjects lists up to limit logged objects past their deadline,
	// not on hold and not erased, oldest deadline first.
	ExpiredObjects(ctx context.Context, now time.Time, limit int) ([]*Object, error)
	// UnfinishedErasures lists objects whose keyset is destroyed but whose
	// erasure is not yet recorded (a crash mid-shred).
	UnfinishedErasures(ctx context.Context, limit int) ([]*Object, error)
	// PendingObjects lists stored objects whose ingest is not yet logged.
	PendingObjects(ctx context.Context, limit int) ([]*Object, error)
	// ObjectsBelowKEK lists objects whose keyset is wrapped under a KEK
	// version below version.
	ObjectsBelowKEK(ctx context.Context, version int, limit int) ([]*Object, error)
	// Rewrap replaces a wrapped keyset if it is still under oldVersion.
	Rewrap(ctx context.Context, id string, oldVersion int, wrapped []byte, version int) error

	// CreateIssuer registers an issuer; ErrExists if the name is taken.
	CreateIssuer(ctx context.Context, i *Issuer) error
	// Issuers lists registered issuers.
	Issuers(ctx context.Context) ([]*Issuer, error)
	// CreateAuthorization registers an authorization; ErrExists if the id
	// is taken.
	CreateAuthorization(ctx context.Context, a *RegisteredAuthorization) error
	// Authorization returns one by id; ErrNotFound if there is none.
	Authorization(ctx context.Context, id string) (*RegisteredAuthorization, error)
	// RevokeAuthorization records a revocation; ErrNotFound if there is
	// no such authorization, ErrExists if it is already revoked.
	RevokeAuthorization(ctx context.Context, id, reason string, at time.Time, index uint64) error
	// UseAuthorization atomically takes one use and returns its number;
	// ErrExhausted when none are left. Concurrent callers never exceed
	// MaxUses between them.
	UseAuthorization(ctx context.Context, id string) (int, error)
	// RefundAuthorization gives back a use taken for a read that was then
	// refused (its decision could not be logged).
	RefundAuthorization(ctx context.Context, id string) error

	// LatestPolicy returns the last recorded policy version and hash
	// (0, "" before the first).
	LatestPolicy(ctx context.Context) (int, string, error)
	// RecordPolicy records a loaded policy version and its log entry.
	RecordPolicy(ctx context.Context, version int, sha string, index uint64) error

	// RecordEmergency records an emergency read.
	RecordEmergency(ctx context.Context, e *Emergency) error
	// OpenEmergencies lists emergency reads neither covered nor breached.
	OpenEmergencies(ctx context.Context) ([]*Emergency, error)
	// CoverEmergency marks an emergency read covered by an authorization.
	CoverEmergency(ctx context.Context, index uint64, authorizationID string) error
	// BreachEmergency records the breach entry of an uncovered emergency.
	BreachEmergency(ctx context.Context, index uint64, breachIndex uint64) error

	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	Close() error
}

// Log is the transparency log as the domain sees it. tlog implements it.
type Log interface {
	// Append durably sequences one entry's bytes and returns its index. It
	// returns an error wrapping ErrLogUnavailable when it cannot, and the
	// caller must then fail closed.
	Append(ctx context.Context, leaf []byte) (uint64, error)
}
