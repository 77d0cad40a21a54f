package api

import (
	"net/http"
	"strconv"

	"github.com/ombud/ombud/report"
)

// ReportJSON is the answer to a publication.
type ReportJSON struct {
	Period         string `json:"period"`
	CheckpointSize uint64 `json:"checkpoint_size"`
	SHA256         string `json:"report_sha256"`
	Receipt        uint64 `json:"receipt"`
	URL            string `json:"url"`
}

func (s *Server) publishReport(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Period string `json:"period"`
	}
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
	writeJSON(w, http.StatusCreated, ReportJSON{Period: pub.Period, CheckpointSize: pub.Size, SHA256: pub.SHA256, Receipt: pub.Index, URL: u})
}
