package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/store"
	"github.com/ombud/ombud/store/sqlite"
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
	store.TestStore(t, func(t *testing.T) ombud.Store {
		return open(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func TestMigrationsAreIdempotentAndPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s := open(t, path)
	d := ombud.Commit([]byte(`{"x":1}`))
	if err := s.PutDetails(ctx, []ombud.Detail{d}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, path)
	v, err := s2.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	if _, err := s2.Detail(ctx, d.Commitment); err != nil {
		t.Fatalf("detail lost across reopen: %v", err)
	}
}

func TestPutAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	s.Close()
	if err := s.PutDetails(context.Background(), []ombud.Detail{ombud.Commit([]byte(`{}`))}); err == nil {
		t.Fatal("PutDetails after Close succeeded")
	}
}
