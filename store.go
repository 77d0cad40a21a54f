package ombud

import "context"

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
