package custody

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// AddPrincipal creates a principal through the one pattern: the principal
// is reserved in the store (invisible, unable to authenticate), its
// creation is logged, and only then can it act. by is the creating
// principal's id ("" at bootstrap). The token is shown once, to the caller.
func (s *Service) AddPrincipal(ctx context.Context, name string, roles []ombud.Role, by string) (*ombud.Principal, ombud.Token, journal.Leaf, error) {
	if slices.Contains(roles, ombud.RoleSystem) {
		return nil, ombud.Token{}, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "roles: a system principal has the system role alone, and names its registered system")
	}
	return s.addPrincipal(ctx, name, roles, "", by)
}

// AddSystemPrincipal creates a machine: a principal of the system role
// alone, bound to the registered analytic system system, which reads only
// through that system's runs.
func (s *Service) AddSystemPrincipal(ctx context.Context, name, system, by string) (*ombud.Principal, ombud.Token, journal.Leaf, error) {
	if system == "" {
		return nil, ombud.Token{}, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "system: name the registered analytic system this principal acts for")
	}
	p, tok, w, err := s.addPrincipal(ctx, name, []ombud.Role{ombud.RoleSystem}, system, by)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, ombud.Token{}, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no analytic system %.40q is registered", system)
	}
	return p, tok, w, err
}

func (s *Service) addPrincipal(ctx context.Context, name string, roles []ombud.Role, system, by string) (*ombud.Principal, ombud.Token, journal.Leaf, error) {
	if err := ombud.ValidatePrincipal(name, roles); err != nil {
		return nil, ombud.Token{}, journal.Leaf{}, err
	}
	id := ombud.NewID()
	tok := ombud.NewToken(id)
	p := &ombud.Principal{ID: id, Name: name, Roles: slices.Clone(roles), TokenHash: tok.Hash(), Created: time.Now().UTC().Truncate(time.Millisecond), System: system}
	c, err := journal.PrincipalCreate.Change(id, journal.PrincipalPayload{Principal: p})
	if err != nil {
		return nil, ombud.Token{}, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Principal{Op: entry.OpCreate, Roles: roleStrings(roles), Principal: id, System: system, By: by},
		Detail: entry.PrincipalDetail{ID: id, Name: name, Roles: roleStrings(roles)},
	}, nil)
	if err != nil {
		return nil, ombud.Token{}, journal.Leaf{}, err
	}
	return p, tok, w, nil
}

// DisablePrincipal disables principal id through the one pattern, once
// every read it has had decided is logged, so that no permit of its
// follows its disabling in the log.
func (s *Service) DisablePrincipal(ctx context.Context, id, by string) (journal.Leaf, error) {
	release, err := s.gates.exclusive(ctx, principalGate(id))
	if err != nil {
		return journal.Leaf{}, err
	}
	defer release()
	p, err := s.Store.Principal(ctx, id)
	if err != nil {
		return journal.Leaf{}, err
	}
	c, err := journal.PrincipalDisable.Change(id, journal.None{})
	if err != nil {
		return journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Principal{Op: entry.OpDisable, Roles: roleStrings(p.Roles), Principal: id, By: by},
	}, nil)
	if errors.Is(err, ombud.ErrDisabled) {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "principal %s is already disabled", id)
	}
	if err == nil {
		s.disabled.Store(id, true)
	}
	return w, err
}
