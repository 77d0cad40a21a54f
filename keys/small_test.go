package keys

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/secrets"
)

func encrypt(t testing.TB, k *ObjectKey, pt []byte, id string) []byte {
	var ct bytes.Buffer
	w, err := k.Encrypter(&ct, id)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pt)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ct.Bytes()
}

// TestDecryptOneSegmentMatchesTink: for every size that fits one segment,
// the one-shot decrypter returns exactly what Tink's streaming reader
// returns, refuses what Tink refuses, and leaves larger objects to Tink.
func TestDecryptOneSegmentMatchesTink(t *testing.T) {
	raw, _ := NewObjectKey()
	legacy, _ := NewKeysetObjectKey()
	for _, k := range []*ObjectKey{raw, legacy} {
		t.Run(fmt.Sprint("format ", k.Format()), func(t *testing.T) { testDecryptOneSegment(t, k) })
	}
}

func testDecryptOneSegment(t *testing.T, k *ObjectKey) {
	// Tink's streaming reader of a keyset, whatever k's format.
	tinkKey, err := k.AsKeyset()
	if err != nil {
		t.Fatal(err)
	}
	const max = 1<<20 - 56
	for _, n := range []int{0, 1, 15, 16, 4096, 65537, max - 1, max, max + 1, 3 << 20} {
		pt := make([]byte, n)
		rand.Read(pt)
		ct := encrypt(t, k, pt, "obj-1")
		got, err := k.DecryptOneSegment(ct, "obj-1")
		if n > max {
			if !errors.Is(err, ErrNotOneSegment) {
				t.Fatalf("size %d: %v, want ErrNotOneSegment", n, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: %v", n, err)
		}
		if r, _ := tinkKey.Decrypter(bytes.NewReader(ct), "obj-1"); r == nil {
			t.Fatal("no reader")
		} else if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: Tink's keyset does not read it: %v", n, err)
		}
		// Every damage Tink refuses, the one-shot decrypter refuses.
		for name, bad := range map[string][]byte{
			"wrong object": nil,
			"flipped tag":  flip(ct, len(ct)-1),
			"flipped body": flip(ct, len(ct)/2+20),
			"flipped salt": flip(ct, 3),
			"truncated":    ct[:len(ct)-1],
			"extended":     append(bytes.Clone(ct), 0),
			"bad header":   flip(ct, 0),
		} {
			id := "obj-1"
			if bad == nil {
				bad, id = ct, "obj-2"
			}
			_, errOne := k.DecryptOneSegment(bad, id)
			r, _ := tinkKey.Decrypter(bytes.NewReader(bad), id)
			_, errTink := io.ReadAll(r)
			if errOne == nil || errTink == nil {
				t.Fatalf("size %d, %s: one-shot %v, Tink %v; both must refuse", n, name, errOne, errTink)
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i < len(c) {
		c[i] ^= 1
	}
	return c
}

// TestRawKeyReadsAsKeyset: a bare key and the keyset holding it encrypt
// alike, at every size, several segments included, so that objects of
// either format are read by either.
func TestRawKeyReadsAsKeyset(t *testing.T) {
	raw, _ := NewObjectKey()
	ks, err := raw.AsKeyset()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 4096, 1<<20 - 56, 1 << 20, 3<<20 + 7} {
		pt := make([]byte, n)
		rand.Read(pt)
		for _, pair := range [][2]*ObjectKey{{raw, ks}, {ks, raw}} {
			ct := encrypt(t, pair[0], pt, "obj-1")
			r, err := pair[1].Decrypter(bytes.NewReader(ct), "obj-1")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("size %d, format %d read as %d: %v", n, pair[0].Format(), pair[1].Format(), err)
			}
		}
	}
}

// BenchmarkOpen4KiB: the cryptography of reading a 4 KiB object, from its
// wrapped key to its plaintext, in each format; and, for comparison, one
// AES-256-GCM of the same bytes with the key alone (a single-shot format).
func BenchmarkOpen4KiB(b *testing.B) {
	ctx := context.Background()
	ik, _, err := NewIntermediate(ctx, benchKeeper(b), "ik")
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, 4096)
	rand.Read(pt)
	raw, _ := NewObjectKey()
	legacy, _ := NewKeysetObjectKey()
	for _, k := range []*ObjectKey{raw, legacy} {
		wrapped, _ := k.WrapWith(ik, "obj-1")
		var ct bytes.Buffer
		w, _ := k.Encrypter(&ct, "obj-1")
		w.Write(pt)
		w.Close()
		b.Run(fmt.Sprint("format ", k.Format()), func(b *testing.B) {
			b.SetBytes(4096)
			for b.Loop() {
				k, err := UnwrapWith(ik, wrapped, "obj-1", k.Format())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k.DecryptOneSegment(ct.Bytes(), "obj-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	wrapped, _ := raw.WrapWith(ik, "obj-1")
	nonce := make([]byte, 12)
	block, _ := aes.NewCipher(raw.raw)
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, nonce, pt, []byte("obj-1"))
	b.Run("single-shot", func(b *testing.B) {
		b.SetBytes(4096)
		for b.Loop() {
			k, err := UnwrapWith(ik, wrapped, "obj-1", FormatRawKey)
			if err != nil {
				b.Fatal(err)
			}
			block, _ := aes.NewCipher(k.raw)
			gcm, _ := cipher.NewGCM(block)
			if _, err := gcm.Open(nil, nonce, sealed, []byte("obj-1")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchKeeper(b *testing.B) *secrets.Keeper {
	p := filepath.Join(b.TempDir(), "kek.key")
	k := make([]byte, 32)
	rand.Read(k)
	os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600)
	ring, err := OpenLocal(p)
	if err != nil {
		b.Fatal(err)
	}
	_, keeper := ring.Current()
	return keeper
}
