package keys

import (
	"bytes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// ErrDigest: the ciphertext read is not the one recorded; its SHA-256
// differs, or its length does.
var ErrDigest = errors.New("keys: the ciphertext differs from the one recorded")

// ErrSegment: a ciphertext segment does not authenticate.
var ErrSegment = errors.New("keys: a ciphertext segment does not authenticate")

// ErrShort: the ciphertext's reader ended before the recorded size. The
// caller checked the size the store reports before it opened the
// stream, so this is a store that failed to deliver it (a connection cut
// before its end), not a ciphertext seen to differ: it is not Damaged.
var ErrShort = errors.New("keys: the ciphertext ended before its recorded size")

// Damaged reports whether err says that a ciphertext differs from the one
// recorded (ErrDigest, ErrSegment), as against failing to be read.
func Damaged(err error) bool { return errors.Is(err, ErrDigest) || errors.Is(err, ErrSegment) }

// streamDepth is how many segments each stage of a Stream may run ahead
// of the next.
const streamDepth = 2

// StreamBuffers bounds the memory a Stream holds in buffers: ciphertext
// segments not yet both hashed and decrypted (a queue of streamDepth, one
// in each stage's hands and one being read) and plaintext segments not
// yet taken (a queue of streamDepth, one being decrypted, one being read
// out). Callers that keep many streams open count each at this.
const StreamBuffers = (streamDepth + 3 + streamDepth + 2) * segmentSize

// Stream is the plaintext of an object of many segments, read, checked
// and decrypted ahead of its reader. One goroutine reads the ciphertext a
// segment at a time, a second hashes it (SHA-256) and a third decrypts
// it, so that the hash, the decryption and the reader's own writing run
// on different cores, and no segment is copied between them.
//
// Each segment is authenticated before any of it is returned; a segment
// that fails stops the stream there. The whole ciphertext's length and
// SHA-256 are compared with the recorded ones before any of the last
// segment is returned: a ciphertext other than the recorded one, even one
// made with the object's key, never yields its whole plaintext, and a
// reader that reaches the end (io.EOF, or a nil error from WriteTo) has
// had every byte checked. Close must be called, and not while a Read or
// WriteTo runs on another goroutine.
type Stream struct {
	out  chan *segment
	done chan struct{}
	sum  chan []byte
	want []byte
	wg   sync.WaitGroup
	once sync.Once

	cur   *segment // being read by Read
	pos   int
	ended bool // the last segment was taken, its SHA-256 matched
	err   error
}

// segment is one segment's buffer: ciphertext from the reader, handed to
// the hasher and the decrypter (refs 2), or plaintext for the consumer.
type segment struct {
	b    []byte
	refs atomic.Int32
	i    uint32
	last bool
	err  error
}

var segments = sync.Pool{New: func() any { return &segment{b: make([]byte, 0, segmentSize)} }}

func getSegment() *segment {
	s := segments.Get().(*segment)
	s.b, s.err, s.last, s.i = s.b[:0], nil, false, 0
	return s
}

func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		segments.Put(s)
	}
}

