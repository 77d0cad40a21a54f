package audit_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/ombud/ombud/audit"
)

// TestDirLogBounds: a copy on disk is read within the same limits as a
// server: a checkpoint or a tile larger than any conforming one fails
// with ErrTooLarge; a partial tile that the full one replaced is read
// from the full one; a missing file is os.ErrNotExist.
func TestDirLogBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(p string, n int) {
		t.Helper()
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := audit.DirLog{Dir: dir}
	write(layout.CheckpointPath, audit.MaxCheckpointBytes+1)
	if _, err := d.ReadCheckpoint(t.Context()); !errors.Is(err, audit.ErrTooLarge) {
		t.Fatalf("a checkpoint past the limit: %v", err)
	}
	write(layout.TilePath(0, 0, 0), audit.MaxTileBytes+1)
	if _, err := d.ReadTile(t.Context(), 0, 0, 0); !errors.Is(err, audit.ErrTooLarge) {
		t.Fatalf("a tile past the limit: %v", err)
	}
	write(layout.TilePath(0, 1, 0), audit.MaxTileBytes)
	if b, err := d.ReadTile(t.Context(), 0, 1, 7); err != nil || len(b) != audit.MaxTileBytes {
		t.Fatalf("a partial tile read from the full one: %d %v", len(b), err)
	}
	if _, err := d.ReadEntryBundle(t.Context(), 5, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing bundle: %v", err)
	}
}
