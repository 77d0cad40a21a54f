package api

import (
	"net/http"
	"strconv"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/registry"
)

func accuracy(a apiv1.Accuracy) ombud.Accuracy {
	return ombud.Accuracy{FMR: a.FMR, FNMR: a.FNMR, FPIR: a.FPIR, FNIR: a.FNIR, Threshold: a.Threshold, Source: a.Source}
}

func (s *Server) registerSystem(w http.ResponseWriter, r *http.Request) {
	var req apiv1.RegisterSystem
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sys, wr, err := s.Analytics.Register(r.Context(), registry.System{Name: req.Name, Vendor: req.Vendor, Task: req.Task, Classes: req.Classes,
		ImpactAssessment: req.ImpactAssessment, Contract: req.Contract,
		Version: registry.Version{Version: req.Version, Model: req.Model, Accuracy: accuracy(req.Accuracy)}}, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/systems/"+sys.ID)
	writeJSON(w, http.StatusCreated, apiv1.SystemVersionDone{ID: sys.ID, Version: req.Version, Receipt: wr.Index})
}

func (s *Server) registerVersion(w http.ResponseWriter, r *http.Request) {
	var req apiv1.RegisterVersion
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	_, wr, err := s.Analytics.AddVersion(r.Context(), id, registry.Version{Version: req.Version, Model: req.Model, Accuracy: accuracy(req.Accuracy)}, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusCreated, apiv1.SystemVersionDone{ID: id, Version: req.Version, Receipt: wr.Index})
}

func (s *Server) retireVersion(w http.ResponseWriter, r *http.Request) {
	id, version := r.PathValue("id"), r.PathValue("version")
	wr, err := s.Analytics.Retire(r.Context(), id, version, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.SystemVersionDone{ID: id, Version: version, Retired: true, Receipt: wr.Index})
}

// listSystems serves the registry: public information, like the log.
func (s *Server) listSystems(w http.ResponseWriter, r *http.Request) {
	systems, err := s.Store.AnalyticSystems(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.Systems{Systems: []apiv1.System{}}
	for _, sys := range systems {
		js := apiv1.System{ID: sys.ID, Name: sys.Name, Vendor: sys.Vendor, Task: sys.Task, Classes: sys.Classes, ImpactAssessment: sys.ImpactAssessment,
			Contract: sys.Contract, Registered: sys.Registered, Receipt: sys.Index, Versions: []apiv1.SystemVersion{}}
		for _, v := range sys.Versions {
			a := v.Accuracy
			js.Versions = append(js.Versions, apiv1.SystemVersion{Version: v.Version, Model: v.Model, Registered: v.Registered, Receipt: v.Index,
				Accuracy: apiv1.Accuracy{FMR: a.FMR, FNMR: a.FNMR, FPIR: a.FPIR, FNIR: a.FNIR, Threshold: a.Threshold, Source: a.Source},
				Retired:  v.Retired, RetireReceipt: v.RetireIdx})
		}
		out.Systems = append(out.Systems, js)
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, out)
}
