package witness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/internal/poll"
)

// newKeys returns a log's signer and verifier key.
func newKeys(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// newWitness returns a witness in dir for the logs and its cosignature
// verifier key.
func newWitness(t *testing.T, dir string, logs ...string) (*Witness, string) {
	t.Helper()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
	return openWitness(t, dir, skey, vkey, logs...)
}

func openWitness(t *testing.T, dir, skey, vkey string, logs ...string) (*Witness, string) {
	t.Helper()
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var ls []Log
	for _, l := range logs {
		pl, err := ParseLog(l)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, pl)
	}
	w, err := New(dir, s, ls)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := VerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return w, cv
}

// tree is a log kept in memory, signing its checkpoints with s.
type tree struct {
	s note.Signer
	t *testonly.Tree
}

func newTree(s note.Signer, prefix string, n int) *tree {
	tr := &tree{s: s, t: testonly.New(rfc6962.DefaultHasher)}
	tr.add(prefix, n)
	return tr
}

func (tr *tree) add(prefix string, n int) {
	for i := range n {
		tr.t.AppendData(fmt.Appendf(nil, "%s %d", prefix, tr.t.Size()+uint64(i)))
	}
}

func (tr *tree) checkpoint(t *testing.T) []byte {
	t.Helper()
	cp := log.Checkpoint{Origin: tr.s.Name(), Size: tr.t.Size(), Hash: tr.t.Hash()}
	b, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, tr.s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (tr *tree) request(t *testing.T, old uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 && old < tr.t.Size() {
		p, err := tr.t.ConsistencyProof(old, tr.t.Size())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p {
			fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h))
		}
	}
	b.WriteString("\n")
	b.Write(tr.checkpoint(t))
	return b.Bytes()
}

func status(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	if err == nil {
		return 200
	}
	return 500
}

// TestProtocol walks the add-checkpoint rules of C2SP tlog-witness: a
// first checkpoint, growth with a proof, the same checkpoint again, and
// each refusal with its status.
func TestProtocol(t *testing.T) {
	ls, lvkey := newKeys(t, "log.test/a")
	w, wv := newWitness(t, t.TempDir(), lvkey)
	cosig, err := fnote.NewVerifierForCosignatureV1(wv)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTree(ls, "a", 10)

	sigs, err := w.AddCheckpoint(tr.request(t, 0))
	if err != nil {
		t.Fatalf("first checkpoint: %v", err)
	}
	cp := append(tr.checkpoint(t), sigs...)
	if _, err := note.Open(cp, note.VerifierList(cosig)); err != nil {
		t.Fatalf("cosignature does not verify as cosignature/v1: %v\n%s", err, cp)
	}
	if ts, err := fnote.CoSigV1Timestamp(mustOpen(t, cp, cosig).Sigs[0]); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("cosignature timestamp %v, %v", ts, err)
	}

	tr.add("a", 7)
	if _, err := w.AddCheckpoint(tr.request(t, 10)); err != nil {
		t.Fatalf("growth 10 -> 17 with a proof: %v", err)
	}
	if _, err := w.AddCheckpoint(tr.request(t, 17)); err != nil {
		t.Fatalf("the same checkpoint again: %v", err)
	}

	// A fork: the same origin and key, a different history.
	fork := newTree(ls, "b", 20)
	cases := []struct {
		name string
		body []byte
		want int
	}{
		{"stale old size", tr.request(t, 10), http.StatusConflict},
		{"fork at the same size", newTree(ls, "b", 17).request(t, 17), http.StatusConflict},
		{"fork with a proof from its own tree", fork.request(t, 17), http.StatusUnprocessableEntity},
		{"rollback to an older checkpoint", newTree(ls, "a", 10).request(t, 10), http.StatusConflict},
		{"old size above the checkpoint size", newTree(ls, "a", 10).request(t, 17), http.StatusBadRequest},
		{"unknown log", newTree(mustSigner(t, "log.test/other"), "a", 3).request(t, 0), http.StatusNotFound},
		{"signed by another key with the log's name", newTree(mustSigner(t, "log.test/a"), "a", 20).request(t, 17), http.StatusForbidden},
		{"a forged signature with the log's key", forgeSig(t, tr.request(t, 17)), http.StatusForbidden},
		{"no old line", []byte("\n" + string(tr.checkpoint(t))), http.StatusBadRequest},
		{"leading zero", []byte("old 017\n\n" + string(tr.checkpoint(t))), http.StatusBadRequest},
		{"bad proof line", []byte("old 17\n!!!\n\n" + string(tr.checkpoint(t))), http.StatusBadRequest},
		{"no blank line", []byte("old 17\n"), http.StatusBadRequest},
		{"not a note", []byte("old 17\n\nlog.test/a\n"), http.StatusBadRequest},
		{"too large", bytes.Repeat([]byte("x"), MaxRequest+1), http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		_, err := w.AddCheckpoint(c.body)
		if got := status(err); got != c.want {
			t.Errorf("%s: status %d (%v), want %d", c.name, got, err, c.want)
		}
	}
	if size, _ := w.Latest("log.test/a"); size != 17 {
		t.Fatalf("after refusals the witness holds size %d, want 17", size)
	}
}

