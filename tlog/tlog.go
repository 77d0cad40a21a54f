// Package tlog is ombud's transparency log: a Tessera log that sequences
// entries durably, publishes C2SP tlog-checkpoint signed notes, serves C2SP
// tlog-tiles, and builds inclusion and consistency proofs. One gateway
// keeps it in files (Tessera's POSIX driver); several gateways share one
// in a MySQL-compatible database (Tessera's MySQL driver, mysql.go).
package tlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/receipt"
)

// Defaults. Throughput is concurrency ÷ append latency: a larger batch age
// lets more concurrent appends share one fsync'd write, at the cost of the
// latency every append (and so every access) pays. See docs/PERFORMANCE.md.
const (
	DefaultBatchMaxSize       = 4096
	DefaultBatchMaxAge        = 10 * time.Millisecond
	DefaultCheckpointInterval = 200 * time.Millisecond
	DefaultAppendTimeout      = 10 * time.Second
	DefaultMaxOutstanding     = 16384
)

// Config configures a Log. Zero values take the defaults above.
type Config struct {
	// Dir holds the log's tiles, entry bundles and checkpoint.
	Dir string
	// URL, when set, puts the log in a MySQL-compatible database
	// (mysql://…, see MySQLPrefix) that several gateways share; Dir is
	// then unused. The checkpoint interval is then at least a second, and
	// the batch age at least minMySQLBatchAge.
	URL string
	// Signer signs checkpoints; its name is the log origin.
	Signer note.Signer
	// Verifier is the signer's public half.
	Verifier note.Verifier

	BatchMaxSize       uint
	BatchMaxAge        time.Duration
	CheckpointInterval time.Duration
	// AppendTimeout: when appends are outstanding and none completes for
	// this long, the log counts as stalled and new appends fail closed.
	AppendTimeout time.Duration
	// MaxOutstanding is how many appends may wait at once before Append
	// pushes back with ombud.ErrLogUnavailable.
	MaxOutstanding uint

	// WitnessPolicy, when set, is a witness policy (the format of
	// tessera.NewWitnessGroupFromPolicy). A checkpoint is then published
	// only when the policy is satisfied: it fails closed, never open.
	WitnessPolicy []byte
	// WitnessTimeout bounds the wait for cosignatures of one checkpoint.
	WitnessTimeout time.Duration

	// LockDir holds the POSIX driver's sequencing lock file, on a
	// filesystem other than the log's (see relocateLock). "" picks a
	// memory filesystem.
	LockDir string
	// Shared says other processes of this host append to the log too:
	// Close then leaves the lock file in place, since removing it under
	// them would let the next process lock a new file while they still
	// lock the old one.
	Shared bool

	Metrics *Metrics
	Logger  *slog.Logger
}

// Log is a Tessera-backed transparency log. It implements journal.Log.
type Log struct {
	cfg      Config
	origin   string
	appender *tessera.Appender
	shutdown func(context.Context) error
	reader   tessera.LogReader
	cancel   context.CancelFunc

	closed      atomic.Bool
	stalled     atomic.Bool
	failing     atomic.Bool  // the last append attempt failed; cleared by a success or a probe
	lastErr     atomic.Value // string: why the last append failed
	lagSince    atomic.Int64 // UnixNano since the published checkpoint lags the tree (0: it does not)
	progress    atomic.Int64 // UnixNano of the last completed append
	busySince   atomic.Int64 // UnixNano when appends last became outstanding after none were
	outstanding atomic.Int64
	batchMu     sync.Mutex
	knownSize   uint64
	metrics     *Metrics
	lockDir     string  // the private directory of the sequencing lock (see lock.go)
	db          *sql.DB // the shared log's database (nil for files)
}

