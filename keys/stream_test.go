package keys

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// TestStreamMatchesTink: for sizes around every segment boundary, a Stream
// returns exactly what Tink's streaming reader returns, through Read and
// through WriteTo, for keys of both formats.
func TestStreamMatchesTink(t *testing.T) {
	raw, _ := NewObjectKey()
	legacy, _ := NewKeysetObjectKey()
	const ptSeg = 1<<20 - 16 // plaintext of a segment
	const first = ptSeg - 40 // the first holds the header too
	for _, k := range []*ObjectKey{raw, legacy} {
		t.Run(fmt.Sprint("format ", k.Format()), func(t *testing.T) {
			tinkKey, _ := k.AsKeyset()
			for _, n := range []int{0, 1, first - 1, first, first + 1, first + ptSeg, first + ptSeg + 1, 3<<20 + 12345} {
				pt := make([]byte, n)
				rand.Read(pt)
				ct := encrypt(t, k, pt, "obj-1")
				sum := sha256.Sum256(ct)
				tr, err := tinkKey.Decrypter(bytes.NewReader(ct), "obj-1")
				if err != nil {
					t.Fatal(err)
				}
				want, err := io.ReadAll(tr)
				if err != nil || !bytes.Equal(want, pt) {
					t.Fatalf("size %d: Tink itself fails: %v", n, err)
				}
				for _, how := range []string{"Read", "WriteTo"} {
					s, err := k.NewStream(bytes.NewReader(ct), int64(len(ct)), sum[:], "obj-1")
					if err != nil {
						t.Fatalf("size %d: %v", n, err)
					}
					var got bytes.Buffer
					if how == "Read" {
						_, err = io.CopyBuffer(&got, struct{ io.Reader }{s}, make([]byte, 777))
					} else {
						_, err = s.WriteTo(&got)
					}
					s.Close()
					if err != nil || !bytes.Equal(got.Bytes(), want) {
						t.Fatalf("size %d, %s: %d bytes, %v", n, how, got.Len(), err)
					}
				}
			}
		})
	}
}

// TestStreamRefusesDamage: every way the stored ciphertext can differ
// from the recorded one fails the stream before its end is reported, and
// no plaintext of a damaged segment is returned.
func TestStreamRefusesDamage(t *testing.T) {
	k, _ := NewObjectKey()
	pt := make([]byte, 3<<20+100) // four segments
	rand.Read(pt)
	ct := encrypt(t, k, pt, "obj-1")
	sum := sha256.Sum256(ct)
	other := encrypt(t, k, pt, "obj-1") // same plaintext, same key, another salt
	// The header (40 bytes) and the first segment fill the first MiB;
	// segment i starts at i MiB.
	swapped := append(append(append(append([]byte{}, ct[:1<<20]...), ct[2<<20:3<<20]...), ct[1<<20:2<<20]...), ct[3<<20:]...)
	cases := []struct {
		name string
		ct   []byte
		size int64
		sum  []byte
		want error
	}{
		{"a flipped bit in the header's salt", flip(ct, 5), int64(len(ct)), sum[:], ErrSegment},
		{"a flipped bit in the second segment", flip(ct, 1<<20+10), int64(len(ct)), sum[:], ErrSegment},
		{"a flipped bit in the last tag", flip(ct, len(ct)-1), int64(len(ct)), sum[:], ErrSegment},
		// Shorter than the size the caller checked with the store: the
		// store failed to deliver it, which is not damage (ErrShort).
		{"truncated by a segment", ct[:len(ct)-1<<20/2], int64(len(ct)), sum[:], ErrShort},
		{"truncated, the size recorded as stored", ct[:2<<20], 2 << 20, sum[:], ErrSegment},
		{"a byte more than recorded", append(append([]byte{}, ct...), 0), int64(len(ct)), sum[:], ErrDigest},
		{"segments swapped", swapped, int64(len(ct)), sum[:], ErrSegment},
		{"another valid ciphertext of the object", other, int64(len(other)), sum[:], ErrDigest},
		{"another object's id", encrypt(t, k, pt, "obj-2"), int64(len(ct)), sum[:], ErrSegment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := k.NewStream(bytes.NewReader(c.ct), c.size, c.sum, "obj-1")
			if err != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("NewStream: %v, want %v", err, c.want)
				}
				return
			}
			defer s.Close()
			var got bytes.Buffer
			_, err = s.WriteTo(&got)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !bytes.HasPrefix(pt, got.Bytes()) {
				t.Fatal("returned bytes that are not the object's")
			}
			if got.Len() == len(pt) {
				t.Fatal("the whole plaintext was returned before the failure")
			}
			if _, err := s.Read(make([]byte, 10)); err == nil {
				t.Fatal("a read after the failure succeeded")
			}
		})
	}
}

