package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/secrets"
)

func TestWrapBindsObjectID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "kek.key")
	os.WriteFile(p, []byte("c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n"), 0o600)
	ring, err := OpenLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	v, keeper := ring.Current()
	if v != 1 {
		t.Fatalf("version %d", v)
	}
	k, _ := NewKeysetObjectKey()
	w, err := k.Wrap(ctx, keeper, "obj-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unwrap(ctx, keeper, w, "obj-b"); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("unwrap under another object id: %v", err)
	}
	k2, err := Unwrap(ctx, keeper, w, "obj-a")
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	enc, _ := k.Encrypter(&ct, "obj-a")
	enc.Write([]byte("hello"))
	enc.Close()
	r, _ := k2.Decrypter(bytes.NewReader(ct.Bytes()), "obj-a")
	if b, err := io.ReadAll(r); err != nil || string(b) != "hello" {
		t.Fatalf("decrypt = %q, %v", b, err)
	}
	r, _ = k2.Decrypter(bytes.NewReader(ct.Bytes()), "obj-b")
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("ciphertext decrypted under another object id")
	}
	// A new version wraps; the old one still unwraps until retired.
	v2, err := ring.AddVersion()
	if err != nil || v2 != 2 {
		t.Fatalf("AddVersion = %d, %v", v2, err)
	}
	_, cur := ring.Current()
	w2, err := Rewrap(ctx, keeper, cur, w, "obj-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unwrap(ctx, keeper, w2, "obj-a"); err == nil {
		t.Fatal("the old KEK unwraps a rewrapped keyset")
	}
	if err := ring.Retire(2); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Keeper(1); err == nil {
		t.Fatal("retired version still available")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v", fi.Mode().Perm())
	}
}

func TestKeyringFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":     "",
		"bad key":   "not base64\n",
		"short key": "c2hvcnQ=\n",
		"duplicate": "1 c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n1 c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n",
		"version 0": "0 c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := OpenLocal(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := filepath.Join(dir, "open")
	os.WriteFile(p, []byte("c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n"), 0o644)
	if _, err := OpenLocal(p); err == nil {
		t.Error("a world-readable keyring was accepted")
	}
}

func FuzzKeyringFile(f *testing.F) {
	f.Add([]byte("c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n2 c21HYmptNzFOeGQxSWc1RlMwd2o5U2xiekFJcm5vbEM=\n# comment\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "k")
		os.WriteFile(p, b, 0o600)
		r, err := OpenLocal(p)
		if err != nil {
			return
		}
		v, k := r.Current()
		if v < 1 || k == nil {
			t.Fatalf("accepted keyring with current version %d", v)
		}
	})
}

// TestIntermediateKeys: an object's keyset wrapped by an intermediate key
// opens only with that key and that object id; the intermediate key opens
// only with its KEK and its id, and survives a rewrap to another KEK.
func TestIntermediateKeys(t *testing.T) {
	for _, f := range []Format{FormatRawKey, FormatKeyset} {
		t.Run(fmt.Sprint("format ", f), func(t *testing.T) { testIntermediateKeys(t, f) })
	}
}

func testIntermediateKeys(t *testing.T, f Format) {
	ctx := context.Background()
	kek1, kek2 := testKeeper(t), testKeeper(t)
	ik, wrappedIK, err := NewIntermediate(ctx, kek1, "ik-1")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := NewObjectKey()
	if f == FormatKeyset {
		ok, err = NewKeysetObjectKey()
	}
	if err != nil || ok.Format() != f {
		t.Fatal(err, ok.Format())
	}
	wrapped, err := ok.WrapWith(ik, "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnwrapWith(ik, wrapped, "obj-2", f); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("another object's id opened the keyset: %v", err)
	}
	other, _, _ := NewIntermediate(ctx, kek1, "ik-2")
	if _, err := UnwrapWith(other, wrapped, "obj-1", f); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("another intermediate key opened the keyset: %v", err)
	}
	if _, err := UnwrapWith(ik, wrapped, "obj-1", 1-f); err == nil {
		t.Fatal("the wrapped key opened as the other format")
	}
	if _, err := UnwrapIntermediate(ctx, kek1, wrappedIK, "ik-2"); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("the intermediate key opened under another id: %v", err)
	}
	if _, err := UnwrapIntermediate(ctx, kek2, wrappedIK, "ik-1"); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("the intermediate key opened under another KEK: %v", err)
	}
	rewrapped, err := RewrapIntermediate(ctx, kek1, kek2, wrappedIK, "ik-1")
	if err != nil {
		t.Fatal(err)
	}
	ik2, err := UnwrapIntermediate(ctx, kek2, rewrapped, "ik-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapWith(ik2, wrapped, "obj-1", f)
	if err != nil {
		t.Fatalf("the keyset does not open after the KEK rotation: %v", err)
	}
	roundTrip(t, ok, got)
}

// testKeeper returns the keeper of a fresh local keyring.
func testKeeper(t *testing.T) *secrets.Keeper {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kek.key")
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := OpenLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	_, k := ring.Current()
	return k
}

// roundTrip checks that what one key encrypts the other decrypts.
func roundTrip(t *testing.T, a, b *ObjectKey) {
	t.Helper()
	var ct bytes.Buffer
	enc, err := a.Encrypter(&ct, "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	enc.Write([]byte("a record"))
	enc.Close()
	r, err := b.Decrypter(bytes.NewReader(ct.Bytes()), "obj-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != "a record" {
		t.Fatalf("decrypt = %q, %v", got, err)
	}
}

// TestSharedKeyringFile: gateways sharing one keyring file each see the
// versions the others add. A keyring read before another's rotation adds
// the version after it (not the same one again, which would make the
// file unreadable), and finds a version it never read.
func TestSharedKeyringFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kek.key")
	var key [32]byte
	rand.Read(key[:])
	if err := os.WriteFile(p, []byte("1 "+base64.StdEncoding.EncodeToString(key[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := OpenLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := a.AddVersion(); err != nil || v != 2 {
		t.Fatalf("a adds %d, %v", v, err)
	}
	if v, err := b.AddVersion(); err != nil || v != 3 {
		t.Fatalf("b, which read the file before version 2, adds %d, %v; want 3", v, err)
	}
	if _, err := c.Keeper(3); err != nil {
		t.Fatalf("c, which read the file before versions 2 and 3: %v", err)
	}
	if _, err := OpenLocal(p); err != nil {
		t.Fatalf("the file after both: %v", err)
	}
	if err := a.Sync(3); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Current(); v != 3 {
		t.Fatalf("a after Sync: version %d, want 3", v)
	}
	if err := a.Sync(4); err == nil {
		t.Fatal("a file without the deployment's version was taken")
	}
}
