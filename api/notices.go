package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
)

// maxNoticesPage is the most notices one GET /v1/notices lists.
const maxNoticesPage = 1000

// listNotices lists the erasure notices: ?recipient=ID, ?state=owed|sent
// (both when absent), ?after=ID and ?limit=N for pages.
func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ombud.NoticeFilter{Recipient: q.Get("recipient"), After: q.Get("after"), Limit: maxNoticesPage}
	switch q.Get("state") {
	case "":
	case "owed":
		f.Owed = true
	case "sent":
		f.Sent = true
	default:
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "state must be owed or sent (or absent, for both)"))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxNoticesPage {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "limit must be a whole number from 1 to %d", maxNoticesPage))
			return
		}
		f.Limit = n
	}
	if len(f.Recipient) > 64 || len(f.After) > 64 {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "recipient and after are ids, of at most 64 bytes"))
		return
	}
	ns, err := s.Store.Notices(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	recipients := map[string]*ombud.Recipient{}
	now := time.Now()
	out := apiv1.Notices{Notices: make([]apiv1.Notice, 0, len(ns))}
	for _, n := range ns {
		rc, ok := recipients[n.Recipient]
		if !ok {
			if rc, err = s.Store.Recipient(r.Context(), n.Recipient); err != nil {
				writeError(w, r, err)
				return
			}
			recipients[n.Recipient] = rc
		}
		out.Notices = append(out.Notices, apiv1.Notice{ID: n.ID, Object: n.Object, Recipient: n.Recipient, RecipientName: rc.Name,
			Category: rc.Category, Jurisdiction: rc.Jurisdiction, Owed: n.Owed, EraseReceipt: n.EraseIndex,
			Due: n.Owed.Add(ombud.NoticeWithin), Overdue: n.Overdue(now), Sent: n.Sent, SentReceipt: n.SentIndex})
	}
	if len(ns) == f.Limit {
		out.Next = ns[len(ns)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) sendNotice(w http.ResponseWriter, r *http.Request) {
	var req apiv1.SendNotice
	if err := decodeJSON(w, r, s.MaxBodyBytes, &req); err != nil {
		writeError(w, r, err)
		return
	}
	n, wr, err := s.Sharing.SendNotice(r.Context(), r.PathValue("id"), req.Note, caller(r).ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc, err := s.Store.Recipient(r.Context(), n.Recipient)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, apiv1.Notice{ID: n.ID, Object: n.Object, Recipient: n.Recipient, RecipientName: rc.Name, Category: rc.Category,
		Jurisdiction: rc.Jurisdiction, Owed: n.Owed, EraseReceipt: n.EraseIndex, Due: n.Owed.Add(ombud.NoticeWithin), Sent: n.Sent, SentReceipt: n.SentIndex})
}
