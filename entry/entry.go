package entry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Version is the version of the entry envelope this package writes and
// the only one it parses. See docs/LOG-FORMAT.md.
const Version = 1

// MaxSize bounds one log entry. C2SP tlog-tiles allows 65535 bytes; ombud
// keeps entries small because personal detail never goes into them.
const MaxSize = 16 << 10

// Kind names what an entry records.
type Kind string

// The entry kinds (docs/LOG-FORMAT.md).
const (
	KindPrincipal     Kind = "principal"
	KindPolicy        Kind = "policy"
	KindAuthorization Kind = "authorization"
	KindIngest        Kind = "ingest"
	KindAccess        Kind = "access"
	KindHold          Kind = "hold"
	KindErase         Kind = "erase"
	KindExport        Kind = "export"
	KindFlag          Kind = "flag"
	KindReview        Kind = "review"
	KindAction        Kind = "action"
	KindContest       Kind = "contest"
	KindTip           Kind = "tip"
	KindContract      Kind = "contract"
	KindKey           Kind = "key"
	KindReport        Kind = "report"
	KindIssuer        Kind = "issuer"
	KindBreach        Kind = "breach"
	KindAudit         Kind = "audit"
	// KindSystem records what ombud does on its own schedule, such as
	// erasing detail records whose retention ended.
	KindSystem Kind = "system"
	// KindAttestation records a controller's attestation, such as the
	// deletion of data derived from an uncovered emergency read.
	KindAttestation Kind = "attestation"
	// KindAnalytic records the public registry of analytic systems.
	KindAnalytic Kind = "analytic"
	// KindRun records analytic runs started and closed.
	KindRun Kind = "run"
	// KindRecipient records the registry of the bodies exports may go
	// to.
	KindRecipient Kind = "recipient"
	// KindNotice records an erasure notice sent to a recipient.
	KindNotice Kind = "notice"
	// KindProposal records a privileged operation proposed, voted on or
	// expired; KindQuorum the multi-party approval in force.
	KindProposal Kind = "proposal"
	KindQuorum   Kind = "quorum"
	// KindBuild records the build of ombud a gateway started with.
	KindBuild Kind = "build"
)

