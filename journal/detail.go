package journal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
)

// Detail is a private detail record (docs/INVARIANTS.md, I4): the personal part of a
// decision — names, identifiers, free-text rationale — kept in the erasable
// metadata store, never in the log. The log entry carries only Commitment.
type Detail struct {
	// Commitment is "sha256:" + hex(SHA-256(domain || Salt || Body)).
	Commitment string
	// Time is the time of the entry that commits to this detail. With the
	// commitment it keys the record: stores keep details in time order, so
	// writes append instead of scattering across the index.
	Time time.Time
	// Kind is the kind of the entry: detail records are kept for a
	// retention per kind.
	Kind entry.Kind
	Salt []byte // 32 random bytes; hides low-entropy bodies
	Body []byte // JSON object; nil once erased
}

const detailDomain = "ombud/detail/v1\x00"

// ErrDetailMismatch: a detail record does not match its entry's commitment.
var ErrDetailMismatch = errors.New("detail does not match the entry's commitment")

// ErrDetailErased: the detail's body was erased; the entry stays verifiable
// in the log, but its detail can no longer be checked.
var ErrDetailErased = errors.New("detail was erased")

// DetailKeyOf returns the key of the detail e commits to.
func DetailKeyOf(e *entry.Entry) ombud.DetailKey {
	return ombud.DetailKey{Time: e.Time, Commitment: e.Detail}
}

// Key returns the record's key.
func (d Detail) Key() ombud.DetailKey { return ombud.DetailKey{Time: d.Time, Commitment: d.Commitment} }

// Commit seals body under a fresh salt and returns the record to store.
func Commit(body []byte) Detail {
	salt := make([]byte, 32)
	rand.Read(salt)
	return Detail{Commitment: commitment(salt, body), Salt: salt, Body: body}
}

func commitment(salt, body []byte) string {
	h := sha256.New()
	h.Write([]byte(detailDomain))
	h.Write(salt)
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// CheckDetail is the one function that checks a detail record against the
// log entry that commits to it.
func CheckDetail(e *entry.Entry, d Detail) error {
	if e.Detail == "" {
		return errors.New("entry commits to no detail")
	}
	if d.Body == nil {
		return ErrDetailErased
	}
	if len(d.Salt) != 32 {
		return fmt.Errorf("%w: salt is %d bytes", ErrDetailMismatch, len(d.Salt))
	}
	got := commitment(d.Salt, d.Body)
	if subtle.ConstantTimeCompare([]byte(got), []byte(e.Detail)) != 1 {
		return ErrDetailMismatch
	}
	return nil
}
