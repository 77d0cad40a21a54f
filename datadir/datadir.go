// Package datadir creates and opens an ombud data directory: the config file
// and the key files (log signing key, linkage key, key-encryption key).
//
//	DIR/ombud.toml        commented configuration
//	DIR/keys/log.key      note signer key (secret, 0600)
//	DIR/keys/log.pub      note verifier key (public)
//	DIR/keys/linkage.key  HMAC key for keyed pseudonyms (secret, 0600)
//	DIR/keys/kek.key      key-encryption key of the embedded keeper (secret, 0600)
//	DIR/meta.db           SQLite metadata store
//	DIR/log/              Tessera POSIX log: checkpoint, tile/…
package datadir

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/vocab"
)

// DefaultOrigin is the log origin used when none is given. Deployments set
// their own: it names the log in every checkpoint and cannot change later.
const DefaultOrigin = "localhost/ombud"

// ErrExists: init refused because the directory already holds something.
var ErrExists = errors.New("data directory is not empty")

// ErrNotInitialized: the directory has no ombud.toml.
var ErrNotInitialized = errors.New("not an ombud data directory (no ombud.toml)")

// Dir is an opened data directory.
type Dir struct {
	Path        string
	Config      Config
	Signer      note.Signer
	Verifier    note.Verifier
	VerifierKey string // the text form served at /log/key
	Linkage     ombud.LinkageKey
}

func (d *Dir) ConfigPath() string { return filepath.Join(d.Path, "ombud.toml") }
func (d *Dir) LogPath() string {
	switch p := d.Config.Log.Dir; {
	case p == "":
		return filepath.Join(d.Path, "log")
	case filepath.IsAbs(p):
		return p
	default:
		return filepath.Join(d.Path, p)
	}
}
func (d *Dir) DBPath() string     { return filepath.Join(d.Path, "meta.db") }
func (d *Dir) KEKPath() string    { return filepath.Join(d.Path, "keys", "kek.key") }
func (d *Dir) BlobPath() string   { return filepath.Join(d.Path, "blobs") }
func (d *Dir) PolicyPath() string { return filepath.Join(d.Path, "policy.cedar") }

var originRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$`)

// CreateOptions configure a new data directory.
type CreateOptions struct {
	Origin string
	Listen string
	// StoreURL and LogURL, when set, are written into the configuration
	// (storage.store_url, log.url): the shared engines of a deployment of
	// several gateways.
	StoreURL, LogURL string
	// Jurisdiction is the deployment's, from the jurisdiction vocabulary;
	// "" is the placeholder, which covers no real jurisdiction.
	Jurisdiction string
}

// Create makes a new data directory at path. It refuses a path that exists
// and is not empty. Files are written into a temporary sibling directory
// that is renamed into place, so a crash leaves either nothing or a whole
// directory.
func Create(path string, o CreateOptions) (*Dir, error) {
	if o.Origin == "" {
		o.Origin = DefaultOrigin
	}
	if !originRE.MatchString(o.Origin) || strings.Contains(o.Origin, "+") {
		return nil, fmt.Errorf("origin %q: use 1-128 of A-Z a-z 0-9 . _ / - (for example example.org/ombud)", o.Origin)
	}
	if o.Jurisdiction != "" && !vocab.Default().Has(vocab.Jurisdiction, o.Jurisdiction) {
		return nil, fmt.Errorf("jurisdiction %q is not in the default jurisdiction vocabulary (%s); register it in ombud.toml's [[vocabulary.jurisdiction]] after init",
			o.Jurisdiction, strings.Join(vocab.Default().Codes(vocab.Jurisdiction), ", "))
	}
	if err := checkEmpty(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".init-*")
	if err != nil {
		return nil, fmt.Errorf("failed to create data directory: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "keys"), 0o700); err != nil {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, o.Origin)
	if err != nil {
		return nil, fmt.Errorf("failed to generate log key: %w", err)
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	lk := ombud.NewLinkageKey()
	files := []struct {
		name string
		data string
		mode os.FileMode
	}{
		{"keys/log.key", skey + "\n", 0o600},
		{"keys/log.pub", vkey + "\n", 0o644},
		{"keys/linkage.key", base64.StdEncoding.EncodeToString(lk.Bytes()) + "\n", 0o600},
		{"keys/kek.key", base64.StdEncoding.EncodeToString(kek) + "\n", 0o600},
		{"ombud.toml", configTemplate(o), 0o644},
		{"policy.cedar", access.DefaultPolicy, 0o644},
	}
	for _, f := range files {
		if err := writeFileSync(filepath.Join(tmp, f.name), []byte(f.data), f.mode); err != nil {
			return nil, fmt.Errorf("failed to write %s: %w", f.name, err)
		}
	}
	if err := syncDir(filepath.Join(tmp, "keys")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err == nil {
		// An empty directory: rename(2) replaces it atomically.
		if err := os.Remove(abs); err != nil {
			return nil, fmt.Errorf("failed to replace empty directory: %w", err)
		}
	}
	if err := os.Rename(tmp, abs); err != nil {
		return nil, fmt.Errorf("failed to create data directory: %w", err)
	}
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	return Open(abs)
}

// IsEmpty reports whether path does not exist or is an empty directory.
func IsEmpty(path string) bool { return checkEmpty(path) == nil }

func checkEmpty(path string) error {
	ents, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s: %w; refusing to overwrite it", path, ErrExists)
	}
	return nil
}

// Open loads the config and keys of an existing data directory.
func Open(path string) (*Dir, error) {
	d := &Dir{Path: path}
	raw, err := os.ReadFile(d.ConfigPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotInitialized)
	}
	if err != nil {
		return nil, err
	}
	if d.Config, err = ParseConfig(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", d.ConfigPath(), err)
	}
	skey, err := readSecret(filepath.Join(path, "keys", "log.key"))
	if err != nil {
		return nil, err
	}
	if d.Signer, err = note.NewSigner(skey); err != nil {
		return nil, fmt.Errorf("keys/log.key: %w", err)
	}
	pub, err := os.ReadFile(filepath.Join(path, "keys", "log.pub"))
	if err != nil {
		return nil, err
	}
	d.VerifierKey = strings.TrimSpace(string(pub))
	if d.Verifier, err = note.NewVerifier(d.VerifierKey); err != nil {
		return nil, fmt.Errorf("keys/log.pub: %w", err)
	}
	if d.Verifier.KeyHash() != d.Signer.KeyHash() || d.Verifier.Name() != d.Signer.Name() {
		return nil, errors.New("keys/log.pub does not match keys/log.key")
	}
	lk, err := readSecret(filepath.Join(path, "keys", "linkage.key"))
	if err != nil {
		return nil, err
	}
	raw, err = base64.StdEncoding.DecodeString(lk)
	if err != nil {
		return nil, fmt.Errorf("keys/linkage.key: %w", err)
	}
	if d.Linkage, err = ombud.LinkageKeyFromBytes(raw); err != nil {
		return nil, fmt.Errorf("keys/linkage.key: %w", err)
	}
	if _, err := readSecret(d.KEKPath()); err != nil {
		return nil, err
	}
	return d, nil
}

// readSecret reads a key file and refuses one that others can read.
func readSecret(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
