package access

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/vocab"
)

// Store is what access reads of the metadata store: the authorizations
// and their uses, the objects it decides on, and the emergency reads an
// authorization covers. store.Store satisfies it.
type Store interface {
	ombud.AuthorizationStore
	Object(ctx context.Context, id string) (*ombud.Object, error)
	OpenEmergencies(ctx context.Context) ([]*ombud.Emergency, error)
	CoverEmergency(ctx context.Context, index uint64, authorizationID string) error
}

// Config is what an access service is built from (New). Store, Journal
// and PolicyPath are required.
type Config struct {
	Store   Store
	Journal *journal.Journal
	// PolicyPath is the Cedar policy file (DIR/policy.cedar).
	PolicyPath string
	// Jurisdiction of this deployment; an authorization must cover it.
	// Empty is the placeholder, which covers no real jurisdiction.
	Jurisdiction string
	// IssuerKinds says which authorization kinds each kind of issuer may
	// sign; nil takes no issuer kind as able to sign anything.
	IssuerKinds map[string][]string
	// Vocabulary holds the registered codes of public fields.
	Vocabulary vocab.Vocabulary
	// Classes are the configured data classes.
	Classes map[string]ombud.Class
	// Gates are the gates reads and changes share (see package
	// internal/gate): an authorization's is Gate(id). nil makes the
	// service its own.
	Gates *gate.Set
	Now   func() time.Time
}

// Service keeps the issuer registry, the authorizations and the policy,
// and decides reads. Build it with New, then load its policy (LoadPolicy).
type Service struct {
	Config

	policy    atomic.Pointer[Policy]
	gates     *gate.Set  // Gate(id): reads shared, revocation alone
	counters  sync.Map   // authorization id → *useCounter
	authCache sync.Map   // authorization id → *ombud.RegisteredAuthorization
	policyMu  sync.Mutex // serialises loads
	verifiers atomic.Pointer[note.Verifiers]
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("access: no metadata store")
	case c.Journal == nil:
		return nil, errors.New("access: no journal")
	case c.PolicyPath == "":
		return nil, errors.New("access: no policy file")
	}
	s := &Service{Config: c, gates: c.Gates}
	if s.gates == nil {
		s.gates = new(gate.Set)
	}
	return s, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Gates returns the gates this service orders revocations by, for the
// services whose reads cite authorizations.
func (s *Service) Gates() *gate.Set { return s.gates }

// Gate names the gate of authorization id: a read citing it holds it
// shared until the read's decision is logged; a revocation holds it alone.
func Gate(id string) string { return "authorization:" + id }

// Shared reports whether other gateways share this one's store, so that
// what this process holds in memory may be out of date: their gates are
// then the store's (gate.Set.Locker).
func (s *Service) Shared() bool { return s.gates.Locker != nil }

// Policy returns the policy in force.
func (s *Service) Policy() *Policy { return s.policy.Load() }

// StartPolicy loads the policy at a gateway's start. One gateway loads
// its file as LoadPolicy does, logging a changed version. A gateway that
// shares its store with others only takes the version in force: its file
// must be that version, or it does not start, so that a gateway started
// with another file cannot change the policy of every gateway; a new
// version is loaded through a running gateway (LoadPolicy). The first
// gateway of a deployment logs the first version.
func (s *Service) StartPolicy(ctx context.Context) error {
	if !s.Shared() {
		_, _, err := s.LoadPolicy(ctx, "")
		if errors.Is(err, ombud.ErrQuorumRequired) {
			// A changed file at a start is a change of policy, which the
			// quorum does not let one person make.
			return fmt.Errorf("%s is not the policy in force, and multi-party approval is on, so the file alone cannot change it: start with the policy in force, then propose the new file through the running gateway ('ombud propose policy.reload') for another admin to approve: %w", filepath.Base(s.PolicyPath), err)
		}
		return err
	}
	v, sha, err := s.Store.LatestPolicy(ctx)
	if err != nil {
		return err
	}
	if v == 0 {
		_, _, err := s.LoadPolicy(ctx, "")
		return err
	}
	text, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return fmt.Errorf("failed to read policy: %w", err)
	}
	p, err := ParsePolicy(text)
	if err != nil {
		return err
	}
	if p.SHA != sha {
		return fmt.Errorf("%s is not the policy in force (version %d, sha256 %s): give this gateway the deployment's policy file; to change the policy, change every gateway's file and reload it through one ('ombud policy reload')", filepath.Base(s.PolicyPath), v, sha)
	}
	s.policy.Store(p)
	return nil
}

// Current returns the policy in force for a caller without a context
// (the review of actions, the disclosure page): with other gateways, the
// store's latest version, loaded if this gateway has not yet; nil when
// that cannot be had, which the caller refuses on.
func (s *Service) Current() *Policy {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := s.policyInForce(ctx)
	if err != nil {
		return nil
	}
	return p
}

