package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

func objectJSON(o *ombud.Object) apiv1.Object {
	j := apiv1.Object{ID: o.ID, Class: o.Class, Region: o.Region, Size: o.Size, CollectedAt: o.CollectedAt, RetainUntil: o.RetainUntil, KEKVersion: o.KEKVersion, IngestReceipt: o.IngestIndex}
	if o.Hold != nil {
		j.Hold = &apiv1.Hold{Reason: o.Hold.Reason, Authorization: o.Hold.Authorization, Since: o.Hold.Since}
	}
	if o.Erased != nil {
		j.Erased = &apiv1.Erased{Reason: o.Erased.Reason, At: o.Erased.At, Receipt: o.Erased.Index}
	}
	return j
}

// streaming lifts the server's whole-request deadlines for routes that move
// object bytes, which may take far longer than a JSON call.
func (s *Server) streaming(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(s.StreamTimeout)
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline)
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request) {
	s.streaming(w)
	h := r.Header
	subjects, err := ombud.ParseSubjects(h.Get("Ombud-Subjects"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	var collected time.Time
	if v := h.Get("Ombud-Collected-At"); v != "" {
		if collected, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "Ombud-Collected-At must be RFC 3339, e.g. 2026-11-27T06:00:00Z"))
			return
		}
	}
	if h.Get("Ombud-Class") == "" {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "Ombud-Class is required"))
		return
	}
	o, wr, err := s.Custody.Ingest(r.Context(), custody.IngestRequest{
		Class: h.Get("Ombud-Class"), Subjects: subjects, Source: h.Get("Ombud-Source"),
		Region: h.Get("Ombud-Region"), CollectedAt: collected, By: caller(r).ID, Body: r.Body,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := objectJSON(o)
	out.Receipt = &wr.Index
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/objects/"+o.ID)
	writeJSON(w, http.StatusCreated, out)
}

// getObject serves a read. Any authenticated principal may attempt one: a
// read attempt is a decision, so one the policy refuses (a reviewer's, an
// admin's) is a logged denial like any other, not an unlogged 403.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	s.streaming(w)
	h := r.Header
	rangeHeader := h.Get("Range")
	rel, err := s.Custody.Read(r.Context(), custody.ReadRequest{
		ID: r.PathValue("id"), Purpose: h.Get("Ombud-Purpose"), Principal: caller(r),
		AuthorizationID: h.Get("Ombud-Authorization"), Justification: h.Get("Ombud-Justification"), Emergency: h.Get("Ombud-Emergency"),
		Flag: h.Get("Ombud-Flag"),
		// A range is checked after the decision, so it says nothing about
		// an object the caller may not read, and before the permit is
		// logged, so an unsatisfiable one spends no use.
		Satisfiable: func(size int64) bool { _, _, unsat := parseRange(rangeHeader, size); return !unsat },
	})
	var d *custody.Denial
	if errors.As(err, &d) {
		w.Header().Set("Ombud-Receipt", strconv.FormatUint(d.Index, 10))
		if d.Reason == reason.Range {
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(d.Size, 10))
		}
		writeError(w, r, d.AsError())
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer rel.Body.Close()
	size := rel.Object.Size
	hd := w.Header()
	hd.Set("Ombud-Receipt", strconv.FormatUint(rel.Index, 10))
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Accept-Ranges", "bytes")
	// Ranges: decryption is sequential (Tink has no seekable decryption),
	// so a range is served by decrypting from the start, verifying as it
	// goes, discarding what precedes the range and stopping after it.
	rng, ranged, _ := parseRange(rangeHeader, size)
	want := size
	status := http.StatusOK
	src := io.Reader(rel.Body)
	if ranged {
		if _, err := io.CopyN(io.Discard, rel.Body, rng.start); err != nil {
			s.Logger.ErrorContext(r.Context(), "object release failed before the range", "object", rel.Object.ID, "err", err)
			writeError(w, r, &ombud.Error{Code: ombud.CodeInternal, Message: "the object failed verification", Err: err})
			return
		}
		want = rng.end - rng.start + 1
		src = io.LimitReader(rel.Body, want)
		status = http.StatusPartialContent
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.start, rng.end, size))
	}
	hd.Set("Content-Length", strconv.FormatInt(want, 10))
	w.WriteHeader(status)
	var n int64
	wt, direct := src.(io.WriterTo)
	switch {
	case direct && !ranged && want >= 1<<20:
		// Decrypted ahead on goroutines of its own: its segments go to
		// the socket as they are, without a copy.
		n, err = wt.WriteTo(w)
	case want < 1<<20:
		n, err = io.Copy(w, src)
	default:
		// Decrypting and writing to the socket overlap on two goroutines.
		aw := blob.NewAsyncWriter(w)
		n, err = io.CopyBuffer(aw, src, make([]byte, 1<<20))
		if cerr := aw.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && n != want {
		err = fmt.Errorf("released %d of %d bytes", n, want)
	}
	if err != nil {
		// The permit is logged; the bytes failed verification or the client
		// left. Abort the connection so a partial body can never pass as
		// the whole object.
		s.Logger.ErrorContext(r.Context(), "object release aborted", "object", rel.Object.ID, "receipt", rel.Index, "sent", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// headObject refuses HEAD on an object: a HEAD would be a read that
// releases nothing, and ombud spends no authorization use without a
// release. The object's metadata is at /v1/objects/{id}/status.
func (s *Server) headObject(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET")
	writeError(w, r, ombud.Errorf(ombud.CodeMethodNotAllowed, "HEAD is not served on objects; GET reads (a logged decision), GET /v1/objects/{id}/status shows metadata"))
}

// noHead refuses HEAD on a GET that logs a decision (a run's objects, the
// auditor's details): Go's router would otherwise run the GET, logging
// decisions for bytes it never sends.
func noHead(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET")
		writeError(w, r, ombud.Errorf(ombud.CodeMethodNotAllowed, "HEAD is not served on %s: GET is a logged decision", what))
	}
}

func (s *Server) objectStatus(w http.ResponseWriter, r *http.Request) {
	o, err := s.Store.Object(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such object"))
		return
	}
	writeJSON(w, http.StatusOK, objectJSON(o))
}

// receiptJSON answers a logged change: its receipt in the Ombud-Receipt
// header, and out.
func (s *Server) receiptJSON(w http.ResponseWriter, wr journal.Leaf, out any) {
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	writeJSON(w, http.StatusOK, out)
}

// objectOrder serves an admin order on one object (a hold, its release,
// an erasure): the body names the reason and the authority, custody logs
// the order, and the answer carries its receipt and the object's new state.
func (s *Server) objectOrder(do func(*custody.Service, context.Context, custody.Order) (journal.Leaf, error), field string, value bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.Order
		if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
			writeError(w, r, err)
			return
		}
		wr, err := do(s.Custody, r.Context(), custody.Order{Object: r.PathValue("id"), Reason: req.Reason, Authorization: req.Authorization, By: caller(r).ID})
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.OrderDone{ID: r.PathValue("id"), Receipt: wr.Index}
		if field == "hold" {
			out.Hold = &value
		} else {
			out.Erased = &value
		}
		s.receiptJSON(w, wr, out)
	}
}

func (s *Server) sweep(w http.ResponseWriter, r *http.Request) {
	res, err := s.Custody.Sweep(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.SweepResult{Settled: res.Settled, Erased: res.Erased, Failed: res.Failed, Breaches: res.Breaches}
	for k, n := range res.Details {
		if out.Details == nil {
			out.Details = map[string]int{}
		}
		out.Details[string(k)] = n
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) {
	res, err := s.Custody.Rotate(r.Context(), caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(res.Receipt, 10))
	writeJSON(w, http.StatusOK, apiv1.Rotated{Version: res.Version, Rewraps: res.Rewraps, Intermediates: res.Intermediates, Receipt: res.Receipt, Retired: res.Retired})
}
