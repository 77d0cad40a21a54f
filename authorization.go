package ombud

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/reason"
)

// AuthorizationHeader is the first line of every authorization note body.
const AuthorizationHeader = "ombud-authorization/v1"

// MaxAuthorizationSize bounds an authorization note.
const MaxAuthorizationSize = 16 << 10

// Authorization kinds (docs/AUTHORIZATION.md).
var AuthorizationKinds = []string{"warrant", "court_order", "administrative_order", "consent", "emergency"}

// IssuerKinds are the kinds of authority that issue authorizations.
var IssuerKinds = []string{"court", "administrative", "supervisory"}

// Authorization is a signed legal authorization: who may read which classes
// about which subjects for which purposes, when, how often, and with whom
// the results may be shared. Its text is a C2SP signed note from a
// registered issuer; see docs/AUTHORIZATION.md.
type Authorization struct {
	ID           string
	Issuer       string // the note's signer name; a registered issuer
	Kind         string
	Case         string // case reference: private, never logged
	Purposes     []string
	Classes      []string
	Subjects     []string // identifiers as signed; "*" is the wildcard
	NotBefore    time.Time
	NotAfter     time.Time
	MaxUses      int
	Jurisdiction string
	// Sharing scope (docs/INVARIANTS.md, I7): recipients and classes an export may
	// go to under this authorization.
	ShareRecipients []string
	ShareClasses    []string
	// TransferJurisdictions is the transfer scope: the jurisdictions
	// outside the deployment's (and the object's region's) that an export
	// may go to. An export to a recipient of another jurisdiction needs
	// it to name the recipient's.
	TransferJurisdictions []string
	// ShareUntil is when a recipient must have deleted what it was sent;
	// zero means NotAfter (ShareDeadline).
	ShareUntil time.Time
	// ShareOnward is whether a recipient may pass what it was sent on to
	// a third party; false unless the note says "share-onward: allowed".
	ShareOnward bool
}

// ShareDeadline is when a recipient must have deleted what it was sent
// under a: ShareUntil, or NotAfter when the note gives none.
func (a *Authorization) ShareDeadline() time.Time {
	if a.ShareUntil.IsZero() {
		return a.NotAfter
	}
	return a.ShareUntil
}

// Wildcard reports whether the authorization names every subject.
func (a *Authorization) Wildcard() bool { return slices.Contains(a.Subjects, "*") }

func authErr(format string, a ...any) error {
	return &entry.Error{Refused: "invalid authorization", Reason: fmt.Sprintf(format, a...)}
}

// ErrUnknownIssuer: the note is not signed by any registered issuer.
var ErrUnknownIssuer = errors.New("authorization is not signed by a registered issuer")

// ErrBadSignature: the note names a registered issuer but its signature
// does not verify.
var ErrBadSignature = errors.New("authorization signature does not verify")

// OpenAuthorization verifies a signed authorization note against the
// issuer registry and parses its body.
func OpenAuthorization(msg []byte, issuers note.Verifiers) (*Authorization, error) {
	if len(msg) > MaxAuthorizationSize {
		return nil, authErr("%d bytes, more than %d", len(msg), MaxAuthorizationSize)
	}
	n, err := note.Open(msg, issuers)
	if err != nil {
		var unknown *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unknown):
			return nil, ErrUnknownIssuer
		case errors.As(err, &invalid):
			return nil, ErrBadSignature
		}
		var ue *note.UnknownVerifierError
		if errors.As(err, &ue) {
			return nil, ErrUnknownIssuer
		}
		return nil, authErr("malformed signed note: %v", err)
	}
	a, err := ParseAuthorization(n.Text)
	if err != nil {
		return nil, err
	}
	if a.Issuer != n.Sigs[0].Name {
		return nil, authErr("issuer %q is not the signer %q", a.Issuer, n.Sigs[0].Name)
	}
	return a, nil
}

