//go:build !unix

package blob

import (
	"errors"
	"io"
	"os"
)

// readFile reads the file at path into buf, up to len(buf) bytes.
func readFile(path string, buf []byte) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
