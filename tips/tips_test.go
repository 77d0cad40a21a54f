package tips_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/tips"
)

func TestCodename(t *testing.T) {
	if tips.CodenameBits < 80 {
		t.Fatalf("a codename has %.1f bits, want at least 80", tips.CodenameBits)
	}
	seen := map[string]bool{}
	for range 200 {
		c, err := tips.NewCodename()
		if err != nil {
			t.Fatal(err)
		}
		if words := strings.Fields(c); len(words) != tips.CodenameWords || strings.Join(words, " ") != c {
			t.Fatalf("codename %q: want %d words with single spaces", c, tips.CodenameWords)
		}
		if seen[c] {
			t.Fatalf("codename %q drawn twice in 200", c)
		}
		seen[c] = true
		// As a source types it back: any case, any spacing.
		typed := "  " + strings.ToUpper(strings.ReplaceAll(c, " ", " \t "))
		if n, err := tips.NormalizeCodename(typed); err != nil || n != c {
			t.Fatalf("%q read back as %q, %v", typed, n, err)
		}
	}
	c, _ := tips.NewCodename()
	words := strings.Fields(c)
	for _, bad := range []string{"", strings.Join(words[:6], " "), c + " abacus", strings.Join(append(words[:6], "notaword"), " "), strings.Repeat("abacus ", 40)} {
		if _, err := tips.NormalizeCodename(bad); !errors.Is(err, tips.ErrCodename) {
			t.Errorf("%q: %v, want ErrCodename", bad, err)
		}
	}
}