// New opens (creating if needed) the log in cfg.Dir.
func New(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" && cfg.URL == "" {
		return nil, errors.New("tlog: Dir or URL is required")
	}
	if cfg.URL != "" && !IsMySQLURL(cfg.URL) {
		return nil, fmt.Errorf("tlog: a log URL begins with %s", MySQLPrefix)
	}
	if cfg.Signer == nil || cfg.Verifier == nil {
		return nil, errors.New("tlog: Signer and Verifier are required")
	}
	if cfg.Signer.Name() != cfg.Verifier.Name() || cfg.Signer.KeyHash() != cfg.Verifier.KeyHash() {
		return nil, errors.New("tlog: Signer and Verifier are not a key pair")
	}
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = DefaultBatchMaxSize
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = DefaultBatchMaxAge
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.URL != "" {
		cfg.CheckpointInterval = max(cfg.CheckpointInterval, minMySQLCheckpointInterval)
		cfg.BatchMaxAge = max(cfg.BatchMaxAge, minMySQLBatchAge)
	}
	if cfg.CheckpointInterval < 100*time.Millisecond {
		return nil, fmt.Errorf("tlog: checkpoint interval %v is below Tessera's minimum of 100ms", cfg.CheckpointInterval)
	}
	if cfg.AppendTimeout == 0 {
		cfg.AppendTimeout = DefaultAppendTimeout
	}
	if cfg.MaxOutstanding == 0 {
		cfg.MaxOutstanding = DefaultMaxOutstanding
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var witnesses *tessera.WitnessGroup
	if len(cfg.WitnessPolicy) > 0 {
		g, err := tessera.NewWitnessGroupFromPolicy(cfg.WitnessPolicy)
		if err != nil {
			return nil, fmt.Errorf("witness policy: %w", err)
		}
		witnesses = &g
	}
	var driver tessera.Driver
	var db *sql.DB
	var lockDir string
	fresh := false
	if cfg.URL != "" {
		var err error
		if db, err = openMySQL(ctx, cfg.URL); err != nil {
			return nil, err
		}
		if driver, err = newMySQLDriver(ctx, db, cfg.Signer.Name(), cfg.Verifier); err != nil {
			db.Close()
			return nil, fmt.Errorf("failed to open tessera mysql storage: %w", err)
		}
	} else {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("failed to create log directory: %w", err)
		}
		var err error
		if lockDir, err = relocateLock(cfg.Dir, cfg.LockDir); err != nil {
			return nil, err
		}
		// A log without a checkpoint is new: Tessera creates it and
		// publishes its first, empty checkpoint. Say so in plain words.
		_, err = os.Stat(filepath.Join(cfg.Dir, layout.CheckpointPath))
		fresh = errors.Is(err, os.ErrNotExist)
		if driver, err = posix.New(ctx, posix.Config{Path: cfg.Dir}); err != nil {
			return nil, fmt.Errorf("failed to open tessera posix storage: %w", err)
		}
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(cfg.Signer).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithPushback(cfg.MaxOutstanding)
	if witnesses != nil {
		opts = opts.WithWitnesses(*witnesses, &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout})
	}
	// The appender's background work must outlive the caller's ctx (which
	// may be a request); Close stops it.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, shutdown, reader, err := tessera.NewAppender(bg, driver, opts)
	if err != nil {
		cancel()
		if db != nil {
			db.Close()
		}
		return nil, fmt.Errorf("failed to start tessera appender: %w", err)
	}
	l := &Log{cfg: cfg, origin: cfg.Signer.Name(), appender: a, shutdown: shutdown, reader: reader, cancel: cancel, metrics: cfg.Metrics, lockDir: lockDir, db: db}
	if size, err := reader.IntegratedSize(ctx); err == nil {
		l.knownSize = size
	}
	l.progress.Store(time.Now().UnixNano())
	if fresh {
		cfg.Logger.InfoContext(ctx, "created a new, empty transparency log", "dir", cfg.Dir, "origin", l.origin)
	}
	go l.watchdog(bg)
	return l, nil
}

// Origin returns the log's origin line.
func (l *Log) Origin() string { return l.origin }

// Verifier returns the checkpoint verifier.
func (l *Log) Verifier() note.Verifier { return l.cfg.Verifier }

