package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/transparency-dev/tessera/api/layout"
)

// DirLog reads a log's tlog-tiles from a directory holding what a
// deployment serves at /log/: its checkpoint and tile/…, as in a mirror
// or in the log directory of a data directory. Each file is read up to
// the limit of what it is, as over HTTP: a hostile copy cannot make the
// auditor read without end either.
type DirLog struct {
	Dir string
}

// ReadCheckpoint implements Fetcher.
func (d DirLog) ReadCheckpoint(_ context.Context) ([]byte, error) {
	return readLimitedFile(filepath.Join(d.Dir, layout.CheckpointPath), MaxCheckpointBytes)
}

// ReadTile implements Fetcher.
func (d DirLog) ReadTile(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return readLimitedFile(filepath.Join(d.Dir, layout.TilePath(level, index, p)), MaxTileBytes)
	})
}

// ReadEntryBundle implements Fetcher.
func (d DirLog) ReadEntryBundle(_ context.Context, index uint64, p uint8) ([]byte, error) {
	return partialOrFull(p, func(p uint8) ([]byte, error) {
		return readLimitedFile(filepath.Join(d.Dir, layout.EntriesPath(index, p)), MaxBundleBytes)
	})
}

// partialOrFull reads a partial tile, or the full one that replaced it
// when the tree grew after the checkpoint was read (as Tessera's fetchers
// do).
func partialOrFull(p uint8, read func(p uint8) ([]byte, error)) ([]byte, error) {
	b, err := read(p)
	if errors.Is(err, os.ErrNotExist) && p > 0 {
		return read(0)
	}
	return b, err
}

// readLimitedFile reads the file at path, failing with ErrTooLarge past
// max bytes.
func readLimitedFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return b, nil
}
