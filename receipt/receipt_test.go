package receipt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/entry"
	"github.com/ombud/ombud/receipt"
)

// receiptVector reads the test vector: a receipt for entry 3 of a log,
// and the log's key. The api package's TestReceiptVector rewrites it from
// a live log with -update-receipt.
func receiptVector(t testing.TB) (*receipt.Receipt, []byte, note.Verifier) {
	t.Helper()
	dir := filepath.Join("testdata")
	raw, err := os.ReadFile(filepath.Join(dir, "receipt.json"))
	if err != nil {
		t.Fatal(err)
	}
	vk, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vk)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r, raw, v
}

func TestVerifyReceipt(t *testing.T) {
	r, _, v := receiptVector(t)
	cp, e, err := receipt.Verify(r, v)
	if err != nil {
		t.Fatalf("golden receipt does not verify: %v", err)
	}
	if e.Kind != entry.KindPrincipal || cp.Size < 4 || r.Index != 3 {
		t.Fatalf("verified %s at %d in size %d", e.Kind, r.Index, cp.Size)
	}
	clone := func() *receipt.Receipt {
		c := *r
		c.Entry = bytes.Clone(r.Entry)
		c.Proof = make([][]byte, len(r.Proof))
		for i, p := range r.Proof {
			c.Proof[i] = bytes.Clone(p)
		}
		return &c
	}
	_, ovk, err := note.GenerateKey(rand.Reader, v.Name())
	if err != nil {
		t.Fatal(err)
	}
	ov, err := note.NewVerifier(ovk)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mut  func(*receipt.Receipt)
		v    note.Verifier
		want string
	}{
		{"entry byte", func(c *receipt.Receipt) { c.Entry[len(c.Entry)-5] ^= 1 }, v, "inclusion proof"},
		{"entry field", func(c *receipt.Receipt) {
			c.Entry = bytes.Replace(c.Entry, []byte(`"op":"create"`), []byte(`"op":"disable"`), 1)
		}, v, "inclusion proof"},
		{"proof hash", func(c *receipt.Receipt) { c.Proof[0][3] ^= 1 }, v, "inclusion proof"},
		{"proof short", func(c *receipt.Receipt) { c.Proof = c.Proof[:len(c.Proof)-1] }, v, "inclusion proof"},
		{"index", func(c *receipt.Receipt) { c.Index = 2 }, v, "inclusion proof"},
		{"index beyond", func(c *receipt.Receipt) { c.Index = 1 << 40 }, v, "not below checkpoint size"},
		{"checkpoint size", func(c *receipt.Receipt) {
			c.Checkpoint = strings.Replace(c.Checkpoint, fmt.Sprintf("\n%d\n", cp.Size), fmt.Sprintf("\n%d\n", cp.Size+1), 1)
		}, v, "checkpoint"},
		{"wrong key", func(*receipt.Receipt) {}, ov, "checkpoint"},
		{"not an entry", func(c *receipt.Receipt) { c.Entry = []byte(`{"hello":"world"}`) }, v, "invalid entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clone()
			tc.mut(c)
			_, _, err := receipt.Verify(c, tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseReceiptRejects(t *testing.T) {
	_, raw, _ := receiptVector(t)
	for _, in := range []string{``, `{}`, `{"v":1,"extra":1}`, string(raw) + `x`, `{"v":2}`, strings.Repeat(" ", receipt.MaxSize+1)} {
		if _, err := receipt.Parse([]byte(in)); err == nil {
			t.Errorf("ParseReceipt(%.40q) accepted", in)
		}
	}
}

func FuzzVerifyReceipt(f *testing.F) {
	r, raw, v := receiptVector(f)
	f.Add(raw)
	compact, _ := json.Marshal(r)
	f.Add(compact)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := receipt.Parse(b)
		if err != nil {
			return
		}
		if _, _, err := receipt.Verify(got, v); err != nil {
			return
		}
		// Only the genuine receipt (in any JSON spelling) may verify.
		if got.Index != r.Index || !bytes.Equal(got.Entry, r.Entry) {
			t.Fatalf("a forged receipt verified: index %d entry %q", got.Index, got.Entry)
		}
	})
}
