package custody

import (
	"context"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// Store is what custody reads of the metadata store; it changes state
// only through the journal. store.Store satisfies it.
type Store interface {
	// Objects: their reads, the sweep's expiries and the key rotation.
	ombud.ObjectStore
	Principal(ctx context.Context, id string) (*ombud.Principal, error)
	Emergency(ctx context.Context, index uint64) (*ombud.Emergency, error)
	OpenEmergencies(ctx context.Context) ([]*ombud.Emergency, error)
	AnalyticSystem(ctx context.Context, id string) (*ombud.AnalyticSystem, error)
	// Runs: their starts, their reads and their time limits.
	Run(ctx context.Context, id string) (*ombud.Run, error)
	RunObjects(ctx context.Context, id string, from, limit int) ([]ombud.RunObject, error)
	OpenRunsBefore(ctx context.Context, t time.Time) ([]*ombud.Run, error)
	ObjectFacts(ctx context.Context, ids []string) (map[string]ombud.ObjectFacts, error)
	ErasedRunObjects(ctx context.Context, id string, from, to int) ([]int, error)
	SelectObjects(ctx context.Context, class, subject string, limit int) ([]string, error)
	RecordRunReads(ctx context.Context, id string, reads []ombud.RunRead, bytes int64) error
	// Recipients of exports, and the authorizations exports cite.
	Recipient(ctx context.Context, id string) (*ombud.Recipient, error)
	Authorization(ctx context.Context, id string) (*ombud.RegisteredAuthorization, error)
	// ExportRecipients returns the recipients an object's erasure owes a
	// notice.
	ExportRecipients(ctx context.Context, object string) ([]string, error)
	// RecordViewing records a reviewer's logged viewing of evidence.
	RecordViewing(ctx context.Context, v ombud.Viewing) error
	// OpsInFlight returns the operations of the changes in flight on
	// targets: those a crash or a failed commit left.
	OpsInFlight(ctx context.Context, targets []string) ([]journal.Op, error)
	// Uses in flight: recovery settles those a crash left (settleUses).
	UsesInFlight(ctx context.Context, before time.Time) ([]ombud.UseInFlight, error)
	SettleUse(ctx context.Context, id string, n int, logged bool) error
	// CountDetailsBefore counts what the sweep's erasure of old details
	// would erase.
	CountDetailsBefore(ctx context.Context, kind entry.Kind, before time.Time) (int, error)
}
