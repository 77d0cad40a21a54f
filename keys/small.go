package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	aghpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_hkdf_streaming_go_proto"
	commonpb "github.com/tink-crypto/tink-go/v2/proto/common_go_proto"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/subtle"
	"google.golang.org/protobuf/proto"
)

// ErrNotOneSegment: the ciphertext spans more than one segment; use the
// streaming Decrypter.
var ErrNotOneSegment = errors.New("keys: ciphertext is not a single segment")

const aesGCMHKDFKeyURL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"

// DecryptOneSegment decrypts a ciphertext that Encrypter wrote in a single
// segment (plaintexts up to 1 MiB less the 56-byte header and tag), without
// the 2 MiB of buffers Tink's streaming reader allocates per object: for
// small objects those buffers cost more than everything else in a read.
//
// It reads Tink's AES-GCM-HKDF streaming format exactly: a header of
// length(1) || salt || nonce prefix(7); the segment key HKDF(key, salt,
// info = associated data); the segment nonce prefix || uint32(0) || 1 (last);
// AES-GCM with no associated data. keys/small_test.go checks it against
// Tink, byte for byte, including every way a ciphertext can be damaged.
func (k *ObjectKey) DecryptOneSegment(ct []byte, objectID string) ([]byte, error) {
	main, dks, seg := k.raw, mainKeySize, segmentSize
	if main == nil {
		var err error
		if main, dks, seg, err = k.keysetParams(); err != nil {
			return nil, err
		}
	}
	headerLen := 1 + dks + 7
	if len(ct) < headerLen+16 || len(ct) > seg {
		return nil, ErrNotOneSegment
	}
	if int(ct[0]) != headerLen {
		return nil, errors.New("keys: invalid header length")
	}
	salt, prefix := ct[1:1+dks], ct[1+dks:headerLen]
	gcm, err := segmentAEAD(main, salt, objectID, dks)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 12)
	copy(nonce, prefix)
	binary.BigEndian.PutUint32(nonce[7:], 0)
	nonce[11] = 1 // the last (and only) segment
	pt, err := gcm.Open(nil, nonce, ct[headerLen:], nil)
	if err != nil {
		return nil, fmt.Errorf("keys: segment does not authenticate: %w", err)
	}
	return pt, nil
}

// segmentAEAD is the AES-GCM of an object's segments: its key derived by
// HKDF-SHA256 from the main key, the header's salt and the object id.
func segmentAEAD(main, salt []byte, objectID string, dks int) (cipher.AEAD, error) {
	dkey, err := subtle.ComputeHKDF("SHA256", main, salt, []byte(objectID), uint32(dks))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(dkey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// keysetParams reads a keyset's main key, derived key size and segment
// size; ErrNotOneSegment for a keyset not of the shape Encrypter makes,
// which Tink's streaming reader then handles.
func (k *ObjectKey) keysetParams() (main []byte, dks, seg int, err error) {
	ks := insecurecleartextkeyset.KeysetMaterial(k.h)
	var key *aghpb.AesGcmHkdfStreamingKey
	for _, kk := range ks.GetKey() {
		if kk.GetKeyId() == ks.GetPrimaryKeyId() && kk.GetKeyData().GetTypeUrl() == aesGCMHKDFKeyURL {
			key = new(aghpb.AesGcmHkdfStreamingKey)
			if err := proto.Unmarshal(kk.GetKeyData().GetValue(), key); err != nil {
				return nil, 0, 0, fmt.Errorf("keys: bad key material: %w", err)
			}
		}
	}
	if key == nil || len(ks.GetKey()) != 1 {
		return nil, 0, 0, ErrNotOneSegment
	}
	p := key.GetParams()
	if p.GetHkdfHashType() != commonpb.HashType_SHA256 {
		return nil, 0, 0, ErrNotOneSegment
	}
	return key.GetKeyValue(), int(p.GetDerivedKeySize()), int(p.GetCiphertextSegmentSize()), nil
}

// AsKeyset returns the same key as a Tink keyset (FormatKeyset): the
// format objects were stored in before FormatRawKey, for tools and tests
// that write it. Both encrypt alike: ciphertext made with one is read
// with the other.
func (k *ObjectKey) AsKeyset() (*ObjectKey, error) {
	if k.h != nil {
		return k, nil
	}
	ser, err := proto.Marshal(&aghpb.AesGcmHkdfStreamingKey{KeyValue: k.raw, Params: &aghpb.AesGcmHkdfStreamingParams{
		CiphertextSegmentSize: segmentSize, DerivedKeySize: mainKeySize, HkdfHashType: commonpb.HashType_SHA256}})
	if err != nil {
		return nil, err
	}
	ks := &tinkpb.Keyset{PrimaryKeyId: 1, Key: []*tinkpb.Keyset_Key{{
		KeyData:          &tinkpb.KeyData{TypeUrl: aesGCMHKDFKeyURL, Value: ser, KeyMaterialType: tinkpb.KeyData_SYMMETRIC},
		Status:           tinkpb.KeyStatusType_ENABLED,
		KeyId:            1,
		OutputPrefixType: tinkpb.OutputPrefixType_RAW,
	}}}
	h, err := insecurecleartextkeyset.Read(&keyset.MemReaderWriter{Keyset: ks})
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return &ObjectKey{h: h}, nil
}
