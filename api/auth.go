package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ombud/ombud"
)

type ctxKey struct{}

// caller returns the authenticated principal of r.
func caller(r *http.Request) *ombud.Principal {
	p, _ := r.Context().Value(ctxKey{}).(*ombud.Principal)
	return p
}

// dummyHash is compared against when a token names no principal, so the
// time taken does not tell whether an id exists.
var dummyHash = make([]byte, 32)

// authenticate resolves the bearer token to an enabled principal.
func (s *Server) authenticate(r *http.Request) (*ombud.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if h == "" {
		return nil, ombud.Errorf(ombud.CodeUnauthenticated, "missing Authorization: Bearer token")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, ombud.Errorf(ombud.CodeUnauthenticated, "Authorization must be: Bearer TOKEN")
	}
	return Authenticate(r.Context(), s.Store, raw)
}

// PrincipalStore is what Authenticate reads.
type PrincipalStore interface {
	Principal(ctx context.Context, id string) (*ombud.Principal, error)
}

// Authenticate resolves a token to an enabled principal, comparing its
// secret in constant time and taking as long when the id names no one.
func Authenticate(ctx context.Context, st PrincipalStore, raw string) (*ombud.Principal, error) {
	bad := ombud.Errorf(ombud.CodeUnauthenticated, "invalid or disabled token")
	tok, err := ombud.ParseToken(strings.TrimSpace(raw))
	if err != nil {
		return nil, bad
	}
	p, err := st.Principal(ctx, tok.PrincipalID())
	if errors.Is(err, ombud.ErrNotFound) {
		tok.Matches(dummyHash)
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !tok.Matches(p.TokenHash) || p.Disabled {
		return nil, bad
	}
	return p, nil
}

// auth wraps h so that it runs only for a principal holding one of roles
// (any authenticated principal when roles is nil).
func (s *Server) auth(roles []ombud.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if roles != nil && !slices.ContainsFunc(roles, p.Has) {
			writeError(w, r, ombud.Errorf(ombud.CodeForbidden, "this needs the role %s", joinRoles(roles)))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

func joinRoles(rs []ombud.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
