package audit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Response size limits: a hostile log must not make the auditor read
// without end. Each is the largest a conforming log or server can send.
const (
	// MaxCheckpointBytes bounds a checkpoint with its cosignatures.
	MaxCheckpointBytes = 1 << 20
	// MaxTileBytes bounds a hash tile: 256 hashes of 32 bytes.
	MaxTileBytes = 256 * 32
	// MaxBundleBytes bounds an entry bundle: 256 entries of at most 65535
	// bytes, each with its 2-byte length (C2SP tlog-tiles).
	MaxBundleBytes = 256 * (2 + 65535)
	// MaxDetailsBytes bounds one answer of /v1/audit/details.
	MaxDetailsBytes = 512 << 20
	// MaxOtherBytes bounds anything else (published reports).
	MaxOtherBytes = 64 << 20
)

// ErrTooLarge: a response was larger than any conforming one can be.
var ErrTooLarge = errors.New("response larger than the format allows")

// LimitedClient returns a client whose responses are cut off, with
// ErrTooLarge, past the limit of what they are (a checkpoint, a tile, an
// entry bundle, detail records). base may be nil.
func LimitedClient(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = limitTransport{rt}
	return c
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	max := limitFor(r.URL.Path)
	if resp.ContentLength > max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %w (%d bytes, at most %d)", r.URL.Path, ErrTooLarge, resp.ContentLength, max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: max, path: r.URL.Path}
	return resp, nil
}

func limitFor(path string) int64 {
	switch {
	case strings.HasSuffix(path, "/checkpoint"):
		return MaxCheckpointBytes
	case strings.Contains(path, "/tile/entries/"):
		return MaxBundleBytes
	case strings.Contains(path, "/tile/"):
		return MaxTileBytes
	case strings.HasSuffix(path, "/v1/audit/details"):
		return MaxDetailsBytes
	}
	return MaxOtherBytes
}

// limitedBody fails once more than left bytes were read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	path string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%s: %w", l.path, ErrTooLarge)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%s: %w", l.path, ErrTooLarge)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
