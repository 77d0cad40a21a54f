package journal

import (
	"time"

	"github.com/ombud/ombud"
)

// Operations on the registry of recipients, the bodies exports may go to.
var (
	// RecipientRegister registers a recipient; its target is
	// recipient:ID (the name is private, and the store refuses a name
	// registered twice).
	RecipientRegister = Operation[RecipientPayload]{Op: "recipient.register", Kind: "recipient",
		ID: func(p *RecipientPayload) string {
			return idOf(p.Recipient, func(r *ombud.Recipient) string { return r.ID })
		}}
	// RecipientRetire retires a recipient: no export goes to it from
	// then on. Its target is recipient:ID.
	RecipientRetire = Operation[RetirePayload]{Op: "recipient.retire", Kind: "recipient"}
	// ExportStart records an export decided, with its object list; the
	// one use of its authorization is taken with the reservation. Its
	// target is export:ID.
	ExportStart = Operation[ExportPayload]{Op: "export.start", Kind: "export",
		ID: func(p *ExportPayload) string { return idOf(p.Export, func(e *ombud.Export) string { return e.ID }) }}
	// NoticeSend marks an erasure notice sent, once. Its target is
	// notice:ID.
	NoticeSend = Operation[NoticePayload]{Op: "notice.send", Kind: "notice"}
)

// sharingOperations lists this file's operations, for Operations.
var sharingOperations = []Named{RecipientRegister, RecipientRetire, ExportStart, NoticeSend}

type (
	// RecipientPayload: RecipientRegister.
	RecipientPayload struct{ Recipient *ombud.Recipient }
	// RetirePayload: RecipientRetire, when.
	RetirePayload struct{ At time.Time }
	// ExportPayload: ExportStart, the export and its object list in order.
	ExportPayload struct {
		Export  *ombud.Export
		Objects []string
	}
	// NoticePayload: NoticeSend, when and by whom.
	NoticePayload struct {
		At time.Time
		By string
	}
)
