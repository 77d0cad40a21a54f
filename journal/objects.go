package journal

import (
	"strconv"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Operations on objects, their keys and the detail records.
var (
	Ingest = Operation[ObjectPayload]{Op: "object.ingest", Kind: "object",
		ID: func(p *ObjectPayload) string { return idOf(p.Object, func(o *ombud.Object) string { return o.ID }) }}
	HoldSet     = Operation[HoldPayload]{Op: "object.hold", Kind: "object"}
	HoldRelease = Operation[None]{Op: "object.release", Kind: "object"}
	Erase       = Operation[ErasePayload]{Op: "object.erase", Kind: "object"}
	KeyRotate   = Operation[KeyPayload]{Op: "key.rotate", Kind: "kek"}
	// IntermediateCreate records a new intermediate key, wrapped by the
	// current KEK version. Its target is the KEK's, kek:, as a rotation's:
	// no rotation can retire the version that wraps a key while the key is
	// being recorded, and the key is recorded only under the current
	// version.
	IntermediateCreate = Operation[IntermediatePayload]{Op: "key.intermediate", Kind: "kek"}
	// DetailsErase erases the detail records of one kind of entry up to a
	// time; its target is details:KIND.
	DetailsErase = Operation[DetailsPayload]{Op: "details.erase", Kind: "details",
		ID: func(p *DetailsPayload) string { return string(p.Kind) }}
	// ReportPublish publishes a transparency report; its target is
	// report:NAME.
	ReportPublish = Operation[ReportPayload]{Op: "report.publish", Kind: "report",
		ID: func(p *ReportPayload) string { return p.Name }}
	// EmergencyRead records an emergency read, logged as its permit, for
	// the deadline by which an authorization must cover it. Its target is
	// new each time (emergency-read:ID): nothing conflicts with it.
	EmergencyRead = Operation[EmergencyPayload]{Op: "emergency.read", Kind: "emergency-read"}
	// Breach marks an emergency read not covered in time, and suspends
	// its principal's emergency access; its target is emergency:INDEX.
	Breach = Operation[BreachPayload]{Op: "emergency.breach", Kind: "emergency",
		ID: func(p *BreachPayload) string { return EmergencyID(p.Emergency) }}
	// Attest records that what was derived from a breached emergency read
	// was deleted.
	Attest = Operation[AttestPayload]{Op: "emergency.attest", Kind: "emergency",
		ID: func(p *AttestPayload) string { return EmergencyID(p.Breach) }}
)

// objectOperations lists this file's operations, for Operations.
var objectOperations = []Named{
	Ingest, HoldSet, HoldRelease, Erase, KeyRotate, IntermediateCreate, DetailsErase, ReportPublish,
	EmergencyRead, Breach, Attest,
}

// EmergencyID is the target id of an emergency read logged at index.
func EmergencyID(index uint64) string { return strconv.FormatUint(index, 10) }

type (
	// ObjectPayload: Ingest.
	ObjectPayload struct{ Object *ombud.Object }
	// HoldPayload: HoldSet.
	HoldPayload struct{ Hold *ombud.Hold }
	// ErasePayload: Erase.
	ErasePayload struct {
		Reason string
		At     time.Time
		// Notices are the erasure notices it owes, one to each recipient
		// that a logged export carried the object to; the store refuses
		// the reservation when they are not exactly those.
		Notices []NoticeOwed
	}
	// NoticeOwed is an erasure notice an erasure records: its id and its
	// recipient's.
	NoticeOwed struct{ ID, Recipient string }
	// IntermediatePayload: IntermediateCreate, the key wrapped.
	IntermediatePayload struct{ Key *ombud.IntermediateKey }
	// KeyPayload: KeyRotate, the KEK version it records.
	KeyPayload struct{ Version int }
	// DetailsPayload: DetailsErase: the details of entries of Kind whose
	// time is before Before are erased.
	DetailsPayload struct {
		Kind   entry.Kind
		Before time.Time
		Count  int
	}
	// ReportPayload: ReportPublish.
	ReportPayload struct{ Name string }
	// EmergencyPayload: EmergencyRead; its Index is the permit's, set
	// at commit.
	EmergencyPayload struct{ Emergency *ombud.Emergency }
	// BreachPayload: Breach.
	BreachPayload struct {
		Emergency uint64 // the emergency read's access entry
		Principal string // whose emergency access is suspended
	}
	// AttestPayload: Attest.
	AttestPayload struct{ Breach uint64 }
)
