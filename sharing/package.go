package sharing

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/receipt"
)

// ManifestFormat names the version of an export package's manifest
// (docs/EXPORT-FORMAT.md).
const ManifestFormat = "ombud-export/v1"

// ManifestName is the package's first file.
const ManifestName = "manifest.json"

// SignatureName is the package's second file: a note, signed with the
// log's key, that names the export and the manifest's SHA-256, so that a
// recipient holding the log's key knows the manifest (its digests and its
// limits) is the deployment's, not one anyone could seal to its key.
const SignatureName = "manifest.sig"

// signatureHeader is the first line of a manifest's signed note: no
// checkpoint's (whose second line is a number) can be read as one.
const signatureHeader = "ombud-export-manifest/v1"

// MaxSignature bounds manifest.sig.
const MaxSignature = 8 << 10

// MaxManifest bounds manifest.json: a package of MaxExportObjects with
// their receipts fits within it.
const MaxManifest = 256 << 20

// MaxExportObjects bounds the objects of one export.
const MaxExportObjects = 100_000

// ErrPackage: an export package is not one this format allows, or its
// files differ from its manifest.
var ErrPackage = errors.New("sharing: not a valid export package")

func pkgErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrPackage, fmt.Sprintf(format, a...))
}

// Manifest is an export package's first file: what the package holds,
// the decisions that released it, and the limits that travel with it.
type Manifest struct {
	Format string `json:"format"` // ManifestFormat
	Export string `json:"export"` // the export's id
	// LogOrigin is the origin of the log that holds the export's
	// decisions; the recipient checks the receipts with its key.
	LogOrigin string `json:"log_origin"`
	// Receipt proves the export's entry is in the log.
	Receipt   *receipt.Receipt  `json:"receipt"`
	Recipient ManifestRecipient `json:"recipient"`
	Purpose   string            `json:"purpose"`
	Limits    Limits            `json:"limits"`
	Objects   []ManifestObject  `json:"objects"`
}

// ManifestRecipient is who the package is sealed to.
type ManifestRecipient struct {
	ID           string `json:"id"`
	Category     string `json:"category"`
	Jurisdiction string `json:"jurisdiction"`
}

// Limits are the onward limits of the authorization the export went out
// under: what the recipient may use the data for, when it must have
// deleted it, and whether it may pass it on.
type Limits struct {
	Authorization  string    `json:"authorization"`
	Purposes       []string  `json:"purposes"`
	DeleteBy       time.Time `json:"delete_by"`
	OnwardTransfer bool      `json:"onward_transfer"`
}

// ManifestObject is one object of the package, in the package's order.
type ManifestObject struct {
	ID     string `json:"id"`
	Class  string `json:"class"`
	Size   int64  `json:"size"`   // plaintext bytes
	SHA256 string `json:"sha256"` // of the plaintext, lowercase hex
	File   string `json:"file"`   // its name in the package: objects/ID
	// Receipt proves its access entry (a permit, in_export) is in the
	// log.
	Receipt *receipt.Receipt `json:"receipt"`
}

// ObjectFile is the name of object id's file in a package.
func ObjectFile(id string) string { return "objects/" + id }

// safeID: an object id that is a file name anywhere, never a path.
func safeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Check checks a manifest's shape: its format, its object ids (file names,
// never paths, each once), sizes and digests, and its limits.
func (m *Manifest) Check() error {
	switch {
	case m.Format != ManifestFormat:
		return pkgErr("manifest format %.40q, want %s", m.Format, ManifestFormat)
	case !safeID(m.Export):
		return pkgErr("the export's id is not one")
	case len(m.Objects) > MaxExportObjects:
		return pkgErr("%d objects, more than %d", len(m.Objects), MaxExportObjects)
	case m.Limits.DeleteBy.IsZero():
		return pkgErr("the limits name no date to delete by")
	}
	seen := make(map[string]bool, len(m.Objects))
	for i, o := range m.Objects {
		switch {
		case !safeID(o.ID):
			return pkgErr("object %d: its id is not a file name", i)
		case seen[o.ID]:
			return pkgErr("object %s is listed twice", o.ID)
		case o.File != ObjectFile(o.ID):
			return pkgErr("object %s: file %.80q, want %s", o.ID, o.File, ObjectFile(o.ID))
		case o.Size < 0:
			return pkgErr("object %s: a negative size", o.ID)
		}
		if b, err := hex.DecodeString(o.SHA256); err != nil || len(b) != sha256.Size || strings.ToLower(o.SHA256) != o.SHA256 {
			return pkgErr("object %s: sha256 is not 64 lowercase hex digits", o.ID)
		}
		seen[o.ID] = true
	}
	return nil
}

