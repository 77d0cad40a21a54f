package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/blob"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/reports"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/tlog"
	"github.com/ombud/ombud/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// app is an opened deployment: data directory, store, log and journal.
type app struct {
	dir      *datadir.Dir
	store    *sqlite.Store
	log      *tlog.Log
	journal  *ombud.Journal
	custody  *custody.Service
	bucket   *blob.Bucket
	registry *prometheus.Registry
	reports  *reports.Service
	// witnesses are the witnesses the log's policy names.
	witnesses []web.Witness
}

func openApp(ctx context.Context, dir *datadir.Dir, logger *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := sqlite.New(ctx, sqlite.Config{Path: dir.DBPath()})
	if err != nil {
		return nil, fmt.Errorf("failed to open metadata store: %w", err)
	}
	lc := dir.Config.Log
	var policy []byte
	if lc.WitnessPolicy != "" {
		p := lc.WitnessPolicy
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir.Path, p)
		}
		if policy, err = os.ReadFile(p); err != nil {
			st.Close()
			return nil, fmt.Errorf("log.witness_policy: %w", err)
		}
	}
	lg, err := tlog.New(ctx, tlog.Config{
		Dir:                dir.LogPath(),
		Signer:             dir.Signer,
		Verifier:           dir.Verifier,
		BatchMaxSize:       lc.BatchMaxSize,
		BatchMaxAge:        lc.BatchMaxAge.Duration,
		CheckpointInterval: lc.CheckpointInterval.Duration,
		AppendTimeout:      lc.AppendTimeout.Duration,
		MaxOutstanding:     lc.MaxOutstanding,
		WitnessPolicy:      policy,
		WitnessTimeout:     lc.WitnessTimeout.Duration,
		Metrics:            tlog.NewMetrics(reg),
		Logger:             logger,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("failed to open transparency log: %w", err)
	}
	a := &app{
		dir:       dir,
		store:     st,
		log:       lg,
		journal:   &ombud.Journal{Store: st, Log: lg, Key: dir.Linkage},
		registry:  reg,
		witnesses: web.WitnessesFromPolicy(policy),
	}
	a.reports = &reports.Service{Dir: filepath.Join(dir.Path, "reports"), Log: lg, Journal: a.journal, Signer: dir.Signer, Band: dir.Config.Report.Band}
	if err := a.openCustody(ctx, logger); err != nil {
		a.close(ctx)
		return nil, err
	}
	return a, nil
}

// site is the public web site of this deployment.
func (a *app) site(logger *slog.Logger) http.Handler {
	s := &web.Site{Origin: a.dir.Signer.Name(), VerifierKey: a.dir.VerifierKey, Verifier: a.dir.Verifier, Log: a.log,
		Reports: a.reports, Witnesses: a.witnesses, Logger: logger,
		Disclosure: web.DisclosureFor(a.dir.Config, a.custody.Access.Policy, a.store.Issuers)}
	return s.Handler()
}

// openCustody opens the blob store and the KEK keyring.
func (a *app) openCustody(ctx context.Context, logger *slog.Logger) error {
	svc, err := custody.Open(ctx, a.dir, a.store, a.journal, logger)
	if err != nil {
		return err
	}
	a.custody, a.bucket = svc, svc.Bucket
	return nil
}

func (a *app) close(ctx context.Context) error {
	var berr error
	if a.bucket != nil {
		berr = a.bucket.Close()
	}
	return errors.Join(a.log.Close(ctx), a.store.Close(), berr)
}

// bootstrapAdmin creates the first admin if there are no principals yet and
// prints its token once, as the last line written to out.
func (a *app) bootstrapAdmin(ctx context.Context, out io.Writer) (bool, error) {
	ps, err := a.store.Principals(ctx)
	if err != nil {
		return false, err
	}
	if len(ps) > 0 {
		return false, nil
	}
	_, tok, w, err := ombud.AddPrincipal(ctx, a.journal, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return false, fmt.Errorf("failed to create the admin principal: %w", err)
	}
	fmt.Fprintf(out, "Created the admin principal (log entry %d).\n", w.Index)
	fmt.Fprintf(out, "Admin API token, shown once; only its hash is stored. Keep it safe:\n")
	fmt.Fprintln(out, tok.Reveal())
	return true, nil
}
