package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/journal"
)

// source is the free text an ingest named its source with.
const source = "doorbell camera at 12 Linden Street"

// objectSource reads an object's source from meta.db itself, not through
// the store.
func objectSource(t *testing.T, path, id string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRow(`SELECT source FROM objects WHERE id = ?`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestErasureClearsSource: an erasure removes the ingest's free-text
// source from meta.db, and the migration removes it from objects erased
// before.
func TestErasureClearsSource(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "meta.db")
	s := open(t, path)
	now := time.Now().UTC().Truncate(time.Millisecond)
	index := uint64(0)
	apply := func(c *journal.Change, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(c.Token))
		c.Leaf, c.Created = sum[:], now
		if err := s.Reserve(t.Context(), c); err != nil {
			t.Fatalf("Reserve(%s): %v", c.Op, err)
		}
		index++
		if err := s.Commit(t.Context(), c, index); err != nil {
			t.Fatalf("Commit(%s): %v", c.Op, err)
		}
	}
	ingest := func(id string) {
		apply(journal.Ingest.Change(id, journal.ObjectPayload{Object: &ombud.Object{ID: id, Class: "general", Source: source,
			Created: now, RetainUntil: now.Add(time.Hour), Size: 8, CipherSize: 40, CipherSHA: make([]byte, 32), WrappedKeyset: []byte("k"), KEKVersion: 1}}))
	}
	erased, kept := "erased0000000001", "kept000000000001"
	ingest(erased)
	ingest(kept)
	apply(journal.Erase.Change(erased, journal.ErasePayload{Reason: "court_order", At: now}))
	if got := objectSource(t, path, erased); got != "" {
		t.Fatalf("an erased object's source is %q in meta.db", got)
	}
	if got := objectSource(t, path, kept); got != source {
		t.Fatalf("a live object's source is %q, want %q", got, source)
	}
}

// TestMigrationClearsErasedSources: an object erased before erasures
// cleared the source loses it when the database is next opened.
func TestMigrationClearsErasedSources(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// The schema as it was before the migration: the migrations before it,
	// applied as the store applies them.
	names, _ := filepath.Glob(filepath.Join("migrations", "*.sql"))
	slices.Sort(names)
	mine := slices.IndexFunc(names, func(n string) bool { return strings.HasSuffix(n, "_erased_source.sql") })
	if mine < 0 {
		t.Fatal("no migration *_erased_source.sql")
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`}
	for _, name := range names[:mine] {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		stmts = append(stmts, string(b), fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 'then')`, v))
	}
	// An erased object and a live one, as that schema left them.
	stmts = append(stmts,
		`INSERT INTO objects (id, class, subjects, source, region, collected_at, created, retain_until, size, cipher_size, cipher_sha256, kek_version, erased_reason, erased_at, erase_index)
			VALUES ('erased0000000001', 'general', '', '`+source+`', '', 0, 0, 0, 1, 1, '', 1, 'court_order', 1, 7)`,
		`INSERT INTO objects (id, class, subjects, source, region, collected_at, created, retain_until, size, cipher_size, cipher_sha256, kek_version)
			VALUES ('live000000000001', 'general', '', '`+source+`', '', 0, 0, 0, 1, 1, '', 1)`)
	for _, stmt := range stmts {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%.200s: %v", stmt, err)
		}
	}
	db.Close()
	open(t, path).Close()
	if got := objectSource(t, path, "erased0000000001"); got != "" {
		t.Fatalf("after the migration, an erased object's source is %q", got)
	}
	if got := objectSource(t, path, "live000000000001"); got != source {
		t.Fatalf("after the migration, a live object's source is %q", got)
	}
}
