package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/vocab"
)

func serverCommands() []command {
	return []command{initCommand(), {name: "version",
		summary: "print this build: the SHA-256 of the executable, its version and source revision, the Go toolchain, and its SBOM's SHA-256",
		example: "ombud version --json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			asJSON := fs.Bool("json", false, "print JSON, as the build entry's values")
			return func(ctx context.Context, _ []string) error {
				b, err := buildinfo.Current()
				if err != nil {
					return err
				}
				if *asJSON {
					printJSON(m.Stdout, b.Build)
					return nil
				}
				fmt.Fprintf(m.Stdout, "ombud %s\nexecutable sha256: %s\nsource revision:   %s\ngo:                %s\nsbom sha256:       %s\n",
					b.Version, b.BinarySHA256, buildinfo.DescribeRevision(b.Revision, b.Modified), b.Go, b.SBOMSHA256)
				return nil
			}
		},
	}, {name: "sbom",
		summary: "print the software bill of materials of this executable (CycloneDX 1.6 JSON): every module linked into it, with its hash",
		example: "ombud sbom > ombud.cdx.json",
		setup: func(m *Main, fs *flag.FlagSet) action {
			return func(ctx context.Context, _ []string) error {
				sbom, err := buildinfo.CurrentSBOM()
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(sbom)
				return err
			}
		},
	}, {name: "serve", usage: "[--data DIR] [--listen ADDR] [--store URL] [--log-url URL]",
		summary: "run the API, the public site and the transparency log (a missing or empty data directory is created)",
		example: "ombud serve --data ./ombud-data --listen 127.0.0.1:8080",
		setup: func(m *Main, fs *flag.FlagSet) action {
			o := serveFlags{}
			fs.StringVar(&o.data, "data", ".ombud", "data directory; created and initialised if missing or empty")
			fs.StringVar(&o.listen, "listen", "", "listen address (default: server.listen in ombud.toml, 127.0.0.1:8080)")
			fs.StringVar(&o.store, "store", "", "metadata store: a postgres:// URL (default: storage.store_url in ombud.toml; empty is SQLite in meta.db)")
			fs.StringVar(&o.logURL, "log-url", "", "shared log: a mysql:// URL, for several gateways (default: log.url in ombud.toml; empty is files in the data directory's log/)")
			fs.StringVar(&o.origin, "origin", datadir.DefaultOrigin, "log origin, used only when the data directory is created")
			fs.StringVar(&o.jurisdiction, "jurisdiction", "", "the deployment's jurisdiction, e.g. EU-DE, used only when the data directory is created (default: the placeholder "+vocab.JurisdictionPlaceholder+", which covers no real jurisdiction)")
			fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
			fs.DurationVar(&o.keeperLatency, "keeper-latency", 0, "for benchmarks: delay every call of the KEK's keeper by this much, as a remote KMS would")
			fs.StringVar(&o.cpuProfile, "cpuprofile", "", "diagnostic: write a CPU profile of the server, until it stops, to FILE")
			return func(ctx context.Context, _ []string) error { return m.serve(ctx, o) }
		},
	}}
}

type serveFlags struct {
	data, listen, store, logURL, origin, jurisdiction, logLevel, cpuProfile string
	keeperLatency                                                           time.Duration
}

func (m *Main) serve(ctx context.Context, o serveFlags) error {
	logger, err := m.logger(o.logLevel)
	if err != nil {
		return err
	}
	// The build is logged first: one that cannot say what it is stops
	// before anything is created.
	if _, err := buildinfo.Current(); err != nil {
		return err
	}
	var dir *datadir.Dir
	if datadir.IsEmpty(o.data) {
		if err := checkEngines(o.store, o.logURL); err != nil {
			return usagef("serve: %v", err)
		}
		dir, err = datadir.Create(o.data, datadir.CreateOptions{Origin: o.origin, Jurisdiction: o.jurisdiction, StoreURL: o.store, LogURL: o.logURL})
		if err == nil {
			meta := "an empty metadata database (meta.db)"
			if o.store != "" {
				meta = "its metadata in the PostgreSQL database --store names"
			}
			logAt := "a new, empty transparency log (log/)"
			if o.logURL != "" {
				logAt = "its transparency log in the database --log-url names"
			}
			fmt.Fprintf(m.Stdout, "Created a new deployment in %s: its keys (keys/), its configuration (ombud.toml), %s and %s, with the log origin %s and the jurisdiction %s.\n",
				dir.Path, meta, logAt, dir.Signer.Name(), dir.Config.DeploymentJurisdiction())
		}
	} else {
		dir, err = datadir.Open(o.data)
		if err == nil && o.jurisdiction != "" && o.jurisdiction != dir.Config.DeploymentJurisdiction() {
			return usagef("serve: --jurisdiction %s: the data directory's jurisdiction is %s; it is set when the directory is created (ombud.toml, access.jurisdiction)", o.jurisdiction, dir.Config.DeploymentJurisdiction())
		}
	}
	if err != nil {
		return err
	}
	if o.store != "" || o.logURL != "" {
		if o.store != "" {
			dir.Config.Storage.StoreURL = o.store
		}
		if o.logURL != "" {
			dir.Config.Log.URL = o.logURL
		}
		if err := dir.Config.Validate(); err != nil {
			return usagef("serve: %v", err)
		}
	}
	m.tuneRuntime(dir.Config.Runtime)
	stopProfile, err := startProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// Request errors are logged through slog's default logger (the api
	// package's writeError); make that the configured one.
	slog.SetDefault(logger)
	addr := dir.Config.Server.Listen
	if o.listen != "" {
		addr = o.listen
	}
	g, err := openApp(ctx, dir, logger, o.keeperLatency)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dir.Config.Server.ShutdownTimeout.Duration)
		defer cancel()
		if err := g.Close(cctx); err != nil {
			logger.Error("log flush on shutdown failed", "err", err)
		} else {
			logger.Info("log flushed; stopped")
		}
	}()
	if err := bootstrapAdmin(ctx, g, m.Stdout); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	sc := dir.Config.Server
	srv := g.API()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: sc.ReadHeaderTimeout.Duration,
		ReadTimeout:       sc.ReadTimeout.Duration,
		WriteTimeout:      sc.WriteTimeout.Duration,
		IdleTimeout:       sc.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
	}
	logger.Info("listening", "addr", ln.Addr().String(), "origin", dir.Signer.Name(), "data", dir.Path)
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	// The sweep ends before the gateway closes (deferred above), so no
	// sweep runs on a closed store.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		var tipFailures func(time.Time) (int, string)
		if g.Tips != nil {
			tipFailures = g.Tips.Failures
		}
		sweeper(sweepCtx, g.Custody, g.TipBatch, tipFailures, g.Store, logger, dir.Config.Storage.SweepInterval.Duration)
	}()
	defer func() {
		stopSweep()
		<-swept
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining requests, then flushing the log")
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.ShutdownTimeout.Duration)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("graceful shutdown incomplete", "err", err)
	}
	return nil
}
