// Package mysqltest gives tests an empty database of their own on the
// MySQL-compatible server named by OMBUD_MARIADB, a data source name
// without a database such as ombud@tcp(127.0.0.1:3306)/ (.ci/mariadb
// starts a scratch MariaDB). Without that variable the tests that ask are
// skipped, unless OMBUD_REQUIRE_MARIADB=1, as in CI, which makes them
// fail instead.
package mysqltest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
)

// URL makes an empty database for t, drops it when t ends, and returns
// its log URL, mysql://….
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("OMBUD_MARIADB")
	if base == "" {
		if os.Getenv("OMBUD_REQUIRE_MARIADB") == "1" {
			t.Fatal("OMBUD_REQUIRE_MARIADB=1 but OMBUD_MARIADB is not set (.ci/mariadb prints one)")
		}
		t.Skip("no MariaDB server: set OMBUD_MARIADB (.ci/mariadb starts one)")
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	admin, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ombud_log_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("creating a database on %s: %v", base, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return "mysql://" + base + name
}
