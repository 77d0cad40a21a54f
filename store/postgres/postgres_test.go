package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/internal/parallel"
	"github.com/ombud/ombud/internal/pgtest"
	"github.com/ombud/ombud/store"
	"github.com/ombud/ombud/store/postgres"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/store/storetest"
)

// The tests need a PostgreSQL server: see internal/pgtest.
func TestMain(m *testing.M) { parallel.Main(m) }

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
	storetest.TestStore(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

// TestMigrationsAreConcurrentAndIdempotent: gateways starting at once on
// an empty database migrate it once; a later start applies nothing.
func TestMigrationsAreConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
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

	pgURL := pgtest.URL(t)
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

// TestLostConnectionIsUnavailable: a connection the server ended (an
// administrator's pg_terminate_backend, a restart, a failover) answers as
// a service that cannot be reached, for clients to retry, not as an
// internal error.
func TestLostConnectionIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.URL(t)
	// Its connections are told apart from other tests' (the tests share
	// one database) by their application name.
	app := "ombud-lost-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s := open(t, u+sep+"application_name="+app)
	if _, err := s.Authorization(ctx, "order-1"); !errors.Is(err, ombud.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	admin, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authorization(ctx, "order-1")
	if err == nil || errors.Is(err, ombud.ErrNotFound) {
		t.Skip("the pool replaced the ended connection before the read: nothing to check")
	}
	if code := ombud.ErrorCode(err); code != ombud.CodeUnavailable {
		t.Fatalf("a read on an ended connection: %v (%T), code %s, want %s", err, err, code, ombud.CodeUnavailable)
	}
}
