package access

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ombud/ombud"
	"golang.org/x/mod/sumdb/note"
)

// Service keeps the issuer registry, the authorizations and the policy,
// and decides reads.
type Service struct {
	Store   ombud.Store
	Journal *ombud.Journal
	// PolicyPath is the Cedar policy file (DIR/policy.cedar).
	PolicyPath string
	// Jurisdiction of this deployment; an authorization must cover it.
	// Empty: not checked.
	Jurisdiction string
	Now          func() time.Time

	policy    atomic.Pointer[Policy]
	counters  sync.Map   // authorization id → *useCounter
	authCache sync.Map   // authorization id → *ombud.RegisteredAuthorization
	policyMu  sync.Mutex // serialises loads
	verifiers atomic.Pointer[note.Verifiers]
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Policy returns the policy in force.
func (s *Service) Policy() *Policy { return s.policy.Load() }

// LoadPolicy reads the policy file, checks it and, if its text changed
// since the last version recorded, logs a policy entry with its SHA-256 and
// then swaps it in atomically. A policy that fails its check is refused and
// the old one stays in force. It returns the version in force.
func (s *Service) LoadPolicy(ctx context.Context, by string) (version int, changed bool, err error) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	text, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return 0, false, fmt.Errorf("failed to read policy: %w", err)
	}
	p, err := ParsePolicy(text)
	if err != nil {
		return 0, false, ombud.Errorf(ombud.CodeInvalid, "%v", err)
	}
	v, sha, err := s.Store.LatestPolicy(ctx)
	if err != nil {
		return 0, false, err
	}
	if sha == p.SHA {
		s.policy.Store(p)
		return v, false, nil
	}
	refs := map[string][]string{}
	if by != "" {
		refs["by"] = []string{by}
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindPolicy,
		Fields: map[string]any{"op": "set", "version": v + 1, "policy_sha256": p.SHA},
		Refs:   refs,
		Detail: map[string]any{"policy": string(text)},
	})
	if err != nil {
		return v, false, err
	}
	if err := s.Store.RecordPolicy(ctx, v+1, p.SHA, w.Index); err != nil {
		return v, false, err
	}
	s.policy.Store(p)
	return v + 1, true, nil
}

// RegisterIssuer logs and records an authority.
func (s *Service) RegisterIssuer(ctx context.Context, name, kind, jurisdiction, key, by string) (*ombud.Issuer, ombud.Written, error) {
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "key is not a note verifier key: %v", err)
	}
	if v.Name() != name {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "the key is named %q, not %q", v.Name(), name)
	}
	if !slices.Contains(ombud.IssuerKinds, kind) {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "kind must be one of %s", strings.Join(ombud.IssuerKinds, ", "))
	}
	if jurisdiction == "" || len(jurisdiction) > 64 {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "jurisdiction is required, e.g. EU-DE")
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindIssuer,
		Fields: map[string]any{"op": "register", "issuer": name, "issuer_kind": kind, "jurisdiction": jurisdiction, "key_id": fmt.Sprintf("%08x", v.KeyHash())},
		Refs:   map[string][]string{"by": {by}},
	})
	if err != nil {
		if e := new(ombud.EntryError); errors.As(err, &e) {
			return nil, ombud.Written{}, ombud.Errorf(ombud.CodeInvalid, "issuer name and jurisdiction must be codes (no spaces): %s", e.Reason)
		}
		return nil, ombud.Written{}, err
	}
	i := &ombud.Issuer{Name: name, Kind: kind, Jurisdiction: jurisdiction, Key: strings.TrimSpace(key), Registered: s.now(), Index: w.Index}
	if err := s.Store.CreateIssuer(ctx, i); err != nil {
		if errors.Is(err, ombud.ErrExists) {
			return nil, w, ombud.Errorf(ombud.CodeConflict, "issuer %q is already registered", name)
		}
		return nil, w, err
	}
	s.verifiers.Store(nil) // reload on next use
	return i, w, nil
}

func (s *Service) issuerVerifiers(ctx context.Context) (note.Verifiers, error) {
	if v := s.verifiers.Load(); v != nil {
		return *v, nil
	}
	is, err := s.Store.Issuers(ctx)
	if err != nil {
		return nil, err
	}
	var vs []note.Verifier
	for _, i := range is {
		v, err := note.NewVerifier(i.Key)
		if err != nil {
			return nil, fmt.Errorf("issuer %s has a bad key: %w", i.Name, err)
		}
		vs = append(vs, v)
	}
	list := note.VerifierList(vs...)
	s.verifiers.Store(&list)
	return list, nil
}

