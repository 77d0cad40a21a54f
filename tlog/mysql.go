package tlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/api"
	tmysql "github.com/transparency-dev/tessera/storage/mysql"
	"golang.org/x/mod/sumdb/note"
)

// The shared log: Tessera's MySQL driver on a MySQL-compatible database
// (MariaDB is what ombud is tested on). Every gateway of a deployment
// appends through it; the database's row locks sequence their batches,
// so the log stays one tree, and a gateway that dies loses only what it
// had not yet acknowledged.

// MySQLPrefix begins a log URL that names the shared log's database:
// mysql://USER[:PASSWORD]@tcp(HOST:PORT)/DATABASE[?PARAMS], the Go MySQL
// driver's data source name after the prefix.
const MySQLPrefix = "mysql://"

// Place names where the log at URL u is, without its credentials or
// parameters: mysql://HOST:PORT/DATABASE.
func Place(u string) string {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(u, MySQLPrefix))
	if err != nil {
		return u
	}
	return MySQLPrefix + cfg.Addr + "/" + cfg.DBName
}

// IsMySQLURL reports whether u names a MySQL-compatible database.
func IsMySQLURL(u string) bool { return strings.HasPrefix(u, MySQLPrefix) }

// minMySQLPacket: the driver writes a whole entry bundle, up to 256
// entries, in one statement; a smaller max_allowed_packet wedges the log
// at the first full bundle of large entries.
const minMySQLPacket = 64 << 20

// minMySQLCheckpointInterval is the driver's own minimum.
const minMySQLCheckpointInterval = time.Second

// minMySQLBatchAge: each batch is one transaction, which rewrites the
// partial entry bundle and tiles and holds the tree's row lock, and every
// gateway's batches queue behind it; batches younger than this were too
// small to amortize it (two gateways on one 2-core machine: 214 reads/s
// at 5 ms, 741 at 25 ms, 673 at 50 ms; docs/PERFORMANCE.md).
const minMySQLBatchAge = 25 * time.Millisecond

// mysqlSchema is the driver's schema, compatibility version 1: it checks
// the version at start and makes no table itself.
var mysqlSchema = []string{
	"CREATE TABLE IF NOT EXISTS Tessera (`id` TINYINT UNSIGNED NOT NULL, `compatibilityVersion` BIGINT UNSIGNED NOT NULL, PRIMARY KEY (`id`))",
	"INSERT IGNORE INTO Tessera (`id`, `compatibilityVersion`) VALUES (0, 1)",
	"CREATE TABLE IF NOT EXISTS `Checkpoint` (`id` TINYINT UNSIGNED NOT NULL, `note` MEDIUMBLOB NOT NULL, `published_at` BIGINT NOT NULL, PRIMARY KEY(`id`))",
	"CREATE TABLE IF NOT EXISTS `TreeState` (`id` TINYINT UNSIGNED NOT NULL, `size` BIGINT UNSIGNED NOT NULL, `root` TINYBLOB NOT NULL, PRIMARY KEY(`id`))",
	"CREATE TABLE IF NOT EXISTS `Subtree` (`level` TINYINT UNSIGNED NOT NULL, `index` BIGINT UNSIGNED NOT NULL, `nodes` MEDIUMBLOB NOT NULL, PRIMARY KEY(`level`, `index`))",
	"CREATE TABLE IF NOT EXISTS `TiledLeaves` (`tile_index` BIGINT UNSIGNED NOT NULL, `size` SMALLINT UNSIGNED NOT NULL, `data` LONGBLOB NOT NULL, PRIMARY KEY(`tile_index`))",
}

// openMySQL connects to the log's database, makes its tables if they are
// missing and checks the server's packet limit.
func openMySQL(ctx context.Context, u string) (*sql.DB, error) {
	dsn := strings.TrimPrefix(u, MySQLPrefix)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("tlog: log URL: %w", err)
	}
	if cfg.Passwd == "" {
		// Kept out of ombud.toml, which is not secret.
		cfg.Passwd = os.Getenv("OMBUD_LOG_PASSWORD")
	}
	if cfg.DBName == "" {
		return nil, errors.New("tlog: the log URL names no database (mysql://USER@tcp(HOST:PORT)/DATABASE)")
	}
	cfg.ParseTime = false
	cfg.MaxAllowedPacket = 0 // take the server's
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// A connection keeps the session's settings it began with (its
	// max_allowed_packet among them): renewing them bounds how long a
	// setting the server has since changed stays in force.
	db.SetConnMaxLifetime(time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var packet int64
	if err := db.QueryRowContext(pctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		db.Close()
		return nil, fmt.Errorf("tlog: cannot reach the log's database: %w", err)
	}
	if packet < minMySQLPacket {
		db.Close()
		return nil, fmt.Errorf("tlog: the log's database allows packets of %d bytes (max_allowed_packet); the log needs at least 64M", packet)
	}
	for _, q := range mysqlSchema {
		if _, err := db.ExecContext(pctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("tlog: making the log's tables: %w", err)
		}
	}
	return db, nil
}

// newMySQLDriver opens Tessera's MySQL driver on db, and refuses a
// database whose log another key signs: a gateway with another
// deployment's keys would publish checkpoints of its own into the log.
func newMySQLDriver(ctx context.Context, db *sql.DB, origin string, v note.Verifier) (*tmysql.Storage, error) {
	d, err := tmysql.New(ctx, db)
	if err != nil {
		return nil, err
	}
	cp, err := d.ReadCheckpoint(ctx)
	if err == nil && len(cp) > 0 {
		if _, _, _, err := log.ParseCheckpoint(cp, origin, v); err != nil {
			return nil, fmt.Errorf("the log's database holds a log that this deployment's key (%s) did not sign: %v", origin, err)
		}
	}
	return d, nil
}

// trimTile cuts a hash tile to the partial width p asked for: the driver
// returns the largest tile it has.
func trimTile(b []byte, p uint8) []byte {
	if p == 0 || len(b) <= int(p)*32 {
		return b
	}
	return b[:int(p)*32]
}

// trimBundle cuts an entry bundle to its first p entries, likewise.
func trimBundle(b []byte, p uint8) ([]byte, error) {
	if p == 0 {
		return b, nil
	}
	var eb api.EntryBundle
	if err := eb.UnmarshalText(b); err != nil {
		return nil, err
	}
	if len(eb.Entries) < int(p) {
		return nil, fmt.Errorf("%w: the bundle holds %d entries, not %d", errNotTile, len(eb.Entries), p)
	}
	if len(eb.Entries) == int(p) {
		return b, nil
	}
	var out []byte
	for _, e := range eb.Entries[:p] {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}
