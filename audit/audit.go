// Package audit checks an ombud log from its public formats only: the
// checkpoint signed note and its witness cosignatures, C2SP tlog-tiles and
// the entry format. It trusts nothing the operator says beyond what it can
// recompute. Run resumes from the State of the previous run, so each run
// reads only what is new, and a log that rewrites or rolls back what an
// earlier run saw is caught.
//
// With auditor credentials (a DetailSource) it also checks every detail
// record against the commitment in its entry.
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/tips"
)

// Fetcher reads the log's public resources (tlog-tiles paths). A resource
// that does not exist must be reported with an error wrapping
// os.ErrNotExist, as Tessera's client fetchers do.
type Fetcher interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Config is one audit run.
type Config struct {
	Log      Fetcher
	Verifier note.Verifier // the log's key: never taken from the log itself
	// Witnesses are cosignature verifiers (C2SP tlog-cosignature); Quorum
	// of them must have cosigned the checkpoint (0: all of them).
	Witnesses []note.Verifier
	Quorum    int
	// State is what the previous run saw; nil starts from size 0.
	State *State
	// Details, when set, is the auditor's access to detail records.
	Details DetailSource
	// Reports, when set, serves the published transparency reports: each
	// one logged is fetched, checked against its logged hash and
	// recomputed from the log.
	Reports ReportSource
	// AuditorReport, when set with Details, asks for the transparency
	// report of this period in auditor mode (Report.AuditorReport): the
	// public figures, banded with ReportBand (default report.DefaultBand),
	// and what became of every detail record of the period.
	AuditorReport *report.Period
	ReportBand    int64
	Rules         Rules
	// Progress, when set, is called as entries are verified.
	Progress func(done, total uint64)
	// TipPromises are promises of filing a source (or anyone) gave the
	// auditor, verified with the log's key: each one past its day with no
	// submission of its commitment in the log is reported.
	TipPromises []tips.Promise
	// Now is the audit's clock (for deadlines); nil is time.Now.
	Now func() time.Time
	// Parallel is how many entry bundles are fetched and parsed at once
	// (default 8).
	Parallel int
}

