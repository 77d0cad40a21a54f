package ombud

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// LinkageKey keys the pseudonyms in the public log. The operator and
// accredited auditors hold it; the public does not, so refs in the log link
// entries about the same thing without revealing what it is (BRIEF §5).
type LinkageKey struct{ k [32]byte }

// NewLinkageKey returns a fresh random linkage key.
func NewLinkageKey() LinkageKey {
	var k LinkageKey
	rand.Read(k.k[:])
	return k
}

// LinkageKeyFromBytes wraps 32 key bytes.
func LinkageKeyFromBytes(b []byte) (LinkageKey, error) {
	var k LinkageKey
	if len(b) != len(k.k) {
		return k, errors.New("linkage key must be 32 bytes")
	}
	copy(k.k[:], b)
	return k, nil
}

// Bytes returns the raw key, for writing the key file.
func (k LinkageKey) Bytes() []byte { return append([]byte(nil), k.k[:]...) }

// String never prints the key.
func (LinkageKey) String() string { return "LinkageKey(redacted)" }

// GoString never prints the key.
func (LinkageKey) GoString() string { return "LinkageKey(redacted)" }

// Pseudonym returns the keyed pseudonym of identifier in namespace ns (the
// ref name: "subject", "object", "principal" …). Namespaces are separated so a
// subject and a principal with the same identifier get unrelated pseudonyms.
//
//	ps1:base64url(HMAC-SHA256(key, "ombud/pseudonym/v1" 0x00 ns 0x00 id)[:16])
func (k LinkageKey) Pseudonym(ns, id string) string {
	m := hmac.New(sha256.New, k.k[:])
	m.Write([]byte("ombud/pseudonym/v1\x00"))
	m.Write([]byte(ns))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return "ps1:" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
