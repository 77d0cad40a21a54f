package tips

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"

	"filippo.io/age"
)

// File is a file a source attaches to a submission.
type File struct {
	Name string
	Body io.Reader
}

// Submission is what a source sends: a message and any files.
type Submission struct {
	Message string
	Files   []File
}

// Sealed is a submission sealed: its commitment (the SHA-256 of the
// sealed bytes, which the log's tip entry holds) and their size.
type Sealed struct {
	Commitment string
	Size       int64
}

// epoch stands for every time in a sealed archive: the archive says
// nothing of when it was made.
var epoch = time.Unix(0, 0).UTC()

// Seal writes s to w sealed with age to recipients (the oversight body's
// keys; the server holds none of the identities), as a tar archive of
// message.txt and files/N-NAME, with no times, owners or modes of this
// machine in it. Nothing of s reaches w unsealed. It returns the sealed
// bytes' commitment.
func Seal(w io.Writer, recipients []age.Recipient, s Submission) (Sealed, error) {
	if len(recipients) == 0 {
		return Sealed{}, errors.New("tips: no recipient to seal to")
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	enc, err := age.Encrypt(cw, recipients...)
	if err != nil {
		return Sealed{}, err
	}
	tw := tar.NewWriter(enc)
	add := func(name string, size int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		n, err := io.Copy(tw, body)
		if err == nil && n != size {
			err = fmt.Errorf("tips: %s: %d bytes, want %d", name, n, size)
		}
		return err
	}
	if err := add("message.txt", int64(len(s.Message)), strings.NewReader(s.Message)); err != nil {
		return Sealed{}, err
	}
	for i, f := range s.Files {
		// A file's size must be known for its header: it is read into
		// the archive through a buffer of the intake's size limit, which
		// the caller enforces.
		b, err := io.ReadAll(f.Body)
		if err != nil {
			return Sealed{}, err
		}
		if err := add(fmt.Sprintf("files/%d-%s", i+1, safeName(f.Name)), int64(len(b)), bytes.NewReader(b)); err != nil {
			return Sealed{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Sealed{}, err
	}
	if err := enc.Close(); err != nil {
		return Sealed{}, err
	}
	return Sealed{Commitment: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// Commitment is the commitment of sealed bytes read from r, as Seal
// returned it.
func Commitment(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// safeName keeps a file name's base, in printable characters, at most 100
// bytes: the archive's paths stay under files/.
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == '/' {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == ".." || name == "" || name == "/" {
		name = "file"
	}
	for len(name) > 100 {
		r := []rune(name)
		name = string(r[:len(r)-1])
	}
	return name
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
