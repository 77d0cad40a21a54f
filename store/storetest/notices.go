package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// TestNotices checks the erasure notices: an erasure of an exported object
// is refused unless it owes a notice to exactly each recipient that logged
// exports carried the object to; its commit records them; each is marked
// sent once; the owed ones past NoticeWithin are counted overdue.
func TestNotices(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t)
	w := newWorld(t, s)
	other := &ombud.Recipient{ID: "noticerecipient2", Name: "Court of Lyon", Category: "court", Jurisdiction: "EU-FR", Key: "age1n2", Registered: w.now, By: w.admin.ID}
	w.log(change(t, journal.RecipientRegister, other.ID, journal.RecipientPayload{Recipient: other}))
	export := func(id, recipient string, objects ...string) {
		x := &ombud.Export{ID: id, Recipient: recipient, Authorization: w.auth.ID, Principal: w.admin.ID, Purpose: "p", Objects: len(objects), Created: w.now}
		w.log(change(t, journal.ExportStart, x.ID, journal.ExportPayload{Export: x, Objects: objects}))
	}
	export("noticeexport0001", w.recipient.ID, w.objects[1], w.objects[2])
	export("noticeexport0002", other.ID, w.objects[2])
	export("noticeexport0003", other.ID, w.objects[2]) // twice to one recipient: one notice
	want := []string{w.recipient.ID, other.ID}
	slices.Sort(want)
	got, err := s.ExportRecipients(ctx, w.objects[2])
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ExportRecipients = %v, %v; want %v", got, err, want)
	}
	if got, _ := s.ExportRecipients(ctx, w.objects[3]); len(got) != 0 {
		t.Fatalf("ExportRecipients of an object never exported = %v", got)
	}
	erase := func(notices ...journal.NoticeOwed) *journal.Change {
		return change(t, journal.Erase, w.objects[2], journal.ErasePayload{Reason: ombud.EraseCourtOrder, At: w.now, Notices: notices})
	}
	for name, c := range map[string]*journal.Change{
		"no notice":          erase(),
		"one missing":        erase(journal.NoticeOwed{ID: "n1", Recipient: w.recipient.ID}),
		"one to a stranger":  erase(journal.NoticeOwed{ID: "n1", Recipient: w.recipient.ID}, journal.NoticeOwed{ID: "n2", Recipient: "stranger"}),
		"one owed twice":     erase(journal.NoticeOwed{ID: "n1", Recipient: w.recipient.ID}, journal.NoticeOwed{ID: "n2", Recipient: w.recipient.ID}),
		"one more than owed": erase(journal.NoticeOwed{ID: "n1", Recipient: w.recipient.ID}, journal.NoticeOwed{ID: "n2", Recipient: other.ID}, journal.NoticeOwed{ID: "n3", Recipient: "x"}),
	} {
		if err := s.Reserve(ctx, c); !errors.Is(err, ombud.ErrStale) {
			t.Errorf("an erasure that owes %s: %v, want ErrStale", name, err)
		}
	}
	w.log(erase(journal.NoticeOwed{ID: "notice0000000001", Recipient: w.recipient.ID}, journal.NoticeOwed{ID: "notice0000000002", Recipient: other.ID}))
	eraseIndex := w.index
	all, err := s.Notices(ctx, ombud.NoticeFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("Notices = %d, %v; want 2", len(all), err)
	}
	for _, n := range all {
		if n.Object != w.objects[2] || n.EraseIndex != eraseIndex || !n.Owed.Equal(w.now) || n.Sent != nil {
			t.Errorf("notice %+v, want owed for object %s at entry %d", n, w.objects[2], eraseIndex)
		}
	}
	if got, _ := s.Notices(ctx, ombud.NoticeFilter{Recipient: other.ID}); len(got) != 1 || got[0].ID != "notice0000000002" {
		t.Fatalf("the notices of one recipient: %v", got)
	}
	if got, _ := s.Notices(ctx, ombud.NoticeFilter{After: "notice0000000001"}); len(got) != 1 || got[0].ID != "notice0000000002" {
		t.Fatalf("the page after the first notice: %v", got)
	}
	overdue := func(now time.Time) int {
		n, err := s.NoticesOverdue(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := overdue(w.now.Add(ombud.NoticeWithin)); n != 0 {
		t.Fatalf("%d overdue on the day they are due", n)
	}
	if n := overdue(w.now.Add(ombud.NoticeWithin + time.Millisecond)); n != 2 {
		t.Fatalf("%d overdue after they are due, want 2", n)
	}
	send := change(t, journal.NoticeSend, "notice0000000001", journal.NoticePayload{At: w.now.Add(time.Hour), By: w.admin.ID})
	if err := s.Reserve(ctx, change(t, journal.NoticeSend, "nosuchnotice0000", journal.NoticePayload{At: w.now})); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("marking an unknown notice sent: %v, want ErrNotFound", err)
	}
	w.log(send)
	if err := s.Reserve(ctx, change(t, journal.NoticeSend, "notice0000000001", journal.NoticePayload{At: w.now})); !errors.Is(err, ombud.ErrExists) {
		t.Fatalf("marking a notice sent twice: %v, want ErrExists", err)
	}
	n, err := s.Notice(ctx, "notice0000000001")
	if err != nil || n.Sent == nil || n.SentIndex != w.index || n.SentBy != w.admin.ID {
		t.Fatalf("Notice after it was sent = %+v, %v", n, err)
	}
	if got, _ := s.Notices(ctx, ombud.NoticeFilter{Owed: true}); len(got) != 1 || got[0].ID != "notice0000000002" {
		t.Fatalf("the notices owed: %v", got)
	}
	if got, _ := s.Notices(ctx, ombud.NoticeFilter{Sent: true}); len(got) != 1 || got[0].ID != "notice0000000001" {
		t.Fatalf("the notices sent: %v", got)
	}
	if n := overdue(w.now.Add(2 * ombud.NoticeWithin)); n != 1 {
		t.Fatalf("%d overdue once one is sent, want 1", n)
	}
	if _, err := s.Notice(ctx, "nosuchnotice0000"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("Notice(unknown): %v", err)
	}
}
