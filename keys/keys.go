// Package keys is ombud's envelope encryption: a fresh 256-bit data key
// per object, the main key of Tink's streaming AEAD (AES256-GCM-HKDF, 1 MiB
// segments), wrapped by one AES-GCM under an intermediate key, which a
// key-encryption key (KEK) from a gocloud.dev/secrets keeper wraps in turn.
// The data controller holds the KEK; the object store never sees a key.
// Destroying an object's wrapped key is its crypto-shred.
//
// Objects stored before FormatRawKey have a Tink keyset instead of a bare
// key (FormatKeyset), wrapped by an intermediate key or, before
// intermediate keys, by the KEK itself (Wrap, Unwrap); they stay readable.
// Their ciphertext is the same: a keyset of one AES256-GCM-HKDF key and a
// bare key of the same value encrypt alike.
package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	subtlestream "github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"
	"gocloud.dev/secrets"
)

// ErrUnwrap: a wrapped key could not be unwrapped: wrong KEK, wrong
// object, wrong format, or damaged bytes.
var ErrUnwrap = errors.New("keys: cannot unwrap the key")

// Keyring yields the keepers that wrap keysets. Version names a KEK; the
// current one wraps new keysets and rotation rewraps old ones under it.
type Keyring interface {
	// Current returns the version and keeper that wrap new keysets.
	Current() (int, *secrets.Keeper)
	// Keeper returns the keeper of a version; an error if it is unknown.
	Keeper(version int) (*secrets.Keeper, error)
}

// Format is how an object's key is kept, recorded with the object.
type Format int

const (
	// FormatKeyset: a Tink keyset of one AES256-GCM-HKDF key, wrapped as
	// a keyset (its protobuf encrypted whole). Unwrapping parses it.
	FormatKeyset Format = 0
	// FormatRawKey: the 32-byte main key alone, wrapped by one AES-GCM
	// under an intermediate key, bound to the object id. New objects
	// take it: unwrapping is one decryption, with nothing to parse.
	FormatRawKey Format = 1
)

// The streaming format of every object: Tink's AES-GCM-HKDF with SHA-256,
// 32-byte derived keys and 1 MiB ciphertext segments.
const (
	mainKeySize = 32
	segmentSize = 1 << 20
)

// ObjectKey is one object's data key, never written anywhere unwrapped:
// a bare main key (FormatRawKey) or a Tink keyset (FormatKeyset).
type ObjectKey struct {
	raw []byte
	h   *keyset.Handle
}

// NewObjectKey makes a fresh data key, of FormatRawKey.
func NewObjectKey() (*ObjectKey, error) {
	k := make([]byte, mainKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("keys: failed to create a key: %w", err)
	}
	return &ObjectKey{raw: k}, nil
}

// NewKeysetObjectKey makes a fresh data key of FormatKeyset, the format
// objects were stored in before FormatRawKey: for tests that show those
// objects stay readable.
func NewKeysetObjectKey() (*ObjectKey, error) {
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("keys: failed to create keyset: %w", err)
	}
	return &ObjectKey{h: h}, nil
}

// Format is the key's format, to record with the object it encrypts.
func (k *ObjectKey) Format() Format {
	if k.raw != nil {
		return FormatRawKey
	}
	return FormatKeyset
}

