package ombud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// EntryVersion is the version of the entry envelope this package writes and
// the only one it parses. See docs/LOG-FORMAT.md.
const EntryVersion = 1

// MaxEntrySize bounds one log entry. C2SP tlog-tiles allows 65535 bytes; ombud
// keeps entries small because personal detail never goes into them.
const MaxEntrySize = 16 << 10

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
)

// kindSpec lists the public field and ref names an entry kind may carry.
// Anything else is rejected, so personal data cannot slip into the public log
// under a new name (invariant I4).
type kindSpec struct {
	fields []string
	refs   []string
}

var kindSpecs = map[Kind]kindSpec{
	KindPrincipal:     {fields: []string{"op", "roles"}, refs: []string{"principal", "by"}},
	KindPolicy:        {fields: []string{"op", "version", "policy_sha256"}, refs: []string{"by"}},
	KindAuthorization: {fields: []string{"op", "auth_kind", "issuer", "purposes", "classes", "wildcard", "not_before", "not_after", "max_uses", "jurisdiction", "reason"}, refs: []string{"authorization", "subject", "recipient", "by"}},
	KindIngest:        {fields: []string{"class", "region", "source", "size_band", "retain_until"}, refs: []string{"object", "subject", "by"}},
	KindAccess:        {fields: []string{"decision", "class", "purpose", "reasons", "emergency", "use", "policy_sha256", "auth_kind"}, refs: []string{"object", "subject", "authorization", "by"}},
	KindHold:          {fields: []string{"op", "reason"}, refs: []string{"object", "authorization", "by"}},
	KindErase:         {fields: []string{"reason", "class"}, refs: []string{"object", "authorization", "by"}},
	KindExport:        {fields: []string{"decision", "class", "purpose", "recipient_category", "jurisdiction", "cross_border", "reasons"}, refs: []string{"object", "recipient", "authorization", "by"}},
	KindFlag:          {fields: []string{"system", "model", "model_version", "mode", "reference_db", "gallery_size", "rank", "score", "threshold", "operating_point", "period_start", "period_end", "class"}, refs: []string{"flag", "input", "candidate", "by"}},
	KindReview:        {fields: []string{"outcome"}, refs: []string{"flag", "by"}},
	KindAction:        {fields: []string{"action_kind", "confirmations", "model_version"}, refs: []string{"flag", "action", "by"}},
	KindContest:       {fields: []string{"op", "outcome"}, refs: []string{"action", "contest", "by"}},
	KindTip:           {fields: []string{"op"}, refs: []string{"tip"}},
	KindContract:      {fields: []string{"ocid", "vendor", "reseller", "product_flags", "missing_clauses"}, refs: []string{"contract", "by"}},
	KindKey:           {fields: []string{"op", "kek_version", "keysets"}, refs: []string{"by"}},
	KindReport:        {fields: []string{"period", "checkpoint_size", "report_sha256", "format"}, refs: []string{"by"}},
	KindBreach:        {fields: []string{"reason", "class", "deadline"}, refs: []string{"object", "by", "access"}},
	KindIssuer:        {fields: []string{"op", "issuer", "issuer_kind", "jurisdiction", "key_id"}, refs: []string{"by"}},
	KindAudit:         {fields: []string{"op", "from", "to"}, refs: []string{"by"}},
	KindSystem:        {fields: []string{"op", "entry_kind", "before", "count"}},
	KindAttestation:   {fields: []string{"op", "access"}, refs: []string{"object", "by"}},
}

// Kinds returns every known entry kind, sorted.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kindSpecs))
	for k := range kindSpecs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Entry is one transparency-log entry: the envelope of docs/LOG-FORMAT.md. Its leaf in
