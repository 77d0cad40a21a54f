package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
)

// openApp opens the deployment in dir (see package gateway).
func openApp(ctx context.Context, dir *datadir.Dir, logger *slog.Logger, keeperLatency time.Duration) (*gateway.Gateway, error) {
	reg := prometheus.NewRegistry()
	if len(dir.Config.Tips.Recipients) == 0 {
		// With the whistleblower intake on, /metrics carries no runtime
		// or process figures: the 32 MiB of a codename's hash, and the
		// CPU, would date each submission to whoever polls it.
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	// The gateway logs this build before it decides anything.
	build, err := buildinfo.Current()
	if err != nil {
		return nil, err
	}
	g, err := gateway.Open(ctx, dir, gateway.Options{Logger: logger, Registry: reg, KeeperLatency: keeperLatency, Build: build})
	if errors.Is(err, gateway.ErrLogUnwritable) {
		return nil, exitCode{code: exitLogUnwritable, err: fmt.Errorf("%w; ombud cannot log, so it would deny everything: fix the directory's permissions or free space, then start again", err)}
	}
	return g, err
}

// bootstrapAdmin creates the first admin if there are no principals yet and
// prints its token once, as the last line written to out.
func bootstrapAdmin(ctx context.Context, g *gateway.Gateway, out io.Writer) error {
	_, tok, w, created, err := g.BootstrapAdmin(ctx)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(out, "Created the admin principal (log entry %d).\n", w.Index)
	fmt.Fprintf(out, "Admin API token, shown once; only its hash is stored. Keep it safe:\n")
	fmt.Fprintln(out, tok.Reveal())
	return nil
}
