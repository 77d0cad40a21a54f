package ombud

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Object is the metadata of one stored record. Its bytes live encrypted in
// the blob store; its data key lives only wrapped, in WrappedKeyset.
type Object struct {
	ID          string
	Class       string
	Subjects    []string // keyed pseudonyms, never the identifiers
	Source      string
	Region      string
	CollectedAt time.Time
	Created     time.Time
	RetainUntil time.Time
	Size        int64  // plaintext bytes
	CipherSize  int64  // ciphertext bytes
	CipherSHA   []byte // SHA-256 of the ciphertext, checked on every read
	// WrappedKeyset is the object's data key (a bare key or, in objects
	// stored before bare keys, a Tink keyset: see KeyFormat) encrypted
	// under the intermediate key WrappingKey, or, for an object stored
	// before intermediate keys (WrappingKey ""), under KEK version
	// KEKVersion. Deleting it is the crypto-shred.
	WrappedKeyset []byte
	WrappingKey   string
	KEKVersion    int
	// KeyFormat is the format of the wrapped key (keys.Format): 0, a Tink
	// keyset; 1, a bare key wrapped by one AES-GCM under WrappingKey.
	KeyFormat int
	// PlainDigest is the SHA-256 of the plaintext, sealed under the
	// object's key (keys.SealDigest); nil for objects stored before it
	// was kept, and after an erasure.
	PlainDigest []byte
	Hold        *Hold
	Erased      *Erasure
	IngestIndex uint64
	// IngestDetail is the key of the ingest entry's detail record, erased
	// with the object.
	IngestDetail DetailKey
	// ShredReason is set on objects whose keyset an earlier version
	// destroyed without recording the erasure (a crash mid-shred); the
	// sweep erases them with this reason.
	ShredReason string
}

// Hold is a legal hold: while set, the object is never shredded.
type Hold struct {
	Reason        string
	Authorization string
	Since         time.Time
	By            string
}

// Erasure records a crypto-shred.
type Erasure struct {
	Reason string
	At     time.Time
	Index  uint64 // the erase entry
}

// Erasure reasons (public codes in the erase entry). Admins give one of
// the erase vocabulary's codes; ombud itself writes the system reasons.
const (
	EraseRetention       = "retention_expired"
	EraseCourtOrder      = "court_order"
	EraseAuthRefused     = "authorization_refused"
	EraseControllerOrder = "controller_order"
	// EraseIngestUnacknowledged: an ingest's entry was logged but a crash
	// came before its client was told; recovery discards the object.
	EraseIngestUnacknowledged = "ingest_unacknowledged"
)

// ErasedOnOrder reports whether an erasure for reason is on an order (an
// admin's, privileged: OpObjectErase), not ombud's own (retention's end,
// recovery's discarding of an ingest never acknowledged).
func ErasedOnOrder(reason string) bool {
	return reason != EraseRetention && reason != EraseIngestUnacknowledged
}

// Day is t's UTC date, the precision at which times about a person's record
// (a collection, a deadline) are published.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// RetainUntil is the deadline of an object of class c collected at t.
func RetainUntil(c Class, collected time.Time) time.Time {
	return collected.Add(c.Retention).UTC().Truncate(time.Second)
}

// Expired reports whether o is due for shredding at now: past its
// deadline, not on hold, not already erased.
func (o *Object) Expired(now time.Time) bool {
	return o.Erased == nil && o.Hold == nil && !now.Before(o.RetainUntil)
}

// ValidateIdentifier checks a subject identifier or source given by a user:
// printable, no commas (the header separator), bounded.
func ValidateIdentifier(what, s string) error {
	if s == "" || len(s) > 256 {
		return Errorf(CodeInvalid, "%s: 1 to 256 bytes", what)
	}
	if !utf8.ValidString(s) {
		return Errorf(CodeInvalid, "%s: must be UTF-8", what)
	}
	for _, r := range s {
		if r == ',' || !printable(r) {
			return Errorf(CodeInvalid, "%s: control, format (zero-width, bidirectional) characters and commas are not allowed", what)
		}
	}
	return nil
}

// ParseSubjects splits a comma-separated header value into identifiers.
func ParseSubjects(h string) ([]string, error) {
	if strings.TrimSpace(h) == "" {
		return nil, nil
	}
	parts := strings.Split(h, ",")
	if len(parts) > 64 {
		return nil, Errorf(CodeInvalid, "at most 64 subjects")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if err := ValidateIdentifier("subject", p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SizeBand is the public, coarse size of an object: exact sizes can
// identify a record.
func SizeBand(n int64) string {
	switch {
	case n < 1<<10:
		return "lt1KiB"
	case n < 1<<20:
		return "1KiB-1MiB"
	case n < 16<<20:
		return "1MiB-16MiB"
	case n < 1<<30:
		return "16MiB-1GiB"
	}
	return "ge1GiB"
}

// Emergency is a read made under emergency access, before any
// authorization. It must be covered by an authorization registered before
// Deadline.
type Emergency struct {
	Index       uint64 // the access entry
	ObjectID    string
	Principal   string
	Purpose     string
	Reason      string
	At          time.Time
	Deadline    time.Time
	CoveredBy   string
	BreachIndex uint64
	// AttestIndex is the attestation entry in which the controller
	// recorded the deletion of data derived from an uncovered read.
	AttestIndex uint64
}

// DetailKey finds a detail record: the time and commitment of its entry.
type DetailKey struct {
	Time       time.Time
	Commitment string
}

// IntermediateKey is a key that wraps objects' keysets, itself wrapped by
// KEK version KEKVersion. Rotating the KEK rewraps intermediate keys, not
// objects.
type IntermediateKey struct {
	ID         string
	KEKVersion int
	Wrapped    []byte
	Created    time.Time
	LogIndex   uint64
}
