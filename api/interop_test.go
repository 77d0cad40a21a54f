package api_test

// The interop test checks the running server's log with a client ombud did
// not write: golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog,
// knowing only the C2SP specs and the verifier key. No ombud verification
// code is used below.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/internal/ombudtest"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// checkpoint verifies a C2SP tlog-checkpoint with x/mod/sumdb/note and
// parses its body: origin, size, base64 root hash.
func checkpoint(t *testing.T, raw []byte, v note.Verifier) tlog.Tree {
	t.Helper()
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != v.Name() {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		t.Fatalf("root hash %q", lines[2])
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], h)
	return tree
}

// tileReader serves x/mod tlog tiles from C2SP tlog-tiles paths, which are
// x/mod's paths without the tile height element.
type tileReader struct {
	t    *testing.T
	base string
}

func (r tileReader) Height() int { return 8 }
func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		p := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
		out[i] = get(r.t, r.base+"/log/"+p)
	}
	return out, nil
}
func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func proofOf(t *testing.T, url string) [][]byte {
	var body struct {
		Proof [][]byte `json:"proof"`
	}
	if err := json.Unmarshal(get(t, url), &body); err != nil {
		t.Fatal(err)
	}
	return body.Proof
}

// bundleLeaves reads the first n entries from the served entry bundles
// (2-byte big-endian length prefixes).
func bundleLeaves(t *testing.T, base string, n int64) [][]byte {
	t.Helper()
	var leaves [][]byte
	for i := int64(0); i*256 < n; i++ {
		p := fmt.Sprintf("%03d", i)
		if w := n - i*256; w < 256 {
			p += fmt.Sprintf(".p/%d", w)
		}
		b := get(t, base+"/log/tile/entries/"+p)
		for len(b) > 0 {
			l := int(binary.BigEndian.Uint16(b))
			leaves = append(leaves, b[2:2+l])
			b = b[2+l:]
		}
	}
	return leaves
}

func hashes(p [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		copy(out[i][:], h)
	}
	return out
}

// addPrincipals adds n analysts from 8 goroutines: each append waits for
// its batch to be durable, and together they share batches.
func addPrincipals(t *testing.T, e *ombudtest.Env, n int, name string) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, _, _, err := e.Custody.AddPrincipal(t.Context(), name, []ombud.Role{ombud.RoleAnalyst}, e.AdminID); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("AddPrincipal: %v", err)
	}
}

func TestInteropXModTlog(t *testing.T) {
	t.Parallel()
	e := ombudtest.New(t)
	addPrincipals(t, e, 150, "p")
	e.AwaitSize(t, 151)
	v, err := note.NewVerifier(strings.TrimSpace(string(get(t, e.URL+"/log/key"))))
	if err != nil {
		t.Fatal(err)
	}
	old := checkpoint(t, get(t, e.URL+"/log/checkpoint"), v)
	addPrincipals(t, e, 300, "q")
	e.AwaitSize(t, uint64(old.N)+300)
	tree := checkpoint(t, get(t, e.URL+"/log/checkpoint"), v)
	if tree.N < old.N+300 {
		t.Fatalf("tree %d, old %d", tree.N, old.N)
	}

	leaves := bundleLeaves(t, e.URL, tree.N)
	if int64(len(leaves)) != tree.N {
		t.Fatalf("%d leaves in bundles, checkpoint says %d", len(leaves), tree.N)
	}

	thr := tlog.TileHashReader(tree, tileReader{t, e.URL})
	for _, i := range []int64{0, 1, 255, 256, 257, old.N - 1, tree.N - 1} {
		leaf := tlog.RecordHash(leaves[i])
		// The server's inclusion proof endpoint.
		p := proofOf(t, fmt.Sprintf("%s/v1/proofs/inclusion?index=%d&tree_size=%d", e.URL, i, tree.N))
		if err := tlog.CheckRecord(hashes(p), tree.N, tree.Hash, i, leaf); err != nil {
			t.Fatalf("inclusion proof of %d from the endpoint: %v", i, err)
		}
		// A proof x/mod builds itself from the served tiles.
		rp, err := tlog.ProveRecord(tree.N, i, thr)
		if err != nil {
			t.Fatalf("ProveRecord(%d) from tiles: %v", i, err)
		}
		if err := tlog.CheckRecord(rp, tree.N, tree.Hash, i, leaf); err != nil {
			t.Fatalf("inclusion proof of %d from tiles: %v", i, err)
		}
		// And the receipt's proof.
		var r struct {
			Entry []byte   `json:"entry"`
			Proof [][]byte `json:"inclusion_proof"`
			CP    string   `json:"checkpoint"`
		}
		json.Unmarshal(get(t, fmt.Sprintf("%s/v1/receipts/%d", e.URL, i)), &r)
		rt := checkpoint(t, []byte(r.CP), v)
		if !bytes.Equal(r.Entry, leaves[i]) {
			t.Fatalf("receipt %d entry differs from the bundle", i)
		}
		if err := tlog.CheckRecord(hashes(r.Proof), rt.N, rt.Hash, i, leaf); err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
	}
	// The root recomputed from the leaves.
	hs := make([]tlog.Hash, 0, 2*len(leaves))
	for i, l := range leaves {
		stored, err := tlog.StoredHashes(int64(i), l, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = hs[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, stored...)
	}
	root, err := tlog.TreeHash(tree.N, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = hs[x]
		}
		return out, nil
	}))
	if err != nil || root != tree.Hash {
		t.Fatalf("root recomputed from entries %x, checkpoint %x (%v)", root, tree.Hash, err)
	}

	// Consistency between the old and the new checkpoint.
	cp := proofOf(t, fmt.Sprintf("%s/v1/proofs/consistency?from=%d&tree_size=%d", e.URL, old.N, tree.N))
	if err := tlog.CheckTree(hashes(cp), tree.N, tree.Hash, old.N, old.Hash); err != nil {
		t.Fatalf("consistency proof from the endpoint: %v", err)
	}
	tp, err := tlog.ProveTree(tree.N, old.N, thr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tp, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		t.Fatalf("consistency proof from tiles: %v", err)
	}
	// A proof against a different old root must fail.
	bad := old.Hash
	bad[0] ^= 1
	if err := tlog.CheckTree(hashes(cp), tree.N, tree.Hash, old.N, bad); err == nil {
		t.Fatal("consistency proof verified against a forged old root")
	}
}
