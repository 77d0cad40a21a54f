package main

import (
	"context"
	"flag"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ombud/ombud/bench"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/tlog"
)

// benchCommands run the benchmark harness (package bench). Its code is
// reached only from these commands, never from serve.
func benchCommands() []command {
	return []command{{
		name:    "bench log",
		summary: "durable log appends, ombud beside bare Tessera, in one run",
		usage:   "[--concurrency N] [--batch-size N] [--batch-age D] [--duration D] [--rounds N]",
		example: "ombud bench log --concurrency 512 --batch-age 10ms --duration 10s --rounds 3",
		setup:   (*Main).benchLog,
	}, {
		name:    "bench stream",
		summary: "one large object encrypted in and decrypted out, beside a plain copy",
		usage:   "[--size-mib N] [--rounds N]",
		example: "ombud bench stream --size-mib 1024 --rounds 3",
		setup:   (*Main).benchStream,
	}, {
		name:    "bench access",
		summary: "authorized reads end to end, beside a log append and plain reads",
		usage:   "[--concurrency N] [--duration D] [--rounds N] [--only VARIANT]",
		example: "ombud bench access --concurrency 64 --duration 10s --rounds 3",
		setup:   (*Main).benchAccess,
	}, {
		name:    "bench audit",
		summary: "the auditor and the report over a generated log, beside Tessera's fsck",
		usage:   "[--entries N] [--parallel N] [--rounds N]",
		example: "ombud bench audit --entries 1000000 --rounds 3",
		setup:   (*Main).benchAudit,
	}}
}

func (m *Main) benchAudit(fs *flag.FlagSet) action {
	entries := fs.Int("entries", 1_000_000, "size of the generated log")
	parallel := fs.Int("parallel", 8, "entry bundles fetched and parsed at once")
	rounds := fs.Int("rounds", 3, "rounds")
	dir := fs.String("dir", "", "scratch directory (default: the system temp dir)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to FILE")
	return func(ctx context.Context, _ []string) error {
		if *entries < 1 || *entries > 50_000_000 || *parallel < 1 || *parallel > 256 || *rounds < 1 || *rounds > 20 {
			return usagef("bench audit: want 1-50,000,000 entries, 1-256 parallel, 1-20 rounds")
		}
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
		if _, err := m.logger("error"); err != nil {
			return err
		}
		m.tuneRuntime(datadir.Defaults().Runtime)
		progress, scratch := m.benchIO(*quiet, *dir)
		c, err := bench.CompareAudit(ctx, bench.AuditConfig{Dir: scratch, Entries: *entries, Parallel: *parallel}, *rounds, progress)
		if err != nil {
			return err
		}
		printJSON(m.Stdout, c)
		return nil
	}
}

func (m *Main) benchLog(fs *flag.FlagSet) action {
	conc := fs.Int("concurrency", 512, "concurrent appenders")
	size := fs.Uint("batch-size", tlog.DefaultBatchMaxSize, "Tessera batch max size")
	age := fs.Duration("batch-age", tlog.DefaultBatchMaxAge, "Tessera batch max age")
	cpi := fs.Duration("checkpoint-interval", tlog.DefaultCheckpointInterval, "checkpoint publication interval")
	dur := fs.Duration("duration", 10*time.Second, "how long each run appends")
	rounds := fs.Int("rounds", 3, "rounds; each runs bare Tessera then ombud")
	maxN := fs.Int("max-entries", 2_000_000, "stop a run after this many entries")
	dir := fs.String("dir", "", "scratch directory on the disk to measure (default: the system temp dir)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to FILE")
	return func(ctx context.Context, _ []string) error {
		if *conc < 1 || *conc > 65536 || *rounds < 1 || *rounds > 50 || *dur <= 0 || *dur > 10*time.Minute {
			return usagef("bench log: want 1-65536 appenders, 1-50 rounds and a duration up to 10m")
		}
		if _, err := m.logger("error"); err != nil { // route Tessera's klog output away from stdout
			return err
		}
		// The same runtime settings as 'ombud serve', for both variants.
		m.tuneRuntime(datadir.Defaults().Runtime)
		progress, scratch := m.benchIO(*quiet, *dir)
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
		c, err := bench.CompareLog(ctx, bench.LogConfig{
			Dir: scratch, Concurrency: *conc, BatchMaxSize: *size, BatchMaxAge: *age,
			CheckpointInterval: *cpi, Duration: *dur, MaxEntries: *maxN,
		}, *rounds, progress)
		if err != nil {
			return err
		}
		printJSON(m.Stdout, c)
		return nil
	}
}

