package sharing

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"
)

// testLog is a log's key pair, which signs the tests' manifests.
var testSigner, testVerifier = func() (note.Signer, note.Verifier) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "test.ombud/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}()

// testPackage is a manifest of objects of the given sizes, with their
// bytes.
func testPackage(t *testing.T, sizes ...int) (*Manifest, [][]byte) {
	t.Helper()
	m := &Manifest{Format: ManifestFormat, Export: "exp0000000000001", LogOrigin: "ombud.example/log",
		Recipient: ManifestRecipient{ID: "rcp0000000000001", Category: "court", Jurisdiction: "EU-DE"}, Purpose: "litigation",
		Limits: Limits{Authorization: "auth-1", Purposes: []string{"litigation"}, DeleteBy: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	var bodies [][]byte
	for i, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		sum := sha256.Sum256(b)
		id := "obj000000000000" + string(rune('a'+i))
		m.Objects = append(m.Objects, ManifestObject{ID: id, Class: "document", Size: int64(n), SHA256: hex.EncodeToString(sum[:]), File: ObjectFile(id)})
		bodies = append(bodies, b)
	}
	return m, bodies
}

func seal(t *testing.T, recipient string, m *Manifest, bodies [][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	p, err := NewPackageWriter(&out, recipient, m, testSigner)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		if err := p.Object(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// readAll opens a package and reads every object, returning the first
// error.
func readAll(pkg []byte, id age.Identity) (*Manifest, [][]byte, error) {
	p, err := OpenPackage(bytes.NewReader(pkg), id)
	if err != nil {
		return nil, nil, err
	}
	var got [][]byte
	for {
		_, r, err := p.Next()
		if err == io.EOF {
			return p.Manifest(), got, nil
		}
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, nil, err
		}
		got = append(got, b)
	}
}

// TestPackageRoundTrip: a package opens with the recipient's identity
// alone, manifest first, every object checked; not with another.
func TestPackageRoundTrip(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	m, bodies := testPackage(t, 0, 5, 70<<10, 1<<20+3)
	pkg := seal(t, id.Recipient().String(), m, bodies)
	got, objs, err := readAll(pkg, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Export != m.Export || len(got.Objects) != 4 || !got.Limits.DeleteBy.Equal(m.Limits.DeleteBy) {
		t.Fatalf("manifest %+v", got)
	}
	for i := range bodies {
		if !bytes.Equal(objs[i], bodies[i]) {
			t.Fatalf("object %d differs", i)
		}
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := OpenPackage(bytes.NewReader(pkg), other); err == nil {
		t.Fatal("another identity opened the package")
	}
}

// TestPackageRefuses: a writer refuses an object that is not its
// manifest's, and a reader a package cut short, or whose files differ
// from the manifest.
func TestPackageRefuses(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	rcp := id.Recipient().String()
	m, bodies := testPackage(t, 100, 200)
	for name, body := range map[string][]byte{
		"a byte short":    bodies[0][:99],
		"a byte more":     append(append([]byte{}, bodies[0]...), 1),
		"other bytes":     bodies[1][:100],
		"flipped content": append([]byte{bodies[0][0] ^ 1}, bodies[0][1:]...),
	} {
		p, err := NewPackageWriter(io.Discard, rcp, m, testSigner)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Object(bytes.NewReader(body)); !errors.Is(err, ErrPackage) {
			t.Errorf("%s: Object %v, want ErrPackage", name, err)
		}
		if err := p.Close(); err == nil {
			t.Errorf("%s: a failed package closed", name)
		}
		// A reader the caller verified: its size is still checked, its
		// digest is not.
		p, _ = NewPackageWriter(io.Discard, rcp, m, testSigner)
		err = p.VerifiedObject(bytes.NewReader(body))
		if sized := len(body) == len(bodies[0]); sized != (err == nil) {
			t.Errorf("%s: VerifiedObject %v", name, err)
		}
	}
	p, _ := NewPackageWriter(io.Discard, rcp, m, testSigner)
	if err := p.Close(); err == nil {
		t.Error("a package without its objects closed")
	}
	bad := *m
	bad.Objects = append([]ManifestObject{}, m.Objects...)
	bad.Objects[1].ID, bad.Objects[1].File = "../../etc", ObjectFile("../../etc")
	if _, err := NewPackageWriter(io.Discard, rcp, &bad, testSigner); !errors.Is(err, ErrPackage) {
		t.Errorf("a manifest naming a path: %v", err)
	}
	if _, err := NewPackageWriter(io.Discard, "age1notakey", m, testSigner); err == nil {
		t.Error("a package sealed to no key")
	}

	pkg := seal(t, rcp, m, bodies)
	for _, cut := range []int{len(pkg) - 1, len(pkg) - 17, len(pkg) / 2, 200} {
		if _, _, err := readAll(pkg[:cut], id); err == nil {
			t.Errorf("a package cut at %d of %d bytes opened whole", cut, len(pkg))
		}
	}
	// Packages sealed by anyone who knows the recipient's key, not by a
	// PackageWriter: opened, and refused where they differ from their
	// manifest.
	lying := *m
	lying.Objects = append([]ManifestObject{}, m.Objects...)
	lying.Objects[0].SHA256 = m.Objects[1].SHA256
	mj, lj := manifestJSON(t, m), manifestJSON(t, &lying)
	sig, lsig := signFor(t, m.Export, mj), signFor(t, m.Export, lj)
	for name, files := range map[string][]rawFile{
		"a digest that is not the file's": {{ManifestName, lj}, {SignatureName, lsig}, {m.Objects[0].File, bodies[0]}, {m.Objects[1].File, bodies[1]}},
		"files in another order":          {{ManifestName, mj}, {SignatureName, sig}, {m.Objects[1].File, bodies[1]}, {m.Objects[0].File, bodies[0]}},
		"a file the manifest omits":       {{ManifestName, mj}, {SignatureName, sig}, {m.Objects[0].File, bodies[0]}, {m.Objects[1].File, bodies[1]}, {"objects/extra", []byte("x")}},
		"an object missing":               {{ManifestName, mj}, {SignatureName, sig}, {m.Objects[0].File, bodies[0]}},
		"the manifest not first":          {{m.Objects[0].File, bodies[0]}, {ManifestName, mj}},
		"no signature":                    {{ManifestName, mj}, {m.Objects[0].File, bodies[0]}, {m.Objects[1].File, bodies[1]}},
		"an unknown manifest field":       {{ManifestName, []byte(`{"format":"ombud-export/v1","extra":1}`)}},
	} {
		if _, _, err := readAll(rawPackage(t, rcp, files), id); !errors.Is(err, ErrPackage) {
			t.Errorf("%s: %v, want ErrPackage", name, err)
		}
	}
}

// signFor signs a manifest's bytes as NewPackageWriter does.
func signFor(t *testing.T, export string, js []byte) []byte {
	sum := sha256.Sum256(js)
	sig, err := note.Sign(&note.Note{Text: signatureText(export, sum[:])}, testSigner)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestManifestSignature: the log's key verifies a package's manifest; a
// manifest sealed to the recipient by anyone else, or altered under a
// real signature, does not verify.
func TestManifestSignature(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	rcp := id.Recipient().String()
	m, bodies := testPackage(t, 10, 20)
	p, err := OpenPackage(bytes.NewReader(seal(t, rcp, m, bodies)), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyManifest(testVerifier); err != nil {
		t.Fatalf("a real manifest: %v", err)
	}
	skey, vkey, _ := note.GenerateKey(rand.Reader, "test.ombud/log")
	other, _ := note.NewSigner(skey)
	otherV, _ := note.NewVerifier(vkey)
	if err := p.VerifyManifest(otherV); err == nil {
		t.Fatal("another log's key verified the manifest")
	}
	var out bytes.Buffer
	w, _ := NewPackageWriter(&out, rcp, m, other) // signed by another key, same name
	for _, b := range bodies {
		w.Object(bytes.NewReader(b))
	}
	w.Close()
	if p, err := OpenPackage(bytes.NewReader(out.Bytes()), id); err != nil || p.VerifyManifest(testVerifier) == nil {
		t.Fatalf("a manifest signed by another key verified: %v", err)
	}
	// A manifest altered under the real signature of another.
	altered := *m
	altered.Limits.OnwardTransfer = true
	mj := manifestJSON(t, m)
	forged := rawPackage(t, rcp, []rawFile{{ManifestName, manifestJSON(t, &altered)}, {SignatureName, signFor(t, m.Export, mj)}, {m.Objects[0].File, bodies[0]}, {m.Objects[1].File, bodies[1]}})
	if p, err := OpenPackage(bytes.NewReader(forged), id); err != nil || p.VerifyManifest(testVerifier) == nil {
		t.Fatalf("an altered manifest verified: %v", err)
	}
}

type rawFile struct {
	name string
	body []byte
}

func manifestJSON(t *testing.T, m *Manifest) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawPackage seals a tar of files to rcp, as anyone could.
func rawPackage(t *testing.T, rcp string, files []rawFile) []byte {
	t.Helper()
	r, _ := age.ParseX25519Recipient(rcp)
	var out bytes.Buffer
	w, _ := age.Encrypt(&out, r)
	tw := tar.NewWriter(w)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Size: int64(len(f.body)), Mode: 0o644})
		tw.Write(f.body)
	}
	tw.Close()
	w.Close()
	return out.Bytes()
}

// TestPackageOpensWithAgeAndTar: the age and tar command-line tools alone
// open a package, so a recipient without ombud can read it.
func TestPackageOpensWithAgeAndTar(t *testing.T) {
	agePath, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("OMBUD_REQUIRE_AGE") != "" {
			t.Fatal("the age command-line tool is not installed (apt-get install age)")
		}
		t.Skip("the age command-line tool is not installed")
	}
	id, _ := age.GenerateX25519Identity()
	m, bodies := testPackage(t, 10, 3<<20)
	pkg := seal(t, id.Recipient().String(), m, bodies)
	dir := t.TempDir()
	idFile := filepath.Join(dir, "identity.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	cmd := exec.Command("sh", "-c", `"$0" -d -i "$1" | tar -x -C "$2"`, agePath, idFile, out)
	cmd.Stdin = bytes.NewReader(pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("age -d | tar -x: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); err != nil {
		t.Fatal(err)
	}
	for i, o := range m.Objects {
		b, err := os.ReadFile(filepath.Join(out, o.File))
		if err != nil || !bytes.Equal(b, bodies[i]) {
			t.Fatalf("%s as tar wrote it: %d bytes, %v", o.File, len(b), err)
		}
	}
	// tar lists the manifest first.
	list := exec.Command("sh", "-c", `"$0" -d -i "$1" | tar -t | head -1`, agePath, idFile)
	list.Stdin = bytes.NewReader(pkg)
	if b, err := list.Output(); err != nil || string(bytes.TrimSpace(b)) != ManifestName {
		t.Fatalf("the first file tar lists: %q, %v", b, err)
	}
}

// FuzzReadPackage: whatever archive a package holds once opened, reading
// it never panics, and what it accepts is what its manifest names.
func FuzzReadPackage(f *testing.F) {
	m, bodies := testPackage(&testing.T{}, 3, 40)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	js, _ := json.Marshal(m)
	for _, file := range []rawFile{{ManifestName, js}, {SignatureName, signFor(&testing.T{}, m.Export, js)}, {m.Objects[0].File, bodies[0]}, {m.Objects[1].File, bodies[1]}} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: file.name, Size: int64(len(file.body)), Mode: 0o644})
		tw.Write(file.body)
	}
	tw.Close()
	f.Add(tb.Bytes())
	f.Add(tb.Bytes()[:600])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := readPackage(bytes.NewReader(b))
		if err != nil {
			return
		}
		for {
			o, r, err := p.Next()
			if err != nil {
				return
			}
			got, err := io.ReadAll(r)
			if err != nil {
				return
			}
			if sum := sha256.Sum256(got); int64(len(got)) != o.Size || hex.EncodeToString(sum[:]) != o.SHA256 {
				t.Fatalf("object %s accepted with %d bytes that are not its manifest's", o.ID, len(got))
			}
		}
	})
}
