// Package blobtest holds the conformance suite every bucket URL must pass.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/ombud/ombud/blob"
)

// TestBucket is the conformance suite every bucket URL must pass.
func TestBucket(t *testing.T, open func(t *testing.T) *blob.Bucket) {
	ctx := context.Background()
	t.Run("round trip", func(t *testing.T) {
		b := open(t)
		for _, n := range []int{0, 1, 5<<20 + 3} {
			data := make([]byte, n)
			rand.Read(data)
			key := blob.Key(fmtID(n))
			wn, sum, err := b.Put(ctx, key, bytes.NewReader(data))
			want := sha256.Sum256(data)
			if err != nil || wn != int64(n) || !bytes.Equal(sum, want[:]) {
				t.Fatalf("Put(%d bytes) = %d, %x, %v", n, wn, sum, err)
			}
			rc, size, err := b.Get(ctx, key)
			if err != nil || size != int64(n) {
				t.Fatalf("Get = size %d, %v", size, err)
			}
			vr := blob.Verifying(rc, size, sum)
			got, err := io.ReadAll(vr)
			vr.Close()
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if ok, err := b.Exists(ctx, key); !ok || err != nil {
				t.Fatalf("Exists = %v, %v", ok, err)
			}
			if err := b.Delete(ctx, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, _, err := b.Get(ctx, key); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Get after Delete: %v", err)
			}
		}
	})
	t.Run("missing", func(t *testing.T) {
		b := open(t)
		if _, _, err := b.Get(ctx, "objects/zz/nothing"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get(missing) = %v", err)
		}
		if err := b.Delete(ctx, "objects/zz/nothing"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Delete(missing) = %v", err)
		}
	})
	t.Run("failed fill stores nothing", func(t *testing.T) {
		b := open(t)
		boom := errors.New("producer failed")
		_, _, err := b.Write(ctx, "objects/ff/failed", func(w io.Writer) error {
			w.Write(make([]byte, 3<<20))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write = %v, want the producer's error", err)
		}
		if ok, _ := b.Exists(ctx, "objects/ff/failed"); ok {
			t.Fatal("a failed upload left a blob")
		}
	})
	t.Run("read whole", func(t *testing.T) {
		b := open(t)
		for _, n := range []int{0, 1, 4152, 1 << 20} {
			data := make([]byte, n)
			rand.Read(data)
			key := blob.Key(fmtID(n))
			if _, _, err := b.Put(ctx, key, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if got, err := b.ReadAll(ctx, key, int64(n)); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadAll(%d bytes) = %d bytes, %v", n, len(got), err)
			}
			// A blob of another size than recorded is refused, longer
			// or shorter.
			for _, want := range []int64{int64(n) + 1, int64(n) - 1} {
				if want < 0 || want > 1<<20 {
					continue
				}
				if _, err := b.ReadAll(ctx, key, want); !errors.Is(err, blob.ErrIntegrity) {
					t.Fatalf("ReadAll of %d bytes recorded as %d: %v, want blob.ErrIntegrity", n, want, err)
				}
			}
		}
		if _, err := b.ReadAll(ctx, "objects/zz/nothing", 10); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("ReadAll(missing) = %v", err)
		}
		if _, err := b.ReadAll(ctx, blob.Key(fmtID(0)), 2<<20); err == nil {
			t.Fatal("ReadAll took a size past one segment")
		}
	})
	t.Run("verifying reader", func(t *testing.T) {
		b := open(t)
		data := []byte("ciphertext that will be damaged")
		_, sum, err := b.Put(ctx, "objects/vv/v", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"altered":   bytes.NewReader(append([]byte("C"), data[1:]...)),
			"truncated": bytes.NewReader(data[:10]),
			"longer":    bytes.NewReader(append(bytes.Clone(data), '!')),
		} {
			vr := blob.Verifying(r, int64(len(data)), sum)
			if _, err := io.ReadAll(vr); !errors.Is(err, blob.ErrIntegrity) {
				t.Errorf("%s: %v, want blob.ErrIntegrity", name, err)
			}
			vr.Close()
		}
	})
}

func fmtID(n int) string {
	const digits = "abcdefghijklmnopqrstuvwxyz234567"
	b := []byte("size")
	for ; n > 0; n /= 32 {
		b = append(b, digits[n%32])
	}
	return string(append(b, "xxxxxxxxxxxx"...))
}
