package audit

import (
	"slices"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// erase checks that an erased object is not on hold, and that its
// erasure owes a notice to every recipient an export carried it to; it
// records its first erasure and the notices owed.
func (r *rules) erase(idx uint64, e *entry.Entry, b *entry.Erase, add adder) {
	obj := b.Object
	if obj == "" {
		return
	}
	if at, held := r.st.Held[obj]; held {
		add(RuleEraseUnderHold, "object %s was erased while on legal hold (hold entry %d, never released)", obj, at)
	}
	if _, ok := r.st.Erased[obj]; !ok {
		r.st.Erased[obj] = idx
	}
	// The erasure owes a notice to each recipient an export carried the
	// object to, and names each.
	for _, rcp := range r.st.Copies[obj] {
		if !slices.Contains(b.Recipient, rcp) {
			add(RuleErasureNoticeMissing, "object %s, exported to recipient %s, was erased without a notice owed to it", obj, rcp)
		}
	}
	delete(r.st.Copies, obj)
	for _, rcp := range b.Recipient {
		k := obj + " " + rcp
		if _, ok := r.st.NoticesOwed[k]; !ok {
			r.st.NoticesOwed[strings.Clone(k)] = &NoticeDue{Erase: idx, Due: e.Time.Add(ombud.NoticeWithin)}
		}
	}
}

// notice checks that an erasure notice sent was owed by an erase entry
// before it, and in time; it is then owed no more.
func (r *rules) notice(e *entry.Entry, b *entry.Notice, add adder) {
	k := b.Object + " " + b.Recipient
	n := r.st.NoticesOwed[k]
	switch {
	case n == nil:
		add(RuleNoticeUnowed, "a notice to recipient %s of object %s's erasure, which no erase entry before it owed, or which was logged as sent already", b.Recipient, b.Object)
		return
	case e.Time.After(n.Due) && !n.Reported:
		add(RuleErasureNoticeOverdue, "the notice to recipient %s of object %s's erasure (entry %d) was sent after it was due, at %s", b.Recipient, b.Object, n.Erase, n.Due.Format(time.RFC3339))
	}
	delete(r.st.NoticesOwed, k)
}

// hold checks that a hold is not set on an erased object and records the
// hold in force, or its release.
func (r *rules) hold(idx uint64, b *entry.Hold, add adder) {
	obj := b.Object
	switch b.Op {
	case entry.OpSet:
		if _, ok := r.st.Erased[obj]; ok {
			add(RuleHoldAfterErase, "a hold was set on object %s after its erase entry", obj)
		}
		r.st.Held[obj] = idx
	case entry.OpRelease:
		delete(r.st.Held, obj)
	}
}

// detailsErased records a summary's erasure of a kind's detail records,
// which explains their absence later.
func (r *rules) detailsErased(b *entry.System) {
	if b.Op != entry.OpDetailsErased {
		return
	}
	if t, err := time.Parse(time.DateOnly, b.Before); err == nil && t.After(r.st.DetailsErased[b.EntryKind]) {
		r.st.DetailsErased[b.EntryKind] = t
	}
}

// erasedDetailExplained reports whether the log explains why the detail
// record of e is erased: its object's erase entry (an ingest's detail goes
// with its object), or a summary entry erasing its kind's details from
// before its time.
func (r *rules) erasedDetailExplained(e *entry.Entry, body entry.Body) bool {
	if in, ok := body.(*entry.Ingest); ok {
		if _, ok := r.st.Erased[in.Object]; ok {
			return true
		}
	}
	return e.Time.Before(r.st.DetailsErased[string(e.Kind)])
}
