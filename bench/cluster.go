package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/registry"
)

// ClusterConfig configures the benchmark of several gateways.
type ClusterConfig struct {
	Dir    string
	Binary string
	// Objects are ingested into each deployment first; reads pick among
	// them at random, and each run reads RunObjects of them.
	Objects, RunObjects, ObjectBytes int
	Concurrency                      int
	Duration                         time.Duration
	// Gateways is the number of gateways of the shared deployment.
	Gateways int
	// StoreServer is a PostgreSQL URL and LogServer a mysql:// URL of a
	// MariaDB server ending in "/": the benchmark makes a schema and a
	// database of its own on them, and drops them after.
	StoreServer, LogServer string
}

// ClusterRound is one variant measured once.
type ClusterRound struct {
	Variant  string     `json:"variant"`
	Gateways int        `json:"gateways"`
	Access   RateResult `json:"access"`
	// RunObjectsPerSecond is the objects per second of two runs read at
	// once, each through its own gateway where there are two.
	RunObjectsPerSecond float64 `json:"run_objects_per_second"`
}

// ClusterVariant is one deployment's medians.
type ClusterVariant struct {
	Variant             string  `json:"variant"`
	Gateways            int     `json:"gateways"`
	IngestPerSecond     float64 `json:"ingest_per_second"`
	AccessPerSecond     float64 `json:"access_per_second"`
	AccessP50ms         float64 `json:"access_p50_ms"`
	AccessP99ms         float64 `json:"access_p99_ms"`
	AccessErrors        int     `json:"access_errors"`
	RunObjectsPerSecond float64 `json:"run_objects_per_second"`
}

// ClusterComparison is the JSON 'ombud bench cluster' prints.
type ClusterComparison struct {
	Benchmark string         `json:"benchmark"`
	When      time.Time      `json:"when"`
	Config    string         `json:"config"`
	Rounds    []ClusterRound `json:"rounds"`
	Single    ClusterVariant `json:"single"`
	Shared    ClusterVariant `json:"shared"`
	// Ratios of the shared deployment's medians to the single gateway's.
	AccessRatio float64 `json:"access_ratio"`
	RunRatio    float64 `json:"run_ratio"`
}