// PackageWriter writes an export package: a tar archive, manifest.json
// first and then each object's file in the manifest's order, sealed with
// age to one X25519 recipient, streamed as it is written. A package not
// Closed is unterminated, and age refuses to open it whole.
type PackageWriter struct {
	sealed io.WriteCloser
	tw     *tar.Writer
	m      *Manifest
	next   int
	failed bool
}

// modTime is the time every file of a package bears: the export's time is
// in its entry, and equal packages are equal bytes but for age's keys.
var modTime = time.Unix(0, 0).UTC()

// NewPackageWriter checks m, seals what follows to recipient (an age
// X25519 recipient) and writes the manifest and its signature by signer
// (the log's key).
func NewPackageWriter(w io.Writer, recipient string, m *Manifest, signer note.Signer) (*PackageWriter, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("sharing: the recipient's key: %w", err)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	js = append(js, '\n')
	if len(js) > MaxManifest {
		return nil, pkgErr("a manifest of %d bytes, more than %d", len(js), MaxManifest)
	}
	sealed, err := age.Encrypt(w, r)
	if err != nil {
		return nil, err
	}
	p := &PackageWriter{sealed: sealed, tw: tar.NewWriter(sealed), m: m}
	if err := p.file(ManifestName, int64(len(js))); err != nil {
		return nil, err
	}
	if _, err := p.tw.Write(js); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js)
	sig, err := note.Sign(&note.Note{Text: signatureText(m.Export, sum[:])}, signer)
	if err != nil {
		return nil, err
	}
	if err := p.file(SignatureName, int64(len(sig))); err != nil {
		return nil, err
	}
	if _, err := p.tw.Write(sig); err != nil {
		return nil, err
	}
	return p, nil
}

// signatureText is the text of a manifest's signed note.
func signatureText(export string, sum []byte) string {
	return signatureHeader + "\nexport: " + export + "\nmanifest-sha256: " + hex.EncodeToString(sum) + "\n"
}

func (p *PackageWriter) file(name string, size int64) error {
	return p.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: modTime, Format: tar.FormatPAX})
}

// Object writes the next object's file from r, which must yield exactly
// its size in bytes with its SHA-256; otherwise Object fails, and the
// package must be abandoned, not closed.
func (p *PackageWriter) Object(r io.Reader) error { return p.object(r, true) }

// VerifiedObject is Object for a reader whose bytes the caller has
// verified already to be the ones the manifest's SHA-256 names (custody
// checks each object's ciphertext against the SHA-256 logged at its
// ingest, and the plaintext's digest was taken at the same ingest): it
// checks the size, not the digest again, which would cost a core-second
// per gigabyte. The recipient checks every digest.
func (p *PackageWriter) VerifiedObject(r io.Reader) error { return p.object(r, false) }

func (p *PackageWriter) object(r io.Reader, digest bool) error {
	if p.failed {
		return pkgErr("the package failed already")
	}
	if p.next == len(p.m.Objects) {
		return pkgErr("every object of the manifest is written")
	}
	o := p.m.Objects[p.next]
	p.next++
	p.failed = true
	if err := p.file(o.File, o.Size); err != nil {
		return err
	}
	h := sha256.New()
	dst := io.Writer(p.tw)
	if digest {
		dst = io.MultiWriter(p.tw, h)
	}
	n, err := io.CopyN(dst, r, o.Size)
	switch {
	case err == io.EOF:
		return pkgErr("object %s: %d of its %d bytes", o.ID, n, o.Size)
	case err != nil:
		return err
	}
	if m, _ := r.Read(make([]byte, 1)); m > 0 {
		return pkgErr("object %s: more than its %d bytes", o.ID, o.Size)
	}
	if digest && hex.EncodeToString(h.Sum(nil)) != o.SHA256 {
		return pkgErr("object %s: its bytes are not the ones its digest names", o.ID)
	}
	p.failed = false
	return nil
}

// Close ends the archive and the age stream, once every object is
// written.
func (p *PackageWriter) Close() error {
	if p.failed || p.next != len(p.m.Objects) {
		return pkgErr("%d of %d objects written", p.next, len(p.m.Objects))
	}
	if err := p.tw.Close(); err != nil {
		return err
	}
	return p.sealed.Close()
}

// PackageReader reads an export package: its manifest, then its objects
// in order, each checked against the manifest's size and SHA-256.
type PackageReader struct {
	plain io.Reader // the age stream, read to its end after the archive's
	sum   []byte    // the manifest's SHA-256
	sig   []byte    // manifest.sig
	tr    *tar.Reader
	m     *Manifest
	next  int
	cur   *checkedFile
}