// RegisterAuthorization verifies a signed authorization against the issuer
// registry, validates it, turns its subjects into keyed pseudonyms, logs
// the registration and records it.
func (s *Service) RegisterAuthorization(ctx context.Context, msg []byte, by string) (*ombud.RegisteredAuthorization, ombud.Written, error) {
	vs, err := s.issuerVerifiers(ctx)
	if err != nil {
		return nil, ombud.Written{}, err
	}
	a, err := ombud.OpenAuthorization(msg, vs)
	if err != nil {
		return nil, ombud.Written{}, &ombud.Error{Code: ombud.CodeInvalid, Message: err.Error(), Err: err}
	}
	if _, err := s.Store.Authorization(ctx, a.ID); err == nil {
		return nil, ombud.Written{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already registered", a.ID)
	}
	ra := &ombud.RegisteredAuthorization{Authorization: *a, Note: string(msg), Registered: s.now()}
	var subjects []string
	for _, sub := range a.Subjects {
		if sub == "*" {
			ra.SubjectPseudonyms = append(ra.SubjectPseudonyms, "*")
			continue
		}
		subjects = append(subjects, sub)
		ra.SubjectPseudonyms = append(ra.SubjectPseudonyms, s.Journal.Key.Pseudonym("subject", sub))
	}
	refs := map[string][]string{"authorization": {a.ID}, "by": {by}}
	if len(subjects) > 0 {
		refs["subject"] = subjects
	}
	if len(a.ShareRecipients) > 0 {
		refs["recipient"] = a.ShareRecipients
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind: ombud.KindAuthorization,
		Fields: map[string]any{"op": "register", "auth_kind": a.Kind, "issuer": a.Issuer, "purposes": a.Purposes, "classes": a.Classes,
			"wildcard": a.Wildcard(), "not_before": a.NotBefore.Format(time.RFC3339), "not_after": a.NotAfter.Format(time.RFC3339),
			"max_uses": a.MaxUses, "jurisdiction": a.Jurisdiction},
		Refs:   refs,
		Detail: map[string]any{"id": a.ID, "case": a.Case, "note": string(msg)},
	})
	if err != nil {
		return nil, ombud.Written{}, err
	}
	ra.Index = w.Index
	if err := s.Store.CreateAuthorization(ctx, ra); err != nil {
		return nil, w, err
	}
	if err := s.coverEmergencies(ctx, ra); err != nil {
		return ra, w, err
	}
	return ra, w, nil
}

// coverEmergencies marks open emergency reads that a newly registered
// authorization covers: its window holds the time of the read, and it
// covers the purpose, the class and a subject of the object read.
func (s *Service) coverEmergencies(ctx context.Context, ra *ombud.RegisteredAuthorization) error {
	es, err := s.Store.OpenEmergencies(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if ra.Registered.After(e.Deadline) {
			continue
		}
		o, err := s.Store.Object(ctx, e.ObjectID)
		if err != nil {
			continue
		}
		if ra.Covers(e.At, e.Purpose, o.Class, o.Subjects, ra.SubjectPseudonyms, s.Jurisdiction) == "" {
			if err := s.Store.CoverEmergency(ctx, e.Index, ra.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Revoke logs and records a revocation.
func (s *Service) Revoke(ctx context.Context, id, reason, by string) (ombud.Written, error) {
	a, err := s.Store.Authorization(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return ombud.Written{}, ombud.Errorf(ombud.CodeNotFound, "no authorization %q", id)
	}
	if err != nil {
		return ombud.Written{}, err
	}
	if a.Revoked != nil {
		return ombud.Written{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already revoked", id)
	}
	w, err := s.Journal.Write(ctx, ombud.Record{
		Kind:   ombud.KindAuthorization,
		Fields: map[string]any{"op": "revoke", "auth_kind": a.Kind, "issuer": a.Issuer, "reason": reason},
		Refs:   map[string][]string{"authorization": {id}, "by": {by}},
	})
	if err != nil {
		return ombud.Written{}, err
	}
	err = s.Store.RevokeAuthorization(ctx, id, reason, s.now(), w.Index)
	s.authCache.Delete(id)
	return w, err
}