// streaming returns the key's streaming AEAD.
func (k *ObjectKey) streaming() (tink.StreamingAEAD, error) {
	if k.raw != nil {
		return subtlestream.NewAESGCMHKDF(k.raw, "SHA256", mainKeySize, segmentSize, 0)
	}
	return streamingaead.New(k.h)
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

// Wrap encrypts the keyset under keeper, bound to the object id: the
// format of objects stored before intermediate keys, kept for their
// rotation. A key of FormatRawKey is wrapped only by an intermediate key.
func (k *ObjectKey) Wrap(ctx context.Context, keeper *secrets.Keeper, objectID string) ([]byte, error) {
	if k.h == nil {
		return nil, errors.New("keys: a bare object key is wrapped by an intermediate key, not by the KEK")
	}
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
	s, err := k.streaming()
	if err != nil {
		return nil, err
	}
	return s.NewEncryptingWriter(w, []byte(objectID))
}

// Decrypter returns a reader of the plaintext of r. Each 1 MiB segment is
// authenticated before any of it is returned; a truncated or altered
// ciphertext fails with an error at the damaged segment.
func (k *ObjectKey) Decrypter(r io.Reader, objectID string) (io.Reader, error) {
	s, err := k.streaming()
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

// Intermediate is an intermediate key: a Tink AEAD keyset (AES-256-GCM)
// that wraps object keysets locally. The KEK wraps the intermediate key,
// so the KMS is called when one is made or first unwrapped by a process,
// not once per object. Shredding stays per object: an object's keyset,
// wrapped by an intermediate key, is destroyed on its erasure.
type Intermediate struct {
	a tink.AEAD
}

func (ik *Intermediate) String() string { return "Intermediate(redacted)" }

// intermediateAD binds a wrapped intermediate key to its id, and keeps it
// apart from an object's keyset wrapped by the KEK under the same string.
func intermediateAD(id string) []byte { return []byte("ombud intermediate key " + id) }

// NewIntermediate makes a fresh intermediate key and returns it with its
// keyset wrapped by keeper, bound to id.
func NewIntermediate(ctx context.Context, keeper *secrets.Keeper, id string) (*Intermediate, []byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, nil, fmt.Errorf("keys: failed to create an intermediate key: %w", err)
	}
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), keeperAEAD{keeper}, intermediateAD(id)); err != nil {
		return nil, nil, fmt.Errorf("keys: failed to wrap an intermediate key: %w", err)
	}
	ik, err := intermediate(h)
	return ik, buf.Bytes(), err
}

// UnwrapIntermediate decrypts the intermediate key id with keeper.
func UnwrapIntermediate(ctx context.Context, keeper *secrets.Keeper, wrapped []byte, id string) (*Intermediate, error) {
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(wrapped)), keeperAEAD{keeper}, intermediateAD(id))
	if err != nil {
		return nil, fmt.Errorf("%w: intermediate key %s: %v", ErrUnwrap, id, err)
	}
	return intermediate(h)
}

// RewrapIntermediate unwraps an intermediate key under one keeper and
// wraps it under another: KEK rotation, which touches no object.
func RewrapIntermediate(ctx context.Context, from, to *secrets.Keeper, wrapped []byte, id string) ([]byte, error) {
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(wrapped)), keeperAEAD{from}, intermediateAD(id))
	if err != nil {
		return nil, fmt.Errorf("%w: intermediate key %s: %v", ErrUnwrap, id, err)
	}
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), keeperAEAD{to}, intermediateAD(id)); err != nil {
		return nil, fmt.Errorf("keys: failed to wrap intermediate key %s: %w", id, err)
	}
	return buf.Bytes(), nil
}

func intermediate(h *keyset.Handle) (*Intermediate, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("keys: intermediate key: %w", err)
	}
	return &Intermediate{a: a}, nil
}

// rawKeyAD binds a wrapped bare key to its object, and keeps it apart from
// a keyset wrapped for the same object.
func rawKeyAD(objectID string) []byte { return []byte("ombud object key\x00" + objectID) }

// WrapWith encrypts the object's key under an intermediate key, bound to
// the object id: a bare key by one AES-GCM, a keyset whole. No KMS is
// called.
func (k *ObjectKey) WrapWith(ik *Intermediate, objectID string) ([]byte, error) {
	if k.raw != nil {
		ct, err := ik.a.Encrypt(k.raw, rawKeyAD(objectID))
		if err != nil {
			return nil, fmt.Errorf("keys: failed to wrap a key: %w", err)
		}
		return ct, nil
	}
	var buf bytes.Buffer
	if err := k.h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), ik.a, []byte(objectID)); err != nil {
		return nil, fmt.Errorf("keys: failed to wrap keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// UnwrapWith decrypts an object's key of format f wrapped by an
// intermediate key.
func UnwrapWith(ik *Intermediate, wrapped []byte, objectID string, f Format) (*ObjectKey, error) {
	switch f {
	case FormatRawKey:
		k, err := ik.a.Decrypt(wrapped, rawKeyAD(objectID))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnwrap, err)
		}
		if len(k) != mainKeySize {
			return nil, fmt.Errorf("%w: a key of %d bytes", ErrUnwrap, len(k))
		}
		return &ObjectKey{raw: k}, nil
	case FormatKeyset:
	default:
		return nil, fmt.Errorf("%w: unknown key format %d", ErrUnwrap, f)
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), ik.a, []byte(objectID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnwrap, err)
	}
	return &ObjectKey{h: h}, nil
}
