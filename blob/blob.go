// Package blob stores ciphertext in any object store through
// gocloud.dev/blob: file:// (the embedded default), azblob:// (Azure Blob
// Storage), s3:// and gs://. It only ever sees ciphertext. It guards the
// drivers' failure paths: gocloud.dev's azureblob writer (v0.47) panics
// with a nil pointer in Close when an upload fails, for example when the
// container is missing; here that becomes an error.
package blob

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	_ "gocloud.dev/blob/fileblob" // file://
)

// ErrNotFound: no blob under that key.
var ErrNotFound = errors.New("blob: not found")

// Bucket is an object store holding ciphertext.
type Bucket struct {
	b   *blob.Bucket
	url string
	dir string // for file:// buckets, the directory, to fsync what is written
}

// Open opens a bucket URL. For file:// the directory must exist.
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		if u, perr := url.Parse(rawURL); perr == nil && !blob.DefaultURLMux().ValidBucketScheme(u.Scheme) {
			return nil, fmt.Errorf("blob: failed to open %s: no %s:// object store is linked into this program (a build with -tags ombud_nocloud leaves the cloud object stores out; internal/cloud links them in): %w", rawURL, u.Scheme, err)
		}
		return nil, fmt.Errorf("blob: failed to open %s: %w", rawURL, err)
	}
	// A missing container or directory is found now, with a clear error,
	// rather than at the first upload (where azureblob panics).
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if ok, err := b.IsAccessible(actx); err != nil || !ok {
		b.Close()
		if err == nil {
			err = errors.New("the bucket, container or directory does not exist")
		}
		return nil, fmt.Errorf("blob: %s is not accessible: %w", rawURL, err)
	}
	bk := &Bucket{b: b, url: rawURL}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "file" {
		bk.dir = filepath.FromSlash(u.Path)
	}
	return bk, nil
}

// syncFile makes a file:// blob durable: fileblob renames its temporary
// file into place without an fsync, so an acknowledged object could vanish
// in a power cut. Cloud stores are durable when the upload returns.
func (b *Bucket) syncFile(key string) error {
	if b.dir == "" {
		return nil
	}
	p := filepath.Join(b.dir, filepath.FromSlash(key))
	for _, path := range []string{p, filepath.Dir(p)} {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// URL returns the bucket's URL.
func (b *Bucket) URL() string { return b.url }

// Close releases the bucket.
func (b *Bucket) Close() error { return b.b.Close() }

// Put streams r to key and returns the bytes written and their SHA-256.
// The blob exists only if Put returns nil.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader) (int64, []byte, error) {
	return b.Write(ctx, key, func(w io.Writer) error {
		_, err := io.CopyBuffer(w, r, make([]byte, 1<<20))
		return err
	})
}

// Write streams what fill writes to key and returns the bytes written and
// their SHA-256. If fill fails the upload is abandoned. A driver panic is
// recovered and returned as an error.
func (b *Bucket) Write(ctx context.Context, key string, fill func(io.Writer) error) (n int64, sum []byte, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("blob: upload of %s failed (driver panic: %v)", key, p)
		}
	}()
	w, err := b.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", BufferSize: 4 << 20})
	if err != nil {
		return 0, nil, fmt.Errorf("blob: failed to start upload of %s: %w", key, err)
	}
	// Three stages: the producer (fill), the SHA-256, the store's writer.
	aw := NewAsyncWriter(w)
	hw := &hashWriter{w: aw, h: newAsyncHash()}
	err = fill(hw)
	sum = hw.h.Sum()
	if werr := aw.Close(); err == nil {
		err = werr
	}
	if err != nil {
		cancel() // abandons the upload: nothing is stored
		closeGuarded(w)
		return hw.n, nil, fmt.Errorf("blob: upload of %s failed: %w", key, err)
	}
	if err := closeGuarded(w); err != nil {
		return hw.n, nil, fmt.Errorf("blob: upload of %s failed: %w", key, err)
	}
	if err := b.syncFile(key); err != nil {
		return hw.n, nil, fmt.Errorf("blob: failed to sync %s: %w", key, err)
	}
	return hw.n, sum, nil
}

type hashWriter struct {
	w io.Writer
	h *asyncHash
	n int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// closeGuarded closes a writer, turning a driver panic into an error.
func closeGuarded(w io.Closer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("driver panic on close: %v", p)
		}
	}()
	return w.Close()
}

// Get opens key for reading. The reader verifies nothing; callers compare
// the SHA-256 (see Verifying).
// The reader reads ahead on its own goroutine, so fetching overlaps with
// whatever the caller does with the bytes.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	return b.get(ctx, key, true)
}

// GetDirect opens key for reading as Get does, without reading ahead: for
// a caller that reads ahead on goroutines of its own (keys.Stream), where
// Get's read-ahead would only copy every byte once more.
func (b *Bucket) GetDirect(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	return b.get(ctx, key, false)
}

