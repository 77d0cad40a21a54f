package keys

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
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
	k, _ := NewObjectKey()
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
