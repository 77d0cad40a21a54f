package ombud

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a principal may do.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleIngestor Role = "ingestor"
	RoleAnalyst  Role = "analyst"
	RoleReviewer Role = "reviewer"
	RoleAuditor  Role = "auditor"
	// RoleOversight handles the whistleblower intake for the oversight
	// body: it lists tips, fetches their sealed messages (which it opens
	// with the body's own keys, off the server) and sends sealed replies.
	RoleOversight Role = "oversight"
	// RoleSystem is a machine: a principal bound to one registered
	// analytic system, which reads only through that system's runs.
	RoleSystem Role = "system"
)

// PrivilegedRoles are the roles whose grant is privileged (OpAdminCreate):
// an admin's, which changes who may read what, and the oversight body's,
// which reads the whistleblowers' tips and answers them in its name. Once
// the quorum is on, no one admin alone creates a principal with either.
var PrivilegedRoles = []Role{RoleAdmin, RoleOversight}

// GrantsPrivilege reports whether roles hold one of PrivilegedRoles.
func GrantsPrivilege[R ~string](roles []R) bool {
	for _, r := range roles {
		if slices.Contains(PrivilegedRoles, Role(r)) {
			return true
		}
	}
	return false
}

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleIngestor, RoleAnalyst, RoleReviewer, RoleAuditor, RoleOversight, RoleSystem}

// Principal is an account that calls the API.
type Principal struct {
	ID        string
	Name      string
	Roles     []Role
	TokenHash []byte
	Created   time.Time
	Disabled  bool
	// EmergencySuspended is the breach entry that suspended the
	// principal's emergency access (0: not suspended). An admin restores
	// it (OpEmergencyRestore).
	EmergencySuspended uint64
	// System is the analytic system a principal of RoleSystem is bound to
	// ("" for every other principal).
	System string
}

// Has reports whether p holds role r and is not disabled.
func (p *Principal) Has(r Role) bool {
	return p != nil && !p.Disabled && slices.Contains(p.Roles, r)
}

// ValidatePrincipal checks a name and roles given by a user.
func ValidatePrincipal(name string, roles []Role) error {
	if err := validateName(name); err != nil {
		return err
	}
	if len(roles) == 0 {
		return Errorf(CodeInvalid, "roles: at least one of %s", rolesList())
	}
	seen := map[Role]bool{}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return Errorf(CodeInvalid, "roles: unknown role %.32q (want one of %s)", string(r), rolesList())
		}
		if seen[r] {
			return Errorf(CodeInvalid, "roles: %q given twice", r)
		}
		seen[r] = true
	}
	return nil
}

func rolesList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// printable reports whether r is a character a name may hold: a graphic
// character or the ASCII space. Control characters, format characters
// (zero-width joiners, bidirectional overrides that reorder what a reader
// sees), other spaces and unassigned code points are not.
func printable(r rune) bool {
	switch r {
	case ' ':
		return true
	case utf8.RuneError, // what a decoder makes of invalid bytes or a lone surrogate
		'\u115f', '\u1160', '\u3164', '\uffa0', // Hangul fillers: letters that show nothing
		'\u2800': // the blank Braille pattern
		return false
	}
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Zs, r) && !unicode.Is(unicode.Cf, r)
}

func validateName(name string) error {
	if name == "" || len(name) > 128 || !utf8.ValidString(name) {
		return Errorf(CodeInvalid, "name: 1 to 128 bytes of UTF-8")
	}
	for _, r := range name {
		if !printable(r) {
			return Errorf(CodeInvalid, "name: control, format (zero-width, bidirectional) and unassigned characters are not allowed")
		}
	}
	if strings.TrimSpace(name) != name {
		return Errorf(CodeInvalid, "name: no leading or trailing spaces")
	}
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
		return Errorf(CodeInvalid, "name: at least one letter or digit")
	}
	return nil
}

// Token is an API bearer token: a principal id and a 256-bit secret. Only
// its hash is stored. It never prints itself except through Reveal.
type Token struct {
	id     string
	secret [32]byte
}

const tokenPrefix = "omb_"

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 16-character identifier.
func NewID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return idEncoding.EncodeToString(b)
}

// NewToken returns a fresh token for principal id.
func NewToken(id string) Token {
	t := Token{id: id}
	rand.Read(t.secret[:])
	return t
}

// ParseToken parses the text form "omb_<id>_<secret>".
func ParseToken(s string) (Token, error) {
	var t Token
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return t, fmt.Errorf("token does not start with %q", tokenPrefix)
	}
	// The lengths are checked before decoding because Go's decoders skip
	// '\r' and '\n' even in strict mode: "a\nb" would parse as "ab".
	id, sec, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(sec) != base64.RawURLEncoding.EncodedLen(32) {
		return t, fmt.Errorf("malformed token")
	}
	if b, err := idEncoding.DecodeString(id); err != nil || idEncoding.EncodeToString(b) != id {
		return t, fmt.Errorf("malformed token")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sec)
	if err != nil || len(raw) != 32 {
		return t, fmt.Errorf("malformed token")
	}
	t.id = id
	copy(t.secret[:], raw)
	return t, nil
}

// PrincipalID returns the id of the principal the token belongs to.
func (t Token) PrincipalID() string { return t.id }

// Hash returns what the store keeps instead of the token.
func (t Token) Hash() []byte {
	h := sha256.New()
	h.Write([]byte("ombud/token/v1\x00"))
	h.Write(t.secret[:])
	return h.Sum(nil)
}

// Matches compares the token with a stored hash in constant time.
func (t Token) Matches(hash []byte) bool {
	return subtle.ConstantTimeCompare(t.Hash(), hash) == 1
}

// Reveal returns the text form. Call it only to show the token once.
func (t Token) Reveal() string {
	return tokenPrefix + t.id + "_" + base64.RawURLEncoding.EncodeToString(t.secret[:])
}

// String never prints the secret.
func (t Token) String() string { return tokenPrefix + t.id + "_(redacted)" }

// GoString never prints the secret.
func (t Token) GoString() string { return t.String() }
