package keys

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func encrypt(t *testing.T, k *ObjectKey, pt []byte, id string) []byte {
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
	k, _ := NewObjectKey()
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
			r, _ := k.Decrypter(bytes.NewReader(bad), id)
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