// OpenPackage opens a package sealed to one of ids and reads its manifest.
func OpenPackage(r io.Reader, ids ...age.Identity) (*PackageReader, error) {
	plain, err := age.Decrypt(r, ids...)
	if err != nil {
		return nil, fmt.Errorf("sharing: the package does not open with the identity given: %w", err)
	}
	return readPackage(plain)
}

// readPackage reads a package's archive, once opened: its manifest first.
func readPackage(plain io.Reader) (*PackageReader, error) {
	tr := tar.NewReader(plain)
	hdr, err := tr.Next()
	if err != nil {
		return nil, pkgErr("no manifest: %v", err)
	}
	if hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg || hdr.Size > MaxManifest {
		return nil, pkgErr("the first file is %.80q, want %s", hdr.Name, ManifestName)
	}
	js, err := io.ReadAll(tr)
	if err != nil {
		return nil, pkgErr("the manifest: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, pkgErr("the manifest: %v", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	hdr, err = tr.Next()
	if err != nil {
		return nil, pkgErr("no manifest signature: %v", err)
	}
	if hdr.Name != SignatureName || hdr.Typeflag != tar.TypeReg || hdr.Size > MaxSignature {
		return nil, pkgErr("the second file is %.80q, want %s", hdr.Name, SignatureName)
	}
	sig, err := io.ReadAll(tr)
	if err != nil {
		return nil, pkgErr("the manifest's signature: %v", err)
	}
	sum := sha256.Sum256(js)
	return &PackageReader{plain: plain, tr: tr, m: &m, sum: sum[:], sig: sig}, nil
}

// Manifest is the package's manifest. Until VerifyManifest, nothing says
// it is the deployment's: anyone can seal a package to a recipient's key.
func (p *PackageReader) Manifest() *Manifest { return p.m }

// VerifyManifest checks the manifest's signature with the log's key: the
// manifest (its objects' digests, its limits) is the one the deployment
// wrote for this export.
func (p *PackageReader) VerifyManifest(v note.Verifier) error {
	n, err := note.Open(p.sig, note.VerifierList(v))
	if err != nil {
		return pkgErr("the manifest's signature does not verify with the log's key: %v", err)
	}
	if n.Text != signatureText(p.m.Export, p.sum) {
		return pkgErr("the manifest's signature is for another manifest")
	}
	return nil
}

// Next returns the next object and a reader of its bytes, which fails
// with ErrPackage, instead of io.EOF, if they are not the ones the
// manifest names. After the last object it returns io.EOF, once the
// archive and the age stream have ended whole.
func (p *PackageReader) Next() (*ManifestObject, io.Reader, error) {
	if p.cur != nil && !p.cur.done {
		if _, err := io.Copy(io.Discard, p.cur); err != nil {
			return nil, nil, err
		}
	}
	hdr, err := p.tr.Next()
	if p.next == len(p.m.Objects) {
		if err == io.EOF {
			// The age stream must end here, whole: age refuses one whose
			// last chunk is missing, which the archive's end alone would
			// not show.
			if n, err := io.Copy(io.Discard, p.plain); err != nil || n > 0 {
				return nil, nil, pkgErr("after the archive's end: %d bytes, %v", n, err)
			}
			return nil, nil, io.EOF
		}
		if err != nil {
			return nil, nil, pkgErr("after its last object: %v", err)
		}
		return nil, nil, pkgErr("a file the manifest does not list: %.80q", hdr.Name)
	}
	o := &p.m.Objects[p.next]
	switch {
	case err == io.EOF:
		return nil, nil, pkgErr("it ends before object %s", o.ID)
	case err != nil:
		return nil, nil, pkgErr("before object %s: %v", o.ID, err)
	case hdr.Name != o.File || hdr.Typeflag != tar.TypeReg || hdr.Size != o.Size:
		return nil, nil, pkgErr("file %.80q of %d bytes where the manifest lists %s of %d", hdr.Name, hdr.Size, o.File, o.Size)
	}
	p.next++
	p.cur = &checkedFile{r: p.tr, h: sha256.New(), o: o}
	return o, p.cur, nil
}

// checkedFile reads one object's file and compares its SHA-256 at its end.
type checkedFile struct {
	r    io.Reader
	h    hash.Hash
	o    *ManifestObject
	done bool
}

func (c *checkedFile) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.h.Write(b[:n])
	if err == io.EOF {
		c.done = true
		if hex.EncodeToString(c.h.Sum(nil)) != c.o.SHA256 {
			return n, pkgErr("object %s: its bytes are not the ones the manifest names", c.o.ID)
		}
	}
	return n, err
}
