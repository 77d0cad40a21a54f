package main

import (
	"context"
	"fmt"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/datadir"
)

func (m *Main) initCmd(ctx context.Context, args []string) error {
	fs := m.flags("init --data DIR [--origin ORIGIN] [--listen ADDR] [--jurisdiction CODE]",
		"ombud init --data ./ombud-data --origin example.org/ombud",
		"ombud init --data ./ombud-data --origin records.example.org/log")
	data := fs.String("data", "", "data directory to create (must not exist or be empty)")
	origin := fs.String("origin", datadir.DefaultOrigin, "log origin: the log's name in every checkpoint; cannot change later")
	listen := fs.String("listen", "", "listen address to write into ombud.toml (default 127.0.0.1:8080)")
	jurisdiction := fs.String("jurisdiction", "", "the deployment's jurisdiction, e.g. EU-DE (default: the placeholder "+ombud.JurisdictionPlaceholder+", which covers no real jurisdiction)")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usagef("init: --data DIR is required")
	}
	if fs.NArg() > 0 {
		return usagef("init: unexpected argument %q", fs.Arg(0))
	}
	logger, err := m.logger(*logLevel)
	if err != nil {
		return err
	}
	dir, err := datadir.Create(*data, datadir.CreateOptions{Origin: *origin, Listen: *listen, Jurisdiction: *jurisdiction})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Created data directory %s\n", dir.Path)
	fmt.Fprintf(m.Stdout, "Log origin: %s\nLog verifier key: %s\n", dir.Signer.Name(), dir.VerifierKey)
	g, err := openApp(ctx, dir, logger)
	if err != nil {
		return err
	}
	err = bootstrapAdmin(ctx, g, m.Stdout)
	if cerr := g.Close(context.WithoutCancel(ctx)); err == nil {
		err = cerr
	}
	return err
}
