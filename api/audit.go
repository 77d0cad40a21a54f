package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
)

// auditDetails streams the detail records of the entries in [from, to),
// one JSON object a line, for an auditor to check against the commitments
// in the public log. The read is logged before the first record leaves.
func (s *Server) auditDetails(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil || from >= to || to-from > apiv1.MaxDetailRange {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "from and to must be entry indexes with from < to and at most %d apart", apiv1.MaxDetailRange))
		return
	}
	cp, _, err := s.Log.ParsedCheckpoint(r.Context())
	if err != nil {
		writeError(w, r, &ombud.Error{Code: ombud.CodeUnavailable, Message: "no published checkpoint", Err: err})
		return
	}
	if to > cp.Size {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "to %d is beyond the published checkpoint's size %d", to, cp.Size))
		return
	}
	wr, err := s.Journal.Write(r.Context(), journal.Record{
		Body: entry.Audit{Op: entry.OpDetails, From: int64(from), To: int64(to), By: caller(r).ID}})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	s.streaming(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	ctx := r.Context()
	err = s.Log.Scan(ctx, from, to, cp.Size, func(idx uint64, leaf []byte) error {
		e, err := entry.Parse(leaf)
		if err != nil || e.Detail == "" {
			return nil
		}
		rec := apiv1.DetailRecord{Index: idx, Commitment: e.Detail}
		d, err := s.Store.Detail(ctx, journal.DetailKeyOf(e))
		switch {
		case errors.Is(err, ombud.ErrNotFound):
			rec.Missing = true
		case err != nil:
			return fmt.Errorf("reading a detail: %w", err)
		case d.Body == nil:
			rec.Erased = true
		default:
			rec.Salt, rec.Body = d.Salt, d.Body
		}
		return enc.Encode(rec)
	})
	if err != nil {
		// The status is sent; a cut stream is what the auditor sees.
		s.Logger.ErrorContext(ctx, "audit details: the stream was cut", "err", err)
	}
}