// Append durably sequences leaf and returns its index. It returns only once
// Tessera has written the entry and integrated it into the tree on disk; any
// failure or pushback is reported as ombud.ErrLogUnavailable so callers fail
// closed. While the log is stalled (see watchdog) appends fail at once.
func (l *Log) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if l.closed.Load() {
		return 0, fmt.Errorf("%w: log is shut down", ombud.ErrLogUnavailable)
	}
	if l.stalled.Load() {
		l.metrics.appendErrors.WithLabelValues("stalled").Inc()
		return 0, fmt.Errorf("%w: no append has completed for %v", ombud.ErrLogUnavailable, l.cfg.AppendTimeout)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
	}
	n := l.outstanding.Add(1)
	if n == 1 {
		// The first append after an idle spell: the stall clock starts
		// now, not at the last completion, which may be long ago.
		l.busySince.Store(time.Now().UnixNano())
	}
	if n > int64(l.cfg.MaxOutstanding) {
		l.outstanding.Add(-1)
		l.metrics.appendErrors.WithLabelValues("pushback").Inc()
		return 0, fmt.Errorf("%w: %d appends outstanding", ombud.ErrLogUnavailable, n-1)
	}
	l.metrics.queueDepth.Inc()
	start := time.Now()
	// Tessera's future cannot be cancelled; it always resolves, with an
	// index or an error, once its batch is flushed. Waiting on it here
	// rather than in a goroutine per append keeps the hot path lean; the
	// watchdog enforces AppendTimeout for the log as a whole.
	idx, err := l.add(ctx, leaf)
	l.outstanding.Add(-1)
	l.metrics.queueDepth.Dec()
	if err != nil {
		l.metrics.appendErrors.WithLabelValues("error").Inc()
		l.lastErr.Store(err.Error())
		l.failing.Store(true)
		return 0, fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
	}
	if l.failing.Load() { // a load, not a store: every append passes here
		l.failing.Store(false)
	}
	l.progress.Store(time.Now().UnixNano())
	l.metrics.appendSeconds.Observe(time.Since(start).Seconds())
	l.observeBatch(ctx, idx.Index)
	return idx.Index, nil
}

// add appends through Tessera. A fault in the storage underneath (a
// read-only or full filesystem) can make Tessera's POSIX driver panic in
// the appending goroutine; it is turned into an error, so the gateway
// fails closed instead of crashing.
func (l *Log) add(ctx context.Context, leaf []byte) (idx tessera.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the log's storage failed: %v", r)
		}
	}()
	return l.appender.Add(ctx, tessera.NewEntry(leaf))()
}

