package ombud

import (
	"context"
	"time"
)

// Recipient is a body outside the deployment that exports may go to: an
// agency, a court, a foreign authority, a vendor. Its name is private (a
// detail record); the log knows it by a keyed pseudonym of its id, its
// category and its jurisdiction.
type Recipient struct {
	ID           string
	Name         string // private: the detail record, never a public field
	Category     string // a code of the recipient_category vocabulary
	Jurisdiction string // a code of the jurisdiction vocabulary
	// Key is the recipient's age X25519 recipient ("age1…"): exports are
	// sealed to it, so that only the holder of its identity opens them.
	Key        string
	Registered time.Time
	By         string // the admin who registered it
	Index      uint64
	Retired    *time.Time
	RetireIdx  uint64
}

// MaxRecipientName bounds a recipient's name, in bytes.
const MaxRecipientName = 256

// Export is an export decided: objects of one request, sealed to one
// registered recipient under one authorization, which it spends one use
// of.
type Export struct {
	ID            string
	Recipient     string // the recipient's id
	Authorization string
	Principal     string // who asked
	Purpose       string
	Objects       int // how many its list holds
	Created       time.Time
	Index         uint64 // its export entry
}

// RecipientStore reads the registry of recipients and the exports to
// them.
type RecipientStore interface {
	// Export returns a logged export by id; ErrNotFound if there is none
	// (or it is only reserved).
	Export(ctx context.Context, id string) (*Export, error)
	// ExportObjects returns an export's object list, in its order.
	ExportObjects(ctx context.Context, id string) ([]string, error)
	// Recipients lists the registered recipients, retired ones too, by
	// name.
	Recipients(ctx context.Context) ([]*Recipient, error)
	// Recipient returns a registered recipient by id; ErrNotFound if there
	// is none (or it is only reserved).
	Recipient(ctx context.Context, id string) (*Recipient, error)
}

// Notice is an erasure notice owed to a recipient: an object exported to
// it was erased, and the controller must tell it so that its copy goes
// too (GDPR Art. 19; Law Enforcement Directive Art. 16(6)). The erasure's
// commit records the notices it owes; marking one sent is logged.
type Notice struct {
	ID         string
	Object     string
	Recipient  string    // the recipient's id
	Owed       time.Time // the erasure's time
	EraseIndex uint64    // the erase entry
	Sent       *time.Time
	SentIndex  uint64 // the notice entry, 0 while owed
	SentBy     string
}

// NoticeWithin is how long after an erasure its notices are due: one
// month, the time the GDPR gives a controller to act on a data subject's
// request (Art. 12(3)). It is fixed, not configured, so that an auditor
// who reads only the log counts the same notices overdue as the gateway.
const NoticeWithin = 30 * 24 * time.Hour

// Overdue reports whether the notice is still owed after NoticeWithin.
func (n *Notice) Overdue(now time.Time) bool {
	return n.Sent == nil && now.After(n.Owed.Add(NoticeWithin))
}

// NoticeFilter selects erasure notices.
type NoticeFilter struct {
	Recipient string // "" for every recipient
	// Owed selects the notices not yet sent; Sent, those sent. Neither
	// selects both.
	Owed, Sent bool
	After      string // the last id of the previous page
	Limit      int
}

// NoticeStore reads the erasure notices.
type NoticeStore interface {
	// ExportRecipients returns the recipients that logged exports carried
	// object to, each once, sorted: those its erasure owes a notice.
	ExportRecipients(ctx context.Context, object string) ([]string, error)
	// Notices lists the notices f selects, by id.
	Notices(ctx context.Context, f NoticeFilter) ([]*Notice, error)
	// Notice returns a notice by id; ErrNotFound if there is none.
	Notice(ctx context.Context, id string) (*Notice, error)
	// NoticesOverdue counts the notices still owed after NoticeWithin.
	NoticesOverdue(ctx context.Context, now time.Time) (int, error)
}
