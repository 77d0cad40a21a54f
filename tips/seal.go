package tips

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// maxName bounds a file name in a sealed archive, in bytes.
const maxName = 100

// safeName keeps a file name's base, in printable characters, at most
// maxName bytes cut at a character's end: the archive's paths stay under
// files/. It takes time in proportion to the name's length, whatever the
// length (a name is only bounded by the form's size).
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	var b strings.Builder
	for _, r := range name {
		if !unicode.IsPrint(r) || r == '/' {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > maxName {
			break
		}
		b.WriteRune(r)
	}
	name = b.String()
	if name == "." || name == ".." || name == "" {
		name = "file"
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

// MaxReply bounds a reply's plaintext: the oversight body writes to the
// source in words, not files.
const MaxReply = 32 << 10

// SealReply writes a reply to the source sealed with age to the source's
// reply key (Keys.ReplyKey), which only the codename opens, and returns
// its commitment.
func SealReply(w io.Writer, replyKey string, text string) (Sealed, error) {
	if len(text) > MaxReply {
		return Sealed{}, fmt.Errorf("tips: a reply has at most %d bytes", MaxReply)
	}
	r, err := age.ParseX25519Recipient(replyKey)
	if err != nil {
		return Sealed{}, fmt.Errorf("tips: not a reply key: %w", err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	enc, err := age.Encrypt(cw, r)
	if err != nil {
		return Sealed{}, err
	}
	if _, err := io.WriteString(enc, text); err != nil {
		return Sealed{}, err
	}
	if err := enc.Close(); err != nil {
		return Sealed{}, err
	}
	return Sealed{Commitment: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// OpenReply opens a sealed reply with the source's identity.
func OpenReply(sealed []byte, id age.Identity) (string, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return "", fmt.Errorf("tips: the reply does not open with this codename: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxReply+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxReply {
		return "", errors.New("tips: a reply longer than a reply may be")
	}
	return string(b), nil
}

// Opened is a submission opened by the oversight body.
type Opened struct {
	Message string
	Files   []OpenedFile
}

// OpenedFile is a file of an opened submission, named as the archive
// names it (files/N-NAME).
type OpenedFile struct {
	Name string
	Body []byte
}

// Open opens a sealed submission with the oversight body's identities,
// reading at most max bytes of its archive.
func Open(sealed io.Reader, ids []age.Identity, max int64) (*Opened, error) {
	r, err := age.Decrypt(sealed, ids...)
	if err != nil {
		return nil, fmt.Errorf("tips: the submission does not open with these identities: %w", err)
	}
	return ReadArchive(r, max)
}

// ReadArchive reads an opened submission's archive: message.txt and
// files/N-NAME, plain files only, at most max bytes of them.
func ReadArchive(r io.Reader, max int64) (*Opened, error) {
	// The budget bounds what is read, entry by entry: an archive's header
	// may declare any size, and a sparse entry yields bytes it never
	// stored, so the archive's own length bounds nothing.
	budget := max
	tr := tar.NewReader(io.LimitReader(r, max+1<<20))
	out := &Opened{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tips: a damaged submission: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("tips: a submission holds %q, which is not a plain file", h.Name)
		}
		b, err := io.ReadAll(io.LimitReader(tr, budget+1))
		if err != nil {
			return nil, fmt.Errorf("tips: a damaged submission: %w", err)
		}
		if int64(len(b)) > budget {
			return nil, fmt.Errorf("tips: a submission larger than %d bytes", max)
		}
		budget -= int64(len(b))
		switch {
		case h.Name == "message.txt":
			out.Message = string(b)
		case strings.HasPrefix(h.Name, "files/") && path.Clean(h.Name) == h.Name && !strings.Contains(h.Name[len("files/"):], "/"):
			out.Files = append(out.Files, OpenedFile{Name: h.Name, Body: b})
		default:
			return nil, fmt.Errorf("tips: a submission holds an unexpected %q", h.Name)
		}
	}
	return out, nil
}

// CheckSealed checks that b is an age file as SealReply writes one: the
// version line, stanzas each of whose body lines are base64 wrapped at 64
// columns, at least one of them an X25519 stanza (an ephemeral share and
// a wrapped file key of 32 bytes each), the header's MAC, and a payload of
// a nonce and at least one sealed chunk. Whom an X25519 stanza is for
// cannot be told without the identity: a well-formed file sealed to
// another key passes.
func CheckSealed(b []byte) error {
	bad := func(why string) error { return fmt.Errorf("tips: not an age file sealed to a key: %s", why) }
	rest, ok := bytes.CutPrefix(b, []byte(ageHeader))
	if !ok {
		return bad("no age version line")
	}
	line := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, true
	}
	b64 := base64.RawStdEncoding.Strict()
	x25519 := false
	for stanzas := 0; ; stanzas++ {
		l, ok := line()
		switch {
		case !ok:
			return bad("the header does not end")
		case strings.HasPrefix(l, "--- "):
			if mac, err := b64.DecodeString(l[4:]); err != nil || len(mac) != 32 {
				return bad("the header's MAC is not 32 bytes of base64")
			}
			if !x25519 {
				return bad("no X25519 stanza")
			}
			// A 16-byte nonce, then chunks of at least a 16-byte tag.
			if len(rest) < 16+16 {
				return bad("no sealed payload")
			}
			return nil
		case !strings.HasPrefix(l, "-> ") || stanzas >= 16:
			return bad("a header line that is not a stanza")
		}
		args := strings.Fields(l[3:])
		if len(args) == 0 {
			return bad("a stanza with no type")
		}
		var body []byte
		for {
			bl, ok := line()
			if !ok || len(bl) > 64 {
				return bad("a stanza's body is not wrapped base64")
			}
			d, err := b64.DecodeString(bl)
			if err != nil {
				return bad("a stanza's body is not base64")
			}
			body = append(body, d...)
			if len(bl) < 64 {
				break
			}
		}
		if args[0] == "X25519" {
			share, err := b64.DecodeString(strings.Join(args[1:], ""))
			if len(args) != 2 || err != nil || len(share) != 32 || len(body) != 32 {
				return bad("a malformed X25519 stanza")
			}
			x25519 = true
		}
	}
}
