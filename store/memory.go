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
	details    map[detailKey]ombud.Detail
	objects    map[string]*ombud.Object
	issuers    map[string]*ombud.Issuer
	auths      map[string]*ombud.RegisteredAuthorization

	policyVersion int
	policySHA     string
	emergencies   []*ombud.Emergency
}

var _ ombud.Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{principals: map[string]ombud.Principal{}, details: map[detailKey]ombud.Detail{}, objects: map[string]*ombud.Object{}, issuers: map[string]*ombud.Issuer{}, auths: map[string]*ombud.RegisteredAuthorization{}}
}

type detailKey struct {
	ms int64
	c  string
}

func keyOf(k ombud.DetailKey) detailKey { return detailKey{k.Time.UnixMilli(), k.Commitment} }

func (m *Memory) PutDetails(_ context.Context, ds []ombud.Detail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		if d.Commitment == "" || d.Time.IsZero() || d.Body == nil {
			return fmt.Errorf("memory: detail %q is incomplete", d.Commitment)
		}
		if _, ok := m.details[keyOf(d.Key())]; !ok {
			m.details[keyOf(d.Key())] = d
		}
	}
	return nil
}

func (m *Memory) Detail(_ context.Context, k ombud.DetailKey) (ombud.Detail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.details[keyOf(k)]
	if !ok {
		return ombud.Detail{Commitment: k.Commitment, Time: k.Time}, fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
	}
	return d, nil
}

func (m *Memory) EraseDetail(_ context.Context, k ombud.DetailKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.details[keyOf(k)]; !ok {
		return fmt.Errorf("detail %s: %w", k.Commitment, ombud.ErrNotFound)
	}
	m.details[keyOf(k)] = ombud.Detail{Commitment: k.Commitment, Time: k.Time}
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
