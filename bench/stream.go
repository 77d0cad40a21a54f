package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/keys"
)

// StreamResult is one streaming round, in GB/s (10^9 bytes per second).
// Durable runs end with an fsync of what they wrote; buffered runs leave it
// in the page cache, which shows the cost of everything but the disk.
type StreamResult struct {
	Durable bool    `json:"durable"`
	Copy    float64 `json:"plain_copy_gbps"`
	Encrypt float64 `json:"encrypt_put_gbps"`
	Decrypt float64 `json:"decrypt_get_gbps"`
	// SHA256 is SHA-256 over as many bytes, in memory, on one core: the
	// floor of a get, which hashes its whole ciphertext in order before
	// it reports the end.
	SHA256 float64 `json:"sha256_gbps"`
}

// StreamComparison is the JSON that 'ombud bench stream' prints.
type StreamComparison struct {
	Benchmark string         `json:"benchmark"`
	When      time.Time      `json:"when"`
	Bytes     int64          `json:"bytes"`
	Rounds    []StreamResult `json:"rounds"`
	// Medians and their ratios to the plain copy, durable and buffered.
	Durable  StreamSummary `json:"durable"`
	Buffered StreamSummary `json:"buffered"`
}

// StreamSummary is the median of a mode's rounds.
type StreamSummary struct {
	Median       StreamResult `json:"median"`
	EncryptRatio float64      `json:"encrypt_ratio"`
	DecryptRatio float64      `json:"decrypt_ratio"`
	// DecryptToFloor is the get's median over SHA-256's: how near the
	// get runs to the one stage it cannot share between cores.
	DecryptToFloor float64 `json:"decrypt_ratio_to_sha256"`
	Met1GBps       bool    `json:"met_1gbps"`
}