// PolicyGate names the policy's gate: a read holds it shared until its
// decision is logged, a reload alone while it logs the new version.
const PolicyGate = "policy"

// policyInForce returns the policy to decide by. When other gateways share
// the store, one of them may have loaded a new version: the store's latest
// is checked, and this gateway's policy file loaded again if it is not
// the one in memory. A file that is not the version in force is refused:
// the gateway decides nothing rather than decide by another policy.
func (s *Service) policyInForce(ctx context.Context) (*Policy, error) {
	p := s.Policy()
	if !s.Shared() {
		if p == nil {
			return nil, errors.New("access: no policy loaded")
		}
		return p, nil
	}
	v, sha, err := s.Store.LatestPolicy(ctx)
	if err != nil {
		return nil, err
	}
	if p != nil && p.SHA == sha {
		return p, nil
	}
	text, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read policy: %w", err)
	}
	np, err := ParsePolicy(text)
	if err != nil || np.SHA != sha {
		return nil, ombud.Errorf(ombud.CodeUnavailable, "another gateway loaded policy version %d, and this gateway's %s is not it: give every gateway the same policy file", v, filepath.Base(s.PolicyPath))
	}
	s.policy.Store(np)
	return np, nil
}

// LoadPolicy reads the policy file, checks it and, if its text changed
// since the last version recorded, logs a policy entry with its SHA-256 and
// then swaps it in atomically. A policy that fails its check is refused and
// the old one stays in force. It returns the version in force.
func (s *Service) LoadPolicy(ctx context.Context, by string) (version int, changed bool, err error) {
	return s.LoadPolicyPinned(ctx, by, "")
}

// FilePolicy reads and checks the policy file, as LoadPolicy would load
// it, without loading it.
func (s *Service) FilePolicy() (*Policy, error) {
	text, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read policy: %w", err)
	}
	p, err := ParsePolicy(text)
	if err != nil {
		return nil, ombud.Errorf(ombud.CodeInvalid, "%v", err)
	}
	return p, nil
}

// LoadPolicyPinned is LoadPolicy of the policy whose SHA-256 is sha ("" for
// whatever the file holds): a proposal approves one text, and a file
// changed since is refused (policy_changed), not loaded.
func (s *Service) LoadPolicyPinned(ctx context.Context, by, sha string) (version int, changed bool, err error) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	// Every read decided by the old version is logged before the new
	// one, in every gateway.
	h := s.gates.Begin()
	defer h.Release()
	if err := h.Exclusive(ctx, PolicyGate); err != nil {
		return 0, false, err
	}
	text, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return 0, false, fmt.Errorf("failed to read policy: %w", err)
	}
	p, err := ParsePolicy(text)
	if err != nil {
		return 0, false, ombud.Errorf(ombud.CodeInvalid, "%v", err)
	}
	if want := sha; want != "" && p.SHA != want {
		return 0, false, &ombud.Error{Code: ombud.CodeConflict, Reason: "policy_changed",
			Message: fmt.Sprintf("the policy file's SHA-256 is %s, not the %s proposed: it changed since; propose the file as it is now", p.SHA, want)}
	}
	v, sha, err := s.Store.LatestPolicy(ctx)
	if err != nil {
		return 0, false, err
	}
	if sha == p.SHA {
		s.policy.Store(p)
		return v, false, nil
	}
	c, err := journal.PolicySet.Change("", journal.PolicyPayload{Version: v + 1, SHA: p.SHA})
	if err != nil {
		return 0, false, err
	}
	_, err = s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Policy{Op: entry.OpSet, Version: int64(v + 1), PolicySHA256: p.SHA, By: by},
		Detail: entry.PolicyDetail{Policy: string(text)},
	}, nil)
	if errors.Is(err, ombud.ErrStale) {
		return v, false, ombud.Errorf(ombud.CodeConflict, "another policy version was recorded meanwhile; reload again")
	}
	if err != nil {
		return v, false, err
	}
	s.policy.Store(p)
	return v + 1, true, nil
}

