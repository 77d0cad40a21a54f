package journal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Op names a state change. Every change ombud makes to what it enforces is
// one of the Operations, and every one follows the same pattern
// (docs/ARCHITECTURE.md):
//
//  1. check: validate the request and build its log entry;
//  2. reserve: the store records the change against its target, atomically
//     with the change's preconditions, so that a conflicting change on the
//     same target cannot pass its own checks (ChangeStore.Reserve);
//  3. log: the entry is durably appended;
//  4. commit: only then does the change take effect (ChangeStore.Commit).
//     If the entry cannot be logged, the reservation is undone
//     (ChangeStore.Undo) and nothing happened.
//
// A refused change logs nothing. A crash between 2 and 4 leaves the
// reservation in the store; recovery (Journal.Settle) finds whether its
// entry reached the log and commits or undoes it, so the store always ends
// up as the log says.
type Op string

// Change is one state change in flight: reserved in the store while its
// entry is being logged.
type Change struct {
	// Token identifies this attempt.
	Token string
	Op    Op
	// Target is what the change is to: its operation's Kind, and for
	// all but the singletons ("policy", "kek") ":" and an id, such as
	// "object:ID" or "review:FLAG/REVIEWER". At most one change per
	// target is in flight; a second is refused with ErrBusy.
	Target string
	// Leaf is the SHA-256 of the entry's leaf: recovery looks for it in the
	// log.
	Leaf []byte
	// From is the log's size before the entry was appended; the entry's
	// index is at least From.
	From    uint64
	Created time.Time
	// Payload is what the change needs to take effect, as JSON: its
	// operation's payload type. It is private (it can hold a name or a
	// signed note) and lives only in the store.
	Payload []byte
	// Proposal, when set, is the approved proposal the change carries
	// out: the store takes it with the reservation (checked open,
	// unexpired and approved by the quorum in force), marks it executed
	// with the commit, and gives it back with an undo.
	Proposal string
}

// Operation is one kind of state change: its name, the kind of thing it
// changes, and the payload P that carries what it needs to take effect.
// Each is defined once, beside its aggregate's payloads (principals.go,
// objects.go, …), and listed in Operations; a store holds the
// preconditions, commit and undo of each in a table keyed by Op, and a
// test checks that the table is whole.
type Operation[P any] struct {
	Op Op
	// Kind is the kind of target: the target is Kind, or Kind:id.
	Kind string
	// ID, when set, is the id the payload names: a change's target must
	// name the same one.
	ID func(*P) string
}

// None is the payload of operations that need none.
type None struct{}

// Target returns the target of this operation on id ("" for a
// singleton).
func (o Operation[P]) Target(id string) string {
	if id == "" {
		return o.Kind
	}
	return o.Kind + ":" + id
}