func TestDeriveKeys(t *testing.T) {
	salt := make([]byte, 32)
	rand.Read(salt)
	c, _ := tips.NewCodename()
	a, err := tips.DeriveKeys(c, salt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tips.DeriveKeys(strings.ToUpper(c), salt)
	if !bytes.Equal(a.Lookup, b.Lookup) || len(a.Lookup) != 32 || a.ReplyKey() != b.ReplyKey() {
		t.Fatal("a codename's keys depend on how it was typed")
	}
	if !strings.HasPrefix(a.ReplyKey(), "age1") || bytes.Contains(a.Lookup, []byte(strings.Fields(c)[0])) {
		t.Fatalf("reply key %q, or the lookup holds a word of the codename", a.ReplyKey())
	}
	other := make([]byte, 32)
	rand.Read(other)
	if x, _ := tips.DeriveKeys(c, other); bytes.Equal(a.Lookup, x.Lookup) || a.ReplyKey() == x.ReplyKey() {
		t.Fatal("two deployments' salts give one codename the same keys")
	}
	if d, _ := tips.NewCodename(); d != c {
		if x, _ := tips.DeriveKeys(d, salt); bytes.Equal(a.Lookup, x.Lookup) || a.ReplyKey() == x.ReplyKey() {
			t.Fatal("two codenames give the same keys")
		}
	}
	if _, err := tips.DeriveKeys(c, salt[:8]); err == nil {
		t.Fatal("a short salt is accepted")
	}
	for _, bad := range []string{"not a codename", "", strings.Repeat("x", 10000)} {
		if _, err := tips.DeriveKeys(bad, salt); !errors.Is(err, tips.ErrCodename) {
			t.Fatalf("a wrong codename: %v", err)
		}
	}
	// A reply sealed to the reply key opens with the codename's identity
	// alone: not with another codename's, nor with the oversight body's.
	var sealed bytes.Buffer
	s, err := tips.SealReply(&sealed, a.ReplyKey(), "We received your report.")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tips.Commitment(bytes.NewReader(sealed.Bytes())); got != s.Commitment || s.Size != int64(sealed.Len()) {
		t.Fatalf("commitment %s size %d, sealed %s size %d", s.Commitment, s.Size, got, sealed.Len())
	}
	if txt, err := tips.OpenReply(sealed.Bytes(), b.Identity); err != nil || txt != "We received your report." {
		t.Fatalf("the reply opened as %q, %v", txt, err)
	}
	x, _ := tips.DeriveKeys(c, other)
	if _, err := tips.OpenReply(sealed.Bytes(), x.Identity); err == nil {
		t.Fatal("another codename's identity opens the reply")
	}
	if bytes.Contains(sealed.Bytes(), []byte("received")) {
		t.Fatal("the sealed reply holds its text")
	}
	if _, err := tips.SealReply(io.Discard, a.ReplyKey(), strings.Repeat("x", tips.MaxReply+1)); err == nil {
		t.Fatal("a reply over the limit is sealed")
	}
	if _, err := tips.SealReply(io.Discard, "age1notakey", "x"); err == nil {
		t.Fatal("a reply is sealed to something that is not a key")
	}
}

// TestSeal: a submission opens only with the oversight body's identity, to
// its message and files; its sealed bytes hold none of it, and no time;
// the commitment is the sealed bytes' SHA-256.
func TestSeal(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const marker = "MARKER-maria-gonzalez-7f3a"
	var sealed bytes.Buffer
	s, err := tips.Seal(&sealed, []age.Recipient{id.Recipient()}, tips.Submission{Message: "The vendor copies the " + marker + " database.",
		Files: []tips.File{{Name: "../../etc/" + marker + ".pdf", Body: strings.NewReader("%PDF " + marker)}}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Bytes(), []byte(marker)) || bytes.Contains(sealed.Bytes(), []byte("vendor")) {
		t.Fatal("the sealed bytes hold the submission in the clear")
	}
	if c, _ := tips.Commitment(bytes.NewReader(sealed.Bytes())); c != s.Commitment || s.Size != int64(sealed.Len()) {
		t.Fatalf("the commitment %s (%d bytes) is not the sealed bytes' %s (%d)", s.Commitment, s.Size, c, sealed.Len())
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := age.Decrypt(bytes.NewReader(sealed.Bytes()), other); err == nil {
		t.Fatal("another identity opens the submission")
	}
	r, err := age.Decrypt(bytes.NewReader(sealed.Bytes()), id)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(r)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uname != "" || h.Uid != 0 {
			t.Fatalf("%s carries a time or an owner: %v %q %d", h.Name, h.ModTime, h.Uname, h.Uid)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	if got["message.txt"] != "The vendor copies the "+marker+" database." || got["files/1-"+marker+".pdf"] != "%PDF "+marker || len(got) != 2 {
		t.Fatalf("opened: %v", got)
	}
	o, err := tips.Open(bytes.NewReader(sealed.Bytes()), []age.Identity{other, id}, 1<<20)
	if err != nil || o.Message != got["message.txt"] || len(o.Files) != 1 || o.Files[0].Name != "files/1-"+marker+".pdf" {
		t.Fatalf("Open: %+v, %v", o, err)
	}
	if _, err := tips.Open(bytes.NewReader(sealed.Bytes()), []age.Identity{id}, 10); err == nil {
		t.Fatal("Open read past its limit")
	}
	if _, err := tips.Seal(io.Discard, nil, tips.Submission{Message: "x"}); err == nil {
		t.Fatal("sealed to no one")
	}
}

func TestPromise(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "example.org/ombud")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	p := tips.Promise{Commitment: strings.Repeat("ab", 32), Filed: "2026-12-05", LoggedBy: "2026-12-06"}
	msg, err := tips.SignPromise(p, signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tips.OpenPromise(msg, verifier)
	if err != nil || got.Commitment != p.Commitment || got.LoggedBy != p.LoggedBy || got.Origin != "example.org/ombud" {
		t.Fatalf("opened %+v, %v", got, err)
	}
	if regexp.MustCompile(`[0-9]{2}:[0-9]{2}`).Match(msg) {
		t.Fatalf("the promise names a time of day:\n%s", msg)
	}
	tampered := bytes.Replace(msg, []byte("logged-by 2026-12-06"), []byte("logged-by 2026-12-31"), 1)
	if _, err := tips.OpenPromise(tampered, verifier); err == nil {
		t.Fatal("a tampered promise verifies")
	}
	_, otherV, _ := note.GenerateKey(rand.Reader, "example.org/ombud")
	ov, _ := note.NewVerifier(otherV)
	if _, err := tips.OpenPromise(msg, ov); err == nil {
		t.Fatal("a promise verifies with another log's key")
	}
	if !got.Overdue(time.Date(2026, 12, 7, 0, 0, 1, 0, time.UTC)) || got.Overdue(time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)) {
		t.Fatal("overdue on the wrong day")
	}
	for _, bad := range []tips.Promise{{Commitment: "xy", Filed: "2026-12-05", LoggedBy: "2026-12-06"}, {Commitment: p.Commitment, Filed: "2026-12-05", LoggedBy: "2026-12-04"},
		{Commitment: p.Commitment, Filed: "2026-12-05T10:00:00Z", LoggedBy: "2026-12-06"}} {
		if _, err := tips.SignPromise(bad, signer); err == nil {
			t.Errorf("signed %+v", bad)
		}
	}
}

// FuzzOpenPromise: no input panics the promise's reader, and only a
// promise the log's key signed opens.
func FuzzOpenPromise(f *testing.F) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "example.org/ombud")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	msg, _ := tips.SignPromise(tips.Promise{Commitment: strings.Repeat("ab", 32), Filed: "2026-12-05", LoggedBy: "2026-12-06"}, signer)
	f.Add(msg)
	f.Add([]byte("ombud tip promise v1\nexample.org/ombud\ncommitment ab\nfiled 2026-12-05\nlogged-by 2026-12-06\n\n— example.org/ombud AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := tips.OpenPromise(b, verifier)
		if err == nil && !bytes.Equal(b, msg) && p.Text() != (tips.Promise{Origin: "example.org/ombud", Commitment: strings.Repeat("ab", 32), Filed: "2026-12-05", LoggedBy: "2026-12-06"}).Text() {
			t.Fatalf("an unsigned promise opened: %+v", p)
		}
	})
}

// FuzzNormalizeCodename: no input panics the codename's reader, and what
// it accepts reads back to itself.
func FuzzNormalizeCodename(f *testing.F) {
	c, _ := tips.NewCodename()
	f.Add(c)
	f.Add("ABACUS abdomen  abide able ablaze abroad abruptly")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := tips.NormalizeCodename(s)
		if err != nil {
			return
		}
		if again, err := tips.NormalizeCodename(n); err != nil || again != n || len(strings.Fields(n)) != tips.CodenameWords {
			t.Fatalf("%q read as %q, which reads as %q, %v", s, n, again, err)
		}
	})
}

