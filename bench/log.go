// Package bench is ombud's benchmark harness: it measures ombud's paths side
// by side with the bare engine underneath, in one run, and reports medians
// and ratios as JSON (docs/PERFORMANCE.md).
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/tlog"
)

// LogConfig configures one append benchmark.
type LogConfig struct {
	Dir                string        // scratch space; each run gets a fresh subdirectory
	Concurrency        int           // concurrent appenders
	BatchMaxSize       uint          // Tessera batch size
	BatchMaxAge        time.Duration // Tessera batch age
	CheckpointInterval time.Duration
	Duration           time.Duration // how long appenders keep appending
	MaxEntries         int           // stop early after this many (bounds the run)
}

// LogResult is one measured run.
type LogResult struct {
	Name        string  `json:"name"`
	Entries     int     `json:"entries"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"entries_per_second"`
	AppendP50ms float64 `json:"append_p50_ms"`
	AppendP99ms float64 `json:"append_p99_ms"`
	TTIP50ms    float64 `json:"time_to_integrate_p50_ms"`
	TTIP99ms    float64 `json:"time_to_integrate_p99_ms"`
	Errors      int     `json:"errors"`
}

type appendFn func(ctx context.Context, i int) (uint64, error)

// drive runs cfg.Concurrency appenders for cfg.Duration, recording each
// append's latency and, by polling the published checkpoint, each entry's
// time to integrate (from the start of its append to the first checkpoint
// that covers it).
func drive(ctx context.Context, name string, cfg LogConfig, add appendFn, readSize func(context.Context) (uint64, error)) LogResult {
	type sample struct {
		idx        uint64
		start, end time.Time
	}
	samples := make([][]sample, cfg.Concurrency)
	var n, errs atomic.Int64
	type seen struct {
		size uint64
		at   time.Time
	}
	var cpMu sync.Mutex
	var cps []seen
	lastSeen := func() (uint64, bool) {
		cpMu.Lock()
		defer cpMu.Unlock()
		if len(cps) == 0 {
			return 0, false
		}
		return cps[len(cps)-1].size, true
	}
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-stopWatch:
				return
			case <-t.C:
				if s, err := readSize(ctx); err == nil && s > last {
					cpMu.Lock()
					cps = append(cps, seen{s, time.Now()})
					cpMu.Unlock()
					last = s
				}
			}
		}
	}()
	begin := time.Now()
	deadline := begin.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(n.Add(1))
				if cfg.MaxEntries > 0 && i > cfg.MaxEntries {
					return
				}
				st := time.Now()
				idx, err := add(ctx, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				samples[w] = append(samples[w], sample{idx, st, time.Now()})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	var all []sample
	for _, s := range samples {
		all = append(all, s...)
	}
	// Wait for the checkpoint to cover everything, bounded.
	var maxIdx uint64
	for _, s := range all {
		maxIdx = max(maxIdx, s.idx)
	}
	for wait := time.Now(); time.Since(wait) < 10*time.Second; time.Sleep(5 * time.Millisecond) {
		if s, ok := lastSeen(); ok && s > maxIdx {
			break
		}
	}
	close(stopWatch)
	<-watchDone
	lat := make([]float64, len(all))
	tti := make([]float64, 0, len(all))
	for i, s := range all {
		lat[i] = float64(s.end.Sub(s.start).Microseconds()) / 1000
		j := sort.Search(len(cps), func(j int) bool { return cps[j].size > s.idx })
		if j < len(cps) {
			tti = append(tti, float64(cps[j].at.Sub(s.start).Microseconds())/1000)
		}
	}
	r := LogResult{
		Name: name, Entries: len(all), Seconds: elapsed.Seconds(),
		PerSecond:   float64(len(all)) / elapsed.Seconds(),
		AppendP50ms: quantile(lat, 0.5), AppendP99ms: quantile(lat, 0.99),
		TTIP50ms: quantile(tti, 0.5), TTIP99ms: quantile(tti, 0.99),
		Errors: int(errs.Load()),
	}
	if len(tti) < len(all) {
		r.TTIP99ms = -1 // some entries never showed in a checkpoint: report it
	}
	return r
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

func newKey() (note.Signer, note.Verifier, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "bench.ombud/log")
	if err != nil {
		return nil, nil, err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, err
	}
	v, err := note.NewVerifier(vkey)
	return s, v, err
}

