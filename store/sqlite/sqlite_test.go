package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/store"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.New(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("sqlite.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func TestMigrationsAreIdempotentAndPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s := open(t, path)
	d := journal.Commit([]byte(`{"x":1}`))
	d.Time = time.Now()
	if err := s.PutDetails(ctx, []journal.Detail{d}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, path)
	v, err := s2.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	if _, err := s2.Detail(ctx, d.Key()); err != nil {
		t.Fatalf("detail lost across reopen: %v", err)
	}
}

func TestPutAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	s.Close()
	if err := s.PutDetails(context.Background(), []journal.Detail{journal.Commit([]byte(`{}`))}); err == nil {
		t.Fatal("PutDetails after Close succeeded")
	}
}

// TestEraseLeavesNoBytes checks that an erased detail's body is gone from
// every file of the database, not just hidden from queries.
func TestEraseLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "meta.db"))
	secret := []byte(`{"name":"Zebedee Quarrington-Vasquez"}`)
	var ds []journal.Detail
	for i := range 50 {
		d := journal.Commit([]byte(fmt.Sprintf(`{"n":%d}`, i)))
		if i == 25 {
			d = journal.Commit(secret)
		}
		d.Time = time.Now()
		ds = append(ds, d)
	}
	if err := s.PutDetails(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseDetail(ctx, ds[25].Key()); err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		got, err := s.Detail(ctx, d.Key())
		if err != nil {
			t.Fatal(err)
		}
		if (i == 25) != (got.Body == nil) {
			t.Fatalf("detail %d: body %q after erasing detail 25", i, got.Body)
		}
	}
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "meta.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("Quarrington")) {
			t.Fatalf("%s still holds the erased body", f)
		}
	}
}