// Entry is one transparency-log entry: the envelope of docs/LOG-FORMAT.md. Its leaf in
// the log is the exact bytes Marshal produced; hashes are over those bytes.
type Entry struct {
	V    int       `json:"v"`
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`
	// Fields are public: category codes, reason codes, counts, times.
	Fields map[string]any `json:"fields,omitempty"`
	// Refs are keyed pseudonyms, keyed by what they name.
	Refs map[string][]string `json:"refs,omitempty"`
	// Detail commits to the private detail record.
	Detail string `json:"detail,omitempty"`
}

// Character classes of the envelope's strings, as lookup tables: the
// auditor checks every character of every entry of a log.
var codeChars, b64urlChars, hexLowerChars [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		codeChars[c] = alnum || strings.IndexByte("._:+/=@-", b) >= 0
		b64urlChars[c] = alnum || b == '_' || b == '-'
		hexLowerChars[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'f'
	}
}

// IsCode is the one rule for a code, the only kind of string a public
// field holds: 1 to 128 of A-Z a-z 0-9 . _ : + / = @ -; no spaces, so no
// names or free text.
func IsCode(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	return allIn(s, &codeChars)
}

func allIn(s string, class *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if !class[s[i]] {
			return false
		}
	}
	return true
}

// IsPseudonym matches "ps1:" and 22 base64url characters.
func IsPseudonym(s string) bool {
	rest, ok := strings.CutPrefix(s, "ps1:")
	return ok && len(rest) == 22 && allIn(rest, &b64urlChars)
}

// IsCommitment matches "sha256:" and 64 lowercase hex digits.
func IsCommitment(s string) bool {
	rest, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(rest) == 64 && allIn(rest, &hexLowerChars)
}

const (
	maxFields   = 24
	maxRefs     = 8
	maxRefItems = 256 // an authorization may name 256 subjects
	maxArray    = 64
)

// Marshal validates e and returns the bytes that become its log leaf.
func (e *Entry) Marshal() ([]byte, error) {
	if e.V == 0 {
		e.V = Version
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := appendEntry(make([]byte, 0, 512), e)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal entry: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("entry is %d bytes, more than %d", len(b), MaxSize)
	}
	return b, nil
}

// Error says why input was refused: an entry, and also, for the packages
// that read them, an authorization or a receipt. It is the one error type
// with a reason: Refused names what was refused and how ("invalid
// entry", "receipt does not verify"); Reason says why, and is safe to
// show.
type Error struct{ Refused, Reason string }

func (e *Error) Error() string { return e.Refused + ": " + e.Reason }

func entryErr(format string, a ...any) error {
	return &Error{Refused: "invalid entry", Reason: fmt.Sprintf(format, a...)}
}

// Parse parses and validates the bytes of one log leaf. It rejects
// unknown envelope fields, unknown kinds, fields a kind may not carry, refs
// that are not pseudonyms and trailing data.
func Parse(b []byte) (*Entry, error) {
	if len(b) > MaxSize {
		return nil, entryErr("%d bytes, more than %d", len(b), MaxSize)
	}
	var e Entry
	if !parseCompact(b, &e) {
		e = Entry{}
		if err := decodeEntry(b, &e); err != nil {
			return nil, err
		}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// decodeEntry is the general decoder: any JSON layout, strictly. One leaf
// has one reading: a key given twice, an envelope key in another case
// ("Kind"), a null, an empty object or list, a time not in the one form
// ombud writes, and an empty detail are refused, where encoding/json alone
// would pick one reading or pass over them.
func decodeEntry(b []byte, e *Entry) error {
	if err := strict(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(e); err != nil {
		return entryErr("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return entryErr("trailing data after the entry object")
	}
	return nil
}

// strict walks b's tokens and refuses what encoding/json would read in
// more ways than one, or in a form ombud never writes.
func strict(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		obj     bool
		key     bool // the next token of an object is a key
		members int
		seen    map[string]bool
		last    string
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // the decoder reports malformed JSON
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		} else if tok != json.Delim('{') {
			return entryErr("an entry is one JSON object")
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				if top.members == 0 && len(stack) > 1 {
					return entryErr("an empty object; leave it out")
				}
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			if top.seen[k] {
				return entryErr("%.40q is given twice", k)
			}
			if len(stack) == 1 && envelopeBit(k) == 0 {
				return entryErr("unknown envelope key %.40q", k)
			}
			top.seen[k], top.key, top.last = true, false, k
			top.members++
			continue
		}
		envelope := ""
		if top != nil && top.obj && len(stack) == 1 {
			envelope = top.last
		}
		if closing, _ := tok.(json.Delim); top != nil && closing != ']' {
			top.key = top.obj // after a value, an object's next token is a key
			if !top.obj {
				top.members++
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, &frame{obj: true, key: true, seen: map[string]bool{}})
			case '[':
				stack = append(stack, &frame{})
			case ']':
				if top.members == 0 {
					return entryErr("an empty list; leave it out")
				}
				stack = stack[:len(stack)-1]
			}
		case nil:
			return entryErr("a null; leave the key out")
		case string:
			switch envelope {
			case "time":
				if _, ok := timeOf(tok); !ok {
					return entryErr("time %.40q is not RFC 3339 in UTC with at most nine fraction digits, like 2026-11-27T06:30:00.123Z", tok)
				}
			case "detail":
				if tok == "" {
					return entryErr("an empty detail; leave it out")
				}
			}
		}
	}
}

// Validate checks e against the envelope rules of docs/LOG-FORMAT.md.
func (e *Entry) Validate() error {
	if e.V != Version {
		return entryErr("version %d, want %d", e.V, Version)
	}
	spec := specs[e.Kind]
	if spec == nil {
		return entryErr("unknown kind %q", e.Kind)
	}
	if e.Time.IsZero() {
		return entryErr("missing time")
	}
	if _, off := e.Time.Zone(); off != 0 {
		return entryErr("time must be UTC")
	}
	if len(e.Fields) > maxFields {
		return entryErr("%d fields, at most %d", len(e.Fields), maxFields)
	}
	// Map order is fine here: every entry written is checked, and the
	// encoder sorts once; sorting twice on the log's hot path is waste.
	for name, v := range e.Fields {
		f := spec.fieldNamed(name)
		if f == nil {
			return entryErr("kind %s has no public field %q", e.Kind, name)
		}
		if err := checkValue(f.typ, v); err != nil {
			return entryErr("field %q: %v", name, err)
		}
	}
	if len(e.Refs) > maxRefs {
		return entryErr("%d refs, at most %d", len(e.Refs), maxRefs)
	}
	for name, ps := range e.Refs {
		r := spec.refNamed(name)
		if r == nil {
			return entryErr("kind %s has no ref %q", e.Kind, name)
		}
		if !r.list && len(ps) != 1 {
			return entryErr("ref %q has %d pseudonyms, want 1", name, len(ps))
		}
		if len(ps) == 0 || len(ps) > maxRefItems {
			return entryErr("ref %q has %d pseudonyms, want 1 to %d", name, len(ps), maxRefItems)
		}
		for _, p := range ps {
			if !IsPseudonym(p) {
				return entryErr("ref %q: %q is not a keyed pseudonym", name, p)
			}
		}
	}
	if e.Detail != "" && !IsCommitment(e.Detail) {
		return entryErr("detail %q is not a sha256 commitment", e.Detail)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