// forgeSig flips a bit in the last signature of a request's checkpoint.
func forgeSig(t *testing.T, req []byte) []byte {
	i := bytes.LastIndex(req, []byte(" "))
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(req[i+1:])))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	return append(req[:i+1:i+1], []byte(base64.StdEncoding.EncodeToString(sig)+"\n")...)
}

func mustSigner(t *testing.T, name string) note.Signer {
	s, _ := newKeys(t, name)
	return s
}

func mustOpen(t *testing.T, b []byte, v note.Verifier) *note.Note {
	t.Helper()
	n, err := note.Open(b, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDurable: a restarted witness still refuses what contradicts the
// checkpoint it cosigned before, and answers 409 with its size.
func TestDurable(t *testing.T) {
	dir := t.TempDir()
	ls, lvkey := newKeys(t, "log.test/a")
	wskey, wvkey, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
	w, _ := openWitness(t, dir, wskey, wvkey, lvkey)
	tr := newTree(ls, "a", 5)
	if _, err := w.AddCheckpoint(tr.request(t, 0)); err != nil {
		t.Fatal(err)
	}
	w2, _ := openWitness(t, dir, wskey, wvkey, lvkey)
	srv := httptest.NewServer(w2.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(newTree(ls, "b", 5).request(t, 0)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("Content-Type") != "text/x.tlog.size" || string(body) != "5\n" {
		t.Fatalf("after restart: %d %q %q, want 409 text/x.tlog.size \"5\\n\"", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestCosignsTesseraLog: ombud's witness cosigns a log it did not write: a
// Tessera POSIX log built the way Tessera's README shows, configured with
// Tessera's own witness client. Tessera publishes a checkpoint only once
// the witness has cosigned it.
func TestCosignsTesseraLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ls, lvkey := newKeys(t, "tessera.test/readme-log")
	w, wv := newWitness(t, t.TempDir(), lvkey)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	wit, err := tessera.NewWitness(wv, u)
	if err != nil {
		t.Fatal(err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, tessera.NewAppendOptions().
		WithCheckpointSigner(ls).
		WithCheckpointInterval(100*time.Millisecond).
		WithBatching(64, 10*time.Millisecond).
		WithWitnesses(tessera.NewWitnessGroup(1, wit), &tessera.WitnessOptions{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	cosig, _ := fnote.NewVerifierForCosignatureV1(wv)
	logV, _ := note.NewVerifier(lvkey)
	for round, n := range []int{5, 40} {
		var last uint64
		for i := range n {
			idx, err := appender.Add(ctx, tessera.NewEntry(fmt.Appendf(nil, "entry %d/%d", round, i)))()
			if err != nil {
				t.Fatal(err)
			}
			last = idx.Index
		}
		// Tessera publishes on its own schedule.
		poll.Until(t, 30*time.Second, 50*time.Millisecond, fmt.Sprintf("round %d: a checkpoint past %d cosigned by the witness", round, last), func() bool {
			raw, err := reader.ReadCheckpoint(ctx)
			if err != nil {
				return false
			}
			n, err := note.Open(raw, note.VerifierList(logV, cosig))
			if err != nil {
				return false
			}
			cp := &log.Checkpoint{}
			cp.Unmarshal([]byte(n.Text))
			if cp.Size <= last || len(n.Sigs) != 2 {
				return false
			}
			if size, _ := w.Latest("tessera.test/readme-log"); size < cp.Size {
				t.Fatalf("witness holds %d, published checkpoint %d", size, cp.Size)
			}
			return true
		})
	}
}

func TestParseLog(t *testing.T) {
	_, vkey := newKeys(t, "log.test/a")
	for _, s := range []string{vkey, "log.test/a=" + vkey} {
		if l, err := ParseLog(s); err != nil || l.Origin != "log.test/a" {
			t.Errorf("ParseLog(%q) = %v, %v", s, l.Origin, err)
		}
	}
	for _, s := range []string{"", "log.test/b=" + vkey, "nonsense", strings.Replace(vkey, "+", "-", 1)} {
		if _, err := ParseLog(s); err == nil {
			t.Errorf("ParseLog(%q) accepted", s)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\nlog.test/a\n1\nAAAA\n\n— log.test/a AAAA\n"))
	f.Add([]byte("old 12\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("refusal without a status: %v", err)
			}
			return
		}
		if len(r.Proof) > maxProof {
			t.Fatalf("%d proof lines accepted", len(r.Proof))
		}
		for _, h := range r.Proof {
			if len(h) != 32 {
				t.Fatalf("proof hash of %d bytes", len(h))
			}
		}
	})
}
