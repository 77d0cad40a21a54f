package keys

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"
)

// LocalKeyring is the embedded KEK: versioned 32-byte keys in a file the
// controller holds (DIR/keys/kek.key, mode 0600), one per line as
// "<version> <base64>". A line with only a key is version 1. The highest
// version is current.
type LocalKeyring struct {
	path string
	mu   sync.RWMutex
	keys map[int]*secrets.Keeper
	cur  int
}

// OpenLocal reads a local keyring file.
func OpenLocal(path string) (*LocalKeyring, error) {
	k := &LocalKeyring{path: path}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *LocalKeyring) load() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", k.path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(k.path)
	if err != nil {
		return err
	}
	keys := map[int]*secrets.Keeper{}
	cur := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, b64 := 1, line
		if a, b, ok := strings.Cut(line, " "); ok {
			var err error
			if v, err = strconv.Atoi(a); err != nil || v < 1 {
				return fmt.Errorf("%s:%d: bad version %q", k.path, n, a)
			}
			b64 = strings.TrimSpace(b)
		}
		sk, err := localsecrets.Base64KeyStd(b64)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", k.path, n, err)
		}
		if _, dup := keys[v]; dup {
			return fmt.Errorf("%s:%d: version %d given twice", k.path, n, v)
		}
		keys[v] = localsecrets.NewKeeper(sk)
		cur = max(cur, v)
	}
	if cur == 0 {
		return fmt.Errorf("%s holds no key", k.path)
	}
	k.mu.Lock()
	k.keys, k.cur = keys, cur
	k.mu.Unlock()
	return nil
}

func (k *LocalKeyring) Current() (int, *secrets.Keeper) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.cur, k.keys[k.cur]
}

// Keeper returns version v's keeper. A version it does not hold may have
// been added by another gateway sharing the file since it was read: the
// file is read again before the version is called unknown.
func (k *LocalKeyring) Keeper(v int) (*secrets.Keeper, error) {
	if kp, ok := k.keeper(v); ok {
		return kp, nil
	}
	if err := k.load(); err != nil {
		return nil, fmt.Errorf("keys: no KEK version %d held, and reading %s again failed: %w", v, k.path, err)
	}
	if kp, ok := k.keeper(v); ok {
		return kp, nil
	}
	return nil, fmt.Errorf("keys: no KEK version %d in %s", v, k.path)
}

func (k *LocalKeyring) keeper(v int) (*secrets.Keeper, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	kp, ok := k.keys[v]
	return kp, ok
}

// Sync reads the file again, for the deployment's current KEK version,
// which a rotation through another gateway sharing the file may have
// moved; it fails if the file holds no key of that version.
func (k *LocalKeyring) Sync(version int) error {
	if err := k.load(); err != nil {
		return err
	}
	if cur, _ := k.Current(); cur < version {
		return fmt.Errorf("keys: %s holds KEK versions up to %d, but the deployment is at version %d: the gateways do not share one keyring", k.path, cur, version)
	}
	return nil
}

// Versions lists the versions held, ascending.
func (k *LocalKeyring) Versions() []int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	vs := make([]int, 0, len(k.keys))
	for v := range k.keys {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// AddVersion appends a fresh random key as the new current version, writing
// the file atomically (temporary file, fsync, rename). Old versions stay
// until Retire removes them, so keysets not yet rewrapped still open.
func (k *LocalKeyring) AddVersion() (int, error) {
	var key [32]byte
	rand.Read(key[:])
	// The next version is the file's, read now: another gateway sharing
	// the file may have added versions since this one read it.
	if err := k.load(); err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(k.path)
	if err != nil {
		return 0, err
	}
	k.mu.RLock()
	next := k.cur + 1
	k.mu.RUnlock()
	out := append(bytes.TrimRight(raw, "\n"), '\n')
	out = fmt.Appendf(out, "%d %s\n", next, base64.StdEncoding.EncodeToString(key[:]))
	if err := writeAtomic(k.path, out); err != nil {
		return 0, err
	}
	return next, k.load()
}

// Retire removes every version older than keep from the file. Call it only
// after every keyset has been rewrapped under keep or later.
func (k *LocalKeyring) Retire(keep int) error {
	raw, err := os.ReadFile(k.path)
	if err != nil {
		return err
	}
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		v := 1
		if a, _, ok := strings.Cut(line, " "); ok {
			v, _ = strconv.Atoi(a)
		}
		if line != "" && !strings.HasPrefix(line, "#") && v < keep {
			continue
		}
		out = append(out, sc.Text()...)
		out = append(out, '\n')
	}
	if err := writeAtomic(k.path, out); err != nil {
		return err
	}
	return k.load()
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// URLKeyring is a KEK in an external KMS named by a gocloud.dev/secrets URL
// (azurekeyvault://, awskms://, gcpkms://, hashivault://). The KMS keeps its
// own key versions and decrypts under any of them, so every ombud version
// maps to the same keeper; rotation rewraps under the KMS's current primary.
type URLKeyring struct {
	keeper  *secrets.Keeper
	mu      sync.Mutex
	version int
}

// OpenURL opens a KMS keeper. version is the generation recorded by the
// last rotation (1 at first).
func OpenURL(ctx context.Context, url string, version int) (*URLKeyring, error) {
	k, err := secrets.OpenKeeper(ctx, url)
	if err != nil {
		if scheme, _, ok := strings.Cut(url, "://"); ok && !secrets.DefaultURLMux().ValidKeeperScheme(scheme) {
			return nil, fmt.Errorf("keys: failed to open KEK %s: no %s:// key management service is linked into this program (a build with -tags ombud_nocloud leaves them out; internal/cloud links them in): %w", redactURL(url), scheme, err)
		}
		return nil, fmt.Errorf("keys: failed to open KEK %s: %w", redactURL(url), err)
	}
	return &URLKeyring{keeper: k, version: max(version, 1)}, nil
}

func (k *URLKeyring) Current() (int, *secrets.Keeper) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.version, k.keeper
}
func (k *URLKeyring) Keeper(int) (*secrets.Keeper, error) { return k.keeper, nil }
func (k *URLKeyring) Close() error                        { return k.keeper.Close() }

// AddVersion counts a rotation: the KMS rotates its own key material, and
// rewrapping under the keeper re-encrypts with its current primary.
func (k *URLKeyring) AddVersion() (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.version++
	return k.version, nil
}

// Sync takes the deployment's current version, counted by the rotations
// logged (through any gateway).
func (k *URLKeyring) Sync(version int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.version = max(k.version, version)
	return nil
}

// Retire is a no-op: the KMS decides when old key versions are disabled.
func (k *URLKeyring) Retire(int) error { return nil }

// redactURL hides a base64key:// key in error messages.
func redactURL(u string) string {
	if strings.HasPrefix(u, "base64key://") {
		return "base64key://(redacted)"
	}
	return u
}
