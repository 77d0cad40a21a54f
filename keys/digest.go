package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/subtle"
)

// digestInfo separates the key that seals an object's plaintext digest
// from the keys of its segments (derived with a random salt and the
// object id alone).
const digestInfo = "ombud plaintext digest v1 "

// ErrNoDigest: the key cannot seal or open a plaintext digest (an object
// stored with a Tink keyset, before digests were kept).
var ErrNoDigest = errors.New("keys: this object's key keeps no plaintext digest")

// digestAEAD is AES-256-GCM under a key derived from the object's main key
// for its digest alone.
func (k *ObjectKey) digestAEAD(objectID string) (cipher.AEAD, error) {
	if k.raw == nil {
		return nil, ErrNoDigest
	}
	dk, err := subtle.ComputeHKDF("SHA256", k.raw, nil, []byte(digestInfo+objectID), mainKeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealDigest seals d, the SHA-256 of an object's plaintext, under the
// object's key: the digest is kept beside the object but readable only by
// whoever can unwrap its key, and an erasure, which destroys the key,
// destroys it too. A digest of a small record held in the clear would let
// anyone who reads the store confirm a guess of the record.
func (k *ObjectKey) SealDigest(d []byte, objectID string) ([]byte, error) {
	aead, err := k.digestAEAD(objectID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(d)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, d, []byte(objectID)), nil
}

// OpenDigest opens a digest SealDigest sealed for objectID.
func (k *ObjectKey) OpenDigest(sealed []byte, objectID string) ([]byte, error) {
	aead, err := k.digestAEAD(objectID)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: a sealed digest of %d bytes", ErrSegment, len(sealed))
	}
	d, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(objectID))
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed digest", ErrSegment)
	}
	return d, nil
}
