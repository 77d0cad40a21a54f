package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Journal writes decisions to the log: it turns identifiers into keyed
// pseudonyms, commits to the private detail, and then stores the detail and
// appends the entry concurrently. A write is acknowledged only when both are
// durable. Running them side by side halves the latency every decision
// pays (docs/PERFORMANCE.md); the price is that a crash between the two can
// leave an entry whose detail was never stored. Such a write was never
// acknowledged, nothing was released for it, and the auditor reports it as
// "detail missing", which is distinct from "detail erased".
type Journal struct {
	// Store holds the changes in flight and the detail records; the
	// journal needs no other part of the store.
	Store interface {
		ChangeStore
		DetailStore
	}
	Log Log
	Key ombud.LinkageKey
	Now func() time.Time

	// left holds the tokens of the changes this process reserved and left
	// in flight, their commit or their undo having failed, until recovery
	// settles them (see Unsettled).
	leftMu sync.Mutex
	left   map[string]struct{}
}

// Record is what a caller asks the journal to write.
type Record struct {
	// Body is the entry's content: one of the types of package entry, its
	// refs holding real identifiers, which the journal replaces with their
	// keyed pseudonyms.
	Body entry.Body
	// Detail is marshalled to JSON and kept only in the store; nil for none.
	Detail any
	// Time, when set, is the entry's time instead of the clock's: a tip's
	// filing, whose public time is its day alone.
	Time time.Time
}

// Leaf is an entry the journal wrote, as the log holds it: its index,
// the entry, and its bytes.
type Leaf struct {
	Index uint64
	Entry *entry.Entry
	Bytes []byte
}

// Clock is the journal's time: that of the entries it writes now.
func (j *Journal) Clock() time.Time { return j.now() }

// Build turns a record into an entry and its detail without writing either.
func (j *Journal) Build(r Record) (*entry.Entry, []byte, *Detail, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	t := r.Time
	if t.IsZero() {
		t = now()
	}
	e, err := entry.New(t, r.Body, j.Key.Pseudonym)
	if err != nil {
		return nil, nil, nil, err
	}
	var d *Detail
	if r.Detail != nil {
		body, err := json.Marshal(r.Detail)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("failed to marshal detail: %w", err)
		}
		c := Commit(body)
		c.Time, c.Kind = e.Time, e.Kind
		d = &c
		e.Detail = c.Commitment
	}
	leaf, err := e.Marshal()
	if err != nil {
		return nil, nil, nil, err
	}
	return e, leaf, d, nil
}

// Write builds, stores and appends r. On any error nothing was released and
// the caller must fail closed; an error wrapping ErrLogUnavailable means the
// log could not be written.
func (j *Journal) Write(ctx context.Context, r Record) (Leaf, error) {
	e, leaf, d, err := j.Build(r)
	if err != nil {
		return Leaf{}, err
	}
	return j.Append(ctx, e, leaf, d)
}

// LowerBound returns a size the log has reached: a lower bound of the
// index of any entry appended after the call, for recovery to look from.
// A log that knows one without reading its storage (tlog.Log.Known)
// answers at once; another is asked its size.
func (j *Journal) LowerBound(ctx context.Context) (uint64, error) {
	if k, ok := j.Log.(interface{ Known() uint64 }); ok {
		return k.Known(), nil
	}
	return j.Log.Size(ctx)
}

// Append stores d (if any) and appends leaf, the marshalled e, as Write
// does; for callers that adjust a built entry first.
func (j *Journal) Append(ctx context.Context, e *entry.Entry, leaf []byte, d *Detail) (Leaf, error) {
	// Once a decision is being recorded, a caller that goes away (a client
	// that hangs up) must not cut the record in half: an entry whose detail
	// was cancelled. The log's own stall watchdog bounds the wait.
	ctx = context.WithoutCancel(ctx)
	var detailErr chan error
	if d != nil {
		detailErr = make(chan error, 1)
		go func() { detailErr <- j.Store.PutDetails(ctx, []Detail{*d}) }()
	}
	idx, err := j.Log.Append(ctx, leaf)
	if detailErr != nil {
		if derr := <-detailErr; derr != nil {
			return Leaf{}, fmt.Errorf("failed to store detail: %w", derr)
		}
	}
	if err != nil {
		if !errors.Is(err, ombud.ErrLogUnavailable) {
			err = fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
		}
		return Leaf{}, err
	}
	return Leaf{Index: idx, Entry: e, Bytes: leaf}, nil
}

// Built is a record built by Journal.Build: its entry, leaf and detail.
type Built struct {
	Entry  *entry.Entry
	Leaf   []byte
	Detail *Detail
}

// WriteAll writes records as Write does, all at once (see AppendAll).
func (j *Journal) WriteAll(ctx context.Context, rs []Record) ([]Leaf, error) {
	bs := make([]Built, len(rs))
	for i, r := range rs {
		e, leaf, d, err := j.Build(r)
		if err != nil {
			return nil, err
		}
		bs[i] = Built{e, leaf, d}
	}
	return j.AppendAll(ctx, bs)
}

// AppendAll stores the details of built records in one call while every
// entry is appended concurrently, so that the log sequences them in few
// batches. It returns their leaves in order. On any error the caller must
// release nothing for any of them (some may be logged: a logged permit not
// released, as when a client hangs up).
func (j *Journal) AppendAll(ctx context.Context, bs []Built) ([]Leaf, error) {
	ctx = context.WithoutCancel(ctx)
	out := make([]Leaf, len(bs))
	var ds []Detail
	for i, b := range bs {
		out[i] = Leaf{Entry: b.Entry, Bytes: b.Leaf}
		if b.Detail != nil {
			ds = append(ds, *b.Detail)
		}
	}
	detailErr := make(chan error, 1)
	go func() {
		if len(ds) == 0 {
			detailErr <- nil
			return
		}
		detailErr <- j.Store.PutDetails(ctx, ds)
	}()
	errs := make(chan error, len(bs))
	for i := range out {
		go func() {
			idx, err := j.Log.Append(ctx, out[i].Bytes)
			out[i].Index = idx
			errs <- err
		}()
	}
	var first error
	for range bs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if derr := <-detailErr; derr != nil {
		return nil, fmt.Errorf("failed to store details: %w", derr)
	}
	if first != nil {
		if !errors.Is(first, ombud.ErrLogUnavailable) {
			first = fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, first)
		}
		return nil, first
	}
	return out, nil
}
