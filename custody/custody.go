// Package custody keeps objects: it encrypts on the way in under a fresh
// per-object key wrapped by the controller's KEK, logs every decision before
// any plaintext leaves, enforces retention by crypto-shredding, and honours
// legal holds. It wires the domain (ombud), the log journal, the metadata
// store, the keys package and the blob store.
package custody

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/secrets"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/keys"
	"github.com/ombud/ombud/receipt"
	"github.com/ombud/ombud/vocab"
)

// Keyring is a keys.Keyring that can rotate: add a new current version and
// later retire the old ones.
type Keyring interface {
	keys.Keyring
	AddVersion() (int, error)
	Retire(keep int) error
	// Sync brings the keyring to the deployment's current KEK version
	// (the store's), which a rotation through another gateway may have
	// moved.
	Sync(version int) error
}

// Config is what a custody service is built from (New). Store, Journal,
// Log, Bucket, Keys and Access are required.
type Config struct {
	Store   Store
	Journal *journal.Journal
	// Log reads the log back, to settle changes a crash left in flight.
	Log    journal.LogReader
	Bucket *blob.Bucket
	Keys   Keyring
	Access *access.Service
	// Gates are the gates custody orders its reads and changes by; pass
	// the ones the review and analytics services hold too (nil makes a
	// set of this service's own).
	Gates   *Gates
	Classes map[string]ombud.Class
	// Vocabulary holds the registered codes of the public fields.
	Vocabulary vocab.Vocabulary
	// DetailRetention is how long the detail records of each entry kind
	// are kept; the sweep erases older ones. A kind without one keeps its
	// details (an ingest's detail goes with its object).
	DetailRetention map[entry.Kind]time.Duration
	// Committers and Undoers are other services' hooks for settling their
	// changes (journal.Journal.Settle): access's and the reports', for two.
	Committers []func(journal.Op) journal.Committer
	Undoers    []func(context.Context, *journal.Change) error
	// Evidence says whether a principal may view an object as evidence of
	// a flag now: "" if so, else the reason and message of the logged
	// denial (review.Service.Evidence). It calls hold with the flag's
	// run's authorization before reading its state, so the viewing holds
	// that gate too. nil refuses every such viewing.
	Evidence func(ctx context.Context, p *ombud.Principal, flag, object string, hold func(authorization string) error) (reason, msg string, err error)
	// Receipts returns the receipts of the entries at indexes once a
	// checkpoint covers them all, waiting up to wait: the receipts an
	// export's manifest carries (tlog.Log.Receipts). nil refuses exports.
	Receipts func(ctx context.Context, indexes []uint64, wait time.Duration) ([]*receipt.Receipt, error)
	// Signer is the log's key, which signs each export's manifest, so that
	// its recipient knows the manifest is the deployment's. nil refuses
	// exports.
	Signer note.Signer
	// MaxObjectBytes bounds one object's plaintext.
	MaxObjectBytes int64
	// EmergencyDeadline: an emergency read must be covered by an
	// authorization registered within this time (default 48 h).
	EmergencyDeadline time.Duration
	// RunTimeLimit is how long an analytic run may read (default
	// ombud.DefaultRunTimeLimit).
	RunTimeLimit time.Duration
	// KeyLifetime is how long one intermediate key wraps new objects
	// (default DefaultKeyLifetime); KeyTTL how long this gateway holds an
	// unwrapped intermediate key before asking the KEK again (default
	// DefaultKeyTTL), which bounds how long reads go on after the KEK is
	// revoked in the KMS.
	KeyLifetime, KeyTTL time.Duration
	// ExpireProposals, when set, closes the proposals of privileged
	// operations past their expiry (approval.Service.Expire); the sweep
	// runs it.
	ExpireProposals func(ctx context.Context) (int, error)
	Now             func() time.Time
	Logger          *slog.Logger
}

// Service is the custody service. Build it with New; its configuration
// is not changed after (but for a test's clock), and Close stops its
// background work.
type Service struct {
	Config

	gates   *Gates     // objectGate(id), principalGate(id)…: reads shared, changes alone
	sweepMu sync.Mutex // one sweep at a time
	bg      background // the runs' timers and the closes the stream starts
	// disabled and suspended note, by principal id, the disablings and the
	// suspensions of emergency access committed under the principal's
	// gate, for reads that authenticated just before (suspended holds the
	// breach entry's index). Gateways sharing a store read the principal
	// again instead (see checkReader).
	disabled, suspended sync.Map
	// reading holds the uses (authorization id and number) whose permits
	// this process is appending: recovery leaves them to their reads
	// (settleUses).
	reading sync.Map
	// erasures counts the erasures this process committed: a run's batch
	// whose page was read at the same count finds no erasure of its
	// objects since, without asking the store (unless other gateways
	// share it).
	erasures atomic.Uint64
	// closedRuns notes the runs closed by this process, for the reads in
	// flight.
	closedRuns sync.Map
	// iks holds the intermediate keys this process unwrapped.
	iks intermediates
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("custody: no metadata store")
	case c.Journal == nil:
		return nil, errors.New("custody: no journal")
	case c.Log == nil:
		return nil, errors.New("custody: no log reader")
	case c.Bucket == nil:
		return nil, errors.New("custody: no blob store")
	case c.Keys == nil:
		return nil, errors.New("custody: no keyring")
	case c.Access == nil:
		return nil, errors.New("custody: no access service")
	}
	s := &Service{Config: c, gates: c.Gates}
	switch {
	case s.gates == nil:
		s.gates = &Gates{Set: c.Access.Gates()}
	case s.gates.Set != c.Access.Gates():
		// A read holds the object's gate and its authorization's in one
		// hold: the sets must be one.
		return nil, errors.New("custody: the gates are not the access service's")
	}
	s.bg.init()
	return s, nil
}