// TestStreamCloseMidway: closing a stream half read stops its goroutines,
// and a reader that fails midway ends it with that error.
func TestStreamCloseMidway(t *testing.T) {
	k, _ := NewObjectKey()
	pt := make([]byte, 8<<20)
	ct := encrypt(t, k, pt, "obj-1")
	sum := sha256.Sum256(ct)
	before := runtime.NumGoroutine()
	for range 20 {
		s, err := k.NewStream(bytes.NewReader(ct), int64(len(ct)), sum[:], "obj-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 1<<20+5)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := s.Read(make([]byte, 1)); err == nil {
			t.Fatal("read after Close succeeded")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running, %d before", n, before)
	}
	boom := errors.New("the disk went away")
	s, err := k.NewStream(io.MultiReader(bytes.NewReader(ct[:3<<20]), errReader{boom}), int64(len(ct)), sum[:], "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteTo(io.Discard); !errors.Is(err, boom) || Damaged(err) {
		t.Fatalf("got %v, want the reader's error, not damage", err)
	}
	// A store that fails in the header is no damage either, nor one
	// whose ciphertext ends there before the size it reported.
	if _, err := k.NewStream(errReader{boom}, int64(len(ct)), sum[:], "obj-1"); !errors.Is(err, boom) || Damaged(err) {
		t.Fatalf("a failing store: %v, want its error, not damage", err)
	}
	if _, err := k.NewStream(bytes.NewReader(ct[:20]), int64(len(ct)), sum[:], "obj-1"); !errors.Is(err, ErrShort) || Damaged(err) {
		t.Fatalf("a ciphertext cut in its header: %v, want ErrShort, not damage", err)
	}
}

// TestStreamFirst: First authenticates the first segment before any
// plaintext is asked for, and takes nothing from the stream.
func TestStreamFirst(t *testing.T) {
	k, _ := NewObjectKey()
	pt := make([]byte, 3<<20)
	rand.Read(pt)
	ct := encrypt(t, k, pt, "obj-1")
	sum := sha256.Sum256(ct)
	s, err := k.NewStream(bytes.NewReader(ct), int64(len(ct)), sum[:], "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.First(); err != nil {
		t.Fatalf("First of an intact stream: %v", err)
	}
	var got bytes.Buffer
	if _, err := s.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), pt) {
		t.Fatalf("after First, the stream gave %d bytes, %v", got.Len(), err)
	}
	s.Close()
	for _, at := range []int{5, 100, 1<<20 - 1} { // the salt, the first segment, its tag
		s, err := k.NewStream(bytes.NewReader(flip(ct, at)), int64(len(ct)), sum[:], "obj-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.First(); !errors.Is(err, ErrSegment) {
			t.Errorf("First with byte %d flipped: %v, want ErrSegment", at, err)
		}
		s.Close()
	}
}

// TestStreamCloseStalled: Close returns while the store stalls in the
// middle of a segment; closing the reader after ends its goroutine.
func TestStreamCloseStalled(t *testing.T) {
	k, _ := NewObjectKey()
	ct := encrypt(t, k, make([]byte, 4<<20), "obj-1")
	sum := sha256.Sum256(ct)
	pr, pw := io.Pipe()
	go pw.Write(ct[:1<<20+100]) // then the store stalls
	s, err := k.NewStream(pr, int64(len(ct)), sum[:], "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		pw.CloseWithError(errors.New("the test gave up"))
		t.Fatal("Close blocked on a store that stalls")
	}
	pr.Close()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// BenchmarkStream64MiB: a Stream of 64 MiB to io.Discard, beside Tink's
// streaming reader behind a SHA-256 of the ciphertext, as reads were.
func BenchmarkStream64MiB(b *testing.B) {
	k, _ := NewObjectKey()
	pt := make([]byte, 64<<20)
	ct := encrypt(b, k, pt, "obj-1")
	sum := sha256.Sum256(ct)
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			s, err := k.NewStream(bytes.NewReader(ct), int64(len(ct)), sum[:], "obj-1")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.WriteTo(io.Discard); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("tink+sha256", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			h := sha256.New()
			r, err := k.Decrypter(io.TeeReader(bytes.NewReader(ct), h), "obj-1")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			if !bytes.Equal(h.Sum(nil), sum[:]) {
				b.Fatal("sum")
			}
		}
	})
}

