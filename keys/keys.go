// Package keys is ombud's envelope encryption: a fresh Tink streaming AEAD
// keyset (AES256-GCM-HKDF, 1 MiB segments) per object, wrapped by a
// key-encryption key (KEK) from a gocloud.dev/secrets keeper. The data
// controller holds the KEK; the object store never sees a key. Destroying
// an object's wrapped keyset is its crypto-shred.
package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"
	"gocloud.dev/secrets"
)

// ErrUnwrap: a wrapped keyset could not be unwrapped: wrong KEK, wrong
// object, or damaged bytes.
var ErrUnwrap = errors.New("keys: cannot unwrap keyset")

// Keyring yields the keepers that wrap keysets. Version names a KEK; the
// current one wraps new keysets and rotation rewraps old ones under it.
type Keyring interface {
	// Current returns the version and keeper that wrap new keysets.
	Current() (int, *secrets.Keeper)
	// Keeper returns the keeper of a version; an error if it is unknown.
	Keeper(version int) (*secrets.Keeper, error)
}

// ObjectKey is one object's data key: a Tink keyset handle, never written
// anywhere unwrapped.
type ObjectKey struct {
	h *keyset.Handle
}

// NewObjectKey makes a fresh AES256-GCM-HKDF 1 MiB keyset.
func NewObjectKey() (*ObjectKey, error) {
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("keys: failed to create keyset: %w", err)
	}
	return &ObjectKey{h: h}, nil
}

func (k *ObjectKey) String() string { return "ObjectKey(redacted)" }

// keeperAEAD adapts a gocloud.dev keeper to Tink's AEADWithContext. Keepers
// take no associated data, so it is bound in: the keeper encrypts
// len(ad) || ad || plaintext, and decryption checks the prefix. Keepers are
// authenticated (secretbox, cloud KMS), so the binding cannot be forged.
type keeperAEAD struct{ k *secrets.Keeper }

func (a keeperAEAD) EncryptWithContext(ctx context.Context, pt, ad []byte) ([]byte, error) {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(ad)))
	msg = append(append(msg, ad...), pt...)
	return a.k.Encrypt(ctx, msg)
}

func (a keeperAEAD) DecryptWithContext(ctx context.Context, ct, ad []byte) ([]byte, error) {
	msg, err := a.k.Decrypt(ctx, ct)
	if err != nil {
		return nil, err
	}
	if len(msg) < 4 {
		return nil, ErrUnwrap
	}
	n := binary.BigEndian.Uint32(msg)
	if uint64(len(msg)-4) < uint64(n) || !bytes.Equal(msg[4:4+n], ad) {
		return nil, ErrUnwrap
	}
	return msg[4+n:], nil
}

var _ tink.AEADWithContext = keeperAEAD{}

// Wrap encrypts the keyset under keeper, bound to the object id.
func (k *ObjectKey) Wrap(ctx context.Context, keeper *secrets.Keeper, objectID string) ([]byte, error) {
	var buf bytes.Buffer
	if err := k.h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), keeperAEAD{keeper}, []byte(objectID)); err != nil {
		return nil, fmt.Errorf("keys: failed to wrap keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// Unwrap decrypts a wrapped keyset for objectID.
func Unwrap(ctx context.Context, keeper *secrets.Keeper, wrapped []byte, objectID string) (*ObjectKey, error) {
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(wrapped)), keeperAEAD{keeper}, []byte(objectID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnwrap, err)
	}
	return &ObjectKey{h: h}, nil
}

// Encrypter returns a writer that encrypts to w; the object id is the
// associated data, so ciphertext cannot be swapped between objects. Close
// writes the final segment.
func (k *ObjectKey) Encrypter(w io.Writer, objectID string) (io.WriteCloser, error) {
	s, err := streamingaead.New(k.h)
	if err != nil {
		return nil, err
	}
	return s.NewEncryptingWriter(w, []byte(objectID))
}

// Decrypter returns a reader of the plaintext of r. Each 1 MiB segment is
// authenticated before any of it is returned; a truncated or altered
// ciphertext fails with an error at the damaged segment.
func (k *ObjectKey) Decrypter(r io.Reader, objectID string) (io.Reader, error) {
	s, err := streamingaead.New(k.h)
	if err != nil {
		return nil, err
	}
	return s.NewDecryptingReader(r, []byte(objectID))
}

// Rewrap unwraps under one keeper and wraps under another, without touching
// any ciphertext: key rotation.
func Rewrap(ctx context.Context, from, to *secrets.Keeper, wrapped []byte, objectID string) ([]byte, error) {
	k, err := Unwrap(ctx, from, wrapped, objectID)
	if err != nil {
		return nil, err
	}
	return k.Wrap(ctx, to, objectID)
}