// the log is the exact bytes Marshal produced; hashes are over those bytes.
type Entry struct {
	V    int       `json:"v"`
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`
	// Fields are public: category codes, reason codes, counts, times.
	Fields map[string]any `json:"fields,omitempty"`
	// Refs are keyed pseudonyms (see Pseudonym), keyed by what they name.
	Refs map[string][]string `json:"refs,omitempty"`
	// Detail commits to the private detail record (see Commit).
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

// isCode bounds public string values: codes, not prose. 1 to 128 of
// A-Z a-z 0-9 . _ : + / = @ -; no spaces, so no names or free text.
func isCode(s string) bool {
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

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isPseudonym matches "ps1:" and 22 base64url characters.
func isPseudonym(s string) bool {
	rest, ok := strings.CutPrefix(s, "ps1:")
	return ok && len(rest) == 22 && allIn(rest, &b64urlChars)
}

// isCommitment matches "sha256:" and 64 lowercase hex digits.
func isCommitment(s string) bool {
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
		e.V = EntryVersion
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b, err := appendEntry(make([]byte, 0, 512), e)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal entry: %w", err)
	}
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("entry is %d bytes, more than %d", len(b), MaxEntrySize)
	}
	return b, nil
}

// EntryError reports why bytes are not a valid entry.
type EntryError struct{ Reason string }

func (e *EntryError) Error() string { return "invalid entry: " + e.Reason }

func entryErr(format string, a ...any) error {
	return &EntryError{Reason: fmt.Sprintf(format, a...)}
}

// ParseEntry parses and validates the bytes of one log leaf. It rejects
// unknown envelope fields, unknown kinds, fields a kind may not carry, refs
// that are not pseudonyms and trailing data.
func ParseEntry(b []byte) (*Entry, error) {
	if len(b) > MaxEntrySize {
		return nil, entryErr("%d bytes, more than %d", len(b), MaxEntrySize)
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

// decodeEntry is the general decoder: any JSON layout, strictly.
func decodeEntry(b []byte, e *Entry) error {
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

// Validate checks e against the envelope rules of docs/LOG-FORMAT.md.
func (e *Entry) Validate() error {
	if e.V != EntryVersion {
		return entryErr("version %d, want %d", e.V, EntryVersion)
	}
	spec, ok := kindSpecs[e.Kind]
	if !ok {
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
		if !slices.Contains(spec.fields, name) {
			return entryErr("kind %s has no public field %q", e.Kind, name)
		}
		if err := checkValue(v, true); err != nil {
			return entryErr("field %q: %v", name, err)
		}
	}
	if len(e.Refs) > maxRefs {
		return entryErr("%d refs, at most %d", len(e.Refs), maxRefs)
	}
	for name, ps := range e.Refs {
		if !slices.Contains(spec.refs, name) {
			return entryErr("kind %s has no ref %q", e.Kind, name)
		}
		if len(ps) == 0 || len(ps) > maxRefItems {
			return entryErr("ref %q has %d pseudonyms, want 1 to %d", name, len(ps), maxRefItems)
		}
		for _, p := range ps {
			if !isPseudonym(p) {
				return entryErr("ref %q: %q is not a keyed pseudonym", name, p)
			}
		}
	}
	if e.Detail != "" && !isCommitment(e.Detail) {
		return entryErr("detail %q is not a sha256 commitment", e.Detail)
	}
	return nil
}

// checkValue allows strings that are codes, numbers, booleans, and (at the
// top level) arrays of those. Objects and nulls are refused: structure that
// could hide free text belongs in the detail record.
func checkValue(v any, top bool) error {
	switch v := v.(type) {
	case string:
		if !isCode(v) {
			return fmt.Errorf("string %q is not a code (1-128 of A-Z a-z 0-9 . _ : + / = @ -)", truncate(v, 40))
		}
	case bool, json.Number, int, int64, uint64, float64:
	case []string:
		return checkValue(toAny(v), top)
	case []any:
		if !top {
			return errors.New("nested arrays are not allowed")
		}
		if len(v) > maxArray {
			return fmt.Errorf("array of %d, at most %d", len(v), maxArray)
		}
		for _, x := range v {
			if err := checkValue(x, false); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("value of type %T is not allowed", v)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
