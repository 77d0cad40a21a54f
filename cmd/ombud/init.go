package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/vocab"
)

func initCommand() command {
	return command{name: "init", usage: "--data DIR [--origin ORIGIN] [--listen ADDR] [--jurisdiction CODE]", need: []string{"data"},
		summary: "create a data directory and print the admin token",
		example: "ombud init --data ./ombud-data --origin records.example.org/log --jurisdiction EU-DE",
		setup: func(m *Main, fs *flag.FlagSet) action {
			o := initFlags{}
			fs.StringVar(&o.data, "data", "", "data directory to create (must not exist or be empty)")
			fs.StringVar(&o.origin, "origin", datadir.DefaultOrigin, "log origin: the log's name in every checkpoint; cannot change later")
			fs.StringVar(&o.listen, "listen", "", "listen address to write into ombud.toml (default 127.0.0.1:8080)")
			fs.StringVar(&o.jurisdiction, "jurisdiction", "", "the deployment's jurisdiction, e.g. EU-DE (default: the placeholder "+vocab.JurisdictionPlaceholder+", which covers no real jurisdiction)")
			fs.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
			return func(ctx context.Context, _ []string) error { return m.initDir(ctx, o) }
		},
	}
}

type initFlags struct{ data, origin, listen, jurisdiction, logLevel string }

func (m *Main) initDir(ctx context.Context, o initFlags) error {
	logger, err := m.logger(o.logLevel)
	if err != nil {
		return err
	}
	dir, err := datadir.Create(o.data, datadir.CreateOptions{Origin: o.origin, Listen: o.listen, Jurisdiction: o.jurisdiction})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created data directory %s\n", dir.Path)
	fmt.Fprintf(m.Stdout, "Log origin: %s\nLog verifier key: %s\n", dir.Signer.Name(), dir.VerifierKey)
	g, err := openApp(ctx, dir, logger, 0)
	if err != nil {
		return err
	}
	err = bootstrapAdmin(ctx, g, m.Stdout)
	if cerr := g.Close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	return err
}