// Finding is one thing that does not verify or breaks an invariant.
type Finding struct {
	// Rule is a stable code; docs/AUDITING.md explains each.
	Rule string `json:"rule"`
	// Index is the entry the finding is about, if any.
	Index *uint64 `json:"index,omitempty"`
	// Where names a resource when the finding is not about one entry:
	// "checkpoint", "tile 0/001", "entry bundle 3".
	Where   string `json:"where,omitempty"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	where := f.Where
	if f.Index != nil {
		where = fmt.Sprintf("entry %d", *f.Index)
	}
	return f.Rule + " (" + where + "): " + f.Message
}

// Result is what one run found.
type Result struct {
	Origin     string    `json:"origin"`
	Size       uint64    `json:"checkpoint_size"`
	Root       []byte    `json:"root_hash"`
	From       uint64    `json:"from"` // entries before this were verified by earlier runs
	Entries    uint64    `json:"entries_verified"`
	Tiles      int       `json:"tiles_verified"`
	Details    uint64    `json:"details_verified"`
	Reports    int       `json:"reports_recomputed"`
	Witnessed  []string  `json:"witnessed_by"`
	Findings   []Finding `json:"findings"`
	Earlier    []Finding `json:"earlier_findings,omitempty"` // from earlier runs: history does not change
	Integrity  bool      `json:"integrity_ok"`               // signature, witnesses, consistency, tiles
	Seconds    float64   `json:"seconds"`
	PerSecond  float64   `json:"entries_per_second"`
	Checkpoint string    `json:"checkpoint"`
	// AuditorReport is the auditor-mode report Config.AuditorReport asked
	// for.
	AuditorReport *report.Report `json:"auditor_report,omitempty"`
	// Builds are the changes of build read in this run: each build entry
	// naming another executable than the build entry before it.
	Builds []BuildChange `json:"build_changes,omitempty"`
	// Unbuilt counts the entries this run read before any build entry:
	// the build that decided them is not recorded.
	Unbuilt uint64 `json:"entries_before_any_build,omitempty"`
}

// Clean reports whether the run found nothing, now or before.
func (r *Result) Clean() bool { return len(r.Findings) == 0 && len(r.Earlier) == 0 }

// State is what a run leaves for the next: the verified tree (as its
// compact range), the checkpoint it verified, and what the invariants need
// to remember. It is saved only when the log's integrity verified.
type State struct {
	Origin     string    `json:"origin"`
	Size       uint64    `json:"size"`
	Root       []byte    `json:"root"`
	Checkpoint string    `json:"checkpoint"`
	Compact    [][]byte  `json:"compact_range"`
	Rules      RuleState `json:"rules"`
	Findings   []Finding `json:"findings,omitempty"`
}

// ErrCannotVerify: the audit could not finish (network, a broken source),
// as opposed to finding violations.
var ErrCannotVerify = errors.New("could not verify")

func cannot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCannotVerify, fmt.Sprintf(format, args...))
}

// Run audits the log from cfg.State (or from 0) to its current checkpoint.
// It returns the report and the state to save for the next run; the state
// is nil when the log's integrity did not verify (the previous state stays
// the reference). The error wraps ErrCannotVerify when the audit could not
// be completed.
func Run(ctx context.Context, cfg Config) (*Result, *State, error) {
	start := time.Now()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	cfg.Rules.defaults()
	prev := cfg.State
	if prev == nil {
		prev = &State{}
	}
	rep := &Result{Origin: cfg.Verifier.Name(), From: prev.Size, Earlier: prev.Findings, Findings: []Finding{}, Witnessed: []string{}}
	fail := func(f Finding) (*Result, *State, error) {
		rep.Findings = append(rep.Findings, f)
		return rep, nil, nil
	}

	raw, err := cfg.Log.ReadCheckpoint(ctx)
	if err != nil {
		return rep, nil, cannot("failed to fetch the checkpoint: %v", err)
	}
	rep.Checkpoint = string(raw)
	cp, _, n, err := log.ParseCheckpoint(raw, cfg.Verifier.Name(), cfg.Verifier, cfg.Witnesses...)
	if err != nil {
		return fail(Finding{Rule: RuleCheckpointSignature, Where: "checkpoint", Message: fmt.Sprintf("the checkpoint does not verify with the log's key: %v", err)})
	}
	rep.Size, rep.Root = cp.Size, cp.Hash
	if prev.Origin != "" && prev.Origin != cp.Origin {
		return rep, nil, cannot("the saved state is for log %q, not %q", prev.Origin, cp.Origin)
	}
	for _, w := range cfg.Witnesses {
		for _, s := range n.Sigs {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				rep.Witnessed = append(rep.Witnessed, w.Name())
				break
			}
		}
	}
	need := cfg.Quorum
	if need <= 0 || need > len(cfg.Witnesses) {
		need = len(cfg.Witnesses)
	}
	if len(rep.Witnessed) < need {
		return fail(Finding{Rule: RuleWitnessQuorum, Where: "checkpoint", Message: fmt.Sprintf("cosigned by %d of the required %d witnesses %v", len(rep.Witnessed), need, rep.Witnessed)})
	}
	switch {
	case cp.Size < prev.Size:
		return fail(Finding{Rule: RuleRollback, Where: "checkpoint", Message: fmt.Sprintf("the log serves a checkpoint of size %d, but an earlier audit verified size %d: it rolled back or shows this auditor an older view", cp.Size, prev.Size)})
	case cp.Size == prev.Size && prev.Size > 0 && !bytes.Equal(cp.Hash, prev.Root):
		return fail(Finding{Rule: RuleFork, Where: "checkpoint", Message: fmt.Sprintf("a different root for size %d than the one verified before (%x, now %x): two histories signed by one key; both checkpoints are evidence", cp.Size, prev.Root, cp.Hash)})
	}

	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng, err := rf.NewRange(0, prev.Size, prev.Compact)
	if err != nil {
		return rep, nil, cannot("saved state is damaged: %v", err)
	}
	rules := newRules(cfg.Rules, prev.Rules)
	rep.Findings = append(rep.Findings, rules.buildInForce(prev.Findings)...)
	v := &verifier{cfg: cfg, rep: rep, rng: rng, rules: rules, size: cp.Size, from: prev.Size, tiles: map[uint64]*pendingTile{}}
	err = v.entries(ctx)
	rep.Builds, rep.Unbuilt = rules.changes, rules.unbuiltEntries
	if err != nil {
		return rep, nil, err
	}
	if v.truncated {
		return rep, nil, nil
	}
	root, err := rng.GetRootHash(nil)
	if cp.Size == 0 {
		root, err = rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	if err != nil {
		return rep, nil, cannot("tree: %v", err)
	}
	if !bytes.Equal(root, cp.Hash) {
		msg := fmt.Sprintf("the checkpoint's root %x is not the root %x recomputed from the %d entries: an entry was altered, or the checkpoint is false", cp.Hash, root, cp.Size)
		if prev.Size > 0 {
			msg = fmt.Sprintf("the checkpoint's root %x is not the root %x of the %d entries verified before (up to %d) plus the new ones: the log rewrote its history (a fork or an altered entry)", cp.Hash, root, cp.Size, prev.Size)
		}
		rep.Findings = append(rep.Findings, Finding{Rule: RuleRootMismatch, Where: "checkpoint", Message: msg})
		v.integrityOK = false
	}
	if err := v.flushTiles(ctx, true); err != nil {
		return rep, nil, err
	}
	if !v.integrityOK {
		return rep, nil, nil
	}
	if cfg.Reports != nil {
		if err := v.checkReports(ctx); err != nil {
			return rep, nil, err
		}
	}
	if cfg.AuditorReport != nil && cfg.Details != nil {
		if err := v.auditorReport(ctx); err != nil {
			return rep, nil, err
		}
	}
	if !v.integrityOK {
		return rep, nil, nil // the log answered a second read differently
	}
	v.checkErased()
	rep.Findings = append(rep.Findings, rules.finish(cfg.Now())...)
	rep.Findings = append(rep.Findings, rules.promisesBroken(cfg.TipPromises, cfg.Now())...)
	rep.Integrity = true
	rep.Seconds = time.Since(start).Seconds()
	if rep.Seconds > 0 {
		rep.PerSecond = float64(rep.Entries) / rep.Seconds
	}
	next := &State{Origin: cp.Origin, Size: cp.Size, Root: cp.Hash, Checkpoint: string(raw), Compact: rng.Hashes(), Rules: rules.state(),
		Findings: append(slices.Clone(prev.Findings), rep.Findings...)}
	return rep, next, nil
}

// verifier is one run's walk over the new entries.
type verifier struct {
	cfg         Config
	rep         *Result
	rng         *compact.Range
	rules       *rules
	size, from  uint64
	tiles       map[uint64]*pendingTile // by level
	integrityOK bool
	truncated   bool // entries missing: the tree cannot be recomputed
	details     detailBatch
	erased      []erasedDetail
	reports     []reportEntry
	// runLists are the object lists of the runs whose start detail this
	// audit read (and, keyed "export:ID", of the exports)
	// audit read, by run id.
	runLists map[string][]string
	// runReads are, by run id, the objects read in it, from the details
	// of its reads that this audit read.
	runReads map[string]map[string]struct{}
}

// pendingTile holds recomputed nodes of one tile level not yet compared
// with the log's tile.
type pendingTile struct {
	first uint64 // node index of nodes[0]
	nodes [][]byte
}

type bundle struct {
	index   uint64
	leaves  [][]byte
	hashes  [][]byte
	entries []*entry.Entry
	bodies  []entry.Body
	errs    []error
	err     error // fetching or framing
	missing bool
}

func (v *verifier) fetchBundle(ctx context.Context, bi uint64) *bundle {
	b := &bundle{index: bi}
	p := layout.PartialTileSize(0, bi, v.size)
	raw, err := v.cfg.Log.ReadEntryBundle(ctx, bi, p)
	if errors.Is(err, os.ErrNotExist) {
		b.missing = true
		return b
	}
	if err != nil {
		b.err = err
		return b
	}
	var eb api.EntryBundle
	if err := eb.UnmarshalText(raw); err != nil {
		b.err = fmt.Errorf("malformed: %v", err)
		b.missing = true // framing broken: the entries are not served
		return b
	}
	want := uint64(p)
	if p == 0 {
		want = layout.EntryBundleWidth
	}
	if uint64(len(eb.Entries)) != want {
		b.err = fmt.Errorf("holds %d entries, want %d", len(eb.Entries), want)
		b.missing = true
		return b
	}
	b.leaves = eb.Entries
	b.hashes = make([][]byte, len(eb.Entries))
	b.entries = make([]*entry.Entry, len(eb.Entries))
	b.bodies = make([]entry.Body, len(eb.Entries))
	b.errs = make([]error, len(eb.Entries))
	// The bodies outlive this bundle's bytes: the rules keep their refs.
	r := entry.Reader{Keep: true}
	for i, e := range eb.Entries {
		b.hashes[i] = rfc6962.DefaultHasher.HashLeaf(e)
		h, body, err := r.Read(e)
		if err != nil {
			b.errs[i] = err
			continue
		}
		b.entries[i] = &entry.Entry{V: entry.Version, Kind: h.Kind, Time: h.Time, Detail: h.Detail}
		b.bodies[i] = body
	}
	return b
}

// entries fetches and parses bundles cfg.Parallel at a time, and takes
// them in order: the tree, the tiles, the invariants and the details.
func (v *verifier) entries(ctx context.Context) error {
	v.integrityOK = true
	if v.size == v.from {
		return nil
	}
	first, last := v.from/layout.EntryBundleWidth, (v.size-1)/layout.EntryBundleWidth
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan chan *bundle, v.cfg.Parallel)
	go func() {
		defer close(results)
		for bi := first; bi <= last; bi++ {
			ch := make(chan *bundle, 1)
			select {
			case results <- ch:
			case <-ctx.Done():
				return
			}
			go func() { ch <- v.fetchBundle(ctx, bi) }()
		}
	}()
	total := v.size - v.from
	for ch := range results {
		b := <-ch
		if b.err != nil && !b.missing {
			return cannot("failed to fetch entry bundle %d: %v", b.index, b.err)
		}
		if b.missing {
			msg := "missing: the log does not serve entries its checkpoint commits to (truncated)"
			if b.err != nil {
				msg = b.err.Error() + ": the log does not serve the entries its checkpoint commits to (truncated or damaged)"
			}
			v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleTruncated, Where: fmt.Sprintf("entry bundle %d", b.index), Message: msg})
			v.integrityOK, v.truncated = false, true
			return nil
		}
		for i := range b.leaves {
			idx := b.index*layout.EntryBundleWidth + uint64(i)
			if idx < v.from {
				continue
			}
			if err := v.rng.Append(b.hashes[i], v.visit); err != nil {
				return cannot("tree: %v", err)
			}
			if b.errs[i] != nil {
				v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleMalformedEntry, Index: ptr(idx), Message: b.errs[i].Error()})
				continue
			}
			v.rep.Findings = append(v.rep.Findings, v.rules.entry(idx, b.entries[i], b.bodies[i])...)
			if re, ok := b.bodies[i].(*entry.Report); ok {
				if re, ok := reportOf(idx, re); ok {
					v.reports = append(v.reports, re)
				} else {
					v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleReportMalformed, Index: ptr(idx), Message: "a report entry without a checkpoint size"})
				}
			}
			if v.cfg.Details != nil && b.entries[i].Detail != "" {
				v.details.add(idx, b.entries[i], b.bodies[i])
			}
		}
		v.rep.Entries = min(b.index*layout.EntryBundleWidth+uint64(len(b.leaves)), v.size) - v.from
		if err := v.flushTiles(ctx, false); err != nil {
			return err
		}
		if v.cfg.Details != nil && (v.details.full() || b.index == last) {
			if err := v.checkDetails(ctx); err != nil {
				return err
			}
		}
		if v.cfg.Progress != nil {
			v.cfg.Progress(v.rep.Entries, total)
		}
	}
	return nil
}

func ptr(i uint64) *uint64 { return &i }

// visit collects the nodes that hash tiles hold: tree levels 0, 8, 16 …
func (v *verifier) visit(id compact.NodeID, hash []byte) {
	if id.Level%8 != 0 {
		return
	}
	L := uint64(id.Level / 8)
	t := v.tiles[L]
	if t == nil {
		t = &pendingTile{first: id.Index}
		v.tiles[L] = t
	}
	t.nodes = append(t.nodes, hash)
}

// flushTiles compares the recomputed nodes with the log's hash tiles: the
// complete tiles, and with final set the partial tiles at the right edge.
func (v *verifier) flushTiles(ctx context.Context, final bool) error {
	for L, t := range v.tiles {
		for len(t.nodes) > 0 {
			n := t.first / layout.TileWidth
			end := (n + 1) * layout.TileWidth // node index after this tile
			have := t.first + uint64(len(t.nodes))
			if have < end && !final {
				break
			}
			upto := min(have, end)
			p := layout.PartialTileSize(L, n, v.size)
			where := "tile " + layout.TilePath(L, n, p)
			raw, err := v.cfg.Log.ReadTile(ctx, L, n, p)
			switch {
			case errors.Is(err, os.ErrNotExist):
				v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleTileMismatch, Where: where, Message: "missing: the log does not serve a tile its checkpoint commits to"})
				v.integrityOK = false
			case err != nil:
				return cannot("failed to fetch %s: %v", where, err)
			default:
				v.rep.Tiles++
				var ht api.HashTile
				if err := ht.UnmarshalText(raw); err != nil {
					v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleTileMismatch, Where: where, Message: fmt.Sprintf("malformed: %v", err)})
					v.integrityOK = false
					break
				}
				off := t.first - n*layout.TileWidth
				if uint64(len(ht.Nodes)) < upto-n*layout.TileWidth {
					v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleTileMismatch, Where: where, Message: fmt.Sprintf("holds %d hashes, want %d", len(ht.Nodes), upto-n*layout.TileWidth)})
					v.integrityOK = false
					break
				}
				for i := range upto - t.first {
					if !bytes.Equal(ht.Nodes[off+i], t.nodes[i]) {
						v.rep.Findings = append(v.rep.Findings, Finding{Rule: RuleTileMismatch, Where: where, Message: fmt.Sprintf("hash %d differs from the one recomputed from the entries", off+i)})
						v.integrityOK = false
						break
					}
				}
			}
			t.nodes = t.nodes[upto-t.first:]
			t.first = upto
		}
		if len(t.nodes) == 0 {
			delete(v.tiles, L)
		}
	}
	return nil
}
