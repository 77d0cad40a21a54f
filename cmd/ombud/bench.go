package main

import (
	"context"
	"flag"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/bench"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/tlog"
)

// benchCommands run the benchmark harness (package bench). Its code is
// reached only from these commands, never from serve.
func benchCommands() []command {
	return []command{{name: "bench log", usage: "[--concurrency N] [--batch-size N] [--batch-age D] [--duration D] [--rounds N]",
		summary: "durable log appends, ombud beside bare Tessera, in one run",
		example: "ombud bench log --concurrency 512 --batch-age 10ms --duration 10s --rounds 3",
		setup:   (*Main).benchLog,
	}, {name: "bench stream", usage: "[--size-mib N] [--rounds N]",
		summary: "one large object encrypted in and decrypted out, beside a plain copy",
		example: "ombud bench stream --size-mib 1024 --rounds 3",
		setup:   (*Main).benchStream,
	}, {name: "bench access", usage: "[--concurrency N] [--duration D] [--rounds N] [--only VARIANT] [--store URL]",
		summary: "authorized reads end to end, beside a log append and plain reads",
		example: "ombud bench access --concurrency 64 --duration 10s --rounds 3",
		setup:   (*Main).benchAccess,
	}, {name: "bench run", usage: "[--objects N] [--object-bytes N] [--rounds N] [--keeper-latency D]",
		summary: "one analytic run streaming N objects, each logged before it is sent, beside a bare Tessera appender",
		example: "ombud bench run --objects 100000 --rounds 3",
		setup:   (*Main).benchRunObjects,
	}, {name: "bench export", usage: "[--size-mib N] [--objects N] [--object-bytes N] [--rounds N]",
		summary: "one large object exported beside the age CLI encrypting it, and many small ones exported beside a run's bulk read",
		example: "ombud bench export --size-mib 1024 --objects 10000 --rounds 3",
		setup:   (*Main).benchExport,
	}, {name: "bench cluster", usage: "--store URL --log-url URL [--gateways N] [--objects N] [--run-objects N] [--concurrency N] [--duration D] [--rounds N]",
		summary: "several gateways on PostgreSQL and MariaDB beside one gateway on SQLite and files: ingest, reads and runs",
		example: "ombud bench cluster --store postgres://ombud@127.0.0.1:5432/ombud --log-url 'mysql://ombud@tcp(127.0.0.1:3306)/' --objects 100000",
		setup:   (*Main).benchCluster,
	}, {name: "bench audit", usage: "[--entries N] [--parallel N] [--rounds N]",
		summary: "the auditor and the report over a generated log, beside Tessera's fsck",
		example: "ombud bench audit --entries 1000000 --rounds 3",
		setup:   (*Main).benchAudit,
	}}
}

// benchRun is what a benchmark command measures, given where progress
// lines go and its scratch directory; its result is printed as JSON.
type benchRun func(ctx context.Context, progress io.Writer, scratch string) (any, error)

// bench adds the flags every benchmark has (--rounds, --dir, --quiet,
// --cpuprofile) and makes its action: check the flags, then measure with
// the runtime settings of 'ombud serve' and Tessera's logs kept off stdout.
func (m *Main) bench(fs *flag.FlagSet, maxRounds int, setup func(rounds *int) (check func() error, measure benchRun)) action {
	rounds := fs.Int("rounds", 3, "rounds")
	dir := fs.String("dir", "", "scratch directory on the disk to measure (default: the system temp dir)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to FILE")
	check, measure := setup(rounds)
	return func(ctx context.Context, _ []string) error {
		if *rounds < 1 || *rounds > maxRounds {
			return usagef("%s: want 1 to %d rounds", fs.Name(), maxRounds)
		}
		if err := check(); err != nil {
			return err
		}
		if _, err := m.logger("error"); err != nil {
			return err
		}
		m.tuneRuntime(datadir.Defaults().Runtime)
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
		var progress io.Writer = m.Stderr
		if *quiet {
			progress = nil
		}
		scratch := *dir
		if scratch == "" {
			scratch = os.TempDir()
		}
		c, err := measure(ctx, progress, scratch)
		if err != nil {
			return err
		}
		printJSON(m.Stdout, c)
		return nil
	}
}

