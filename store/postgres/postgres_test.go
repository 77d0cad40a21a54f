package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ombud/ombud/internal/parallel"
	"github.com/ombud/ombud/store"
	"github.com/ombud/ombud/store/postgres"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/store/storetest"
)

// The tests need a PostgreSQL server whose URL, with the right to create
// databases, is in OMBUD_POSTGRES_URL (.ci/postgres starts one). Without
// it they are skipped, unless OMBUD_REQUIRE_POSTGRES=1 (as in CI).
func TestMain(m *testing.M) { parallel.Main(m) }

// server returns the server's URL, or skips t.
func server(t *testing.T) string {
	t.Helper()
	u := os.Getenv("OMBUD_POSTGRES_URL")
	if u == "" {
		if os.Getenv("OMBUD_REQUIRE_POSTGRES") == "1" {
			t.Fatal("OMBUD_REQUIRE_POSTGRES=1 but OMBUD_POSTGRES_URL is not set (.ci/postgres prints one)")
		}
		t.Skip("no PostgreSQL server: set OMBUD_POSTGRES_URL (.ci/postgres starts one)")
	}
	return u
}

// freshDatabase makes an empty schema on the server for t, drops it when
// t ends, and returns a URL whose search path is that schema: a schema is
// much cheaper to make than a database, and as empty.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := server(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	name := "ombud_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + name + ` CASCADE`); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.New(context.Background(), postgres.Config{URL: dbURL, MaxConns: 8})
	if err != nil {
		t.Fatalf("postgres.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.TestStore(t, func(t *testing.T) store.Store { return open(t, freshDatabase(t)) })
}

// TestMigrationsAreConcurrentAndIdempotent: gateways starting at once on
// an empty database migrate it once; a later start applies nothing.
func TestMigrationsAreConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	u := freshDatabase(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.New(context.Background(), postgres.Config{URL: u, MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a concurrent start: %v", err)
		}
	}
	s := open(t, u)
	v, err := s.SchemaVersion(context.Background())
	if err != nil || v < 16 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
}

// TestSchemaMatchesSQLite: both engines' migrations make the same tables
// with the same columns, so that one set of queries serves both.
func TestSchemaMatchesSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "meta.db")
	lite, err := sqlite.New(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
	ldb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	got := columns(t, ldb, `SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table'`)

	pgURL := freshDatabase(t)
	open(t, pgURL)
	pdb, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	want := columns(t, pdb, `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`)
	if !slices.Equal(got, want) {
		t.Fatalf("the engines' schemas differ:\nonly SQLite: %v\nonly PostgreSQL: %v", minus(got, want), minus(want, got))
	}
}

// minus returns the items of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func columns(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