// watchdog marks the log stalled when appends are outstanding and none has
// completed for AppendTimeout since they began to be (a hung disk, a wedged
// lock): new appends then
// fail at once, so decisions are denied instead of piling up, and /readyz
// reports the log unavailable. The first completion clears it.
func (l *Log) watchdog(ctx context.Context) {
	t := time.NewTicker(min(l.cfg.AppendTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last := time.Unix(0, max(l.progress.Load(), l.busySince.Load()))
		stalled := l.outstanding.Load() > 0 && time.Since(last) > l.cfg.AppendTimeout
		if stalled && !l.stalled.Load() {
			l.cfg.Logger.ErrorContext(ctx, "log stalled: failing appends closed", "outstanding", l.outstanding.Load(), "since", last)
		}
		if !stalled && l.stalled.Load() {
			l.cfg.Logger.InfoContext(ctx, "log recovered")
		}
		l.stalled.Store(stalled)
		l.watchPublication(ctx)
		if l.failing.Load() && l.writable(ctx) == nil {
			// The storage takes writes again: let appends try, so that a
			// gateway marked unready can become ready without traffic.
			l.failing.Store(false)
			l.cfg.Logger.InfoContext(ctx, "log storage writable again")
		}
	}
}

// watchPublication notes since when the published checkpoint has lagged
// the tree on disk: with witnesses that do not cosign, it stops growing.
func (l *Log) watchPublication(ctx context.Context) {
	cp, err := l.reader.ReadCheckpoint(ctx)
	size, serr := l.reader.IntegratedSize(ctx)
	var published uint64
	if err == nil {
		if c, _, _, perr := log.ParseCheckpoint(cp, l.origin, l.cfg.Verifier); perr == nil {
			published = c.Size
		}
	}
	if serr != nil || published >= size {
		l.lagSince.Store(0)
		return
	}
	l.lagSince.CompareAndSwap(0, time.Now().UnixNano())
}

// Writable checks that dir takes writes: it writes, syncs and removes a
// small file there. A read-only, full or forbidden directory fails it.
func Writable(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Health reports whether appends complete (appends) and whether
// checkpoints are being published (publish: the published checkpoint has
// lagged the tree for longer than grace, as when the witness policy is not
// met). Either error makes the gateway not ready.
func (l *Log) Health(grace time.Duration) (appends, publish error) {
	appends = l.Healthy()
	if appends == nil && l.failing.Load() {
		why, _ := l.lastErr.Load().(string)
		appends = fmt.Errorf("the last append failed: %s", why)
	}
	if since := l.lagSince.Load(); since != 0 && grace > 0 && time.Since(time.Unix(0, since)) > grace {
		publish = fmt.Errorf("the published checkpoint has lagged the log for %v", time.Since(time.Unix(0, since)).Round(time.Second))
	}
	return appends, publish
}

// Healthy reports whether appends are completing.
func (l *Log) Healthy() error {
	if l.closed.Load() {
		return errors.New("log is shut down")
	}
	if l.stalled.Load() {
		return fmt.Errorf("no append has completed for %v", l.cfg.AppendTimeout)
	}
	return nil
}

// Known returns a size the log has reached, without reading its
// storage: a lower bound of the index of any entry appended after the
// call.
func (l *Log) Known() uint64 {
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	return l.knownSize
}

// observeBatch records how many entries each sequencing batch carried: the
// first append to see an index past the known tree size reads the new size
// once. Batches are sequenced one at a time, so a jump is one batch (rarely
// two, when they complete back to back).
func (l *Log) observeBatch(ctx context.Context, idx uint64) {
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	if idx < l.knownSize {
		return
	}
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil || size <= l.knownSize {
		return
	}
	l.metrics.batchSize.Observe(float64(size - l.knownSize))
	l.metrics.treeSize.Set(float64(size))
	l.knownSize = size
}

// Close flushes outstanding appends, publishes a final checkpoint and stops
// the log. Appends after Close fail with ombud.ErrLogUnavailable.
func (l *Log) Close(ctx context.Context) error {
	if l.closed.Swap(true) {
		return nil
	}
	err := l.shutdown(ctx)
	l.cancel()
	if err == nil && l.lockDir != "" && !l.cfg.Shared {
		// Every batch is flushed: nothing locks any more. The next open
		// makes the directory again.
		os.RemoveAll(l.lockDir)
	}
	if l.db != nil {
		l.db.Close()
	}
	return err
}

// Checkpoint returns the latest published checkpoint, a signed note.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	b, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to read checkpoint: %w", err)
	}
	return b, nil
}

// ParsedCheckpoint returns the latest checkpoint, verified against the log's
// own key.
func (l *Log) ParsedCheckpoint(ctx context.Context) (*log.Checkpoint, []byte, error) {
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	cp, _, _, err := log.ParseCheckpoint(raw, l.origin, l.cfg.Verifier)
	if err != nil {
		return nil, nil, fmt.Errorf("published checkpoint does not verify: %w", err)
	}
	return cp, raw, nil
}

// IntegratedSize is the size of the tree on disk, which may be ahead of the
// published checkpoint by up to one checkpoint interval.
func (l *Log) IntegratedSize(ctx context.Context) (uint64, error) {
	return l.reader.IntegratedSize(ctx)
}

// AwaitCheckpoint waits until a published checkpoint covers index, or ctx ends.
func (l *Log) AwaitCheckpoint(ctx context.Context, index uint64) (*log.Checkpoint, []byte, error) {
	for {
		cp, raw, err := l.ParsedCheckpoint(ctx)
		if err == nil && cp.Size > index {
			return cp, raw, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return nil, nil, err
		case <-time.After(l.cfg.CheckpointInterval / 4):
		}
	}
}

// Entry returns the leaf at index in a tree of size treeSize.
func (l *Log) Entry(ctx context.Context, index, treeSize uint64) ([]byte, error) {
	if index >= treeSize {
		return nil, fmt.Errorf("index %d is beyond tree size %d: %w", index, treeSize, ombud.ErrNotFound)
	}
	bi := index / layout.EntryBundleWidth
	entries, err := l.Bundle(ctx, bi, treeSize)
	if err != nil {
		return nil, err
	}
	off := index % layout.EntryBundleWidth
	if off >= uint64(len(entries)) {
		return nil, fmt.Errorf("entry bundle %d holds %d entries, want index %d", bi, len(entries), off)
	}
	return entries[off], nil
}

