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
// of blocking the read forever, whether it is read whole (a small object)
// or streamed (a large one).
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
	for name, read := range map[string]func() error{
		"whole": func() error { _, err := b.ReadAll(context.Background(), key, 100); return err },
		"streamed": func() error {
			rc, _, err := b.Get(context.Background(), key)
			if err == nil {
				rc.Close()
			}
			return err
		},
	} {
		done := make(chan error, 1)
		go func() { done <- read() }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%s: a FIFO read as a blob", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: reading a FIFO blocked", name)
		}
	}
}
