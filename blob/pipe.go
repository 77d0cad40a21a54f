package blob

import (
	"errors"
	"io"
	"sync"
)

// Pipelining. A stream moves through stages that each cost a core-second per
// gigabyte or so: reading, SHA-256, AES-GCM, writing. Run in one goroutine
// they add up; run on their own goroutines they overlap, and a stream goes
// as fast as its slowest stage. Each stage holds at most pipeDepth buffers
// of up to 1 MiB, so memory stays constant whatever the object's size.

const (
	pipeDepth = 2
	pipeBuf   = 1 << 20
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, pipeBuf); return &b }}

func getBuf() []byte  { return (*bufPool.Get().(*[]byte))[:0] }
func putBuf(b []byte) { b = b[:0]; bufPool.Put(&b) }

// AsyncWriter writes to w on its own goroutine. Write copies and queues;
// an error from w is returned by a later Write or by Close. Close must be
// called; it waits for everything queued to be written.
type AsyncWriter struct {
	ch   chan []byte
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// NewAsyncWriter starts the writing goroutine.
func NewAsyncWriter(w io.Writer) *AsyncWriter {
	a := &AsyncWriter{ch: make(chan []byte, pipeDepth), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			if a.failed() == nil {
				if _, err := w.Write(b); err != nil {
					a.fail(err)
				}
			}
			putBuf(b)
		}
	}()
	return a
}

func (a *AsyncWriter) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *AsyncWriter) fail(err error) {
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.mu.Unlock()
}

func (a *AsyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := a.failed(); err != nil {
			return n, err
		}
		b := getBuf()
		k := min(len(p), cap(b))
		b = append(b, p[:k]...)
		a.ch <- b
		p, n = p[k:], n+k
	}
	return n, nil
}

// Close flushes and reports the first write error.
func (a *AsyncWriter) Close() error {
	close(a.ch)
	<-a.done
	return a.failed()
}

// prefetchReader reads r ahead on its own goroutine. Close stops it.
type prefetchReader struct {
	ch   chan chunk
	stop chan struct{}
	cur  []byte
	buf  []byte
	err  error
	once sync.Once
}

type chunk struct {
	b   []byte
	err error
}

func newPrefetchReader(r io.Reader) *prefetchReader {
	p := &prefetchReader{ch: make(chan chunk, pipeDepth), stop: make(chan struct{})}
	go func() {
		defer close(p.ch)
		for {
			b := getBuf()
			n, err := io.ReadFull(r, b[:cap(b)])
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case p.ch <- chunk{b[:n], err}:
			case <-p.stop:
				putBuf(b)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prefetchReader) Read(out []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.buf != nil {
			putBuf(p.buf)
			p.buf = nil
		}
		c, ok := <-p.ch
		if !ok {
			if p.err == nil {
				p.err = io.EOF
			}
			continue
		}
		p.buf, p.cur, p.err = c.b, c.b, c.err
	}
	n := copy(out, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// Close stops the reading goroutine; it does not close the source.
func (p *prefetchReader) Close() error {
	p.once.Do(func() {
		close(p.stop)
		for c := range p.ch {
			putBuf(c.b)
		}
	})
	return nil
}
