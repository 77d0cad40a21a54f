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
