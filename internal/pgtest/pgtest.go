// Package pgtest gives tests an empty PostgreSQL schema of their own on
// the server named by OMBUD_POSTGRES_URL (.ci/postgres starts a scratch
// one). Without that variable the tests that ask are skipped, unless
// OMBUD_REQUIRE_POSTGRES=1, as in CI, which makes them fail instead.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Server returns the server's URL, or skips t.
func Server(t testing.TB) string {
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

// URL makes an empty schema on the server for t, drops it when t ends,
// and returns a URL whose search path is that schema: a schema is much
// cheaper to make than a database, and as empty.
func URL(t testing.TB) string {
	t.Helper()
	base := Server(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ombud_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + name); err != nil {
		admin.Close()
		t.Fatalf("creating a schema on %s: %v", base, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
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
