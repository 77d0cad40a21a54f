package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ombud/ombud"
)

func (m *Memory) CreateIssuer(_ context.Context, i *ombud.Issuer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.issuers[i.Name]; ok {
		return fmt.Errorf("issuer %s: %w", i.Name, ombud.ErrExists)
	}
	c := *i
	m.issuers[i.Name] = &c
	return nil
}

func (m *Memory) Issuers(_ context.Context) ([]*ombud.Issuer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*ombud.Issuer
	for _, i := range m.issuers {
		c := *i
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *ombud.Issuer) int { return cmpString(a.Name, b.Name) })
	return out, nil
}

func (m *Memory) CreateAuthorization(_ context.Context, a *ombud.RegisteredAuthorization) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.auths[a.ID]; ok {
		return fmt.Errorf("authorization %s: %w", a.ID, ombud.ErrExists)
	}
	c := *a
	c.Uses, c.Revoked = 0, nil
	m.auths[a.ID] = &c
	return nil
}

func (m *Memory) Authorization(_ context.Context, id string) (*ombud.RegisteredAuthorization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.auths[id]
	if !ok {
		return nil, fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
	}
	c := *a
	return &c, nil
}

func (m *Memory) RevokeAuthorization(_ context.Context, id, reason string, at time.Time, index uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.auths[id]
	if !ok {
		return fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
	}
	if a.Revoked != nil {
		return fmt.Errorf("authorization %s is already revoked: %w", id, ombud.ErrExists)
	}
	a.Revoked, a.RevokeReason, a.RevokeIndex = &at, reason, index
	return nil
}

func (m *Memory) UseAuthorization(_ context.Context, id string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.auths[id]
	if !ok {
		return 0, fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
	}
	if a.Revoked != nil || a.Uses >= a.MaxUses {
		return 0, fmt.Errorf("authorization %s: %w", id, ombud.ErrExhausted)
	}
	a.Uses++
	return a.Uses, nil
}

func (m *Memory) RefundAuthorization(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.auths[id]; ok && a.Uses > 0 {
		a.Uses--
		return nil
	}
	return fmt.Errorf("authorization %s: %w", id, ombud.ErrNotFound)
}

func (m *Memory) LatestPolicy(_ context.Context) (int, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.policyVersion, m.policySHA, nil
}

func (m *Memory) RecordPolicy(_ context.Context, version int, sha string, _ uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if version <= m.policyVersion {
		return fmt.Errorf("policy version %d: %w", version, ombud.ErrExists)
	}
	m.policyVersion, m.policySHA = version, sha
	return nil
}

func (m *Memory) RecordEmergency(_ context.Context, e *ombud.Emergency) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *e
	m.emergencies = append(m.emergencies, &c)
	return nil
}

func (m *Memory) OpenEmergencies(_ context.Context) ([]*ombud.Emergency, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*ombud.Emergency
	for _, e := range m.emergencies {
		if e.CoveredBy == "" && e.BreachIndex == 0 {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *Memory) CoverEmergency(_ context.Context, index uint64, id string) error {
	return m.updateEmergency(index, func(e *ombud.Emergency) { e.CoveredBy = id })
}

func (m *Memory) BreachEmergency(_ context.Context, index, breach uint64) error {
	return m.updateEmergency(index, func(e *ombud.Emergency) { e.BreachIndex = breach })
}

func (m *Memory) updateEmergency(index uint64, f func(*ombud.Emergency)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.emergencies {
		if e.Index == index {
			f(e)
			return nil
		}
	}
	return fmt.Errorf("emergency %d: %w", index, ombud.ErrNotFound)
}
