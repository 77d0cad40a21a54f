package store

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ombud/ombud"
)

// Memory is an in-memory ombud.Store for unit tests. It is not durable.
type Memory struct {
	mu         sync.Mutex
	principals map[string]ombud.Principal
	details    map[string]ombud.Detail
}

var _ ombud.Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{principals: map[string]ombud.Principal{}, details: map[string]ombud.Detail{}}
}

func (m *Memory) PutDetails(_ context.Context, ds []ombud.Detail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		if _, ok := m.details[d.Commitment]; !ok {
			m.details[d.Commitment] = d
		}
	}
	return nil
}

func (m *Memory) Detail(_ context.Context, c string) (ombud.Detail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.details[c]
	if !ok {
		return ombud.Detail{Commitment: c}, fmt.Errorf("detail %s: %w", c, ombud.ErrNotFound)
	}
	return d, nil
}

func (m *Memory) EraseDetail(_ context.Context, c string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.details[c]; !ok {
		return fmt.Errorf("detail %s: %w", c, ombud.ErrNotFound)
	}
	m.details[c] = ombud.Detail{Commitment: c}
	return nil
}

func (m *Memory) CreatePrincipal(_ context.Context, p *ombud.Principal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.principals[p.ID]; ok {
		return fmt.Errorf("principal %s: %w", p.ID, ombud.ErrExists)
	}
	m.principals[p.ID] = clonePrincipal(p)
	return nil
}

func clonePrincipal(p *ombud.Principal) ombud.Principal {
	c := *p
	c.Roles = slices.Clone(p.Roles)
	c.TokenHash = slices.Clone(p.TokenHash)
	return c
}

func (m *Memory) Principal(_ context.Context, id string) (*ombud.Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.principals[id]
	if !ok {
		return nil, fmt.Errorf("principal %s: %w", id, ombud.ErrNotFound)
	}
	c := clonePrincipal(&p)
	return &c, nil
}

func (m *Memory) Principals(_ context.Context) ([]*ombud.Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*ombud.Principal, 0, len(m.principals))
	for _, p := range m.principals {
		c := clonePrincipal(&p)
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *ombud.Principal) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *Memory) SetPrincipalDisabled(_ context.Context, id string, disabled bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.principals[id]
	if !ok {
		return fmt.Errorf("principal %s: %w", id, ombud.ErrNotFound)
	}
	p.Disabled = disabled
	m.principals[id] = p
	return nil
}

func (m *Memory) Ping(context.Context) error { return nil }
func (m *Memory) Close() error               { return nil }