func (m *Main) benchAudit(fs *flag.FlagSet) action {
	entries := fs.Int("entries", 1_000_000, "size of the generated log")
	parallel := fs.Int("parallel", 8, "entry bundles fetched and parsed at once")
	return m.bench(fs, 20, func(rounds *int) (func() error, benchRun) {
		return func() error {
				if *entries < 1 || *entries > 50_000_000 || *parallel < 1 || *parallel > 256 {
					return usagef("bench audit: want 1-50,000,000 entries and 1-256 parallel")
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				return bench.CompareAudit(ctx, bench.AuditConfig{Dir: scratch, Entries: *entries, Parallel: *parallel}, *rounds, progress)
			}
	})
}

func (m *Main) benchLog(fs *flag.FlagSet) action {
	conc := fs.Int("concurrency", 512, "concurrent appenders")
	size := fs.Uint("batch-size", tlog.DefaultBatchMaxSize, "Tessera batch max size")
	age := fs.Duration("batch-age", tlog.DefaultBatchMaxAge, "Tessera batch max age")
	cpi := fs.Duration("checkpoint-interval", tlog.DefaultCheckpointInterval, "checkpoint publication interval")
	dur := fs.Duration("duration", 10*time.Second, "how long each run appends")
	maxN := fs.Int("max-entries", 2_000_000, "stop a run after this many entries")
	return m.bench(fs, 50, func(rounds *int) (func() error, benchRun) {
		return func() error {
				if *conc < 1 || *conc > 65536 || *dur <= 0 || *dur > 10*time.Minute {
					return usagef("bench log: want 1-65536 appenders and a duration up to 10m")
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				return bench.CompareLog(ctx, bench.LogConfig{Dir: scratch, Concurrency: *conc, BatchMaxSize: *size, BatchMaxAge: *age,
					CheckpointInterval: *cpi, Duration: *dur, MaxEntries: *maxN}, *rounds, progress)
			}
	})
}

func (m *Main) benchStream(fs *flag.FlagSet) action {
	sizeMiB := fs.Int64("size-mib", 1024, "size of the object streamed, in MiB")
	return m.bench(fs, 20, func(rounds *int) (func() error, benchRun) {
		return func() error {
				if *sizeMiB < 1 || *sizeMiB > 64<<10 {
					return usagef("bench stream: want 1 MiB to 64 GiB")
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				return bench.CompareStream(ctx, scratch, *sizeMiB<<20, *rounds, progress)
			}
	})
}

func (m *Main) benchAccess(fs *flag.FlagSet) action {
	conc := fs.Int("concurrency", 64, "concurrent clients")
	size := fs.Int("object-bytes", 4096, "object size")
	bsize := fs.Uint("batch-size", tlog.DefaultBatchMaxSize, "Tessera batch max size")
	age := fs.Duration("batch-age", tlog.DefaultBatchMaxAge, "Tessera batch max age")
	dur := fs.Duration("duration", 10*time.Second, "how long each variant runs")
	logDir := fs.String("log-dir", "", "diagnostic: keep the log in a scratch directory under DIR, e.g. another disk")
	only := fs.String("only", "", "run only this variant: access, log-append, plain-http-read or plain-file-read")
	storeURL := fs.String("store", "", "keep the metadata in this PostgreSQL database (postgres://…, empty) instead of SQLite")
	return m.bench(fs, 20, func(rounds *int) (func() error, benchRun) {
		return func() error {
				switch *only {
				case "", "access", "log-append", "plain-http-read", "plain-file-read":
				default:
					return usagef("bench access: --only takes access, log-append, plain-http-read or plain-file-read")
				}
				if *storeURL != "" && !strings.HasPrefix(*storeURL, "postgres://") && !strings.HasPrefix(*storeURL, "postgresql://") {
					return usagef("bench access: --store takes a postgres:// URL")
				}
				if *conc < 1 || *conc > 4096 || *dur <= 0 || *dur > 10*time.Minute || *size < 1 || *size > 64<<20 {
					return usagef("bench access: want 1-4096 clients, up to 10m, objects up to 64 MiB")
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				return bench.CompareAccess(ctx, bench.AccessConfig{Dir: scratch, Concurrency: *conc, ObjectBytes: *size, BatchMaxSize: *bsize,
					BatchMaxAge: *age, Duration: *dur, Only: *only, LogDir: *logDir, StoreURL: *storeURL}, *rounds, progress)
			}
	})
}

// startProfile starts a CPU profile into path ("" profiles nothing) and
// returns the func that ends it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func (m *Main) benchCluster(fs *flag.FlagSet) action {
	store := fs.String("store", "", "a PostgreSQL server's URL: the benchmark makes a schema of its own there, and drops it after")
	logURL := fs.String("log-url", "", "a MariaDB server, mysql://USER@tcp(HOST:PORT)/: the benchmark makes a database of its own there, and drops it after")
	gateways := fs.Int("gateways", 2, "gateways of the shared deployment")
	n := fs.Int("objects", 10_000, "objects stored in each deployment")
	runN := fs.Int("run-objects", 10_000, "objects each of the two runs reads")
	size := fs.Int("object-bytes", 4096, "object size")
	conc := fs.Int("concurrency", 64, "clients reading at once")
	dur := fs.Duration("duration", 10*time.Second, "how long the reads of each round last")
	return m.bench(fs, 10, func(rounds *int) (func() error, benchRun) {
		return func() error {
				switch {
				case *store == "" || *logURL == "":
					return usagef("bench cluster: --store and --log-url name the servers of the shared deployment")
				case *gateways < 2 || *gateways > 16:
					return usagef("bench cluster: want 2 to 16 gateways")
				case *n < 1 || *n > 10_000_000 || *runN < 1 || *runN > ombud.MaxRunObjects || *size < 1 || *size > 1<<20:
					return usagef("bench cluster: want 1 to 10,000,000 objects, runs of 1 to %d, of up to 1 MiB", ombud.MaxRunObjects)
				case *conc < 1 || *conc > 1024 || *dur <= 0 || *dur > 10*time.Minute:
					return usagef("bench cluster: want 1 to 1024 clients for up to 10 minutes")
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				bin, err := os.Executable()
				if err != nil {
					return nil, err
				}
				return bench.CompareCluster(ctx, bench.ClusterConfig{Dir: scratch, Binary: bin, Objects: *n, RunObjects: *runN, ObjectBytes: *size,
					Concurrency: *conc, Duration: *dur, Gateways: *gateways, StoreServer: *store, LogServer: *logURL}, *rounds, progress)
			}
	})
}

func (m *Main) benchRunObjects(fs *flag.FlagSet) action {
	n := fs.Int("objects", 100_000, "objects in the run")
	size := fs.Int("object-bytes", 4096, "object size")
	latency := fs.Duration("keeper-latency", 0, "delay every call of the server's KEK keeper by this much, as a remote KMS would; the JSON counts the calls (keeper_calls)")
	serverProfile := fs.String("server-cpuprofile", "", "write a CPU profile of the server process to FILE")
	return m.bench(fs, 10, func(rounds *int) (func() error, benchRun) {
		return func() error {
				if *latency < 0 || *latency > time.Second {
					return usagef("bench run: --keeper-latency must be 0 to 1s")
				}
				if *n < 1 || *n > ombud.MaxRunObjects || *size < 1 || *size > 1<<20 {
					return usagef("bench run: want 1 to %d objects of up to 1 MiB", ombud.MaxRunObjects)
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				bin, err := os.Executable()
				if err != nil {
					return nil, err
				}
				return bench.CompareRun(ctx, bench.RunConfig{Dir: scratch, Objects: *n, ObjectBytes: *size, Binary: bin, KeeperLatency: *latency, ServerProfile: *serverProfile}, *rounds, progress)
			}
	})
}

func (m *Main) benchExport(fs *flag.FlagSet) action {
	sizeMiB := fs.Int("size-mib", 1024, "size of the large object exported, in MiB")
	n := fs.Int("objects", 10_000, "small objects exported")
	size := fs.Int("object-bytes", 4096, "small object size")
	return m.bench(fs, 10, func(rounds *int) (func() error, benchRun) {
		return func() error {
				if *sizeMiB < 1 || *sizeMiB > 16<<10 || *n < 1 || *n > custody.MaxExportObjects || *size < 1 || *size > 1<<20 {
					return usagef("bench export: want 1 MiB to 16 GiB, and 1 to %d small objects of up to 1 MiB", custody.MaxExportObjects)
				}
				return nil
			}, func(ctx context.Context, progress io.Writer, scratch string) (any, error) {
				bin, err := os.Executable()
				if err != nil {
					return nil, err
				}
				return bench.CompareExport(ctx, bench.ExportConfig{Dir: scratch, SizeMiB: *sizeMiB, Objects: *n, ObjectBytes: *size, Binary: bin}, *rounds, progress)
			}
	})
}