// ParseAuthorization parses an authorization body (the note text, without
// signatures). It is strict: unknown keys, repeated single keys and bad
// values are errors.
func ParseAuthorization(text string) (*Authorization, error) {
	if len(text) > MaxAuthorizationSize {
		return nil, authErr("too long")
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	if !sc.Scan() || sc.Text() != AuthorizationHeader {
		return nil, authErr("first line must be %q", AuthorizationHeader)
	}
	a := &Authorization{}
	seen := map[string]bool{}
	for n := 2; sc.Scan(); n++ {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "" || strings.TrimSpace(v) != v || v == "" {
			return nil, authErr("line %d: want \"key: value\"", n)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return nil, authErr("line %d: control character", n)
			}
		}
		single := func(dst *string) error {
			if seen[k] {
				return authErr("line %d: %s given twice", n, k)
			}
			*dst = v
			return nil
		}
		var err error
		switch k {
		case "id":
			err = single(&a.ID)
		case "issuer":
			err = single(&a.Issuer)
		case "kind":
			err = single(&a.Kind)
		case "case":
			err = single(&a.Case)
		case "jurisdiction":
			err = single(&a.Jurisdiction)
		case "purpose":
			a.Purposes = append(a.Purposes, v)
		case "class":
			a.Classes = append(a.Classes, v)
		case "subject":
			a.Subjects = append(a.Subjects, v)
		case "share-recipient":
			a.ShareRecipients = append(a.ShareRecipients, v)
		case "share-class":
			a.ShareClasses = append(a.ShareClasses, v)
		case "transfer-jurisdiction":
			a.TransferJurisdictions = append(a.TransferJurisdictions, v)
		case "share-onward":
			if seen[k] {
				return nil, authErr("line %d: share-onward given twice", n)
			}
			switch v {
			case "allowed":
				a.ShareOnward = true
			case "forbidden":
			default:
				return nil, authErr("line %d: share-onward must be allowed or forbidden", n)
			}
		case "not-before", "not-after", "share-until":
			if seen[k] {
				return nil, authErr("line %d: %s given twice", n, k)
			}
			t, perr := time.Parse(time.RFC3339, v)
			if perr != nil {
				return nil, authErr("line %d: %s must be RFC 3339", n, k)
			}
			switch k {
			case "not-before":
				a.NotBefore = t.UTC()
			case "not-after":
				a.NotAfter = t.UTC()
			default:
				a.ShareUntil = t.UTC()
			}
		case "max-uses":
			if seen[k] {
				return nil, authErr("line %d: max-uses given twice", n)
			}
			u, perr := strconv.Atoi(v)
			if perr != nil || u < 1 || u > 1_000_000 || strconv.Itoa(u) != v {
				return nil, authErr("line %d: max-uses must be 1 to 1000000", n)
			}
			a.MaxUses = u
		default:
			return nil, authErr("line %d: unknown key %.32q", n, k)
		}
		if err != nil {
			return nil, err
		}
		seen[k] = true
	}
	if err := sc.Err(); err != nil {
		return nil, authErr("%v", err)
	}
	return a, a.Validate()
}

// Validate checks an authorization's fields.
func (a *Authorization) Validate() error {
	switch {
	case !entry.IsCode(a.ID):
		return authErr("id must be 1-64 of a-z A-Z 0-9 . _ - :")
	case a.Issuer == "":
		return authErr("issuer is required")
	case !slices.Contains(AuthorizationKinds, a.Kind):
		return authErr("kind must be one of %s", strings.Join(AuthorizationKinds, ", "))
	case a.Case == "" || len(a.Case) > 256:
		return authErr("case is required (at most 256 bytes)")
	case len(a.Purposes) == 0 || len(a.Classes) == 0 || len(a.Subjects) == 0:
		return authErr("at least one purpose, class and subject are required")
	case a.NotBefore.IsZero() || a.NotAfter.IsZero() || !a.NotAfter.After(a.NotBefore):
		return authErr("not-before and not-after are required, not-after later")
	case a.NotAfter.Sub(a.NotBefore) > 5*365*24*time.Hour:
		return authErr("an authorization may last at most 5 years")
	case a.MaxUses == 0:
		return authErr("max-uses is required")
	case !entry.IsCode(a.Jurisdiction):
		return authErr("jurisdiction is required, e.g. EU-DE")
	case len(a.Subjects) > 256 || len(a.Purposes) > 32 || len(a.Classes) > 32 || len(a.ShareRecipients) > 32 || len(a.TransferJurisdictions) > 32:
		return authErr("too many subjects, purposes, classes, recipients or transfer jurisdictions")
	case !a.ShareUntil.IsZero() && (!a.ShareUntil.After(a.NotBefore) || a.ShareUntil.Sub(a.NotBefore) > 10*365*24*time.Hour):
		return authErr("share-until must be after not-before, and at most 10 years after it")
	case (len(a.TransferJurisdictions) > 0 || !a.ShareUntil.IsZero() || a.ShareOnward) && len(a.ShareRecipients) == 0:
		return authErr("transfer-jurisdiction, share-until and share-onward limit exports: they need a share-recipient")
	}
	for _, list := range [][]string{a.Purposes, a.Classes, a.ShareRecipients, a.ShareClasses, a.TransferJurisdictions, a.Subjects} {
		seen := make(map[string]bool, len(list))
		for _, v := range list {
			if seen[v] {
				return authErr("%.40q is given twice", v)
			}
			seen[v] = true
		}
	}
	for _, lists := range [][]string{a.Purposes, a.Classes, a.ShareRecipients, a.ShareClasses, a.TransferJurisdictions} {
		for _, v := range lists {
			if !entry.IsCode(v) {
				return authErr("%.40q is not a code", v)
			}
		}
	}
	for _, s := range a.Subjects {
		if s == "*" {
			continue
		}
		if err := ValidateIdentifier("subject", s); err != nil {
			return authErr("subject: %v", err)
		}
	}
	return nil
}

