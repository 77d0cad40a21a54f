//go:build unix

package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ombud/ombud/blob"
)

// TestReadAllRefusesAFIFO: a FIFO in a blob's place fails at once instead
// of blocking the read forever.
func TestReadAllRefusesAFIFO(t *testing.T) {
	dir := t.TempDir()
	b, err := blob.Open(context.Background(), "file://"+filepath.ToSlash(dir)+"?no_tmp_dir=true&metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key := blob.Key("fifoobject")
	p := filepath.Join(dir, filepath.FromSlash(key))
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := b.ReadAll(context.Background(), key, 100); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a FIFO read as a blob")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}
