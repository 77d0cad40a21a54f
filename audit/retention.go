package audit

import (
	"time"

	"github.com/ombud/ombud/entry"
)

// erase checks that an erased object is not on hold and records its
// first erasure.
func (r *rules) erase(idx uint64, b *entry.Erase, add adder) {
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