// CompareCluster measures, in one run, two deployments holding the same
// objects: one gateway on SQLite and a log in files, and Gateways gateways
// sharing PostgreSQL, a log in MariaDB and one data directory. For each:
// the ingest rate while Objects are stored, the access path over HTTP
// (Concurrency clients spread over the gateways, each read a random
// object under an authorization), and two runs of RunObjects objects read
// at once (through two gateways where there are two). The rounds
// alternate the deployments.
func CompareCluster(ctx context.Context, cfg ClusterConfig, rounds int, progress io.Writer) (*ClusterComparison, error) {
	say := func(format string, a ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format, a...)
		}
	}
	if cfg.Gateways < 2 {
		cfg.Gateways = 2
	}
	cfg.RunObjects = min(cfg.RunObjects, cfg.Objects)
	work, err := os.MkdirTemp(cfg.Dir, "cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	storeURL, dropStore, err := scratchSchema(ctx, cfg.StoreServer)
	if err != nil {
		return nil, err
	}
	defer dropStore()
	logURL, dropLog, err := scratchLogDatabase(ctx, cfg.LogServer)
	if err != nil {
		return nil, err
	}
	defer dropLog()

	type deployment struct {
		name     string
		servers  []*server
		ids      []string
		system   string
		machine  string
		analyst  string
		ingest   float64
		accesses []RateResult
		runs     []float64
	}
	deps := []*deployment{{name: "one gateway, SQLite and files"}, {name: fmt.Sprintf("%d gateways, PostgreSQL and MariaDB", cfg.Gateways)}}
	for i, d := range deps {
		o := datadir.CreateOptions{Origin: "bench.ombud/log", Jurisdiction: "EU-DE"}
		if i == 1 {
			o.StoreURL, o.LogURL = storeURL, logURL
		}
		dir, err := datadir.Create(filepath.Join(work, fmt.Sprintf("data-%d", i)), o)
		if err != nil {
			return nil, err
		}
		say("%s: ingesting %d objects of %d bytes\n", d.name, cfg.Objects, cfg.ObjectBytes)
		if err := setupCluster(ctx, dir, cfg, d.name, &d.ids, &d.system, &d.machine, &d.analyst, &d.ingest, progress); err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		n := 1
		if i == 1 {
			n = cfg.Gateways
		}
		for range n {
			srv, err := startServer(ctx, cfg.Binary, dir.Path, 0)
			if err != nil {
				return nil, err
			}
			defer srv.stop()
			d.servers = append(d.servers, srv)
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2, MaxConnsPerHost: cfg.Concurrency * 2}, Timeout: 30 * time.Minute}
	c := &ClusterComparison{Benchmark: "cluster", When: time.Now().UTC(),
		Config: fmt.Sprintf("%d objects of %d bytes; access: %d clients for %v; runs: 2 at once of %d objects; %d gateways shared", cfg.Objects, cfg.ObjectBytes, cfg.Concurrency, cfg.Duration, cfg.RunObjects, cfg.Gateways)}
	for r := range rounds {
		for _, d := range deps {
			var next atomic.Int64
			acc := rate("access", cfg.Concurrency, cfg.Duration, func(ctx context.Context) error {
				k := next.Add(1)
				srv := d.servers[int(k)%len(d.servers)]
				id := d.ids[mrand.IntN(len(d.ids))]
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.url+"/v1/objects/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+d.analyst)
				req.Header.Set("Ombud-Purpose", "criminal_investigation")
				req.Header.Set("Ombud-Authorization", "bench-auth")
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || n != int64(cfg.ObjectBytes) {
					return fmt.Errorf("status %d, %d bytes, %v", resp.StatusCode, n, err)
				}
				return nil
			})
			d.accesses = append(d.accesses, acc)
			// Two runs at once, over different objects.
			start := mrand.IntN(len(d.ids) - cfg.RunObjects + 1)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			begin := time.Now()
			for k := range 2 {
				ids := d.ids[start : start+cfg.RunObjects]
				if k == 1 {
					ids = d.ids[len(d.ids)-cfg.RunObjects:]
				}
				srv := d.servers[k%len(d.servers)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[k] = streamRun(ctx, hc, srv.url, d.machine, d.system, ids, cfg.ObjectBytes, func() {})
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return nil, fmt.Errorf("%s, runs: %w", d.name, err)
			}
			runRate := float64(2*cfg.RunObjects) / time.Since(begin).Seconds()
			d.runs = append(d.runs, runRate)
			c.Rounds = append(c.Rounds, ClusterRound{Variant: d.name, Gateways: len(d.servers), Access: acc, RunObjectsPerSecond: runRate})
			say("round %d/%d  %-36s access %7.0f/s (p50 %6.2f ms, p99 %7.2f ms, errors %d)   runs %7.0f objects/s\n",
				r+1, rounds, d.name, acc.PerSecond, acc.P50ms, acc.P99ms, acc.Errors, runRate)
		}
	}
	med := func(d *deployment) ClusterVariant {
		m := func(f func(RateResult) float64) float64 { return medianOf(d.accesses, f) }
		return ClusterVariant{Variant: d.name, Gateways: len(d.servers), IngestPerSecond: d.ingest,
			AccessPerSecond: m(func(r RateResult) float64 { return r.PerSecond }), AccessP50ms: m(func(r RateResult) float64 { return r.P50ms }),
			AccessP99ms: m(func(r RateResult) float64 { return r.P99ms }), AccessErrors: int(m(func(r RateResult) float64 { return float64(r.Errors) })),
			RunObjectsPerSecond: medianOf(d.runs, func(x float64) float64 { return x })}
	}
	c.Single, c.Shared = med(deps[0]), med(deps[1])
	c.AccessRatio = c.Shared.AccessPerSecond / c.Single.AccessPerSecond
	c.RunRatio = c.Shared.RunObjectsPerSecond / c.Single.RunObjectsPerSecond
	return c, nil
}

// setupCluster ingests the objects in process and registers what the
// reads need: a plate reader and its machine, an analyst, and an
// authorization with uses enough for any benchmark.
func setupCluster(ctx context.Context, dir *datadir.Dir, cfg ClusterConfig, name string, ids *[]string, system, machine, analyst *string, ingest *float64, progress io.Writer) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer g.Close(context.WithoutCancel(ctx))
	svc := g.Custody
	admin, _, _, err := svc.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return err
	}
	sys, _, err := g.Analytics.Register(ctx, registry.System{Name: "plate-reader", Vendor: "vendor-y", Task: "plate_reading", Classes: []string{"location"},
		Version: registry.Version{Version: "2.0", Model: "anpr", Accuracy: ombud.Accuracy{Threshold: 0.9, Source: "vendor-y-datasheet"}}}, admin.ID)
	if err != nil {
		return err
	}
	_, mtok, _, err := svc.AddSystemPrincipal(ctx, "anpr runner", sys.ID, admin.ID)
	if err != nil {
		return err
	}
	_, atok, _, err := svc.AddPrincipal(ctx, "analyst", []ombud.Role{ombud.RoleAnalyst}, admin.ID)
	if err != nil {
		return err
	}
	if err := benchAuthorization(ctx, svc, admin.ID, 1_000_000); err != nil {
		return err
	}
	if *ids, *ingest, err = ingestObjects(ctx, svc, admin.ID, cfg.Objects, cfg.ObjectBytes, name+": ", progress); err != nil {
		return err
	}
	*system, *machine, *analyst = sys.ID, mtok.Reveal(), atok.Reveal()
	return nil
}

func scratchName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "ombud_bench_" + hex.EncodeToString(b)
}

// scratchSchema makes a schema on the PostgreSQL server and returns a URL
// whose search path is that schema.
func scratchSchema(ctx context.Context, server string) (string, func(), error) {
	if server == "" {
		return "", nil, errors.New("bench cluster: --store names no PostgreSQL server")
	}
	db, err := sql.Open("pgx", server)
	if err != nil {
		return "", nil, err
	}
	name := scratchName()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("bench cluster: making a schema: %w", err)
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), func() { db.Exec("DROP SCHEMA " + name + " CASCADE"); db.Close() }, nil
}

// scratchLogDatabase makes a database on the MariaDB server and returns
// its log URL.
func scratchLogDatabase(ctx context.Context, server string) (string, func(), error) {
	dsn, ok := strings.CutPrefix(server, "mysql://")
	if !ok || !strings.HasSuffix(dsn, "/") {
		return "", nil, errors.New("bench cluster: --log-url must name a MariaDB server, mysql://USER@tcp(HOST:PORT)/")
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", nil, err
	}
	name := scratchName()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("bench cluster: making a database: %w", err)
	}
	return server + name, func() { db.Exec("DROP DATABASE " + name); db.Close() }, nil
}