// Change returns a change of this operation to id, carrying p.
func (o Operation[P]) Change(id string, p P) (*Change, error) {
	if o.ID != nil {
		if got := o.ID(&p); got == "" || got != id {
			return nil, fmt.Errorf("%s on %q: the payload names %q", o.Op, id, got)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal %s payload: %w", o.Op, err)
	}
	return &Change{Token: ombud.NewID() + ombud.NewID(), Op: o.Op, Target: o.Target(id), Payload: b}, nil
}

// TargetID returns the id in c's target, checking that c is a change of
// this operation; for callers that need only what the change is to.
func (o Operation[P]) TargetID(c *Change) (string, error) {
	if c.Op != o.Op {
		return "", fmt.Errorf("change %s is a %s, not a %s", c.Token, c.Op, o.Op)
	}
	id, ok := strings.CutPrefix(c.Target, o.Kind)
	if !ok || (id != "" && !strings.HasPrefix(id, ":")) || id == ":" {
		return "", fmt.Errorf("change %s (%s) has target %q, want %s:…", c.Token, c.Op, c.Target, o.Kind)
	}
	return strings.TrimPrefix(id, ":"), nil
}

// Decode returns the id and the payload of c, a change of this operation,
// checking that its target is of this operation's kind and, where the
// payload names an id, the same one.
func (o Operation[P]) Decode(c *Change) (string, *P, error) {
	var p P
	id, err := o.TargetID(c)
	if err != nil {
		return "", nil, err
	}
	// A change reserved before its payload was typed may carry none.
	if len(c.Payload) > 0 && string(c.Payload) != "null" {
		if err := json.Unmarshal(c.Payload, &p); err != nil {
			return "", nil, fmt.Errorf("change %s (%s): bad payload: %w", c.Token, c.Op, err)
		}
	}
	if o.ID != nil {
		if got := o.ID(&p); got == "" || got != id {
			return "", nil, fmt.Errorf("change %s (%s): target %q does not name the %s in its payload (%q)", c.Token, c.Op, c.Target, o.Kind, got)
		}
	}
	return id, &p, nil
}

// Name is the operation's name; with TargetKind it is what a table of
// operations of different payloads needs.
func (o Operation[P]) Name() Op { return o.Op }

// TargetKind is the kind of the operation's target.
func (o Operation[P]) TargetKind() string { return o.Kind }

// Named is an operation whatever its payload.
type Named interface {
	Name() Op
	TargetKind() string
}

// BusyWait is how long Apply waits for a conflicting change on the same
// target to finish before refusing with a conflict. A change takes one log
// append, a few milliseconds; a change that holds its target longer failed,
// and recovery settles it.
const BusyWait = 5 * time.Second

// Committer makes a logged change take effect: Store.Commit and whatever
// the service adds (a blob deleted, a file renamed, a cache dropped). It
// must be idempotent: recovery calls it again for a change whose commit a
// crash interrupted.
type Committer func(ctx context.Context, c *Change, w Leaf) error

// Apply runs the one pattern for r: it builds the entry (a bad entry is
// refused before anything is reserved), reserves c in the store (waiting up
// to BusyWait for a change in flight on the same target, and building the
// entry again after each wait, so that its time is never before the
// entries of the change it waited for), appends the entry, and commits. If
// the append fails, the reservation is undone and the error wraps
// ErrLogUnavailable. If the commit fails, the entry is logged and the
// reservation stays for recovery to finish; the error says so. A nil
// commit commits the store alone.
func (j *Journal) Apply(ctx context.Context, c *Change, r Record, commit Committer) (Leaf, error) {
	if d, ok := ctx.Value(dryRunKey{}).(*dryRun); ok {
		d.privileged.Store(PrivilegedOp(r.Body) != "")
	}
	// Only the privileged change the approval is for carries it: any
	// other change its operation makes on the way (an intermediate key,
	// a detail) is its own.
	if a, ok := ApprovalFrom(ctx); ok && PrivilegedOp(r.Body) != "" {
		// A privileged change carrying out an approved proposal: the
		// store takes the proposal with the reservation, and the entry
		// cites it and its approvers.
		approvers := make([]string, len(a.Approvers))
		for i, id := range a.Approvers {
			approvers[i] = j.Key.Pseudonym(entry.RefNamespace("by"), id)
		}
		b, err := entry.WithApproval(r.Body, a.Proposal, approvers)
		if err != nil {
			return Leaf{}, err
		}
		r.Body, c.Proposal = b, a.Proposal
	}
	return j.apply(ctx, c, func() (*entry.Entry, []byte, *Detail, error) { return j.Build(r) }, nil, commit)
}

// ApplyAll runs the one pattern for a change logged as several entries:
// bs, built by the caller (Journal.Build: a bad one is refused before
// anything is reserved, and the caller knows their leaves for its
// change's payload), and then closing, whose leaf is the change's. It
// reserves c for the closing entry, appends the entries of bs together (AppendAll), and
// appends the closing entry only once all of them are durable. So the
// change happened if and only if its closing entry is in the log, and
// recovery settles it by that entry as any other. If an append fails,
// the reservation is undone; an entry of bs that reached the log stays
// there, void without its closing entry, which is how a reader of the log
// must count them. commit, nil for the store's, is given the leaves of bs
// as well.
func (j *Journal) ApplyAll(ctx context.Context, c *Change, bs []Built, closing Record,
	commit func(ctx context.Context, c *Change, leaves []Leaf, closing Leaf) error) ([]Leaf, Leaf, error) {
	var leaves []Leaf
	pre := func(ctx context.Context) (err error) {
		leaves, err = j.AppendAll(ctx, bs)
		return err
	}
	cm := func(ctx context.Context, c *Change, w Leaf) error {
		if commit == nil {
			return j.CommitStore(ctx, c, w)
		}
		return commit(ctx, c, leaves, w)
	}
	w, err := j.apply(ctx, c, func() (*entry.Entry, []byte, *Detail, error) { return j.Build(closing) }, pre, cm)
	if err != nil {
		return nil, w, err
	}
	return leaves, w, nil
}

// ErrDryRun is what Apply answers under WithDryRun, once its change is
// built: nothing was reserved, logged or committed.
var ErrDryRun = &ombud.Error{Code: ombud.CodeConflict, Message: "a dry run stops before the change: nothing was changed or logged"}

type dryRunKey struct{}

type dryRun struct{ reached, privileged atomic.Bool }

// WithDryRun returns ctx under which Apply and ApplyBuilt build their
// change's entry and stop (ErrDryRun) before reserving it, and reached,
// which reports whether an operation run under ctx came that far (every
// check it makes before its first change passed) and whether that change
// is privileged (PrivilegedOp). Nothing is changed or logged, whatever
// the operation.
func WithDryRun(ctx context.Context) (_ context.Context, reached func() (ok, privileged bool)) {
	d := &dryRun{}
	return context.WithValue(ctx, dryRunKey{}, d), func() (bool, bool) { return d.reached.Load(), d.privileged.Load() }
}

// Approval is the approved proposal a privileged change carries out, and
// the admins who approved it (principal ids).
type Approval struct {
	Proposal  string
	Approvers []string
}

type approvalKey struct{}

// WithApproval returns ctx carrying a: the privileged change Apply makes
// under it carries out that proposal, and its entry cites it.
func WithApproval(ctx context.Context, a Approval) context.Context {
	return context.WithValue(ctx, approvalKey{}, a)
}

// ApprovalFrom returns the approval ctx carries, if any.
func ApprovalFrom(ctx context.Context) (Approval, bool) {
	a, ok := ctx.Value(approvalKey{}).(Approval)
	return a, ok
}

// ApplyBuilt is Apply of an entry already built (Journal.Build), for
// callers that need the entry before the change is reserved; it is not
// built again after a wait, so it suits targets nothing else can hold (a
// new object).
func (j *Journal) ApplyBuilt(ctx context.Context, c *Change, e *entry.Entry, leaf []byte, d *Detail, commit Committer) (Leaf, error) {
	return j.apply(ctx, c, func() (*entry.Entry, []byte, *Detail, error) { return e, leaf, d, nil }, nil, commit)
}

// apply runs the pattern; pre, when set, runs between the reservation and
// the append of the change's entry, and its failure undoes the
// reservation as a failed append does.
func (j *Journal) apply(ctx context.Context, c *Change, build func() (*entry.Entry, []byte, *Detail, error), pre func(context.Context) error, commit Committer) (Leaf, error) {
	if d, ok := ctx.Value(dryRunKey{}).(*dryRun); ok {
		// A dry run checks what can be checked and stops before the
		// change: the entry is built (its fields checked), and the store
		// checks the change's preconditions, the quorum aside, in a
		// reservation it rolls back. Nothing is reserved, logged or
		// committed.
		_, leaf, _, err := build()
		if err != nil {
			return Leaf{}, err
		}
		if ck, ok := j.Store.(ChangeChecker); ok {
			sum := sha256.Sum256(leaf)
			c.Leaf, c.Created = sum[:], j.now().UTC().Truncate(time.Millisecond)
			if err := ck.Check(ctx, c); err != nil {
				return Leaf{}, err
			}
		}
		d.reached.Store(true)
		return Leaf{}, ErrDryRun
	}
	e, leaf, d, err := j.reserve(ctx, c, build)
	if err != nil {
		return Leaf{}, err
	}
	var w Leaf
	if pre != nil {
		err = pre(ctx)
	}
	if err == nil {
		w, err = j.Append(ctx, e, leaf, d)
	}
	if err != nil {
		if uerr := j.Store.Undo(context.WithoutCancel(ctx), c); uerr != nil {
			j.leave(c.Token, true)
			err = fmt.Errorf("%w (and undoing the reservation failed, recovery will: %v)", err, uerr)
		}
		return Leaf{}, err
	}
	if commit == nil {
		commit = j.CommitStore
	}
	if err := commit(context.WithoutCancel(ctx), c, w); err != nil {
		j.leave(c.Token, true)
		return w, &ombud.Error{Code: ombud.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("the change is logged (entry %d) but did not take effect yet; ombud finishes it when it recovers", w.Index)}
	}
	return w, nil
}

// CommitStore is the Committer of changes with no effect outside the store.
func (j *Journal) CommitStore(ctx context.Context, c *Change, w Leaf) error {
	return j.Store.Commit(ctx, c, w.Index)
}

// reserve builds the entry and reserves c for it, waiting up to BusyWait
// while another change to the target is in flight and building the entry
// anew after each wait.
func (j *Journal) reserve(ctx context.Context, c *Change, build func() (*entry.Entry, []byte, *Detail, error)) (*entry.Entry, []byte, *Detail, error) {
	deadline := time.Now().Add(BusyWait)
	wait := time.Millisecond
	for {
		e, leaf, d, err := build()
		if err != nil {
			return nil, nil, nil, err
		}
		sum := sha256.Sum256(leaf)
		c.Leaf = sum[:]
		c.Created = j.now().UTC().Truncate(time.Millisecond)
		if c.From, err = j.Log.Size(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
		}
		err = j.Store.Reserve(ctx, c)
		if !errors.Is(err, ombud.ErrBusy) {
			return e, leaf, d, err
		}
		if time.Now().After(deadline) {
			return nil, nil, nil, &ombud.Error{Code: ombud.CodeConflict, Message: "another change to it is in progress; retry", Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func (j *Journal) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// LogReader reads back the log, for recovery.
type LogReader interface {
	// Size is the number of durably sequenced entries.
	Size(ctx context.Context) (uint64, error)
	// Leaves returns the leaves from index from up to (not including) to.
	Leaves(ctx context.Context, from, to uint64) ([][]byte, error)
}

// Settled counts what Settle did.
type Settled struct {
	Committed int `json:"committed"`
	Undone    int `json:"undone"`
}

// Settle finishes the changes that were reserved before since and are
// still in flight: those interrupted by a crash, or whose undo or commit
// failed. For each it looks for its entry in the log from the change's
// From onwards: found, the change is committed with commit(op); not found,
// it is undone (with undo(op), when set, before the store's Undo). Call it
// at start, before serving, with since = now, and later (the sweep) with a
// since far enough back that no append for those changes can still be in
// flight.
func (j *Journal) Settle(ctx context.Context, lr LogReader, since time.Time, commit func(Op) Committer, undo func(context.Context, *Change) error) (Settled, error) {
	var s Settled
	cs, err := j.Store.Changes(ctx, since)
	if err != nil || len(cs) == 0 {
		return s, err
	}
	size, err := lr.Size(ctx)
	if err != nil {
		return s, fmt.Errorf("%w: %v", ombud.ErrLogUnavailable, err)
	}
	for _, c := range cs {
		idx, found, err := findLeaf(ctx, lr, c.Leaf, c.From, size)
		if err != nil {
			return s, err
		}
		if found {
			cm := j.CommitStore
			if commit != nil {
				if f := commit(c.Op); f != nil {
					cm = f
				}
			}
			if err := cm(ctx, c, Leaf{Index: idx}); errors.Is(err, ombud.ErrNotFound) {
				j.leave(c.Token, false)
				continue // settled meanwhile by its own caller
			} else if err != nil {
				return s, fmt.Errorf("failed to commit change %s (%s %s, logged at %d): %w", c.Token, c.Op, c.Target, idx, err)
			}
			j.leave(c.Token, false)
			s.Committed++
			continue
		}
		if undo != nil {
			if err := undo(ctx, c); err != nil {
				return s, fmt.Errorf("failed to undo change %s (%s %s): %w", c.Token, c.Op, c.Target, err)
			}
		}
		if err := j.Store.Undo(ctx, c); errors.Is(err, ombud.ErrNotFound) {
			j.leave(c.Token, false)
			continue
		} else if err != nil {
			return s, fmt.Errorf("failed to undo change %s (%s %s): %w", c.Token, c.Op, c.Target, err)
		}
		j.leave(c.Token, false)
		s.Undone++
	}
	return s, nil
}

// leave notes that this process left the change of token in flight, or
// (left false) that it is settled.
func (j *Journal) leave(token string, left bool) {
	j.leftMu.Lock()
	defer j.leftMu.Unlock()
	if !left {
		delete(j.left, token)
		return
	}
	if j.left == nil {
		j.left = map[string]struct{}{}
	}
	j.left[token] = struct{}{}
}

// Unsettled reports whether this process left a change in flight that
// recovery has not settled yet. A gateway alone on its store settles
// every change in flight before it serves (Settle at its start), and
// holds a change's target alone from its reservation to its commit; so,
// holding a target's gate, it finds a change in flight on that target
// only if Unsettled. Gateways that share a store must ask the store.
func (j *Journal) Unsettled() bool {
	j.leftMu.Lock()
	defer j.leftMu.Unlock()
	return len(j.left) > 0
}

// findLeaf looks for the leaf hashing to sum among the entries [from, size).
func findLeaf(ctx context.Context, lr LogReader, sum []byte, from, size uint64) (uint64, bool, error) {
	const page = 256
	for i := from; i < size; i += page {
		leaves, err := lr.Leaves(ctx, i, min(i+page, size))
		if err != nil {
			return 0, false, fmt.Errorf("failed to read the log for recovery: %w", err)
		}
		for k, l := range leaves {
			h := sha256.Sum256(l)
			if bytes.Equal(h[:], sum) {
				return i + uint64(k), true, nil
			}
		}
	}
	return 0, false, nil
}
