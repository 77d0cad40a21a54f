package api

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/tips"
)

// maxTipsPage is the most tips one GET /v1/tips lists.
const maxTipsPage = 1000

// tipView is what the API shows of a tip, as of now.
func tipView(t *ombud.Tip, now time.Time) apiv1.Tip {
	out := apiv1.Tip{ID: t.ID, Filed: t.Filed, Logged: t.Logged, Acknowledged: t.Acknowledged, Answered: t.Answered,
		AckDue: ombud.Day(ombud.TipAckDue(t.Filed).Add(-time.Millisecond)), FeedbackDue: ombud.Day(ombud.TipFeedbackDue(t.Filed).Add(-time.Millisecond)),
		ReplyKey: t.ReplyKey}
	if t.Acknowledged == "" && now.After(ombud.TipAckDue(t.Filed)) {
		out.Late = append(out.Late, "acknowledgment")
	}
	if t.Answered == "" && now.After(ombud.TipFeedbackDue(t.Filed)) {
		out.Late = append(out.Late, "feedback")
	}
	for _, m := range t.Messages {
		out.Messages = append(out.Messages, apiv1.TipMessage{N: m.N, Op: m.Op, Day: m.Day, Commitment: m.Commitment, Size: m.Size, Logged: m.Logged, Index: m.Index, By: m.By})
	}
	return out
}

// listTips lists the tips: ?unanswered=true, ?after=ID and ?limit=N.
func (s *Server) listTips(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ombud.TipFilter{After: q.Get("after"), Limit: maxTipsPage}
	switch q.Get("unanswered") {
	case "", "false":
	case "true":
		f.Unanswered = true
	default:
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "unanswered must be true or false"))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTipsPage {
			writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "limit must be a whole number from 1 to %d", maxTipsPage))
			return
		}
		f.Limit = n
	}
	if len(f.After) > 64 {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "after is an id, of at most 64 bytes"))
		return
	}
	ts, err := s.Tips.Store.Tips(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := time.Now()
	out := apiv1.Tips{Tips: make([]apiv1.Tip, 0, len(ts))}
	for _, t := range ts {
		v := tipView(t, now)
		v.ReplyKey = ""
		out.Tips = append(out.Tips, v)
	}
	if len(ts) == f.Limit {
		out.Next = ts[len(ts)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// tip finds the tip the path names, or answers 404.
func (s *Server) tip(w http.ResponseWriter, r *http.Request) *ombud.Tip {
	id := r.PathValue("id")
	if len(id) > 64 {
		writeError(w, r, ombud.Errorf(ombud.CodeNotFound, "no such tip"))
		return nil
	}
	t, err := s.Tips.Store.Tip(r.Context(), id)
	if errors.Is(err, ombud.ErrNotFound) {
		err = ombud.Errorf(ombud.CodeNotFound, "no tip %q", id)
	}
	if err != nil {
		writeError(w, r, err)
		return nil
	}
	return t
}

func (s *Server) getTip(w http.ResponseWriter, r *http.Request) {
	if t := s.tip(w, r); t != nil {
		writeJSON(w, http.StatusOK, tipView(t, time.Now()))
	}
}

// tipMessage answers a message's sealed bytes: the oversight body opens
// a source's with its own identity, off the server.
func (s *Server) tipMessage(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "a message's number is a whole number from 1"))
		return
	}
	b, err := s.Tips.Store.TipSealed(r.Context(), r.PathValue("id"), n)
	if errors.Is(err, ombud.ErrNotFound) {
		err = ombud.Errorf(ombud.CodeNotFound, "no such message")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/age")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// replyTip records the oversight body's sealed reply: ?op= says what it
// is; the body is the age file.
func (s *Server) replyTip(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/age" && ct != "application/octet-stream" {
		writeError(w, r, ombud.Errorf(ombud.CodeUnsupportedMedia, "send the sealed reply as application/age"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tips.MaxSealedReply))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			err = ombud.Errorf(ombud.CodeTooLarge, "a sealed reply has at most %d bytes", tips.MaxSealedReply)
		}
		writeError(w, r, err)
		return
	}
	t, wr, err := s.Tips.Reply(r.Context(), caller(r), r.PathValue("id"), r.URL.Query().Get("op"), body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.receiptJSON(w, wr, tipView(t, time.Now()))
}

// tipReceipt answers the receipt of the tip entry of a source's
// submission, by its commitment: 404 until it is logged, and for a
// commitment no tip has, alike.
func (s *Server) tipReceipt(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("commitment")
	if b, err := hex.DecodeString(c); err != nil || len(b) != 32 {
		writeError(w, r, ombud.Errorf(ombud.CodeInvalid, "a commitment is 64 hex digits"))
		return
	}
	idx, ok, err := s.Tips.Store.TipIndex(r.Context(), c)
	if err == nil && !ok {
		err = ombud.Errorf(ombud.CodeNotFound, "no tip entry holds this commitment yet: the batch of the day after the filing logs it")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc, err := s.Log.Receipt(r.Context(), idx, s.ReceiptWait)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}
