package ombud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/ombud/ombud/entry"
)

func TestPseudonym(t *testing.T) {
	k := vectorKey()
	a := k.Pseudonym("subject", "plate:B-XY-123") // as in testdata/entries/access.json
	// Golden value: third parties reimplementing pseudonyms check against it.
	if a != "ps1:3rkGfebO9rgDDbktUJTYqg" {
		t.Fatalf("Pseudonym = %s; the derivation changed", a)
	}
	if !entry.IsPseudonym(a) {
		t.Fatalf("%s does not match the ref format", a)
	}
	if b := k.Pseudonym("principal", "national-id:DE-1234567"); b == a {
		t.Fatal("namespaces do not separate pseudonyms")
	}
	if c := NewLinkageKey().Pseudonym("subject", "national-id:DE-1234567"); c == a {
		t.Fatal("pseudonym does not depend on the key")
	}
	if s := fmt.Sprintf("%v %+v %#v", k, k, k); strings.Contains(s, "\x01\x02") || !strings.Contains(s, "redacted") {
		t.Fatalf("linkage key printed: %q", s)
	}
}

func TestToken(t *testing.T) {
	tok := NewToken(NewID())
	s := tok.Reveal()
	got, err := ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Matches(tok.Hash()) || got.PrincipalID() != tok.PrincipalID() {
		t.Fatal("parsed token does not match")
	}
	if other := NewToken(tok.PrincipalID()); other.Matches(tok.Hash()) {
		t.Fatal("a different secret matches")
	}
	if p := fmt.Sprintf("%v %s %#v", tok, tok, tok); strings.Contains(p, s[len(s)-20:]) {
		t.Fatalf("token secret printed: %s", p)
	}
	for _, bad := range []string{"", "omb_", "x" + s[1:], s[:len(s)-1], s + "A", strings.Replace(s, "_", "-", 2), "omb_0000000000000000_" + s[len(s)-43:], s[:len(s)-1] + "\n" + s[len(s)-1:], s[:6] + "\r" + s[6:]} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(NewToken(NewID()).Reveal())
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err == nil && tok.Reveal() != s {
			t.Fatalf("ParseToken(%q) accepted a non-canonical token", s)
		}
	})
}

func TestValidatePrincipal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles []Role
		ok    bool
	}{
		{"Ada", []Role{RoleAnalyst}, true},
		{"", []Role{RoleAnalyst}, false},
		{"Ada", nil, false},
		{"Ada", []Role{"root"}, false},
		{"Ada", []Role{RoleAnalyst, RoleAnalyst}, false},
		{"Ada\nLovelace", []Role{RoleAnalyst}, false},
		{strings.Repeat("a", 129), []Role{RoleAnalyst}, false},
	} {
		if err := ValidatePrincipal(tc.name, tc.roles); (err == nil) != tc.ok {
			t.Errorf("ValidatePrincipal(%q, %v) = %v", tc.name, tc.roles, err)
		}
	}
}

// TestPseudonymIsHMAC pins the fast path to crypto/hmac, including ids long
// enough to take the fallback.
func TestPseudonymIsHMAC(t *testing.T) {
	k := NewLinkageKey()
	for _, id := range []string{"", "x", strings.Repeat("a", 400), strings.Repeat("b", 428), strings.Repeat("c", 429), strings.Repeat("d", 2000)} {
		h := hmac.New(sha256.New, k.k[:])
		h.Write([]byte("ombud/pseudonym/v1\x00subject\x00" + id))
		want := "ps1:" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
		if got := k.Pseudonym("subject", id); got != want {
			t.Fatalf("len %d: %s, want %s", len(id), got, want)
		}
	}
}

// BenchmarkPseudonym: crypto/hmac with pooled keyed states, where a
// hand-written HMAC on the stack once stood (docs/PERFORMANCE.md).
func BenchmarkPseudonym(b *testing.B) {
	k := NewLinkageKey()
	for b.Loop() {
		k.Pseudonym("subject", "plate:B-XY-123")
	}
}

// vectorKey is the linkage key of the test vectors (journal's too):
// bytes 0x00 … 0x1f.
func vectorKey() LinkageKey {
	var b [32]byte
	for i := range b {
		b[i] = byte(i)
	}
	k, _ := LinkageKeyFromBytes(b[:])
	return k
}
