package api

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
)

type issuerRequest struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Jurisdiction string `json:"jurisdiction"`
	Key          string `json:"key"`
}

func (s *Server) registerIssuer(w http.ResponseWriter, r *http.Request) {
	var req issuerRequest
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	i, wr, err := s.Custody.Access.RegisterIssuer(r.Context(), req.Name, req.Kind, req.Jurisdiction, req.Key, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusCreated, map[string]any{"name": i.Name, "kind": i.Kind, "jurisdiction": i.Jurisdiction, "receipt": wr.Index})
}

func (s *Server) listIssuers(w http.ResponseWriter, r *http.Request) {
	is, err := s.Store.Issuers(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, i := range is {
		out = append(out, map[string]any{"name": i.Name, "kind": i.Kind, "jurisdiction": i.Jurisdiction, "key": i.Key, "registered": i.Registered, "receipt": i.Index})
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": out})
}

// AuthorizationJSON is a registered authorization as the API shows it: no
// subjects and no case reference.
type AuthorizationJSON struct {
	ID           string     `json:"id"`
	Issuer       string     `json:"issuer"`
	Kind         string     `json:"kind"`
	Purposes     []string   `json:"purposes"`
	Classes      []string   `json:"classes"`
	Wildcard     bool       `json:"wildcard"`
	NotBefore    time.Time  `json:"not_before"`
	NotAfter     time.Time  `json:"not_after"`
	MaxUses      int        `json:"max_uses"`
	Uses         int        `json:"uses"`
	Jurisdiction string     `json:"jurisdiction"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	Receipt      uint64     `json:"receipt"`
}

func authorizationJSON(a *ombud.RegisteredAuthorization) AuthorizationJSON {
	return AuthorizationJSON{ID: a.ID, Issuer: a.Issuer, Kind: a.Kind, Purposes: a.Purposes, Classes: a.Classes, Wildcard: a.Wildcard(),
		NotBefore: a.NotBefore, NotAfter: a.NotAfter, MaxUses: a.MaxUses, Uses: a.Uses, Jurisdiction: a.Jurisdiction, Revoked: a.Revoked, Receipt: a.Index}
}

func (s *Server) registerAuthorization(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ombud.MaxAuthorizationSize))
	if err != nil {
		writeError(w, r, jsonError(err, ombud.MaxAuthorizationSize))
		return
	}
	a, wr, err := s.Custody.Access.RegisterAuthorization(r.Context(), body, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusCreated, authorizationJSON(a))
}

func (s *Server) getAuthorization(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.Authorization(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such authorization"))
		return
	}
	writeJSON(w, http.StatusOK, authorizationJSON(a))
}

func (s *Server) revokeAuthorization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	wr, err := s.Custody.Access.Revoke(r.Context(), r.PathValue("id"), req.Reason, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, map[string]any{"id": r.PathValue("id"), "revoked": true})
}

func (s *Server) reloadPolicy(w http.ResponseWriter, r *http.Request) {
	v, changed, err := s.Custody.Access.LoadPolicy(r.Context(), caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v, "changed": changed, "policy_sha256": s.Custody.Access.Policy().SHA})
}
