package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
)

func (s *Server) tile(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, "/log/")
	b, err := s.Log.Tile(rel)
	if r.URL.RawPath != "" {
		// An escaped character: a tile has one address, spelled plainly.
		err = ombud.ErrNotFound
	}
	if errors.Is(err, ombud.ErrNotFound) {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such tlog-tiles resource: %s", r.URL.Path))
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if strings.Contains(rel, ".p/") {
		// Partial tiles never change but are deleted once the full tile exists.
		h.Set("Cache-Control", "public, max-age=60")
	} else {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}

func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) {
	b, err := s.Log.Checkpoint(r.Context())
	if err != nil {
		writeError(w, r, ombud.Errorf(ombud.CodeUnavailable, "no checkpoint published yet"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}

func (s *Server) logKey(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write([]byte(s.VerifierKey + "\n"))
}

func parseIndex(s, name string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, ombud.Errorf(ombud.CodeInvalid, "%s must be a non-negative integer", name)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ombud.Errorf(ombud.CodeInvalid, "%s must be a non-negative integer", name)
	}
	return v, nil
}

// receipt serves an entry's receipt (tlog.Log.Receipt).
func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	index, err := parseIndex(r.PathValue("index"), "index")
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc, err := s.Log.Receipt(r.Context(), index, s.ReceiptWait)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

// proofParams reads a proof request's two numbers: the first (index or
// from) and tree_size, which must be a published size.
func (s *Server) proofParams(r *http.Request, first string) (uint64, uint64, error) {
	q := r.URL.Query()
	a, err := parseIndex(q.Get(first), first)
	if err != nil {
		return 0, 0, err
	}
	size, err := parseIndex(q.Get("tree_size"), "tree_size")
	if err != nil {
		return 0, 0, err
	}
	return a, size, s.withinPublished(r.Context(), size)
}

func (s *Server) inclusionProof(w http.ResponseWriter, r *http.Request) {
	index, size, err := s.proofParams(r, "index")
	if err == nil && index >= size {
		err = ombud.Errorf(ombud.CodeInvalid, "index %d must be below tree_size %d", index, size)
	}
	var p [][]byte
	if err == nil {
		p, err = s.Log.InclusionProof(r.Context(), index, size)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Proof{Index: &index, TreeSize: size, Proof: p})
}

func (s *Server) consistencyProof(w http.ResponseWriter, r *http.Request) {
	from, size, err := s.proofParams(r, "from")
	if err == nil && (from == 0 || from > size) {
		err = ombud.Errorf(ombud.CodeInvalid, "from must be between 1 and tree_size")
	}
	var p [][]byte
	if err == nil {
		p, err = s.Log.ConsistencyProof(r.Context(), from, size)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Proof{From: &from, TreeSize: size, Proof: p})
}

// withinPublished refuses proofs for sizes no checkpoint has committed to.
func (s *Server) withinPublished(ctx context.Context, size uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cp, _, err := s.Log.ParsedCheckpoint(ctx)
	if err != nil {
		return &ombud.Error{Code: ombud.CodeUnavailable, Message: "no checkpoint is published yet", Err: err}
	}
	if size == 0 || size > cp.Size {
		return ombud.Errorf(ombud.CodeInvalid, "tree_size must be between 1 and the published size %d", cp.Size)
	}
	return nil
}
