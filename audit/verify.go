// Package audit checks an ombud log from its public formats only: the
// checkpoint signed note, C2SP tlog-tiles and the entry format. It trusts
// nothing the operator says beyond what it can recompute.
package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/ombud/ombud"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
)

// Fetcher reads the log's public resources (tlog-tiles paths).
type Fetcher interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Finding is one thing that does not verify.
type Finding struct {
	Where   string // "checkpoint", "entry 17", "tile 1/000"
	Message string
}

func (f Finding) String() string { return f.Where + ": " + f.Message }

// Result is what VerifyLog found.
type Result struct {
	Checkpoint *log.Checkpoint
	Entries    uint64
	Tiles      int
	Findings   []Finding
}

// ErrUnverified: the log did not verify; Result.Findings says why.
var ErrUnverified = errors.New("log does not verify")

// VerifyLog fetches the checkpoint, checks its signature, fetches every
// entry bundle, checks every entry parses, recomputes the Merkle tree from
// the entries and checks the root against the checkpoint and every hash
// tile against the recomputed nodes.
func VerifyLog(ctx context.Context, f Fetcher, v note.Verifier) (*Result, error) {
	res := &Result{}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch checkpoint: %w", err)
	}
	cp, _, _, err := log.ParseCheckpoint(raw, v.Name(), v)
	if err != nil {
		res.Findings = append(res.Findings, Finding{"checkpoint", fmt.Sprintf("signature or format does not verify: %v", err)})
		return res, ErrUnverified
	}
	res.Checkpoint = cp
	size := cp.Size
	leaves := make([][]byte, 0, size)
	for bi := uint64(0); bi*layout.EntryBundleWidth < size; bi++ {
		p := layout.PartialTileSize(0, bi, size)
		b, err := f.ReadEntryBundle(ctx, bi, p)
		if err != nil {
			return nil, fmt.Errorf("failed to fetch entry bundle %d: %w", bi, err)
		}
		var eb api.EntryBundle
		if err := eb.UnmarshalText(b); err != nil {
			res.Findings = append(res.Findings, Finding{fmt.Sprintf("entry bundle %d", bi), fmt.Sprintf("malformed: %v", err)})
			return res, ErrUnverified
		}
		want := uint64(p)
		if p == 0 {
			want = layout.EntryBundleWidth
		}
		if uint64(len(eb.Entries)) != want {
			res.Findings = append(res.Findings, Finding{fmt.Sprintf("entry bundle %d", bi), fmt.Sprintf("holds %d entries, want %d", len(eb.Entries), want)})
			return res, ErrUnverified
		}
		for i, e := range eb.Entries {
			idx := bi*layout.EntryBundleWidth + uint64(i)
			if _, err := ombud.ParseEntry(e); err != nil {
				res.Findings = append(res.Findings, Finding{fmt.Sprintf("entry %d", idx), err.Error()})
			}
			leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf(e))
		}
	}
	res.Entries = uint64(len(leaves))
	levels := nodeLevels(leaves)
	if root := rootOf(levels, size); string(root) != string(cp.Hash) {
		res.Findings = append(res.Findings, Finding{"checkpoint", fmt.Sprintf("root hash %x does not match the root %x recomputed from the %d entries: an entry was altered, or the checkpoint is false", cp.Hash, root, size)})
	}
	// Check every hash tile against the recomputed nodes. A tile at level L,
	// index N holds tree level 8L, nodes N*256 … N*256+W-1.
	for L := uint64(0); 8*L < uint64(len(levels)); L++ {
		nodes := levels[8*L]
		for n := uint64(0); n*layout.TileWidth < uint64(len(nodes)); n++ {
			p := layout.PartialTileSize(L, n, size)
			b, err := f.ReadTile(ctx, L, n, p)
			if err != nil {
				return nil, fmt.Errorf("failed to fetch tile %d/%d: %w", L, n, err)
			}
			res.Tiles++
			where := "tile " + layout.TilePath(L, n, p)
			var t api.HashTile
			if err := t.UnmarshalText(b); err != nil {
				res.Findings = append(res.Findings, Finding{where, fmt.Sprintf("malformed: %v", err)})
				continue
			}
			end := min((n+1)*layout.TileWidth, uint64(len(nodes)))
			if uint64(len(t.Nodes)) != end-n*layout.TileWidth {
				res.Findings = append(res.Findings, Finding{where, fmt.Sprintf("holds %d hashes, want %d", len(t.Nodes), end-n*layout.TileWidth)})
				continue
			}
			for i, h := range t.Nodes {
				if string(h) != string(nodes[n*layout.TileWidth+uint64(i)]) {
					res.Findings = append(res.Findings, Finding{where, fmt.Sprintf("hash %d differs from the one recomputed from the entries", i)})
					break
				}
			}
		}
	}
	if len(res.Findings) > 0 {
		return res, ErrUnverified
	}
	return res, nil
}

// nodeLevels returns the hashes of every complete subtree, level by level.
func nodeLevels(leaves [][]byte) [][][]byte {
	levels := [][][]byte{leaves}
	for cur := leaves; len(cur) > 1; {
		next := make([][]byte, len(cur)/2)
		for i := range next {
			next[i] = rfc6962.DefaultHasher.HashChildren(cur[2*i], cur[2*i+1])
		}
		levels = append(levels, next)
		cur = next
	}
	return levels
}

// rootOf computes the RFC 6962 root of a tree of size n from its complete
// subtrees: the perfect subtrees named by n's set bits, folded right to left.
func rootOf(levels [][][]byte, n uint64) []byte {
	if n == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	var root []byte
	var off uint64
	var parts [][]byte
	for lvl := len(levels) - 1; lvl >= 0; lvl-- {
		w := uint64(1) << lvl
		if n-off >= w {
			parts = append(parts, levels[lvl][off/w])
			off += w
		}
	}
	root = parts[len(parts)-1]
	for i := len(parts) - 2; i >= 0; i-- {
		root = rfc6962.DefaultHasher.HashChildren(parts[i], root)
	}
	return root
}