// FuzzReadArchive: the oversight body's reader of an opened submission
// takes any archive without panicking, never reads past its limit
// (whatever sizes the headers declare, sparse entries included), and
// names files only under files/.
func FuzzReadArchive(f *testing.F) {
	var tarb bytes.Buffer
	tw := tar.NewWriter(&tarb)
	tw.WriteHeader(&tar.Header{Name: "message.txt", Mode: 0o600, Size: 1})
	tw.Write([]byte("m"))
	tw.WriteHeader(&tar.Header{Name: "files/1-a.pdf", Mode: 0o600, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	f.Add(tarb.Bytes())
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		o, err := tips.ReadArchive(bytes.NewReader(plain), 4096)
		if err != nil {
			return
		}
		total := len(o.Message)
		for _, fl := range o.Files {
			total += len(fl.Body)
			if !strings.HasPrefix(fl.Name, "files/") || strings.Contains(fl.Name[len("files/"):], "/") || fl.Name == "files/.." {
				t.Fatalf("a file named %q", fl.Name)
			}
		}
		if total > 4096 {
			t.Fatalf("read %d bytes past a limit of 4096", total)
		}
	})
}

// BenchmarkDeriveKeys: the slow hash a filing, and each return with the
// codename, pays.
func BenchmarkDeriveKeys(b *testing.B) {
	salt := make([]byte, 32)
	c, _ := tips.NewCodename()
	for b.Loop() {
		if _, err := tips.DeriveKeys(c, salt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal1MiB: sealing a submission of a 1 MiB file to two
// recipients.
func BenchmarkSeal1MiB(b *testing.B) {
	a, _ := age.GenerateX25519Identity()
	c, _ := age.GenerateX25519Identity()
	body := make([]byte, 1<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := tips.Seal(io.Discard, []age.Recipient{a.Recipient(), c.Recipient()}, tips.Submission{Message: "m", Files: []tips.File{{Name: "f", Body: bytes.NewReader(body)}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSafeNameLinear: a file name of megabytes is cut in linear time, at
// a character's end, to at most 100 bytes.
func TestSafeNameLinear(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	for _, name := range []string{strings.Repeat("a", 4<<20), strings.Repeat("é", 1<<20) + ".pdf", "../../etc/passwd", "x\x00y\x1bz", ".."} {
		start := time.Now()
		var sealed bytes.Buffer
		if _, err := tips.Seal(&sealed, []age.Recipient{id.Recipient()}, tips.Submission{Files: []tips.File{{Name: name, Body: strings.NewReader("x")}}}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a name of %d bytes took %v", len(name), d)
		}
		o, err := tips.Open(bytes.NewReader(sealed.Bytes()), []age.Identity{id}, 1<<20)
		if err != nil || len(o.Files) != 1 {
			t.Fatalf("%.20q: %+v, %v", name, o, err)
		}
		got := strings.TrimPrefix(o.Files[0].Name, "files/1-")
		if len(got) > 100 || !utf8.ValidString(got) || strings.ContainsAny(got, "/\x00\x1b") || got == ".." {
			t.Fatalf("%.20q kept as %q", name, got)
		}
	}
}

// TestCheckSealed: a reply as SealReply writes it passes; plaintext
// behind the age version line, a header cut short, a stanza of another
// kind alone, or no payload does not.
func TestCheckSealed(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	var sealed bytes.Buffer
	if _, err := tips.SealReply(&sealed, id.Recipient().String(), "We received it."); err != nil {
		t.Fatal(err)
	}
	good := sealed.Bytes()
	if err := tips.CheckSealed(good); err != nil {
		t.Fatalf("a sealed reply: %v", err)
	}
	hdr := good[:bytes.Index(good, []byte("\n--- "))+1]
	mac := good[len(hdr) : len(hdr)+bytes.IndexByte(good[len(hdr):], '\n')+1]
	scrypt, _ := age.NewScryptRecipient("x")
	var other bytes.Buffer
	w, _ := age.Encrypt(&other, scrypt)
	w.Write([]byte("x"))
	w.Close()
	for name, b := range map[string][]byte{
		"plaintext":       []byte("age-encryption.org/v1\nNOT REALLY AGE, plaintext"),
		"the header only": append(append([]byte{}, hdr...), mac...),
		"cut short":       good[:len(hdr)-3],
		"no X25519":       other.Bytes(),
		"empty":           nil,
	} {
		if err := tips.CheckSealed(b); err == nil {
			t.Errorf("%s passes", name)
		}
	}
}

// FuzzCheckSealed: the check of a sealed reply takes any bytes without
// panicking.
func FuzzCheckSealed(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	var sealed bytes.Buffer
	tips.SealReply(&sealed, id.Recipient().String(), "x")
	f.Add(sealed.Bytes())
	f.Add([]byte("age-encryption.org/v1\n-> X25519 a\nb\n--- c\n"))
	f.Fuzz(func(t *testing.T, b []byte) { tips.CheckSealed(b) })
}

// TestFailuresOncePerDay: failures are summed, and told once a day.
func TestFailuresOncePerDay(t *testing.T) {
	s := &tips.Service{}
	day := time.Date(2026, 12, 5, 0, 0, 30, 0, time.UTC)
	if n, _ := s.Failures(day); n != 0 {
		t.Fatalf("a summary with no failure: %d", n)
	}
	s.Failed(errors.New("store down"))
	s.Failed(errors.New("store still down"))
	if n, _ := s.Failures(day.Add(time.Hour)); n != 0 {
		t.Fatalf("a second summary on one day: %d", n)
	}
	if n, last := s.Failures(day.AddDate(0, 0, 1)); n != 2 || !strings.Contains(last, "still down") {
		t.Fatalf("the next day's summary: %d %q", n, last)
	}
	if n, _ := s.Failures(day.AddDate(0, 0, 2)); n != 0 {
		t.Fatalf("failures told twice: %d", n)
	}
}
