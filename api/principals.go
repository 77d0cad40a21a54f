package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
)

// PrincipalJSON is a principal as the API shows it; Token is set only in
// the response that creates it.
type PrincipalJSON struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Roles    []ombud.Role `json:"roles"`
	Created  time.Time    `json:"created"`
	Disabled bool         `json:"disabled"`
	Token    string       `json:"token,omitempty"`
	Receipt  *uint64      `json:"receipt,omitempty"`
}

func principalJSON(p *ombud.Principal) PrincipalJSON {
	return PrincipalJSON{ID: p.ID, Name: p.Name, Roles: p.Roles, Created: p.Created, Disabled: p.Disabled}
}

type createPrincipalRequest struct {
	Name  string       `json:"name"`
	Roles []ombud.Role `json:"roles"`
}

func (s *Server) createPrincipal(w http.ResponseWriter, r *http.Request) {
	var req createPrincipalRequest
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, tok, wr, err := ombud.AddPrincipal(r.Context(), s.Journal, req.Name, req.Roles, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := principalJSON(p)
	out.Token = tok.Reveal()
	out.Receipt = &wr.Index
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/principals/"+p.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listPrincipals(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Store.Principals(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]PrincipalJSON, len(ps))
	for i, p := range ps {
		out[i] = principalJSON(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"principals": out})
}

func (s *Server) getPrincipal(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.Principal(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, principalJSON(p))
}

func (s *Server) disablePrincipal(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == caller(r).ID {
		writeError(w, r, ombud.Errorf(ombud.CodeConflict, "you cannot disable yourself; ask another admin"))
		return
	}
	wr, err := ombud.DisablePrincipal(r.Context(), s.Journal, id, caller(r).ID)
	if err != nil {
		if errors.Is(err, ombud.ErrNotFound) {
			err = ombud.Errorf(ombud.CodeNotFound, "no principal %q", id)
		}
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "disabled": true, "receipt": wr.Index})
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, principalJSON(caller(r)))
}