func (b *Bucket) get(ctx context.Context, key string, readAhead bool) (io.ReadCloser, int64, error) {
	if b.dir != "" && plainKey(key) {
		// A file:// bucket keeps a plain key's blob at DIR/KEY: open it
		// directly, without fileblob's stat and attributes file on every
		// read (a third of a small read's cost).
		// Non-blocking, so that a FIFO or a device in a blob's place is
		// refused below instead of blocking the read (and the object's
		// gate) until a writer comes; a regular file reads as ever.
		f, err := os.OpenFile(filepath.Join(b.dir, filepath.FromSlash(key)), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("blob: failed to read %s: %w", key, err)
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, fmt.Errorf("blob: failed to read %s: not a regular file (%v)", key, err)
		}
		if st.Size() < pipeBuf || !readAhead {
			return f, st.Size(), nil
		}
		return &prefetched{newPrefetchReader(f), f}, st.Size(), nil
	}
	r, err := b.b.NewReader(ctx, key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, 0, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		return nil, 0, fmt.Errorf("blob: failed to read %s: %w", key, err)
	}
	if r.Size() < pipeBuf || !readAhead {
		return r, r.Size(), nil // small: one read; read-ahead would only cost
	}
	return &prefetched{newPrefetchReader(r), r}, r.Size(), nil
}

// ReadAll reads key whole, when its size is known to be size bytes (a
// small object's ciphertext, as its metadata records it): one open, one
// read and one close for a file:// bucket (readFile), one request for a
// cloud one.
// A blob of any other size fails with ErrIntegrity; the caller checks its
// SHA-256.
func (b *Bucket) ReadAll(ctx context.Context, key string, size int64) ([]byte, error) {
	if size < 0 || size > pipeBuf {
		return nil, fmt.Errorf("blob: ReadAll of %d bytes: only for blobs up to %d", size, pipeBuf)
	}
	// One byte more than recorded: a read that reaches it finds a longer
	// blob.
	buf := make([]byte, size+1)
	var n int
	if b.dir != "" && plainKey(key) {
		var err error
		n, err = readFile(filepath.Join(b.dir, filepath.FromSlash(key)), buf)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("blob: failed to read %s: %w", key, err)
		}
	} else {
		r, err := b.b.NewReader(ctx, key, nil)
		if err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
			}
			return nil, fmt.Errorf("blob: failed to read %s: %w", key, err)
		}
		n, err = io.ReadFull(r, buf)
		r.Close()
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("blob: failed to read %s: %w", key, err)
		}
	}
	if int64(n) != size {
		return nil, fmt.Errorf("%w: %s holds %d bytes or more, recorded %d", ErrIntegrity, key, n, size)
	}
	return buf[:n], nil
}

type prefetched struct {
	*prefetchReader
	src io.Closer
}

func (p *prefetched) Close() error {
	p.prefetchReader.Close()
	return p.src.Close()
}

// Delete removes key. Deleting a missing key returns ErrNotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := b.b.Delete(ctx, key); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		return fmt.Errorf("blob: failed to delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether key exists.
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	return b.b.Exists(ctx, key)
}

// ErrIntegrity: the stored bytes are not the bytes written.
var ErrIntegrity = errors.New("blob: ciphertext does not match its recorded SHA-256")

// Verifying wraps r so that reaching EOF fails with ErrIntegrity unless
// exactly size bytes with the given SHA-256 were read. Reading stops at an
// error; nothing after a mismatch is returned.
//
// The hash runs on its own goroutine; the final comparison happens before
// EOF is returned, so a reader that reaches EOF has verified everything.
// Close releases the hashing goroutine of a reader abandoned before EOF.
func Verifying(r io.Reader, size int64, sum []byte) io.ReadCloser {
	var h hasher = &syncHash{sha256.New()}
	if size >= pipeBuf {
		h = newAsyncHash()
	}
	return &verifier{r: r, want: sum, size: size, h: h}
}

// hasher is SHA-256 in line (objects under 1 MiB, where a goroutine and
// its buffers cost more than they save) or on its own goroutine.
type hasher interface {
	Write(p []byte)
	Sum() []byte
}

type syncHash struct{ h hash.Hash }

func (s *syncHash) Write(p []byte) { s.h.Write(p) }
func (s *syncHash) Sum() []byte    { return s.h.Sum(nil) }

func (v *verifier) Close() error {
	if v.err == nil {
		v.h.Sum()
		v.err = errors.New("blob: verifying reader closed")
	}
	return nil
}

type verifier struct {
	r    io.Reader
	h    hasher
	want []byte
	size int64
	n    int64
	err  error
}

// Read returns the bytes read; the final comparison happens before EOF is
// returned, so a reader that reaches EOF has verified everything.
func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.h.Sum()
		v.err = fmt.Errorf("%w: more than %d bytes", ErrIntegrity, v.size)
		return 0, v.err
	case errors.Is(err, io.EOF):
		if v.n != v.size {
			v.h.Sum()
			v.err = fmt.Errorf("%w: %d of %d bytes", ErrIntegrity, v.n, v.size)
			return n, v.err
		}
		if string(v.h.Sum()) != string(v.want) {
			v.err = ErrIntegrity
			return n, v.err
		}
		v.err = io.EOF
	case err != nil:
		v.h.Sum()
		v.err = err
	}
	return n, err
}

// plainKey reports whether key is one fileblob stores under its own name:
// letters, digits, _ and -, in /-separated parts, none of them . or ..
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Key returns the blob key of an object: objects/ab/abcdef…, spread over
// 1024 prefixes (32 × 32) so no directory or listing grows without bound.
func Key(objectID string) string {
	if len(objectID) < 2 {
		return "objects/" + objectID
	}
	return "objects/" + strings.ToLower(objectID[:2]) + "/" + objectID
}
