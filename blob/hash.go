package blob

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// asyncHash computes SHA-256 on its own goroutine. Hashing (≈1.3 GB/s) is
// slower than AES-GCM (≈3.5 GB/s), so hashing in line would cap a stream
// below 1 GB/s; off the stream's goroutine it overlaps with encryption and
// I/O. It holds at most asyncDepth buffers, so memory stays bounded.
type asyncHash struct {
	ch  chan []byte
	sum chan []byte
}

const asyncDepth = 2

// hashBufs holds the 1 MiB buffers of every hash in the process: a pool
// per hash would allocate (and zero) a fresh buffer for each small object.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

func newAsyncHash() *asyncHash {
	a := &asyncHash{ch: make(chan []byte, asyncDepth), sum: make(chan []byte, 1)}
	go func() {
		h := sha256.New()
		for b := range a.ch {
			h.Write(b)
			a.put(b)
		}
		a.sum <- h.Sum(nil)
	}()
	return a
}

func (a *asyncHash) put(b []byte) {
	b = b[:0]
	hashBufs.Put(&b)
}

// Write queues a copy of p for hashing.
func (a *asyncHash) Write(p []byte) {
	for len(p) > 0 {
		b := *hashBufs.Get().(*[]byte)
		n := min(len(p), cap(b))
		b = append(b[:0], p[:n]...)
		a.ch <- b
		p = p[n:]
	}
}

// Sum waits for everything queued and returns the hash. Call it once.
func (a *asyncHash) Sum() []byte {
	close(a.ch)
	return <-a.sum
}

// syncHash is the plain in-line hash, for tests that compare.
var _ hash.Hash = sha256.New()

// AsyncHash is SHA-256 computed on a goroutine of its own from copies of
// what is written to it, at most two 1 MiB buffers behind the writer.
// Sum must be called once, also after a failure, to end the goroutine.
type AsyncHash struct{ a *asyncHash }

// NewAsyncHash starts an AsyncHash.
func NewAsyncHash() *AsyncHash { return &AsyncHash{newAsyncHash()} }

// Write queues a copy of p; it never fails.
func (h *AsyncHash) Write(p []byte) (int, error) {
	h.a.Write(p)
	return len(p), nil
}

// Sum waits for what was written and returns its SHA-256.
func (h *AsyncHash) Sum() []byte { return h.a.Sum() }
