package api

import (
	"net/http"
	"strconv"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/sharing"
)

func (s *Server) registerRecipient(w http.ResponseWriter, r *http.Request) {
	var req apiv1.RegisterRecipient
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rc, wr, err := s.Sharing.Register(r.Context(), sharing.Recipient{Name: req.Name, Category: req.Category, Jurisdiction: req.Jurisdiction, Key: req.Key}, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/recipients/"+rc.ID)
	writeJSON(w, http.StatusCreated, apiv1.RecipientDone{ID: rc.ID, Receipt: wr.Index})
}

func (s *Server) retireRecipient(w http.ResponseWriter, r *http.Request) {
	rc, wr, err := s.Sharing.Retire(r.Context(), r.PathValue("id"), caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.RecipientDone{ID: rc.ID, Retired: true, Receipt: wr.Index})
}

// listRecipients lists the registry, names included: for the principals
// who export, administer or audit. The public site shows categories and
// jurisdictions only.
func (s *Server) listRecipients(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Store.Recipients(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.Recipients{Recipients: []apiv1.Recipient{}}
	for _, rc := range rs {
		out.Recipients = append(out.Recipients, apiv1.Recipient{ID: rc.ID, Name: rc.Name, Category: rc.Category, Jurisdiction: rc.Jurisdiction,
			Key: rc.Key, Registered: rc.Registered, Receipt: rc.Index, Retired: rc.Retired, RetireReceipt: rc.RetireIdx})
	}
	writeJSON(w, http.StatusOK, out)
}