// Gates are the custody gates (see package internal/gate), shared with
// the services whose changes end reads: review holds a flag's alone
// (FlagExclusive), analytics a system version's (VersionExclusive), the
// access service an authorization's. Build them on the access service's
// set (access.Service.Gates) and pass them to each service, so none is
// patched after.
type Gates struct{ *gate.Set }

// FlagExclusive holds a flag's gate alone and returns its release.
func (g *Gates) FlagExclusive(ctx context.Context, id string) (release func(), err error) {
	return g.exclusive(ctx, flagGate(id))
}

// VersionExclusive holds a system version's gate alone and returns its
// release: a retirement is logged under it.
func (g *Gates) VersionExclusive(ctx context.Context, system, version string) (release func(), err error) {
	return g.exclusive(ctx, versionGate(system, version))
}

// RecipientExclusive holds a recipient's gate alone and returns its
// release: a retirement is logged under it, so that an export to the
// recipient logs all its permits before the retirement, or none.
func (g *Gates) RecipientExclusive(ctx context.Context, id string) (release func(), err error) {
	return g.exclusive(ctx, recipientGate(id))
}

// recipientGate names a recipient's gate: exports to it hold it shared
// from their check until every permit of theirs is logged.
func recipientGate(id string) string { return "recipient:" + id }

// exclusive holds gate k alone; on failure nothing is held.
func (g *Gates) exclusive(ctx context.Context, k string) (release func(), err error) {
	h := g.Begin()
	if err := h.Exclusive(ctx, k); err != nil {
		h.Release()
		return nil, err
	}
	return h.Release, nil
}

// principalGate names a principal's gate in the custody gates: reads by
// the principal hold it shared, its disabling and the suspension of its
// emergency access alone.
func principalGate(id string) string { return "principal:" + id }

// flagGate names a flag's gate: viewings of its evidence hold it shared
// from their check until logged; a review, an action or a contest's
// resolution holds it alone while logged (Gates.FlagExclusive), so no viewing
// is logged after the change that ended the viewer's task.
func flagGate(id string) string { return "flag:" + id }

// objectGate names an object's gate: reads hold it shared, its erasure
// alone.
func objectGate(id string) string { return "object:" + id }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Denial is a logged decision that refused a request. It carries the
// index of its log entry, so that even a denial has a receipt.
type Denial struct {
	Code    ombud.Code
	Message string
	Reason  string // the reason code in the entry
	Index   uint64
	// Size is the object's size, for a denial of an unsatisfiable range
	// (which the caller was permitted to read).
	Size int64
}

func (d *Denial) Error() string { return string(d.Code) + ": " + d.Message }

// AsError returns the user-facing error of a denial.
func (d *Denial) AsError() *ombud.Error {
	return &ombud.Error{Code: d.Code, Reason: d.Reason, Message: d.Message}
}

// class returns the configured class or an invalid_argument error.
func (s *Service) class(name string) (ombud.Class, error) {
	c, ok := s.Classes[name]
	if !ok {
		return c, ombud.Errorf(ombud.CodeInvalid, "unknown class %.40q", name)
	}
	return c, nil
}

func (s *Service) checkPurpose(p string) error {
	return s.Vocabulary.Check(vocab.Purpose, "Ombud-Purpose", p)
}

// countingReader counts bytes and stops past a limit.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

var errTooLarge = errors.New("object too large")

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.limit > 0 && c.n > c.limit {
		return n, errTooLarge
	}
	return n, err
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ErrConflict-style helpers.
func conflict(format string, a ...any) error { return ombud.Errorf(ombud.CodeConflict, format, a...) }

func notFound(id string) error {
	return ombud.Errorf(ombud.CodeNotFound, "no object %.40q", id)
}

func wrapLog(err error) error {
	if errors.Is(err, ombud.ErrLogUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
}

func keysRewrap(ctx context.Context, from, to *secrets.Keeper, o *ombud.Object) ([]byte, error) {
	return keys.Rewrap(ctx, from, to, o.WrappedKeyset, o.ID)
}
