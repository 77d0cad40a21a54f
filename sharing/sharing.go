// Package sharing keeps the registry of recipients: the bodies outside the
// deployment that exports may go to, each with its category, its
// jurisdiction and the age X25519 recipient that exports to it are sealed
// to. Every change goes through the one pattern and is logged as a
// recipient entry, which names the recipient by a keyed pseudonym; its
// name stays in the detail record.
package sharing

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/vocab"
)

// Store is what the registry reads of the metadata store: it changes
// only through the journal. store.Store satisfies it.
type Store interface {
	ombud.RecipientStore
	ombud.NoticeStore
}

// Config is what a sharing service is built from (New). Store, Journal
// and Vocabulary are required.
type Config struct {
	Store      Store
	Journal    *journal.Journal
	Vocabulary vocab.Vocabulary
	Now        func() time.Time
	// Gate, when set, holds a recipient's gate alone and returns its
	// release (custody.Gates.RecipientExclusive): a retirement is logged
	// under it, so that an export to the recipient logs every permit of
	// its before the retirement, or none.
	Gate func(ctx context.Context, id string) (release func(), err error)
}

// Service keeps the registry of recipients. Build it with New.
type Service struct {
	Config
}

// New checks c and returns the service it describes.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil:
		return nil, errors.New("sharing: no metadata store")
	case c.Journal == nil:
		return nil, errors.New("sharing: no journal")
	case c.Vocabulary == nil:
		return nil, errors.New("sharing: no vocabulary")
	}
	return &Service{Config: c}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

func invalid(format string, a ...any) error { return ombud.Errorf(ombud.CodeInvalid, format, a...) }

// Recipient is a request to register a recipient.
type Recipient struct {
	Name         string
	Category     string
	Jurisdiction string
	Key          string
}

// CheckName refuses a recipient name that is empty, too long, not UTF-8
// or holds control characters. The name is private, so the error does not
// repeat it.
func CheckName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalid("name is required: the recipient's name (kept private, in the detail record)")
	case len(name) > ombud.MaxRecipientName:
		return invalid("name is longer than %d bytes", ombud.MaxRecipientName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, hiddenRune):
		return invalid("name must be UTF-8 text on one line, without control, line-separator or bidirectional-override characters")
	case strings.TrimSpace(name) != name:
		return invalid("name must not begin or end with spaces")
	}
	return nil
}

// hiddenRune: a character that breaks a line or hides or reorders text
// (C0 and C1 controls, line and paragraph separators, bidirectional
// controls), so that two names that look alike are not.
func hiddenRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// CheckKey refuses a key that is not an age X25519 recipient.
func CheckKey(key string) error {
	if key == "" {
		return invalid("key is required: the recipient's age X25519 recipient (age1…), as age-keygen prints it")
	}
	if len(key) > 128 {
		return invalid("key is not an age X25519 recipient: longer than one")
	}
	if _, err := age.ParseX25519Recipient(key); err != nil {
		return invalid("key is not an age X25519 recipient (age1…, as age-keygen -y prints it)")
	}
	return nil
}

// Register registers a recipient through the one pattern. A name is
// registered once, and a key too: exports sealed to a key are for one
// recipient only.
func (s *Service) Register(ctx context.Context, r Recipient, by string) (*ombud.Recipient, journal.Leaf, error) {
	if err := CheckName(r.Name); err != nil {
		return nil, journal.Leaf{}, err
	}
	if err := s.Vocabulary.Check(vocab.RecipientCategory, "category", r.Category); err != nil {
		return nil, journal.Leaf{}, err
	}
	if err := s.Vocabulary.Check(vocab.Jurisdiction, "jurisdiction", r.Jurisdiction); err != nil {
		return nil, journal.Leaf{}, err
	}
	if r.Jurisdiction == vocab.JurisdictionPlaceholder {
		return nil, journal.Leaf{}, invalid("jurisdiction: %s is the placeholder of a deployment without one; name the recipient's", vocab.JurisdictionPlaceholder)
	}
	if err := CheckKey(r.Key); err != nil {
		return nil, journal.Leaf{}, err
	}
	rc := &ombud.Recipient{ID: ombud.NewID(), Name: r.Name, Category: r.Category, Jurisdiction: r.Jurisdiction, Key: r.Key, Registered: s.now(), By: by}
	c, err := journal.RecipientRegister.Change(rc.ID, journal.RecipientPayload{Recipient: rc})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Recipient{Op: entry.OpRegister, RecipientCategory: rc.Category, Jurisdiction: rc.Jurisdiction, Recipient: rc.ID, By: by},
		Detail: entry.RecipientDetail{ID: rc.ID, Key: rc.Key, Name: rc.Name}}, nil)
	if errors.Is(err, ombud.ErrExists) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "a recipient of that name, or with that key, is registered already (ombud recipient list)")
	}
	if err != nil {
		return nil, w, err
	}
	rc.Index = w.Index
	return rc, w, nil
}

