package api

import (
	"bufio"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/custody"
)

// maxRunBody bounds POST /v1/runs: a list of ombud.MaxRunObjects ids.
const maxRunBody = 4 << 20

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	var req apiv1.StartRun
	if err := decodeJSON(w, r, maxRunBody, &req); err != nil {
		writeError(w, r, err)
		return
	}
	cr := custody.RunRequest{Principal: caller(r), System: req.System, Version: req.Version, Purpose: req.Purpose,
		AuthorizationID: req.Authorization, Objects: req.Objects, Justification: req.Justification}
	if req.Selection != nil {
		cr.Selection = &custody.Selection{Class: req.Selection.Class, Subject: req.Selection.Subject}
	}
	run, wr, err := s.Custody.StartRun(r.Context(), cr)
	if err != nil {
		writeRunError(w, r, err)
		return
	}
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(wr.Index, 10))
	w.Header().Set("Location", "/v1/runs/"+run.ID)
	writeJSON(w, http.StatusCreated, apiv1.RunStarted{ID: run.ID, Receipt: wr.Index, Objects: run.Objects, Until: run.Deadline})
}

// writeRunError answers a refusal with its reason, and with its receipt
// when it was logged.
func writeRunError(w http.ResponseWriter, r *http.Request, err error) {
	var d *custody.Denial
	if errors.As(err, &d) {
		w.Header().Set("Ombud-Receipt", strconv.FormatUint(d.Index, 10))
		writeError(w, r, d.AsError())
		return
	}
	writeError(w, r, err)
}

func runJSON(run *ombud.Run) apiv1.Run {
	return apiv1.Run{ID: run.ID, System: run.System, Version: run.Version, Purpose: run.Purpose, Authorization: run.Authorization,
		Objects: run.Objects, Classes: run.Classes, Started: run.Started, Until: run.Deadline, Receipt: run.Index,
		Closed: run.Closed, CloseReason: run.CloseReason, CloseReceipt: run.CloseIndex, Read: run.Read, Bytes: run.Bytes}
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Custody.Run(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runJSON(run))
}

func (s *Server) closeRun(w http.ResponseWriter, r *http.Request) {
	run, wr, err := s.Custody.CloseRun(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeRunError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, runJSON(run))
}

// runObjects streams a run's objects as multipart/mixed, each part logged
// before its first byte. ?from=N resumes at position N. A stream that
// fails midway is cut (the connection is aborted), so a client never
// takes a truncated stream for a whole one; it resumes from the position
// after the last whole part.
func (s *Server) runObjects(w http.ResponseWriter, r *http.Request) {
	from := 0
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "from must be a position: a whole number from 0"))
			return
		}
		from = n
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.StreamTimeout))
	rc.SetWriteDeadline(time.Now().Add(s.StreamTimeout))
	bw := bufio.NewWriterSize(w, 64<<10)
	mw := multipart.NewWriter(bw)
	started := false
	var first *custody.Denial
	errFirst := errors.New("the first part ends the run")
	err := s.Custody.ReadRun(r.Context(), custody.RunRead{Principal: caller(r), RunID: r.PathValue("id"), From: from, Emit: func(p custody.Part) error {
		if !started {
			if p.Denial != nil && ombud.EndsRun(p.Denial.Reason) {
				first = p.Denial
				return errFirst
			}
			h := w.Header()
			h.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
			h.Set("Cache-Control", "no-store")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		ph := textproto.MIMEHeader{}
		ph.Set(apiv1.PartObject, p.Object.ID)
		ph.Set(apiv1.PartClass, p.Object.Class)
		ph.Set(apiv1.PartPosition, strconv.Itoa(p.Position))
		ph.Set(apiv1.PartReceipt, strconv.FormatUint(p.Index, 10))
		if p.Denial != nil {
			ph.Set(apiv1.PartDecision, "deny")
			ph.Set(apiv1.PartReason, p.Denial.Reason)
			ph.Set("Content-Length", "0")
			_, err := mw.CreatePart(ph)
			if err == nil && p.Last {
				if err = bw.Flush(); err == nil {
					err = rc.Flush()
				}
			}
			return err
		}
		ph.Set(apiv1.PartDecision, "permit")
		ph.Set("Content-Type", "application/octet-stream")
		ph.Set("Content-Length", strconv.FormatInt(p.Object.Size, 10))
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		n, err := io.Copy(pw, p.Body)
		if err == nil && n != p.Object.Size {
			err = io.ErrUnexpectedEOF
		}
		if err == nil && p.Last {
			if err = bw.Flush(); err == nil {
				err = rc.Flush()
			}
		}
		return err
	}})
	switch {
	case first != nil:
		w.Header().Set("Ombud-Receipt", strconv.FormatUint(first.Index, 10))
		writeError(w, r, first.AsError())
	case !started && err != nil:
		writeRunError(w, r, err)
	case !started:
		// Nothing left from this position: an empty stream.
		w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
		w.Header().Set("Cache-Control", "no-store")
		mw.Close()
		bw.Flush()
	case err != nil:
		// Cut the connection: the client sees a broken stream, never
		// a clean end.
		bw.Flush()
		s.Logger.ErrorContext(r.Context(), "a run's stream stopped", "run", r.PathValue("id"), "err", err)
		panic(http.ErrAbortHandler)
	default:
		mw.Close()
		bw.Flush()
	}
}
