package tlog_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/ombud/ombud/internal/mysqltest"
	"github.com/ombud/ombud/tlog"
)

// TestSharedLogOnMySQL: two logs on one database, as two gateways, append
// at once. Every index is given once, the entries are those appended, and
// the tiles the gateways serve, partial ones cut to the width asked,
// prove every entry's inclusion in the published checkpoint.
func TestSharedLogOnMySQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := mysqltest.URL(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.ombud/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	var logs []*tlog.Log
	for range 2 {
		l, err := tlog.New(ctx, tlog.Config{URL: u, Signer: signer, Verifier: verifier, BatchMaxAge: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(context.Background()) })
		logs = append(logs, l)
	}
	const n = 600 // more than two bundles: full and partial tiles
	idx := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := logs[i%2].Append(ctx, []byte{byte(i), byte(i >> 8)})
			if err != nil {
				t.Error(err)
			}
			idx[i] = k
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := map[uint64]bool{}
	for _, k := range idx {
		if seen[k] || k >= n {
			t.Fatalf("index %d given twice, or past %d", k, n)
		}
		seen[k] = true
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cp, _, err := logs[1].AwaitCheckpoint(cctx, n-1)
	if err != nil {
		t.Fatal(err)
	}
	tiles := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		return logs[0].Tile(layout.TilePath(level, index, p))
	}
	bundles := func(ctx context.Context, index uint64, p uint8) ([]byte, error) {
		return logs[1].Tile(layout.EntriesPath(index, p))
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, tiles)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range idx {
		b, err := client.GetEntryBundle(ctx, bundles, k/layout.EntryBundleWidth, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		leaf := b.Entries[k%layout.EntryBundleWidth]
		if leaf[0] != byte(i) || leaf[1] != byte(i>>8) {
			t.Fatalf("entry %d = %v; want the bytes appended", k, leaf)
		}
		if i%37 != 0 {
			continue
		}
		p, err := pb.InclusionProof(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, k, cp.Size, rfc6962.DefaultHasher.HashLeaf(leaf), p, cp.Hash); err != nil {
			t.Fatalf("entry %d: %v", k, err)
		}
	}
	// A partial tile wider than the tree is refused, as a file log does.
	if _, err := logs[0].Tile(layout.EntriesPath(uint64(n/layout.EntryBundleWidth), 255)); err == nil {
		t.Fatal("a partial bundle wider than the tree was served")
	}
}

// TestSharedLogRefusesAnotherKey: a gateway whose key did not sign the
// shared log's checkpoint does not open it.
func TestSharedLogRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := mysqltest.URL(t)
	open := func(name string) (*tlog.Log, error) {
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := note.NewSigner(skey)
		verifier, _ := note.NewVerifier(vkey)
		return tlog.New(ctx, tlog.Config{URL: u, Signer: signer, Verifier: verifier})
	}
	l, err := open("test.ombud/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []byte("an entry")); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := l.AwaitCheckpoint(cctx, 0); err != nil {
		t.Fatal(err)
	}
	l.Close(ctx)
	if other, err := open("test.ombud/log"); err == nil {
		other.Close(ctx)
		t.Fatal("a log signed by another key was opened")
	}
}