// RegisterIssuer logs and records an authority.
func (s *Service) RegisterIssuer(ctx context.Context, name, kind, jurisdiction, key, by string) (*ombud.Issuer, journal.Leaf, error) {
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "key is not a note verifier key: %v", err)
	}
	if v.Name() != name {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "the key is named %q, not %q", v.Name(), name)
	}
	if !ombud.IsIssuerName(name) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "issuer names are public, and look like court.example/district-3: a host name, then /-separated parts of A-Z a-z 0-9 . _ -")
	}
	if err := ombud.CheckPublicValue("name", name); err != nil {
		return nil, journal.Leaf{}, err
	}
	if !slices.Contains(ombud.IssuerKinds, kind) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "kind must be one of %s", strings.Join(ombud.IssuerKinds, ", "))
	}
	if err := s.Vocabulary.Check(vocab.Jurisdiction, "jurisdiction", jurisdiction); err != nil {
		return nil, journal.Leaf{}, err
	}
	i := &ombud.Issuer{Name: name, Kind: kind, Jurisdiction: jurisdiction, Key: strings.TrimSpace(key), Registered: s.now()}
	c, err := journal.IssuerRegister.Change(name, journal.IssuerPayload{Issuer: i})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Issuer{Op: entry.OpRegister, Issuer: name, IssuerKind: kind, Jurisdiction: jurisdiction, KeyID: fmt.Sprintf("%08x", v.KeyHash()), By: by},
	}, func(ctx context.Context, c *journal.Change, w journal.Leaf) error {
		if err := s.Journal.CommitStore(ctx, c, w); err != nil {
			return err
		}
		s.verifiers.Store(nil) // reload on next use
		return nil
	})
	switch e := new(entry.Error); {
	case errors.As(err, &e):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeInvalid, "issuer name and jurisdiction must be codes (no spaces): %s", e.Reason)
	case errors.Is(err, ombud.ErrExists):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "issuer %q is already registered", name)
	case err != nil:
		return nil, journal.Leaf{}, err
	}
	i.Index = w.Index
	return i, w, nil
}

func (s *Service) issuerVerifiers(ctx context.Context) (note.Verifiers, error) {
	// Another gateway may have registered an issuer since: a shared
	// store is read every time (registrations are rare).
	if v := s.verifiers.Load(); v != nil && !s.Shared() {
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
func (s *Service) RegisterAuthorization(ctx context.Context, msg []byte, by string) (*ombud.RegisteredAuthorization, journal.Leaf, error) {
	vs, err := s.issuerVerifiers(ctx)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	a, err := ombud.OpenAuthorization(msg, vs)
	if err != nil {
		return nil, journal.Leaf{}, &ombud.Error{Code: ombud.CodeInvalid, Message: err.Error(), Err: err}
	}
	if err := s.checkScope(ctx, a); err != nil {
		return nil, journal.Leaf{}, err
	}
	if _, err := s.Store.Authorization(ctx, a.ID); err == nil {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already registered", a.ID)
	}
	ra := &ombud.RegisteredAuthorization{Authorization: *a, Note: string(msg), Registered: s.now()}
	var subjects []string // keyed, without the wildcard
	for _, sub := range a.Subjects {
		if sub == "*" {
			ra.SubjectPseudonyms = append(ra.SubjectPseudonyms, "*")
			continue
		}
		ps := s.Journal.Key.Pseudonym("subject", sub)
		subjects = append(subjects, ps)
		ra.SubjectPseudonyms = append(ra.SubjectPseudonyms, ps)
	}
	c, err := journal.AuthorizationRegister.Change(a.ID, journal.AuthorizationPayload{Authorization: ra})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	shareUntil := ""
	if !a.ShareUntil.IsZero() {
		shareUntil = a.ShareUntil.Format(time.RFC3339)
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Authorization{Op: entry.OpRegister, ShareUntil: shareUntil, AuthKind: a.Kind, Issuer: a.Issuer, Purposes: a.Purposes, Classes: a.Classes,
			Wildcard: a.Wildcard(), NotBefore: a.NotBefore.Format(time.RFC3339), NotAfter: a.NotAfter.Format(time.RFC3339),
			MaxUses: int64(a.MaxUses), Jurisdiction: a.Jurisdiction,
			TransferJurisdictions: a.TransferJurisdictions, ShareOnward: a.ShareOnward,
			Authorization: a.ID, Subject: subjects, Recipient: a.ShareRecipients, By: by},
		Detail: entry.AuthorizationDetail{Case: a.Case, ID: a.ID, Note: string(msg)},
	}, s.commitAuthorization)
	if errors.Is(err, ombud.ErrExists) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already registered", a.ID)
	}
	if err != nil {
		return nil, w, err
	}
	ra.Index = w.Index
	return ra, w, nil
}

// commitAuthorization makes a logged registration take effect and marks
// the open emergency reads it covers.
func (s *Service) commitAuthorization(ctx context.Context, c *journal.Change, w journal.Leaf) error {
	if err := s.Journal.CommitStore(ctx, c, w); err != nil {
		return err
	}
	_, p, err := journal.AuthorizationRegister.Decode(c)
	if err != nil {
		return err
	}
	return s.coverEmergencies(ctx, p.Authorization)
}

