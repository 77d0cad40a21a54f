package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gateway"
	"github.com/ombud/ombud/vocab"
)

func initCommand() command {
	return command{name: "init", usage: "--data DIR [--origin ORIGIN] [--listen ADDR] [--jurisdiction CODE] [--store URL --log-url URL] [--admins N]", need: []string{"data"},
		summary: "create a data directory and print the admin token (with --admins N, N admin tokens as the last N lines, and multi-party approval on)",
		example: "ombud init --data ./ombud-data --origin records.example.org/log --jurisdiction EU-DE",
		setup: func(m *Main, fs *flag.FlagSet) action {
			o := initFlags{}
			fs.StringVar(&o.data, "data", "", "data directory to create (must not exist or be empty)")
			fs.StringVar(&o.origin, "origin", datadir.DefaultOrigin, "log origin: the log's name in every checkpoint; cannot change later")
			fs.StringVar(&o.listen, "listen", "", "listen address to write into ombud.toml (default 127.0.0.1:8080)")
			fs.StringVar(&o.jurisdiction, "jurisdiction", "", "the deployment's jurisdiction, e.g. EU-DE (default: the placeholder "+vocab.JurisdictionPlaceholder+", which covers no real jurisdiction)")
			fs.StringVar(&o.store, "store", "", "metadata store to write into ombud.toml: a postgres:// URL (default: SQLite in meta.db)")
			fs.StringVar(&o.logURL, "log-url", "", "shared log to write into ombud.toml: a mysql:// URL, for several gateways (needs --store; default: files in log/)")
			fs.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
			fs.IntVar(&o.admins, "admins", 1, "admins to create, 1 to 16; from 2, multi-party approval is enabled from the first minute (2 admins for each privileged operation)")
			return func(ctx context.Context, _ []string) error { return m.initDir(ctx, o) }
		},
	}
}

type initFlags struct {
	data, origin, listen, jurisdiction, store, logURL, logLevel string
	admins                                                      int
}

// checkEngines checks the shared engines a command names, before anything
// is created with them.
func checkEngines(store, logURL string) error {
	c := datadir.Defaults()
	c.Storage.StoreURL, c.Log.URL = store, logURL
	return c.Validate()
}

func (m *Main) initDir(ctx context.Context, o initFlags) error {
	logger, err := m.logger(o.logLevel)
	if err != nil {
		return err
	}
	if err := checkEngines(o.store, o.logURL); err != nil {
		return usagef("init: %v", err)
	}
	if o.admins < 1 || o.admins > ombud.MaxQuorum {
		return usagef("init: --admins takes 1 to %d", ombud.MaxQuorum)
	}
	// The build is logged first: one that cannot say what it is stops
	// before anything is created.
	if _, err := buildinfo.Current(); err != nil {
		return err
	}
	dir, err := datadir.Create(o.data, datadir.CreateOptions{Origin: o.origin, Listen: o.listen, Jurisdiction: o.jurisdiction, StoreURL: o.store, LogURL: o.logURL})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created data directory %s\n", dir.Path)
	fmt.Fprintf(m.Stdout, "Log origin: %s\nLog verifier key: %s\n", dir.Signer.Name(), dir.VerifierKey)
	g, err := openApp(ctx, dir, logger, 0)
	if err != nil {
		return err
	}
	if o.admins == 1 {
		err = bootstrapAdmin(ctx, g, m.Stdout)
	} else {
		err = bootstrapAdmins(ctx, g, o.admins, m.Stdout)
	}
	if cerr := g.Close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	return err
}

// bootstrapAdmins creates n admins and enables multi-party approval, all
// logged, and prints the n tokens as the last n lines.
func bootstrapAdmins(ctx context.Context, g *gateway.Gateway, n int, out io.Writer) error {
	first, tok, w, created, err := g.BootstrapAdmin(ctx)
	if err != nil || !created {
		return err
	}
	tokens := []string{tok.Reveal()}
	fmt.Fprintf(out, "Created admin 1 (log entry %d).\n", w.Index)
	for i := 2; i <= n; i++ {
		_, t, w, err := g.Custody.AddPrincipal(ctx, fmt.Sprintf("admin %d", i), []ombud.Role{ombud.RoleAdmin}, first.ID)
		if err != nil {
			return err
		}
		tokens = append(tokens, t.Reveal())
		fmt.Fprintf(out, "Created admin %d (log entry %d).\n", i, w.Index)
	}
	w, err = g.Approval.SetQuorum(ctx, &ombud.Quorum{Enabled: true, Required: ombud.DefaultQuorumRequired()}, first.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Enabled multi-party approval (log entry %d): each privileged operation needs %d admins.\n", w.Index, ombud.DefaultQuorum)
	if n <= ombud.DefaultQuorum {
		fmt.Fprintf(out, "Every admin is needed, so none can be disabled: propose a third admin (ombud propose admin.create) so that a lost token can be.\n")
	}
	fmt.Fprintf(out, "Admin API tokens, one per admin, in order, shown once; only their hashes are stored. Give each to its admin:\n")
	for _, t := range tokens {
		fmt.Fprintln(out, t)
	}
	return nil
}