// Bundle returns the leaves of entry bundle bi in a tree of size treeSize.
func (l *Log) Bundle(ctx context.Context, bi, treeSize uint64) ([][]byte, error) {
	raw, err := l.reader.ReadEntryBundle(ctx, bi, layout.PartialTileSize(0, bi, treeSize))
	if err != nil {
		return nil, fmt.Errorf("failed to read entry bundle %d: %w", bi, err)
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(raw); err != nil {
		return nil, fmt.Errorf("failed to parse entry bundle %d: %w", bi, err)
	}
	return b.Entries, nil
}

// Receipt returns the receipt of entry index: the entry, the latest
// checkpoint and the inclusion proof against it. A sequenced entry that no
// published checkpoint covers yet is waited for, up to wait.
func (l *Log) Receipt(ctx context.Context, index uint64, wait time.Duration) (*receipt.Receipt, error) {
	cp, raw, err := l.ParsedCheckpoint(ctx)
	if err != nil {
		return nil, &ombud.Error{Code: ombud.CodeUnavailable, Message: "no checkpoint is published yet", Err: err}
	}
	if cp.Size <= index {
		integrated, err := l.IntegratedSize(ctx)
		if err != nil {
			return nil, err
		}
		if index >= integrated {
			return nil, ombud.Errorf(ombud.CodeNotFound, "no entry %d: the log holds %d entries", index, integrated)
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if cp, raw, err = l.AwaitCheckpoint(wctx, index); err != nil {
			return nil, ombud.Errorf(ombud.CodeNotIntegrated, "entry %d is sequenced but no checkpoint covers it yet; retry", index)
		}
	}
	leaf, err := l.Entry(ctx, index, cp.Size)
	if err != nil {
		return nil, err
	}
	proof, err := l.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return nil, err
	}
	return &receipt.Receipt{V: receipt.Version, Index: index, Entry: leaf, Checkpoint: string(raw), Proof: proof}, nil
}

// Receipts returns the receipts of the entries at indexes, against one
// checkpoint that covers them all (waiting up to wait for it), reading
// each entry bundle and each proof tile once: the receipts of an export's
// entries.
func (l *Log) Receipts(ctx context.Context, indexes []uint64, wait time.Duration) ([]*receipt.Receipt, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	last := slices.Max(indexes)
	cp, raw, err := l.ParsedCheckpoint(ctx)
	if err != nil {
		return nil, &ombud.Error{Code: ombud.CodeUnavailable, Message: "no checkpoint is published yet", Err: err}
	}
	if cp.Size <= last {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if cp, raw, err = l.AwaitCheckpoint(wctx, last); err != nil {
			return nil, ombud.Errorf(ombud.CodeNotIntegrated, "entry %d is sequenced but no checkpoint covers it yet; retry", last)
		}
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("failed to build proofs: %w", err)
	}
	bundles := map[uint64][][]byte{}
	out := make([]*receipt.Receipt, len(indexes))
	for i, index := range indexes {
		bi := index / layout.EntryBundleWidth
		entries, ok := bundles[bi]
		if !ok {
			if entries, err = l.Bundle(ctx, bi, cp.Size); err != nil {
				return nil, err
			}
			bundles[bi] = entries
		}
		off := index % layout.EntryBundleWidth
		if off >= uint64(len(entries)) {
			return nil, fmt.Errorf("entry bundle %d holds %d entries, want index %d", bi, len(entries), off)
		}
		proof, err := pb.InclusionProof(ctx, index)
		if err != nil {
			return nil, err
		}
		out[i] = &receipt.Receipt{V: receipt.Version, Index: index, Entry: entries[off], Checkpoint: string(raw), Proof: proof}
	}
	return out, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of index in a tree of
// treeSize.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	pb, err := client.NewProofBuilder(ctx, treeSize, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("failed to build proof: %w", err)
	}
	return pb.InclusionProof(ctx, index)
}

// ConsistencyProof returns the RFC 6962 consistency proof between two sizes.
func (l *Log) ConsistencyProof(ctx context.Context, smaller, larger uint64) ([][]byte, error) {
	pb, err := client.NewProofBuilder(ctx, larger, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("failed to build proof: %w", err)
	}
	return pb.ConsistencyProof(ctx, smaller, larger)
}

