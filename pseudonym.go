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
// entries about the same thing without revealing what it is (docs/LOG-FORMAT.md).
type LinkageKey struct {
	k [32]byte
}

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

// slowHMAC is crypto/hmac, for ids too long for the stack buffer. It takes
// copies so that the fast path's values do not escape to the heap.
func slowHMAC(key [32]byte, msg string) [sha256.Size]byte {
	h := hmac.New(sha256.New, key[:])
	h.Write([]byte(msg))
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

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
	const prefix = "ombud/pseudonym/v1\x00"
	var sum [sha256.Size]byte
	if n := len(prefix) + len(ns) + 1 + len(id); n <= 448 {
		// HMAC-SHA256 (RFC 2104) on the stack: every decision computes
		// several pseudonyms, and crypto/hmac allocates on each.
		var buf [64 + 448]byte
		for i := range 64 {
			var kb byte
			if i < len(k.k) {
				kb = k.k[i]
			}
			buf[i] = kb ^ 0x36
		}
		m := append(buf[:64], prefix...)
		m = append(m, ns...)
		m = append(m, 0)
		m = append(m, id...)
		inner := sha256.Sum256(m)
		for i := range 64 {
			buf[i] ^= 0x36 ^ 0x5c
		}
		copy(buf[64:], inner[:])
		sum = sha256.Sum256(buf[:64+sha256.Size])
	} else {
		sum = slowHMAC(k.k, prefix+ns+"\x00"+id)
	}
	var out [4 + 22]byte
	copy(out[:], "ps1:")
	base64.RawURLEncoding.Encode(out[4:], sum[:16])
	return string(out[:])
}
