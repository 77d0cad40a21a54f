package client

import (
	"bytes"
	"io"
	"mime/multipart"
	"testing"
)

// FuzzRunStream reads arbitrary bytes as a run's multipart stream: every
// part either parses, with its position and receipt, or the stream fails
// with an error; nothing panics, and a part's body never yields more than
// its Content-Length.
func FuzzRunStream(f *testing.F) {
	f.Add([]byte("--b\r\nOmbud-Object: o1\r\nOmbud-Position: 0\r\nOmbud-Receipt: 7\r\nOmbud-Decision: permit\r\nContent-Length: 3\r\n\r\nabc\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nOmbud-Position: 1\r\nOmbud-Receipt: 8\r\nOmbud-Decision: deny\r\nOmbud-Reason: erased\r\nContent-Length: 0\r\n\r\n\r\n--b--\r\n"))
	f.Add([]byte("--b\r\nOmbud-Position: -1\r\nContent-Length: 99999999999\r\n\r\nab"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &RunStream{body: io.NopCloser(bytes.NewReader(data)), mr: multipart.NewReader(bytes.NewReader(data), "b")}
		for range 100 {
			p, err := s.Next()
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, p.Body)
			if p.Size >= 0 && n > p.Size {
				t.Fatalf("a part of %d bytes yielded %d", p.Size, n)
			}
		}
	})
}