// Dir is the directory holding the log's public files ("" for a log in a
// database).
func (l *Log) Dir() string {
	if l.cfg.URL != "" {
		return ""
	}
	return l.cfg.Dir
}

// writable probes the log's storage: its directory takes a file, or its
// database answers.
func (l *Log) writable(ctx context.Context) error {
	if l.db != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return l.db.PingContext(pctx)
	}
	return Writable(l.cfg.Dir)
}

// errNotTile: a path that names no tile or entry bundle of the log.
var errNotTile = fmt.Errorf("%w: no such tlog-tiles resource", ombud.ErrNotFound)

// Tile returns the hash tile or entry bundle at path, a C2SP tlog-tiles
// path such as tile/0/x001/234 or tile/entries/000.p/17. The path is read
// with Tessera's layout and must be spelled as Tessera spells it, so that
// nothing else under the log's directory (its private state) is ever
// served. A partial tile is served exactly as requested: once the full
// tile replaces it, the partial one is gone (ombud.ErrNotFound), and a client
// fetches the full one, as the spec says.
func (l *Log) Tile(path string) ([]byte, error) {
	rest, ok := strings.CutPrefix(path, "tile/")
	level, index, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil, errNotTile
	}
	ctx := context.Background()
	var read func() ([]byte, error)
	var canonical string
	if level == "entries" {
		n, p, err := layout.ParseTileIndexPartial(index)
		if err != nil {
			return nil, errNotTile
		}
		canonical = layout.EntriesPath(n, p)
		read = func() ([]byte, error) {
			b, err := l.reader.ReadEntryBundle(ctx, n, p)
			if err != nil {
				return nil, err
			}
			return trimBundle(b, p)
		}
	} else {
		lv, n, p, err := layout.ParseTileLevelIndexPartial(level, index)
		if err != nil {
			return nil, errNotTile
		}
		canonical = layout.TilePath(lv, n, p)
		read = func() ([]byte, error) {
			b, err := l.reader.ReadTile(ctx, lv, n, p)
			return trimTile(b, p), err
		}
	}
	if canonical != path {
		return nil, errNotTile
	}
	if l.cfg.URL == "" {
		b, err := os.ReadFile(filepath.Join(l.cfg.Dir, filepath.FromSlash(canonical)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNotTile
		}
		return b, err
	}
	// The database keeps one version of each tile, the widest: a partial
	// one is cut from it.
	b, err := read()
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotTile) {
		return nil, errNotTile
	}
	return b, err
}

// Size is the number of entries durably sequenced and integrated: every
// entry an Append returned has an index below it.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	return l.reader.IntegratedSize(ctx)
}

// Scan calls f with each leaf from index from up to (not including) to,
// in order, reading the log an entry bundle at a time as it stands at
// treeSize, the size of a published checkpoint, at least to. It stops at
// f's first error.
func (l *Log) Scan(ctx context.Context, from, to, treeSize uint64, f func(index uint64, leaf []byte) error) error {
	if to > treeSize {
		return fmt.Errorf("scan to %d: past the tree size %d", to, treeSize)
	}
	for bi := from / layout.EntryBundleWidth; bi*layout.EntryBundleWidth < to; bi++ {
		leaves, err := l.Bundle(ctx, bi, treeSize)
		if err != nil {
			return err
		}
		for i, leaf := range leaves {
			idx := bi*layout.EntryBundleWidth + uint64(i)
			if idx < from || idx >= to {
				continue
			}
			if err := f(idx, leaf); err != nil {
				return err
			}
		}
	}
	return nil
}

// Leaves returns the leaves from index from up to (not including) to, all
// below Size.
func (l *Log) Leaves(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from > to {
		return nil, fmt.Errorf("leaves %d to %d: from is past to", from, to)
	}
	var out [][]byte
	for i := from; i < to; {
		bi := i / layout.EntryBundleWidth
		leaves, err := l.Bundle(ctx, bi, to)
		if err != nil {
			return nil, err
		}
		off := i % layout.EntryBundleWidth
		if off >= uint64(len(leaves)) {
			return nil, fmt.Errorf("entry bundle %d holds %d entries, want index %d", bi, len(leaves), i)
		}
		n := min(uint64(len(leaves))-off, to-i)
		out = append(out, leaves[off:off+n]...)
		i += n
	}
	return out, nil
}
