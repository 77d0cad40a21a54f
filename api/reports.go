package api

import (
	"net/http"
	"strconv"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/report"
)

func (s *Server) publishReport(w http.ResponseWriter, r *http.Request) {
	var req apiv1.PublishReport
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := report.ParsePeriod(req.Period)
	if err != nil {
		writeError(w, r, err)
		return
	}
	pub, err := s.Reports.Publish(r.Context(), p, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u := "/reports/" + report.Name(pub.Period, pub.Size)
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(pub.Index, 10))
	w.Header().Set("Location", u)
	writeJSON(w, http.StatusCreated, apiv1.Published{Period: pub.Period, CheckpointSize: pub.Size, SHA256: pub.SHA256, Receipt: pub.Index, URL: u})
}