func (m *Main) benchStream(fs *flag.FlagSet) action {
	sizeMiB := fs.Int64("size-mib", 1024, "size of the object streamed, in MiB")
	rounds := fs.Int("rounds", 3, "rounds")
	dir := fs.String("dir", "", "scratch directory on the disk to measure (default: the system temp dir)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	return func(ctx context.Context, _ []string) error {
		if *sizeMiB < 1 || *sizeMiB > 64<<10 || *rounds < 1 || *rounds > 20 {
			return usagef("bench stream: want 1 MiB to 64 GiB and 1 to 20 rounds")
		}
		m.tuneRuntime(datadir.Defaults().Runtime)
		progress, scratch := m.benchIO(*quiet, *dir)
		c, err := bench.CompareStream(ctx, scratch, *sizeMiB<<20, *rounds, progress)
		if err != nil {
			return err
		}
		printJSON(m.Stdout, c)
		return nil
	}
}

func (m *Main) benchAccess(fs *flag.FlagSet) action {
	conc := fs.Int("concurrency", 64, "concurrent clients")
	size := fs.Int("object-bytes", 4096, "object size")
	bsize := fs.Uint("batch-size", tlog.DefaultBatchMaxSize, "Tessera batch max size")
	age := fs.Duration("batch-age", tlog.DefaultBatchMaxAge, "Tessera batch max age")
	dur := fs.Duration("duration", 10*time.Second, "how long each variant runs")
	rounds := fs.Int("rounds", 3, "rounds")
	dir := fs.String("dir", "", "scratch directory (default: the system temp dir)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to FILE")
	logDir := fs.String("log-dir", "", "diagnostic: keep the log in a scratch directory under DIR, e.g. another disk")
	only := fs.String("only", "", "run only this variant: access, log-append, plain-http-read or plain-file-read")
	return func(ctx context.Context, _ []string) error {
		switch *only {
		case "", "access", "log-append", "plain-http-read", "plain-file-read":
		default:
			return usagef("bench access: --only takes access, log-append, plain-http-read or plain-file-read")
		}
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
		if *conc < 1 || *conc > 4096 || *rounds < 1 || *rounds > 20 || *dur <= 0 || *dur > 10*time.Minute || *size < 1 || *size > 64<<20 {
			return usagef("bench access: want 1-4096 clients, 1-20 rounds, up to 10m, objects up to 64 MiB")
		}
		if _, err := m.logger("error"); err != nil {
			return err
		}
		m.tuneRuntime(datadir.Defaults().Runtime)
		progress, scratch := m.benchIO(*quiet, *dir)
		c, err := bench.CompareAccess(ctx, bench.AccessConfig{Dir: scratch, Concurrency: *conc, ObjectBytes: *size, BatchMaxSize: *bsize, BatchMaxAge: *age, Duration: *dur, Only: *only, LogDir: *logDir}, *rounds, progress)
		if err != nil {
			return err
		}
		printJSON(m.Stdout, c)
		return nil
	}
}

// benchIO returns where progress lines go (nowhere with --quiet) and the
// scratch directory (--dir, or the system's temporary directory).
func (m *Main) benchIO(quiet bool, dir string) (io.Writer, string) {
	var progress io.Writer = m.Stderr
	if quiet {
		progress = nil
	}
	if dir == "" {
		dir = os.TempDir()
	}
	return progress, dir
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
