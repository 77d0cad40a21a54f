package audit

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/tips"
)

// TipState is a tip as its public entries show it: the day it was filed,
// and when the oversight body first acknowledged and answered it.
type TipState struct {
	Filed        uint64    `json:"filed"` // its filed entry
	Day          string    `json:"day"`
	Acknowledged time.Time `json:"acknowledged,omitzero"`
	Answered     time.Time `json:"answered,omitzero"`
	// AckReported and AnswerReported: reported late once.
	AckReported    bool `json:"ack_reported,omitempty"`
	AnswerReported bool `json:"answer_reported,omitempty"`
}

// TipRecord is a source's submission as its entry shows it: the entry,
// its day, and the latest time logged before it, after which it was
// logged.
type TipRecord struct {
	Index uint64    `json:"index"`
	Day   string    `json:"day"`
	After time.Time `json:"after,omitzero"`
}

// isDay reports whether t is a day as a tip entry states it: 00:00:00 UTC.
func isDay(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

// tipSubmission reports whether body is a source's submission: logged in
// a day's batch, with the filing day for its time.
func tipSubmission(body entry.Body) bool {
	b, ok := body.(*entry.Tip)
	return ok && (b.Op == entry.OpFiled || b.Op == entry.OpFollowedUp)
}

// tip checks a tip entry: a submission states a day, not a time; a
// follow-up and an answer are of a tip filed before them; an answer that
// came after its deadline is reported at it.
func (r *rules) tip(idx uint64, e *entry.Entry, b *entry.Tip, add adder) {
	if r.st.Tips == nil {
		r.st.Tips = map[string]*TipState{}
	}
	if r.st.TipCommitments == nil {
		r.st.TipCommitments = map[string]TipRecord{}
	}
	switch b.Op {
	case entry.OpFiled, entry.OpFollowedUp:
		if !isDay(e.Time) {
			add(RuleTipDated, "a tip's submission logged with the time %s: it states its day only (00:00:00 UTC), so that it does not date its source", e.Time.Format(time.RFC3339Nano))
		}
		if e.Time.After(r.st.LastTime) && !r.st.LastTime.IsZero() {
			add(RuleTipDated, "a tip's submission dated %s, after the latest entry's time %s", ombud.Day(e.Time), r.st.LastTime.Format(time.RFC3339))
		}
		// The batch logs a day's submissions the next day; it may be
		// late by a day (an outage) and still keep the promise.
		if by := e.Time.AddDate(0, 0, tips.LoggedWithin+1); r.st.LastTime.After(by) {
			add(RuleTipLoggedLate, "a tip's submission of %s logged after %s, past the end of its promised day %s", ombud.Day(e.Time), r.st.LastTime.Format(time.RFC3339), ombud.Day(by.Add(-time.Millisecond)))
		}
		if b.Commitment != "" {
			if _, ok := r.st.TipCommitments[b.Commitment]; !ok {
				r.st.TipCommitments[b.Commitment] = TipRecord{Index: idx, Day: ombud.Day(e.Time), After: r.st.LastTime}
			}
		}
		if b.Op == entry.OpFiled {
			if _, ok := r.st.Tips[b.Tip]; !ok && b.Tip != "" {
				r.st.Tips[b.Tip] = &TipState{Filed: idx, Day: ombud.Day(e.Time)}
			}
			return
		}
		if _, ok := r.st.Tips[b.Tip]; !ok {
			add(RuleTipUnknown, "a follow-up of tip %s, which no entry before it files", b.Tip)
		}
	case entry.OpAcknowledged, entry.OpAnswered, entry.OpReplied:
		t, ok := r.st.Tips[b.Tip]
		if !ok {
			add(RuleTipUnknown, "an answer (%s) to tip %s, which no entry before it files", b.Op, b.Tip)
			return
		}
		if t.Acknowledged.IsZero() {
			t.Acknowledged = e.Time
			if due := ombud.TipAckDue(t.Day); e.Time.After(due) && !t.AckReported {
				add(RuleTipNotAcknowledged, "tip %s, filed on %s, was first acknowledged at %s, after its deadline %s", b.Tip, t.Day, e.Time.Format(time.RFC3339), due.Format(time.RFC3339))
				t.AckReported = true
			}
		}
		if b.Op == entry.OpAnswered && t.Answered.IsZero() {
			t.Answered = e.Time
			if due := ombud.TipFeedbackDue(t.Day); e.Time.After(due) && !t.AnswerReported {
				add(RuleTipNotAnswered, "tip %s, filed on %s, was first answered at %s, after its deadline %s", b.Tip, t.Day, e.Time.Format(time.RFC3339), due.Format(time.RFC3339))
				t.AnswerReported = true
			}
		}
	}
}

// tipsLate reports, as of now, each tip still not acknowledged or not
// answered past its deadline, once.
func (r *rules) tipsLate(now time.Time) []Finding {
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(r.st.Tips)) {
		t := r.st.Tips[k]
		if due := ombud.TipAckDue(t.Day); t.Acknowledged.IsZero() && !t.AckReported && now.After(due) {
			out = append(out, Finding{Rule: RuleTipNotAcknowledged, Index: ptr(t.Filed),
				Message: fmt.Sprintf("tip %s, filed on %s, was due to be acknowledged by %s and is not", k, t.Day, due.Format(time.RFC3339))})
			t.AckReported = true
		}
		if due := ombud.TipFeedbackDue(t.Day); t.Answered.IsZero() && !t.AnswerReported && now.After(due) {
			out = append(out, Finding{Rule: RuleTipNotAnswered, Index: ptr(t.Filed),
				Message: fmt.Sprintf("tip %s, filed on %s, was due to be answered by %s and is not", k, t.Day, due.Format(time.RFC3339))})
			t.AnswerReported = true
		}
	}
	return out
}

// promisesBroken reports each promise of filing not kept, as of now: its
// day passed with no submission of its commitment logged, or one logged
// under another day than the promise's, or after the promise's day.
func (r *rules) promisesBroken(promises []tips.Promise, now time.Time) []Finding {
	var out []Finding
	for _, p := range promises {
		rec, ok := r.st.TipCommitments[p.Commitment]
		by, _ := time.Parse(time.DateOnly, p.LoggedBy)
		switch {
		case !ok && p.Overdue(now):
			out = append(out, Finding{Rule: RuleTipPromiseBroken,
				Message: fmt.Sprintf("the log promised a record of the submission %s, filed on %s, by the end of %s, and holds none", p.Commitment, p.Filed, p.LoggedBy)})
		case ok && rec.Day != p.Filed:
			out = append(out, Finding{Rule: RuleTipPromiseBroken, Index: ptr(rec.Index),
				Message: fmt.Sprintf("the submission %s, promised as filed on %s, is logged as filed on %s", p.Commitment, p.Filed, rec.Day)})
		case ok && rec.After.After(by.Add(24*time.Hour)):
			out = append(out, Finding{Rule: RuleTipPromiseBroken, Index: ptr(rec.Index),
				Message: fmt.Sprintf("the submission %s, promised a record by the end of %s, was logged after %s", p.Commitment, p.LoggedBy, rec.After.Format(time.RFC3339))})
		}
	}
	return out
}