// checkScope refuses an authorization its issuer may not sign, or whose
// public fields are not registered codes: its jurisdiction must be in the
// vocabulary and within the issuer's, its kind one the issuer's kind may
// sign, its purposes registered, its classes configured.
func (s *Service) checkScope(ctx context.Context, a *ombud.Authorization) error {
	is, err := s.Store.Issuers(ctx)
	if err != nil {
		return err
	}
	k := slices.IndexFunc(is, func(i *ombud.Issuer) bool { return i.Name == a.Issuer })
	if k < 0 {
		return ombud.Errorf(ombud.CodeInvalid, "%v", ombud.ErrUnknownIssuer)
	}
	i := is[k]
	if err := s.Vocabulary.Check(vocab.Jurisdiction, "the authorization's jurisdiction", a.Jurisdiction); err != nil {
		return err
	}
	if !ombud.JurisdictionCovers(i.Jurisdiction, a.Jurisdiction) {
		return ombud.Errorf(ombud.CodeInvalid, "issuer %s is registered for jurisdiction %s, which does not cover the authorization's %s", i.Name, i.Jurisdiction, a.Jurisdiction)
	}
	if !slices.Contains(s.IssuerKinds[i.Kind], a.Kind) {
		may := strings.Join(s.IssuerKinds[i.Kind], ", ")
		if may == "" {
			may = "none"
		}
		return ombud.Errorf(ombud.CodeInvalid, "an issuer of kind %s may not sign a %s (it may sign: %s)", i.Kind, a.Kind, may)
	}
	for _, p := range a.Purposes {
		if err := s.Vocabulary.Check(vocab.Purpose, "each purpose of the authorization", p); err != nil {
			return err
		}
	}
	for _, c := range append(slices.Clone(a.Classes), a.ShareClasses...) {
		if _, ok := s.Classes[c]; !ok {
			return ombud.Errorf(ombud.CodeInvalid, "the authorization names a class that is not configured; classes: %s", strings.Join(s.classNames(), ", "))
		}
	}
	// A window already past is allowed: such an authorization covers no
	// read to come, but may cover an emergency read made within it.
	for _, r := range a.ShareRecipients {
		if !isRecipient(r) {
			return ombud.Errorf(ombud.CodeInvalid, "share-recipient must be a registered recipient's code")
		}
	}
	for _, j := range a.TransferJurisdictions {
		if err := s.Vocabulary.Check(vocab.Jurisdiction, "each transfer-jurisdiction of the authorization", j); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) classNames() []string {
	out := make([]string, 0, len(s.Classes))
	for n := range s.Classes {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// isRecipient: recipients become keyed pseudonyms in the log; until a
// recipient registry exists they are codes.
func isRecipient(r string) bool { return r != "" && len(r) <= 64 }

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

// Revoke revokes an authorization through the one pattern. It holds the
// authorization's gate alone, so that every read already admitted under it
// is logged before the revocation is.
func (s *Service) Revoke(ctx context.Context, id, reason, by string) (journal.Leaf, error) {
	if err := s.Vocabulary.Check(vocab.RevokeReason, "reason", reason); err != nil {
		return journal.Leaf{}, err
	}
	a, err := s.Store.Authorization(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no authorization %q", id)
	}
	if err != nil {
		return journal.Leaf{}, err
	}
	if a.Revoked != nil {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already revoked", id)
	}
	h := s.gates.Begin()
	defer h.Release()
	if err := h.Exclusive(ctx, Gate(id)); err != nil {
		return journal.Leaf{}, err
	}
	c, err := journal.AuthorizationRevoke.Change(id, journal.RevokePayload{Reason: reason, At: s.now()})
	if err != nil {
		return journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Authorization{Op: entry.OpRevoke, AuthKind: a.Kind, Issuer: a.Issuer, Reason: reason, Authorization: id, By: by},
	}, s.CommitRevoke)
	if errors.Is(err, ombud.ErrRevoked) {
		return journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "authorization %q is already revoked", id)
	}
	return w, err
}

// CommitRevoke makes a logged revocation take effect and drops the
// authorization from the caches.
func (s *Service) CommitRevoke(ctx context.Context, c *journal.Change, w journal.Leaf) error {
	err := s.Journal.CommitStore(ctx, c, w)
	id, _ := journal.AuthorizationRevoke.TargetID(c) // Committer hands it only revocations
	s.authCache.Delete(id)
	s.counters.Delete(id)
	return err
}

// Committer returns the committer of op when this service does more than
// the store's commit, for recovery (nil otherwise).
func (s *Service) Committer(op journal.Op) journal.Committer {
	switch op {
	case journal.AuthorizationRegister.Op:
		return s.commitAuthorization
	case journal.AuthorizationRevoke.Op:
		return s.CommitRevoke
	case journal.IssuerRegister.Op:
		return func(ctx context.Context, c *journal.Change, w journal.Leaf) error {
			err := s.Journal.CommitStore(ctx, c, w)
			s.verifiers.Store(nil)
			return err
		}
	}
	return nil
}
