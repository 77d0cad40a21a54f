package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
)

// maxExportBody bounds an export's request: its list of objects.
const maxExportBody = 2 << 20

// startExport decides and logs an export whole, then streams its sealed
// package. A refusal answers with its reason, and its receipt when it was
// logged; a package that fails midway is cut (the connection aborted),
// and age does not open a package cut short.
func (s *Server) startExport(w http.ResponseWriter, r *http.Request) {
	if !s.Exports {
		writeError(w, r, ombud.Errorf(ombud.CodeForbidden, "this deployment does not share data with other bodies: exports are off ([sharing] enabled in ombud.toml)"))
		return
	}
	var req apiv1.StartExport
	if err := decodeJSON(w, r, maxExportBody, &req); err != nil {
		writeError(w, r, err)
		return
	}
	x, err := s.Custody.Export(r.Context(), custody.ExportRequest{Principal: caller(r), Recipient: req.Recipient, Objects: req.Objects, Run: req.Run,
		Purpose: req.Purpose, Authorization: req.Authorization, Justification: req.Justification})
	if err != nil {
		writeRunError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(s.StreamTimeout))
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="export-`+x.Export.ID+`.tar.age"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Ombud-Receipt", strconv.FormatUint(x.Export.Index, 10))
	h.Set(apiv1.HeaderExport, x.Export.ID)
	w.WriteHeader(http.StatusOK)
	if err := s.Custody.WriteExport(r.Context(), x, w); err != nil {
		s.Logger.ErrorContext(r.Context(), "an export's package stopped", "export", x.Export.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
}