// CompareStream measures, on one file of size bytes in dir: a plain copy
// of the file to another file; an encrypted put (Tink AES256-GCM-HKDF
// 1 MiB segments, SHA-256 of the ciphertext, file:// blob, fsync); and the
// verified, decrypted get back to a file; and SHA-256 over as many bytes
// in memory. Durable runs end with an fsync.
func CompareStream(ctx context.Context, dir string, size int64, rounds int, progress io.Writer) (*StreamComparison, error) {
	work, err := os.MkdirTemp(dir, "stream-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	if err := writeRandom(src, size); err != nil {
		return nil, err
	}
	// Durable rounds put into a file:// bucket on dir, which fsyncs every
	// object. Buffered rounds put into one on a tmpfs (/dev/shm), where an
	// fsync costs nothing: the server's blob code has no switch to skip
	// its fsync, and this harness adds none.
	durableBucket, err := openFileBucket(ctx, work)
	if err != nil {
		return nil, err
	}
	defer durableBucket.Close()
	bufDir := work
	if d, err := os.MkdirTemp("/dev/shm", "ombud-stream-"); err == nil {
		bufDir = d
		defer os.RemoveAll(d)
	}
	bufferedBucket, err := openFileBucket(ctx, bufDir)
	if err != nil {
		return nil, err
	}
	defer bufferedBucket.Close()
	c := &StreamComparison{Benchmark: "stream-single", When: time.Now().UTC(), Bytes: size}
	gbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e9 }
	for i := range 2 * rounds {
		durable := i%2 == 0
		bucket := bufferedBucket
		if durable {
			bucket = durableBucket
		}
		r := StreamResult{Durable: durable}
		// The previous round's outputs are removed before the clock
		// starts: freeing a GiB of page cache is not part of a copy or a
		// get, and it took up to half a second inside both.
		os.Remove(filepath.Join(work, "copy"))
		os.Remove(filepath.Join(work, "plain"))
		d, err := timed(func() error { return copyFile(src, filepath.Join(work, "copy"), durable) })
		if err != nil {
			return nil, err
		}
		r.Copy = gbps(d)
		key, err := keys.NewObjectKey()
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("bench%d", i)
		var ctSize int64
		var ctSum []byte
		d, err = timed(func() error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			ctSize, ctSum, err = bucket.Write(ctx, blob.Key(id), func(w io.Writer) error {
				enc, err := key.Encrypter(w, id)
				if err != nil {
					return err
				}
				if _, err := io.CopyBuffer(enc, f, make([]byte, 1<<20)); err != nil {
					return err
				}
				return enc.Close()
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		r.Encrypt = gbps(d)
		d, err = timed(func() error {
			// As the API reads an object of many segments: read, hashed
			// and decrypted on goroutines of their own, and written out
			// a segment at a time.
			rc, _, err := bucket.GetDirect(ctx, blob.Key(id))
			if err != nil {
				return err
			}
			defer rc.Close()
			pt, err := key.NewStream(rc, ctSize, ctSum, id)
			if err != nil {
				return err
			}
			defer pt.Close()
			out, err := os.Create(filepath.Join(work, "plain"))
			if err != nil {
				return err
			}
			defer out.Close()
			n, err := pt.WriteTo(out)
			if err != nil {
				return err
			}
			if n != size {
				return fmt.Errorf("decrypted %d of %d bytes", n, size)
			}
			if !durable {
				return nil
			}
			return out.Sync()
		})
		if err != nil {
			return nil, err
		}
		r.Decrypt = gbps(d)
		bucket.Delete(ctx, blob.Key(id))
		r.SHA256 = gbps(hashTime(size))
		if progress != nil {
			mode := "buffered"
			if durable {
				mode = "durable "
			}
			fmt.Fprintf(progress, "round %d/%d %s copy %.2f GB/s  encrypt+put %.2f GB/s  get+decrypt %.2f GB/s  sha-256 %.2f GB/s\n", i/2+1, rounds, mode, r.Copy, r.Encrypt, r.Decrypt, r.SHA256)
		}
		c.Rounds = append(c.Rounds, r)
	}
	c.Durable, c.Buffered = summarize(c.Rounds, true), summarize(c.Rounds, false)
	return c, nil
}

// openFileBucket opens a file:// bucket in a fresh directory under dir.
func openFileBucket(ctx context.Context, dir string) (*blob.Bucket, error) {
	blobs, err := os.MkdirTemp(dir, "blobs-")
	if err != nil {
		return nil, err
	}
	return blob.Open(ctx, "file://"+filepath.ToSlash(blobs)+"?no_tmp_dir=true&metadata=skip")
}

func summarize(rs []StreamResult, durable bool) StreamSummary {
	var sel []StreamResult
	for _, r := range rs {
		if r.Durable == durable {
			sel = append(sel, r)
		}
	}
	med := func(f func(StreamResult) float64) float64 { return medianOf(sel, f) }
	m := StreamResult{Durable: durable,
		Copy:    med(func(r StreamResult) float64 { return r.Copy }),
		Encrypt: med(func(r StreamResult) float64 { return r.Encrypt }),
		Decrypt: med(func(r StreamResult) float64 { return r.Decrypt }),
		SHA256:  med(func(r StreamResult) float64 { return r.SHA256 })}
	return StreamSummary{Median: m, EncryptRatio: m.Encrypt / m.Copy, DecryptRatio: m.Decrypt / m.Copy,
		DecryptToFloor: m.Decrypt / m.SHA256, Met1GBps: m.Encrypt >= 1 && m.Decrypt >= 1}
}

// hashTime times SHA-256 over size bytes of a 4 MiB buffer in memory.
func hashTime(size int64) time.Duration {
	buf := make([]byte, 4<<20)
	rand.Read(buf)
	h := sha256.New()
	st := time.Now()
	for left := size; left > 0; left -= int64(len(buf)) {
		h.Write(buf[:min(int64(len(buf)), left)])
	}
	h.Sum(nil)
	return time.Since(st)
}

func timed(f func() error) (time.Duration, error) {
	st := time.Now()
	err := f()
	return time.Since(st), err
}

func copyFile(src, dst string, durable bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, make([]byte, 1<<20)); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return out.Sync()
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	rand.Read(buf) // one random block, repeated with a varying prefix: incompressible enough, fast to make
	for off := int64(0); off < size; off += int64(len(buf)) {
		buf[0], buf[1], buf[2], buf[3] = byte(off>>24), byte(off>>32), byte(off>>40), byte(off>>16)
		n := min(int64(len(buf)), size-off)
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
	}
	return f.Sync()
}
