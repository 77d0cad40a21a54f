package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/web"
)

func (s *Server) raiseFlag(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreateFlag
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	fr := review.FlagRequest{Principal: caller(r), Run: req.Run, Inputs: req.Inputs, Candidates: req.Candidates, References: req.References, Rank: req.Rank, Score: req.Score,
		Threshold: req.Threshold, OperatingPoint: req.OperatingPoint, ReferenceDB: req.ReferenceDB, GallerySize: req.GallerySize}
	if req.MatchedAt != nil {
		fr.Matched = *req.MatchedAt
		if fr.Matched.IsZero() {
			fr.Matched = time.Unix(0, 0)
		}
	}
	f, wr, err := s.Review.Raise(r.Context(), fr)
	if err == nil {
		created(w, wr.Index, apiv1.FlagCreated{ID: f.ID, Receipt: wr.Index})
		return
	}
	writeError(w, r, err)
}

// created answers 201 with v and the receipt of the entry at index.
func created(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set("Ombud-Receipt", strconv.FormatUint(index, 10))
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) reviewFlag(w http.ResponseWriter, r *http.Request) {
	var req apiv1.ReviewFlag
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rv, wr, err := s.Review.Review(r.Context(), caller(r), r.PathValue("id"), req.Verdict, req.Rationale)
	if err == nil {
		created(w, wr.Index, apiv1.Reviewed{Flag: rv.Flag, Verdict: rv.Verdict, Receipt: wr.Index})
		return
	}
	writeError(w, r, err)
}

func (s *Server) takeAction(w http.ResponseWriter, r *http.Request) {
	var req apiv1.TakeAction
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a, notice, wr, err := s.Review.Act(r.Context(), caller(r), req.Flag, req.Kind)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := apiv1.ActionTaken{ID: a.ID, Receipt: wr.Index, Notice: notice}
	if notice != "" {
		// The notice is told once, with its code: only its hash is kept.
		cs, err := s.Review.Lookup(r.Context(), notice)
		if err != nil {
			s.Logger.ErrorContext(r.Context(), "api: the notice of a logged action", "action", a.ID, "err", err)
		} else {
			out.NoticeText = s.Review.NoticeOf(cs, notice, web.BaseURL(r)).Text()
			out.NoticePage = "/contest"
		}
	}
	created(w, wr.Index, out)
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request) {
	t, err := s.Review.ActionFor(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.actionOut(t))
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Review.ActionsBy(r.Context(), caller(r), maxListed)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]apiv1.Action, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.actionOut(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) actionOut(t *review.Taken) apiv1.Action {
	a := t.Action
	out := apiv1.Action{ID: a.ID, Flag: a.Flag, Kind: a.Kind, Created: a.Created, Receipt: a.Index, Status: apiv1.ActionStanding}
	if !a.Withdrawn.IsZero() {
		at := a.Withdrawn
		out.Status, out.WithdrawnAt, out.WithdrawnReceipt = apiv1.ActionWithdrawn, &at, a.WithdrawnIndex
	}
	if ct := t.Contest; ct != nil {
		c := &apiv1.ActionContest{ID: ct.ID, Filed: ct.Filed, Outcome: ct.Outcome, Receipt: ct.Index, Overdue: s.Review.Overdue(ct)}
		if !ct.Due.IsZero() {
			due := ct.Due
			c.Due = &due
		}
		if ct.Outcome != "" {
			res := ct.Resolved
			c.Resolved, c.Receipt = &res, ct.ResolveIndex
		}
		out.Contest = c
	}
	return out
}

// maxListed bounds the flags and contests one listing returns.
const maxListed = 200

func (s *Server) awaitingFlags(w http.ResponseWriter, r *http.Request) {
	fs, err := s.Review.Awaiting(r.Context(), caller(r), maxListed)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]apiv1.Flag, 0, len(fs))
	for _, q := range fs {
		f := q.Flag
		out = append(out, apiv1.Flag{ID: f.ID, Run: f.Run, System: q.System, Version: f.Version, Inputs: f.Inputs, References: f.References,
			Candidates: len(f.Candidates), Rank: f.Rank, Score: f.Score, Threshold: f.Threshold, ReferenceDB: f.ReferenceDB, GallerySize: f.GallerySize,
			MatchedAt: f.Matched, Created: f.Created, Receipt: f.Index})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) openContests(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Review.OpenContests(r.Context(), caller(r), maxListed)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]apiv1.Contest, 0, len(cs))
	for _, c := range cs {
		out = append(out, apiv1.Contest{ID: c.Contest.ID, Action: c.Contest.Action, ActionKind: c.Case.Action.Kind, Flag: c.Case.Flag.ID,
			Filed: c.Contest.Filed, Receipt: c.Contest.Index, Involved: c.Involved, Statement: c.Statement})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) resolveContest(w http.ResponseWriter, r *http.Request) {
	var req apiv1.ResolveContest
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	c, wr, err := s.Review.Resolve(r.Context(), caller(r), r.PathValue("id"), req.Outcome, req.Rationale)
	if err == nil {
		created(w, wr.Index, apiv1.ContestResolved{ID: c.ID, Outcome: c.Outcome, Receipt: wr.Index})
		return
	}
	writeError(w, r, err)
}
