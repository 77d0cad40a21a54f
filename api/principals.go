package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/journal"
)

func principalJSON(p *ombud.Principal) apiv1.Principal {
	return apiv1.Principal{ID: p.ID, Name: p.Name, Roles: p.Roles, Created: p.Created, Disabled: p.Disabled, EmergencySuspended: p.EmergencySuspended, System: p.System}
}

func (s *Server) createPrincipal(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreatePrincipal
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var p *ombud.Principal
	var tok ombud.Token
	var wr journal.Leaf
	var err error
	if req.System != "" || slices.Contains(req.Roles, ombud.RoleSystem) {
		if len(req.Roles) != 1 || req.Roles[0] != ombud.RoleSystem {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "roles: a principal acting for a system has the system role alone"))
			return
		}
		p, tok, wr, err = s.Custody.AddSystemPrincipal(r.Context(), req.Name, req.System, caller(r).ID)
	} else {
		p, tok, wr, err = s.Custody.AddPrincipal(r.Context(), req.Name, req.Roles, caller(r).ID)
	}
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
	out := make([]apiv1.Principal, len(ps))
	for i, p := range ps {
		out[i] = principalJSON(p)
	}
	writeJSON(w, http.StatusOK, apiv1.Principals{Principals: out})
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
	wr, err := s.Custody.DisablePrincipal(r.Context(), id, caller(r).ID)
	if err != nil {
		if errors.Is(err, ombud.ErrNotFound) {
			err = ombud.Errorf(ombud.CodeNotFound, "no principal %q", id)
		}
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusOK, apiv1.PrincipalDisabled{ID: id, Disabled: true, Receipt: wr.Index})
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, principalJSON(caller(r)))
}

// restoreEmergency gives back a principal's emergency access, suspended
// after a breach: an admin's decision, logged.
func (s *Server) restoreEmergency(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	wr, err := s.Custody.RestoreEmergency(r.Context(), id, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.EmergencyRestored{ID: id, EmergencyAccess: "restored", Receipt: wr.Index})
}

// attestEmergency records the controller's attestation that the data
// derived from an uncovered emergency read was deleted.
func (s *Server) attestEmergency(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil || strconv.FormatUint(index, 10) != r.PathValue("index") {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "the emergency read is named by its access entry's index, a number"))
		return
	}
	var req apiv1.Attest
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Note) == "" {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "note: say what derived data was deleted"))
		return
	}
	wr, err := s.Custody.Attest(r.Context(), index, req.Note, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.Attested{EmergencyRead: index, Attested: true, Receipt: wr.Index})
}
