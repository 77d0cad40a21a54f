package ombud

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"sync"
)

// LinkageKey keys the pseudonyms in the public log. The operator and
// accredited auditors hold it; the public does not, so refs in the log link
// entries about the same thing without revealing what it is (docs/LOG-FORMAT.md).
type LinkageKey struct {
	k [32]byte
	// macs pools keyed HMAC-SHA256 states: every decision computes
	// several pseudonyms, and a fresh crypto/hmac costs twice as much
	// (docs/PERFORMANCE.md).
	macs *sync.Pool
}

// NewLinkageKey returns a fresh random linkage key.
func NewLinkageKey() LinkageKey {
	var b [32]byte
	rand.Read(b[:])
	k, _ := LinkageKeyFromBytes(b[:])
	return k
}

// LinkageKeyFromBytes wraps 32 key bytes.
func LinkageKeyFromBytes(b []byte) (LinkageKey, error) {
	var k LinkageKey
	if len(b) != len(k.k) {
		return k, errors.New("linkage key must be 32 bytes")
	}
	copy(k.k[:], b)
	key := k.k
	k.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, key[:]) }}
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
	var mac hash.Hash
	if k.macs != nil {
		mac = k.macs.Get().(hash.Hash)
		defer k.macs.Put(mac)
		mac.Reset()
	} else {
		mac = hmac.New(sha256.New, k.k[:])
	}
	var buf [128]byte
	m := append(buf[:0], "ombud/pseudonym/v1\x00"...)
	m = append(m, ns...)
	m = append(m, 0)
	m = append(m, id...)
	mac.Write(m)
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	var out [4 + 22]byte
	copy(out[:], "ps1:")
	base64.RawURLEncoding.Encode(out[4:], sum[:16])
	return string(out[:])
}

// Derive returns a secret of the deployment for one use, named by label,
// derived from the linkage key that every gateway of it holds:
// HMAC-SHA256(key, "ombud/derive/v1" 0x00 label). The whistleblower
// intake's codename salt is one.
func (k LinkageKey) Derive(label string) []byte {
	mac := hmac.New(sha256.New, k.k[:])
	mac.Write([]byte("ombud/derive/v1\x00" + label))
	return mac.Sum(nil)
}
