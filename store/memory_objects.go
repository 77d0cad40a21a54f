package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ombud/ombud"
)

func cloneObject(o *ombud.Object) *ombud.Object {
	c := *o
	c.Subjects = slices.Clone(o.Subjects)
	c.CipherSHA = slices.Clone(o.CipherSHA)
	c.WrappedKeyset = slices.Clone(o.WrappedKeyset)
	if o.Hold != nil {
		h := *o.Hold
		c.Hold = &h
	}
	if o.Erased != nil {
		e := *o.Erased
		c.Erased = &e
	}
	return &c
}

func (m *Memory) CreateObject(_ context.Context, o *ombud.Object) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[o.ID]; ok {
		return fmt.Errorf("object %s: %w", o.ID, ombud.ErrExists)
	}
	c := cloneObject(o)
	c.Pending, c.IngestIndex, c.Hold, c.Erased = true, 0, nil, nil
	m.objects[o.ID] = c
	return nil
}

func (m *Memory) Object(_ context.Context, id string) (*ombud.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[id]
	if !ok {
		return nil, fmt.Errorf("object %s: %w", id, ombud.ErrNotFound)
	}
	return cloneObject(o), nil
}

func (m *Memory) update(id string, f func(o *ombud.Object) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[id]
	if !ok || !f(o) {
		return fmt.Errorf("object %s: %w", id, ombud.ErrNotFound)
	}
	return nil
}

func (m *Memory) SetIngestIndex(_ context.Context, id string, index uint64) error {
	return m.update(id, func(o *ombud.Object) bool { o.IngestIndex, o.Pending = index, false; return true })
}

func (m *Memory) SetHold(_ context.Context, id string, h *ombud.Hold) error {
	return m.update(id, func(o *ombud.Object) bool {
		o.Hold = nil
		if h != nil {
			c := *h
			o.Hold = &c
		}
		return true
	})
}

func (m *Memory) DestroyKeyset(_ context.Context, id, reason string) error {
	return m.update(id, func(o *ombud.Object) bool { o.WrappedKeyset, o.ShredReason = nil, reason; return true })
}

func (m *Memory) MarkErased(_ context.Context, id string, e ombud.Erasure) error {
	return m.update(id, func(o *ombud.Object) bool { o.WrappedKeyset, o.Erased, o.ShredReason = nil, &e, ""; return true })
}

func (m *Memory) list(limit int, keep func(*ombud.Object) bool, less func(a, b *ombud.Object) int) []*ombud.Object {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*ombud.Object
	for _, o := range m.objects {
		if keep(o) {
			out = append(out, cloneObject(o))
		}
	}
	slices.SortFunc(out, less)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func byID(a, b *ombud.Object) int { return cmpString(a.ID, b.ID) }

func (m *Memory) ExpiredObjects(_ context.Context, now time.Time, limit int) ([]*ombud.Object, error) {
	return m.list(limit, func(o *ombud.Object) bool { return !o.Pending && o.Expired(now) },
		func(a, b *ombud.Object) int { return a.RetainUntil.Compare(b.RetainUntil) }), nil
}

func (m *Memory) UnfinishedErasures(_ context.Context, limit int) ([]*ombud.Object, error) {
	return m.list(limit, func(o *ombud.Object) bool { return o.Erased == nil && o.WrappedKeyset == nil }, byID), nil
}

func (m *Memory) PendingObjects(_ context.Context, limit int) ([]*ombud.Object, error) {
	return m.list(limit, func(o *ombud.Object) bool { return o.Pending && o.WrappedKeyset != nil }, byID), nil
}

func (m *Memory) ObjectsBelowKEK(_ context.Context, version, limit int) ([]*ombud.Object, error) {
	return m.list(limit, func(o *ombud.Object) bool { return o.WrappedKeyset != nil && o.KEKVersion < version }, byID), nil
}

func (m *Memory) Rewrap(_ context.Context, id string, old int, wrapped []byte, version int) error {
	return m.update(id, func(o *ombud.Object) bool {
		if o.KEKVersion != old || o.WrappedKeyset == nil {
			return false
		}
		o.WrappedKeyset, o.KEKVersion = slices.Clone(wrapped), version
		return true
	})
}