// Text returns the note body of a, the exact text an issuer signs.
func (a *Authorization) Text() string {
	var b strings.Builder
	w := func(k, v string) { b.WriteString(k + ": " + v + "\n") }
	b.WriteString(AuthorizationHeader + "\n")
	w("id", a.ID)
	w("issuer", a.Issuer)
	w("kind", a.Kind)
	w("case", a.Case)
	for _, p := range a.Purposes {
		w("purpose", p)
	}
	for _, c := range a.Classes {
		w("class", c)
	}
	for _, s := range a.Subjects {
		w("subject", s)
	}
	w("not-before", a.NotBefore.UTC().Format(time.RFC3339))
	w("not-after", a.NotAfter.UTC().Format(time.RFC3339))
	w("max-uses", strconv.Itoa(a.MaxUses))
	w("jurisdiction", a.Jurisdiction)
	for _, r := range a.ShareRecipients {
		w("share-recipient", r)
	}
	for _, c := range a.ShareClasses {
		w("share-class", c)
	}
	for _, j := range a.TransferJurisdictions {
		w("transfer-jurisdiction", j)
	}
	if !a.ShareUntil.IsZero() {
		w("share-until", a.ShareUntil.UTC().Format(time.RFC3339))
	}
	if a.ShareOnward {
		w("share-onward", "allowed")
	}
	return b.String()
}

// Covers checks a registered authorization against one read: its window,
// purpose, class, the object's subjects (pseudonyms) and the deployment's
// jurisdiction, which the authorization's must cover (there is no "any"). subjectPseudonyms are the authorization's subjects as
// keyed pseudonyms. It returns "" when covered, else a reason code. Use
// counting is separate (atomic, in the store).
func (a *Authorization) Covers(now time.Time, purpose, class string, objectSubjects, subjectPseudonyms []string, jurisdiction string) string {
	switch {
	case now.Before(a.NotBefore):
		return reason.AuthNotYetValid
	case !now.Before(a.NotAfter):
		return reason.AuthExpired
	case !slices.Contains(a.Purposes, purpose):
		return reason.AuthPurpose
	case !slices.Contains(a.Classes, class):
		return reason.AuthClass
	}
	if !a.Wildcard() {
		ok := false
		for _, s := range objectSubjects {
			ok = ok || slices.Contains(subjectPseudonyms, s)
		}
		if !ok {
			return reason.AuthSubject
		}
	}
	if !JurisdictionCovers(a.Jurisdiction, jurisdiction) {
		return reason.AuthJurisdiction
	}
	return ""
}

// IsIssuerName reports whether name may name an issuer: it is public (in
// the log, reports and pages), so it is an institution's name in the shape
// of a host name and a path, such as court.example/district-3. It starts
// with a letter or digit, so no spreadsheet reads it as a formula.
func IsIssuerName(name string) bool {
	if name == "" || len(name) > 128 || !isAlnum(name[0]) {
		return false
	}
	host, path, hasPath := strings.Cut(name, "/")
	parts := strings.Split(host, ".")
	if hasPath {
		parts = append(parts, strings.Split(path, "/")...)
	}
	for _, part := range parts {
		if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" {
			return false
		}
	}
	return true
}

// Issuer is a registered authority whose signature makes authorizations.
type Issuer struct {
	Name         string // the note key name, e.g. court.example/district-3
	Kind         string // court, administrative, supervisory
	Jurisdiction string
	Key          string // note verifier key
	Registered   time.Time
	Index        uint64
}

// RegisteredAuthorization is an authorization as ombud keeps it.
type RegisteredAuthorization struct {
	Authorization
	Note              string   // the signed note, for auditors to re-verify
	SubjectPseudonyms []string // keyed pseudonyms of Subjects ("*" kept as is)
	Uses              int
	Registered        time.Time
	Index             uint64
	Revoked           *time.Time
	RevokeReason      string
	RevokeIndex       uint64
}

// ErrExhausted: an authorization has no uses left.
var ErrExhausted = errors.New("authorization has no uses left")

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// JurisdictionCovers reports whether an authority of jurisdiction outer
// may act in jurisdiction inner: the same jurisdiction or one within it
// ("EU" covers "EU-DE"). The placeholder covers only itself.
func JurisdictionCovers(outer, inner string) bool {
	return outer != "" && (inner == outer || strings.HasPrefix(inner, outer+"-"))
}