// NewStream returns the plaintext of the size bytes of ciphertext r
// yields, as Encrypter wrote it for objectID, checked against its
// recorded SHA-256 (sum). It fails at once only for a key or header it
// cannot use; a damaged ciphertext fails the Stream's reads. A ciphertext
// that differs from the recorded one fails with ErrDigest or ErrSegment;
// any other error is r's own (the store failed, not the object).
func (k *ObjectKey) NewStream(r io.Reader, size int64, sum []byte, objectID string) (*Stream, error) {
	main, dks, seg := k.raw, mainKeySize, segmentSize
	if main == nil {
		var err error
		if main, dks, seg, err = k.keysetParams(); err != nil {
			return nil, err
		}
		if seg != segmentSize {
			return nil, ErrNotOneSegment
		}
	}
	headerLen := 1 + dks + 7
	if size < int64(headerLen+16) {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a header and a tag", ErrDigest, size)
	}
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(r, header); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w, in its header", ErrShort)
	} else if err != nil {
		// The store failed, not the ciphertext: neither ErrDigest nor
		// ErrSegment.
		return nil, fmt.Errorf("keys: the ciphertext cannot be read: %w", err)
	}
	if int(header[0]) != headerLen {
		return nil, fmt.Errorf("%w: invalid header length", ErrSegment)
	}
	gcm, err := segmentAEAD(main, header[1:1+dks], objectID, dks)
	if err != nil {
		return nil, err
	}
	s := &Stream{out: make(chan *segment, streamDepth), done: make(chan struct{}), sum: make(chan []byte, 1), want: sum}
	toHash, toOpen := make(chan *segment, streamDepth), make(chan *segment, streamDepth)
	h := sha256.New()
	h.Write(header)
	// Close waits for the hasher and the decrypter, not for the reader,
	// which may be stuck in a store that stalls: the caller's closing of
	// the ciphertext's reader, after Close, ends it.
	s.wg.Add(2)
	go s.read(r, size-int64(headerLen), seg-headerLen, seg, toHash, toOpen)
	go s.hash(h, toHash)
	go s.open(gcm, header[1+dks:], toOpen)
	return s, nil
}

// read reads the ciphertext after the header, left bytes, a segment at a
// time (the first is first bytes long, the others seg), and hands each to
// the hasher and the decrypter. A read error goes to the decrypter, in
// place of the segment.
func (s *Stream) read(r io.Reader, left int64, first, seg int, toHash, toOpen chan<- *segment) {
	defer close(toOpen)
	defer close(toHash)
	for i := uint32(0); ; i++ {
		n := int64(seg)
		if i == 0 {
			n = int64(first)
		}
		n = min(n, left)
		sg := getSegment()
		sg.i = i
		sg.b = sg.b[:n]
		if _, err := io.ReadFull(r, sg.b); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w, in segment %d", ErrShort, i)
			}
			sg.err = err
		}
		left -= n
		sg.last = left == 0
		if sg.last && sg.err == nil {
			// One byte more than recorded is a longer ciphertext.
			var one [1]byte
			if m, _ := io.ReadFull(r, one[:]); m > 0 {
				sg.err = fmt.Errorf("%w: the ciphertext is longer than recorded", ErrDigest)
			}
		}
		if sg.err != nil {
			sg.refs.Store(1)
			select {
			case toOpen <- sg:
			case <-s.done:
			}
			return
		}
		sg.refs.Store(2)
		last := sg.last // sg is the hasher's and the decrypter's once sent
		select {
		case toHash <- sg:
		case <-s.done:
			return
		}
		select {
		case toOpen <- sg:
		case <-s.done:
			return
		}
		if last {
			return
		}
	}
}

// receive returns the next segment from in, or nil once the reader
// stopped (in is closed) or the stream is closed.
func (s *Stream) receive(in <-chan *segment) *segment {
	select {
	case sg := <-in:
		return sg
	case <-s.done:
		return nil
	}
}

// hash hashes the segments in order and sends the sum, or nothing if the
// ciphertext did not end.
func (s *Stream) hash(h hash.Hash, in <-chan *segment) {
	defer s.wg.Done()
	for {
		sg := s.receive(in)
		if sg == nil {
			return
		}
		h.Write(sg.b)
		last := sg.last
		sg.release()
		if last {
			s.sum <- h.Sum(nil)
			return
		}
	}
}

