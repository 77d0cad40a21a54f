package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/reason"
)

// fileTip files a tip on day with its first submission, and returns it.
func fileTip(t *testing.T, s interface {
	FileTip(context.Context, *ombud.Tip, []byte, []byte) error
}, id, day string) *ombud.Tip {
	t.Helper()
	c := strings.Repeat(id[:1], 64-len(id)) + id
	tip := &ombud.Tip{ID: id, Commitment: c, Filed: day, ReplyKey: "age1reply" + id,
		Messages: []ombud.TipMessage{{Op: ombud.TipFiled, Day: day, Commitment: c}}}
	if err := s.FileTip(context.Background(), tip, []byte("lookup-"+id), []byte("sealed "+id)); err != nil {
		t.Fatalf("FileTip %s: %v", id, err)
	}
	return tip
}

// TestTips checks the intake's store: a tip is found by its lookup alone;
// its messages number in order, follow-ups included, even at once; the
// source's submissions wait for the batch of a later day and are logged
// once; the oversight body answers only a tip whose filing is logged; and
// every gateway keeps one batch moment a day.
func TestTips(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	w := newWorld(t, s)
	a := fileTip(t, s, "tipa000000000000", "2026-12-01")
	fileTip(t, s, "tipb000000000000", "2026-12-02")
	if err := s.FileTip(ctx, &ombud.Tip{ID: "tipc000000000000", Commitment: a.Commitment, Filed: "2026-12-02", ReplyKey: "k",
		Messages: []ombud.TipMessage{{Op: ombud.TipFiled, Day: "2026-12-02", Commitment: a.Commitment}}}, []byte("other"), []byte("x")); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a second tip with the same commitment: %v", err)
	}
	got, err := s.TipByLookup(ctx, []byte("lookup-tipa000000000000"))
	if err != nil || got.ID != a.ID || got.ReplyKey != a.ReplyKey || got.Filed != "2026-12-01" || len(got.Messages) != 1 || got.Logged {
		t.Fatalf("TipByLookup = %+v, %v", got, err)
	}
	if _, err := s.TipByLookup(ctx, []byte("lookup-none")); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("an unknown lookup: %v", err)
	}
	// Follow-ups at once each get a number of their own.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			c := strings.Repeat("f", 63) + string(rune('0'+i))
			if _, err := s.FollowUpTip(ctx, a.ID, ombud.TipMessage{Op: ombud.TipFollowedUp, Day: "2026-12-03", Commitment: c}, []byte("more")); err != nil {
				t.Errorf("FollowUpTip: %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := s.FollowUpTip(ctx, "tipnone000000000", ombud.TipMessage{Op: ombud.TipFollowedUp, Day: "2026-12-03", Commitment: strings.Repeat("9", 64)}, nil); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("a follow-up to no tip: %v", err)
	}
	full, err := s.Tip(ctx, a.ID)
	if err != nil || len(full.Messages) != 5 {
		t.Fatalf("Tip = %+v, %v", full, err)
	}
	for i, m := range full.Messages {
		if m.N != i+1 || m.Size == 0 || m.Logged {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	if b, err := s.TipSealed(ctx, a.ID, 1); err != nil || string(b) != "sealed "+a.ID {
		t.Fatalf("TipSealed = %q, %v", b, err)
	}
	if _, err := s.TipSealed(ctx, a.ID, 9); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("TipSealed of no message: %v", err)
	}
	// The batch of 2026-12-03 takes what came before that day, only.
	pending, err := s.TipsPending(ctx, "2026-12-03")
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending before 2026-12-03: %+v, %v", pending, err)
	}
	if all, _ := s.TipsPending(ctx, "2026-12-04"); len(all) != 6 {
		t.Fatalf("pending before 2026-12-04: %d, want 6", len(all))
	}
	// An answer waits for the filing's entry.
	reply := func(tip *ombud.Tip, op, commitment string) *journal.Change {
		return change(t, journal.TipReply, tip.ID, journal.TipReplyPayload{Tip: tip.ID, Op: op, Day: "2026-12-04", Commitment: commitment, Sealed: []byte("sealed reply"), By: w.admin.ID})
	}
	var oe *ombud.Error
	if err := s.Reserve(ctx, reply(a, ombud.TipAcknowledged, strings.Repeat("r", 64))); !errors.As(err, &oe) || oe.Reason != reason.TipPending {
		t.Fatalf("an answer before the filing is logged: %v", err)
	}
	w.log(change(t, journal.TipLog, journal.TipMessageID(a.ID, 1), journal.TipLogPayload{Tip: a.ID, N: 1}))
	if err := s.Reserve(ctx, change(t, journal.TipLog, journal.TipMessageID(a.ID, 1), journal.TipLogPayload{Tip: a.ID, N: 1})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a submission logged twice: %v", err)
	}
	if idx, ok, err := s.TipIndex(ctx, a.Commitment); err != nil || !ok || idx != w.index {
		t.Fatalf("TipIndex = %d %v %v, want %d", idx, ok, err, w.index)
	}
	if _, ok, err := s.TipIndex(ctx, strings.Repeat("f", 63)+"0"); ok || err != nil {
		t.Fatalf("TipIndex of an unlogged follow-up: %v %v", ok, err)
	}
	w.log(reply(a, ombud.TipAcknowledged, strings.Repeat("r", 64)))
	if err := s.Reserve(ctx, reply(a, ombud.TipReplied, strings.Repeat("r", 64))); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("a reply with a commitment already held: %v", err)
	}
	w.log(reply(a, ombud.TipAnswered, strings.Repeat("s", 64)))
	full, _ = s.Tip(ctx, a.ID)
	if !full.Logged || full.Acknowledged != "2026-12-04" || full.Answered != "2026-12-04" || len(full.Messages) != 7 ||
		full.Messages[5].Op != ombud.TipAcknowledged || !full.Messages[5].Logged || full.Messages[5].By != w.admin.ID {
		t.Fatalf("after the answers: %+v", full)
	}
	if open, _ := s.Tips(ctx, ombud.TipFilter{Unanswered: true}); len(open) != 1 || open[0].ID != "tipb000000000000" {
		t.Fatalf("unanswered tips: %+v", open)
	}
	if all, _ := s.Tips(ctx, ombud.TipFilter{}); len(all) != 2 {
		t.Fatalf("tips: %d, want 2", len(all))
	}
	if page, _ := s.Tips(ctx, ombud.TipFilter{After: a.ID, Limit: 1}); len(page) != 1 || page[0].ID != "tipb000000000000" {
		t.Fatalf("the second page: %+v", page)
	}
	// One batch moment a day, whoever draws first.
	first := time.Date(2026, 12, 4, 13, 7, 0, 0, time.UTC)
	if due, err := s.TipBatchDue(ctx, "2026-12-04", first); err != nil || !due.Equal(first) {
		t.Fatalf("TipBatchDue = %v, %v", due, err)
	}
	if due, _ := s.TipBatchDue(ctx, "2026-12-04", first.Add(time.Hour)); !due.Equal(first) {
		t.Fatalf("a second draw changed the day's moment: %v", due)
	}
}