// FuzzStream: whatever is done to a stored ciphertext (bytes altered,
// cut, or added, and whatever size is recorded), a Stream either returns
// the whole plaintext and reports the end, or fails having returned only
// a prefix of it.
func FuzzStream(f *testing.F) {
	k, _ := NewObjectKey()
	pt := make([]byte, 2<<20+1000) // three segments
	for i := range pt {
		pt[i] = byte(i * 31)
	}
	ct := encrypt(f, k, pt, "obj-1")
	sum := sha256.Sum256(ct)
	f.Add(uint32(0), byte(0), int32(0), int32(0))
	f.Add(uint32(1<<20+5), byte(1), int32(0), int32(0))
	f.Add(uint32(0), byte(0), int32(-100), int32(0))
	f.Add(uint32(0), byte(0), int32(7), int32(7))
	f.Add(uint32(3), byte(0x40), int32(0), int32(-1))
	f.Fuzz(func(t *testing.T, at uint32, xor byte, grow, recordedDelta int32) {
		c := append([]byte{}, ct...)
		if len(c) > 0 {
			c[int(at)%len(c)] ^= xor
		}
		switch {
		case grow < 0:
			c = c[:max(0, len(c)+int(max(grow, -1<<21)))]
		case grow > 0:
			c = append(c, make([]byte, min(grow, 1<<16))...)
		}
		size := int64(len(ct)) + int64(max(min(recordedDelta, 1<<16), -1<<21))
		s, err := k.NewStream(bytes.NewReader(c), size, sum[:], "obj-1")
		if err != nil {
			return
		}
		defer s.Close()
		var got bytes.Buffer
		_, err = s.WriteTo(&got)
		if err == nil && !bytes.Equal(got.Bytes(), pt) {
			t.Fatalf("the end reported after %d bytes that are not the plaintext", got.Len())
		}
		if !bytes.HasPrefix(pt, got.Bytes()) {
			t.Fatalf("%d bytes returned that are not a prefix of the plaintext", got.Len())
		}
		if err != nil && got.Len() == len(pt) {
			t.Fatalf("the whole plaintext returned, then %v", err)
		}
		if err == nil && (xor != 0 || grow != 0 || recordedDelta != 0) {
			t.Fatalf("a changed ciphertext (at %d ^%x, %+d bytes, size %+d) read whole", at, xor, grow, recordedDelta)
		}
	})
}

// TestSealDigest: a sealed digest opens only under its object's key and
// id; an older keyset keeps none.
func TestSealDigest(t *testing.T) {
	k, _ := NewObjectKey()
	d := sha256.Sum256([]byte("a plate read"))
	sealed, err := k.SealDigest(d[:], "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, d[:]) {
		t.Fatal("the sealed digest holds the digest in the clear")
	}
	if got, err := k.OpenDigest(sealed, "obj-1"); err != nil || !bytes.Equal(got, d[:]) {
		t.Fatalf("OpenDigest: %x, %v", got, err)
	}
	other, _ := NewObjectKey()
	for name, open := range map[string]func() ([]byte, error){
		"another id":    func() ([]byte, error) { return k.OpenDigest(sealed, "obj-2") },
		"another key":   func() ([]byte, error) { return other.OpenDigest(sealed, "obj-1") },
		"a flipped bit": func() ([]byte, error) { return k.OpenDigest(flip(sealed, 20), "obj-1") },
		"cut short":     func() ([]byte, error) { return k.OpenDigest(sealed[:10], "obj-1") },
	} {
		if _, err := open(); !Damaged(err) {
			t.Errorf("%s: %v, want damage", name, err)
		}
	}
	old, err := NewKeysetObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.SealDigest(d[:], "obj-1"); !errors.Is(err, ErrNoDigest) {
		t.Errorf("a keyset sealed a digest: %v", err)
	}
}
