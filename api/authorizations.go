package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
)

func (s *Server) registerIssuer(w http.ResponseWriter, r *http.Request) {
	var req apiv1.RegisterIssuer
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
	writeJSON(w, http.StatusCreated, apiv1.Issuer{Name: i.Name, Kind: i.Kind, Jurisdiction: i.Jurisdiction, Receipt: wr.Index})
}

func (s *Server) listIssuers(w http.ResponseWriter, r *http.Request) {
	is, err := s.Store.Issuers(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.Issuers{Issuers: []apiv1.Issuer{}}
	for _, i := range is {
		out.Issuers = append(out.Issuers, apiv1.Issuer{Name: i.Name, Kind: i.Kind, Jurisdiction: i.Jurisdiction, Key: i.Key, Registered: &i.Registered, Receipt: i.Index})
	}
	writeJSON(w, http.StatusOK, out)
}

func authorizationJSON(a *ombud.RegisteredAuthorization) apiv1.Authorization {
	return apiv1.Authorization{ID: a.ID, Issuer: a.Issuer, Kind: a.Kind, Purposes: a.Purposes, Classes: a.Classes, Wildcard: a.Wildcard(),
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
	var req apiv1.Revoke
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	wr, err := s.Custody.Access.Revoke(r.Context(), r.PathValue("id"), req.Reason, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.Revoked{ID: r.PathValue("id"), Revoked: true, Receipt: wr.Index})
}

func (s *Server) reloadPolicy(w http.ResponseWriter, r *http.Request) {
	var req apiv1.ReloadPolicy
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	v, changed, err := s.Custody.Access.LoadPolicyPinned(r.Context(), caller(r).ID, req.SHA256)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.PolicyLoaded{Version: v, Changed: changed, SHA256: s.Custody.Access.Policy().SHA})
}
