package journal

import (
	"context"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// ChangeChecker is a ChangeStore that checks a change's preconditions as
// Reserve does, the quorum aside, without reserving it: a dry run
// (WithDryRun) asks it.
type ChangeChecker interface {
	Check(ctx context.Context, c *Change) error
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
	Detail(ctx context.Context, k ombud.DetailKey) (Detail, error)
	// EraseDetail destroys a record's salt and body, keeping the commitment.
	// ErrNotFound if there is no such record.
	EraseDetail(ctx context.Context, k ombud.DetailKey) error
	// CountDetailsBefore counts the detail records, not erased, of entries
	// of kind whose time is before before: what an OpDetailsErase change
	// with that kind and time erases.
	CountDetailsBefore(ctx context.Context, kind entry.Kind, before time.Time) (int, error)
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