// Retire retires a recipient: no export goes to it from then on. It stays
// listed, with its retirement, so that the exports it received can still
// be traced and their erasure notices sent.
func (s *Service) Retire(ctx context.Context, id, by string) (*ombud.Recipient, journal.Leaf, error) {
	rc, err := s.Store.Recipient(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no recipient %q", id)
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if rc.Retired != nil {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "recipient %s is retired already (entry %d)", id, rc.RetireIdx)
	}
	at := s.now()
	c, err := journal.RecipientRetire.Change(id, journal.RetirePayload{At: at})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if s.Gate != nil {
		release, err := s.Gate(ctx, id)
		if err != nil {
			return nil, journal.Leaf{}, err
		}
		defer release()
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body: entry.Recipient{Op: entry.OpRetire, RecipientCategory: rc.Category, Jurisdiction: rc.Jurisdiction, Recipient: id, By: by}}, nil)
	switch {
	case errors.Is(err, ombud.ErrRetired):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "recipient %s is retired already", id)
	case errors.Is(err, ombud.ErrNotFound):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no recipient %q", id)
	case err != nil:
		return nil, w, err
	}
	rc.Retired, rc.RetireIdx = &at, w.Index
	return rc, w, nil
}

// MaxNoticeNote bounds the note that says how a notice was sent, in bytes.
const MaxNoticeNote = 1024

// SendNotice marks an erasure notice sent, through the one pattern, and
// logs it as a notice entry, which names the object and the recipient by
// the pseudonyms of the erase entry that owed it. note says how the
// notice was sent (a letter's reference, a message's id): free text, kept
// in the detail record only.
func (s *Service) SendNotice(ctx context.Context, id, note, by string) (*ombud.Notice, journal.Leaf, error) {
	if len(note) > MaxNoticeNote {
		return nil, journal.Leaf{}, invalid("note: at most %d bytes", MaxNoticeNote)
	}
	if err := ombud.ValidateText("note", note); err != nil {
		return nil, journal.Leaf{}, err
	}
	if strings.TrimSpace(note) == "" {
		return nil, journal.Leaf{}, invalid("note is required: how the notice was sent (a letter's reference, a message's id), kept in the detail record")
	}
	if id == "" || len(id) > 64 {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no such notice: a notice's id is at most 64 bytes (ombud notices)")
	}
	n, err := s.Store.Notice(ctx, id)
	if errors.Is(err, ombud.ErrNotFound) {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no notice %q (ombud notices)", id)
	}
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	if n.Sent != nil {
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "notice %s was sent already (entry %d)", id, n.SentIndex)
	}
	rc, err := s.Store.Recipient(ctx, n.Recipient)
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	at := s.now()
	c, err := journal.NoticeSend.Change(id, journal.NoticePayload{At: at, By: by})
	if err != nil {
		return nil, journal.Leaf{}, err
	}
	w, err := s.Journal.Apply(ctx, c, journal.Record{
		Body:   entry.Notice{RecipientCategory: rc.Category, Jurisdiction: rc.Jurisdiction, Object: n.Object, Recipient: n.Recipient, By: by},
		Detail: entry.NoticeDetail{Note: note, Notice: id, Object: n.Object, Recipient: n.Recipient}}, nil)
	switch {
	case errors.Is(err, ombud.ErrExists):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeConflict, "notice %s was sent already", id)
	case errors.Is(err, ombud.ErrNotFound):
		return nil, journal.Leaf{}, ombud.Errorf(ombud.CodeNotFound, "no notice %q", id)
	case err != nil:
		return nil, w, err
	}
	n.Sent, n.SentIndex, n.SentBy = &at, w.Index, by
	return n, w, nil
}