// open decrypts the segments in order into fresh buffers for the consumer;
// the first failure is passed on and ends the stream.
func (s *Stream) open(gcm cipher.AEAD, prefix []byte, in <-chan *segment) {
	defer s.wg.Done()
	defer close(s.out)
	nonce := make([]byte, gcm.NonceSize())
	copy(nonce, prefix)
	for {
		sg := s.receive(in)
		if sg == nil {
			return
		}
		pt := getSegment()
		pt.refs.Store(1)
		pt.last = sg.last
		if sg.err != nil {
			pt.err = sg.err
		} else {
			binary.BigEndian.PutUint32(nonce[len(prefix):], sg.i)
			nonce[len(nonce)-1] = 0
			if sg.last {
				nonce[len(nonce)-1] = 1
			}
			if b, err := gcm.Open(pt.b[:0], nonce, sg.b, nil); err != nil {
				pt.err = fmt.Errorf("%w: segment %d", ErrSegment, sg.i)
			} else {
				pt.b = b
			}
		}
		sg.release()
		end := pt.err != nil || pt.last // pt is the consumer's once sent
		select {
		case s.out <- pt:
		case <-s.done:
			return
		}
		if end {
			return
		}
	}
}

// next returns the next plaintext segment, or the error that ends the
// stream: io.EOF once the last segment was taken.
//
// The last segment is held back until the SHA-256 matched, so that a
// ciphertext other than the recorded one never yields its whole
// plaintext: a reader that gets every byte has had every byte checked.
func (s *Stream) next() (*segment, error) {
	if s.err != nil {
		return nil, s.err
	}
	sg, ok := <-s.out
	switch {
	case !ok && s.ended:
		s.err = io.EOF
	case !ok:
		s.err = errClosed
	case sg.err != nil:
		s.err = sg.err
	case sg.last:
		if s.err = s.check(); s.err == nil {
			s.ended = true
		}
	}
	if s.err != nil {
		if sg != nil {
			sg.release()
		}
		return nil, s.err
	}
	return sg, nil
}

var errClosed = errors.New("keys: stream closed")

// check compares the ciphertext's SHA-256 with the recorded one, once
// the last segment is decrypted.
func (s *Stream) check() error {
	select {
	case got := <-s.sum:
		if !bytes.Equal(got, s.want) {
			return ErrDigest
		}
		return nil
	case <-s.done:
		return errClosed
	}
}

// Read reads plaintext, copying it out of the decrypted segments.
func (s *Stream) Read(p []byte) (int, error) {
	for s.cur == nil || s.pos == len(s.cur.b) {
		if s.cur != nil {
			s.cur.release()
			s.cur = nil
		}
		sg, err := s.next()
		if err != nil {
			return 0, err
		}
		s.cur, s.pos = sg, 0
	}
	n := copy(p, s.cur.b[s.pos:])
	s.pos += n
	return n, nil
}

// WriteTo writes the rest of the plaintext to w, a decrypted segment at a
// time, without copying it; io.Copy uses it. An error from w is returned
// as it is, wrapped in nothing.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if s.cur != nil {
		m, err := w.Write(s.cur.b[s.pos:])
		n += int64(m)
		s.cur.release()
		s.cur = nil
		if err != nil {
			return n, err
		}
	}
	for {
		sg, err := s.next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		m, err := w.Write(sg.b)
		n += int64(m)
		sg.release()
		if err != nil {
			return n, err
		}
	}
}

// First waits for the first segment to be read and authenticated, and
// returns its error: damage in the header's salt or in the first segment,
// or a store that fails at once, is known before any plaintext is asked
// for (and before a release is logged). It takes nothing from the stream.
func (s *Stream) First() error {
	if s.cur != nil || s.err != nil {
		return s.firstErr()
	}
	sg, err := s.next()
	if err != nil {
		return err
	}
	s.cur, s.pos = sg, 0
	return nil
}

func (s *Stream) firstErr() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// Close stops the goroutines that hash and decrypt and waits for them; it
// does not close the ciphertext's reader, which the caller closes after
// (and which ends the goroutine that reads it, were it stuck in a store
// that stalls). Close must not be called while a Read or WriteTo of the
// stream runs on another goroutine: a Stream is one reader's.
func (s *Stream) Close() error {
	s.once.Do(func() { close(s.done) })
	if s.cur != nil {
		s.cur.release()
		s.cur = nil
	}
	s.wg.Wait()
	if s.err == nil {
		s.err = errClosed
	}
	return nil
}