func sizeOf(cp []byte) (uint64, error) {
	lines := bytes.SplitN(cp, []byte("\n"), 3)
	if len(lines) < 3 {
		return 0, fmt.Errorf("short checkpoint")
	}
	return strconv.ParseUint(string(lines[1]), 10, 64)
}

// sampleLeaf is an entry of the size ombud writes for an access decision.
var sampleLeaf = func() []byte {
	j := &journal.Journal{Key: benchKey}
	_, leaf, _, err := j.Build(accessRecord(0))
	if err != nil {
		panic(err)
	}
	return leaf
}()

// benchKey is the linkage key of the generated logs; subject refs are
// keyed with it before the journal sees them, as custody keys them.
var benchKey = ombud.NewLinkageKey()

func subject(id string) []string { return []string{benchKey.Pseudonym("subject", id)} }

func accessRecord(i int) journal.Record {
	return journal.Record{
		Body: entry.Access{Decision: entry.Permit, Class: "location", Purpose: "criminal_investigation", Reasons: []string{"authorization_in_scope"}, Use: 1,
			Object: "obj" + strconv.Itoa(i), Subject: subject("plate:B-XY-" + strconv.Itoa(i%997)), Authorization: "auth-2026-0042", By: "analystanalyst01"},
		Detail: map[string]any{"request_id": i, "stated_purpose": "trace vehicle in case 3 Gs 117/26"},
	}
}

// BareTessera measures a bare Tessera POSIX appender with cfg's batching,
// appending leaves of the size ombud writes.
func BareTessera(ctx context.Context, cfg LogConfig) (LogResult, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "tessera-")
	if err != nil {
		return LogResult{}, err
	}
	defer os.RemoveAll(dir)
	s, _, err := newKey()
	if err != nil {
		return LogResult{}, err
	}
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return LogResult{}, err
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	a, shutdown, reader, err := tessera.NewAppender(bg, drv, tessera.NewAppendOptions().
		WithCheckpointSigner(s).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithPushback(uint(max(cfg.Concurrency*2, 4096))))
	if err != nil {
		return LogResult{}, err
	}
	add := func(ctx context.Context, i int) (uint64, error) {
		leaf := append(slices.Clip(sampleLeaf), strconv.Itoa(i)...)
		idx, err := a.Add(ctx, tessera.NewEntry(leaf))()
		return idx.Index, err
	}
	r := drive(ctx, "tessera-posix-bare", cfg, add, func(ctx context.Context) (uint64, error) {
		cp, err := reader.ReadCheckpoint(ctx)
		if err != nil {
			return 0, err
		}
		return sizeOf(cp)
	})
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	return r, shutdown(sctx)
}

// OmbudLog measures ombud's log path: every append is a full journal write
// (keyed pseudonyms, detail commitment, the detail stored in SQLite with
// group commit, the entry appended through the tlog adapter).
func OmbudLog(ctx context.Context, cfg LogConfig) (LogResult, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "ombud-")
	if err != nil {
		return LogResult{}, err
	}
	defer os.RemoveAll(dir)
	s, v, err := newKey()
	if err != nil {
		return LogResult{}, err
	}
	st, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(dir, "meta.db")})
	if err != nil {
		return LogResult{}, err
	}
	defer st.Close()
	lg, err := tlog.New(ctx, tlog.Config{
		Dir: filepath.Join(dir, "log"), Signer: s, Verifier: v,
		BatchMaxSize: cfg.BatchMaxSize, BatchMaxAge: cfg.BatchMaxAge,
		CheckpointInterval: cfg.CheckpointInterval,
		MaxOutstanding:     uint(max(cfg.Concurrency*2, 4096)),
	})
	if err != nil {
		return LogResult{}, err
	}
	j := &journal.Journal{Store: st, Log: lg, Key: benchKey}
	add := func(ctx context.Context, i int) (uint64, error) {
		w, err := j.Write(ctx, accessRecord(i))
		return w.Index, err
	}
	r := drive(ctx, "ombud-log", cfg, add, func(ctx context.Context) (uint64, error) {
		cp, err := lg.Checkpoint(ctx)
		if err != nil {
			return 0, err
		}
		return sizeOf(cp)
	})
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	return r, lg.Close(sctx)
}
