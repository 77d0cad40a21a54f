// Package gateway wires one ombud deployment from its data directory: the
// store, the log, the journal, custody and access, the reports, the API and
// the public site. The CLI, the test harness and the benchmarks all open a
// deployment through it, so there is one object graph.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ombud/ombud"
	"github.com/ombud/ombud/access"
	"github.com/ombud/ombud/api"
	"github.com/ombud/ombud/apiv1"
	"github.com/ombud/ombud/approval"
	"github.com/ombud/ombud/buildinfo"
	"github.com/ombud/ombud/contracts"
	"github.com/ombud/ombud/custody"
	"github.com/ombud/ombud/datadir"
	"github.com/ombud/ombud/internal/gate"
	"github.com/ombud/ombud/journal"
	"github.com/ombud/ombud/publish"
	"github.com/ombud/ombud/registry"
	"github.com/ombud/ombud/report"
	"github.com/ombud/ombud/review"
	"github.com/ombud/ombud/sharing"
	"github.com/ombud/ombud/store"
	"github.com/ombud/ombud/store/postgres"
	"github.com/ombud/ombud/store/sqldb"
	"github.com/ombud/ombud/store/sqlite"
	"github.com/ombud/ombud/tips"
	"github.com/ombud/ombud/tlog"
	"github.com/ombud/ombud/web"
)

// Options adjust how a deployment is opened. The zero value takes
// everything from the data directory's configuration.
type Options struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// WitnessPolicy, when not nil, replaces the policy file the
	// configuration names.
	WitnessPolicy []byte
	// BatchMaxAge, BatchMaxSize and CheckpointInterval, when set, replace
	// the configuration's.
	BatchMaxAge        time.Duration
	BatchMaxSize       uint
	CheckpointInterval time.Duration
	// MaxBodyBytes, when set, replaces server.max_body_bytes.
	MaxBodyBytes int64
	// KeeperLatency, for benchmarks, delays every call of the KEK's
	// keeper by that much, as a remote KMS would.
	KeeperLatency time.Duration
	// Build, when set, is the running build: Open logs its build entry
	// before the gateway decides anything, and fails if it cannot. The
	// status and disclosure pages show it, and /build/sbom.json serves its
	// SBOM. ombud serve sets it.
	Build *buildinfo.Running
}

// Gateway is an opened deployment.
type Gateway struct {
	Dir       *datadir.Dir
	Store     *sqldb.Store
	Log       *tlog.Log
	Journal   *journal.Journal
	Custody   *custody.Service
	Reports   *publish.Service
	Analytics *registry.Service
	Review    *review.Service
	Sharing   *sharing.Service
	// Approval keeps the quorum and the proposals of privileged
	// operations.
	Approval *approval.Service
	// Tips is the whistleblower intake; nil when [tips] names no
	// recipient.
	Tips *tips.Service
	// Contracts is the registry of procurement contracts.
	Contracts *contracts.Service
	Witnesses []web.Witness
	Registry  *prometheus.Registry
	// Recovered is what startup recovery settled: changes a crash left
	// between their reservation and their commit.
	Recovered journal.Settled
	// Build is the running build and its build entry, when Options.Build
	// was set.
	Build *web.RunningBuild

	opts   Options
	logger *slog.Logger
	api    *api.Server
	unlock func()
	// sharedGates hold the gates in the shared database (nil on the
	// embedded store, whose gates are this process's).
	sharedGates *postgres.Gates
}

// bind checks that the shared store belongs to this gateway's deployment:
// its log's origin and key, and where its log is. A store that records
// none is bound now, unless it is empty while the log is not: then it is
// not the log's store (a gateway given a new database and the shared log
// would start another deployment inside that log).
func (g *Gateway) bind(ctx context.Context, dir *datadir.Dir) error {
	place := "files"
	if u := dir.Config.Log.URL; u != "" {
		place = tlog.Place(u)
	}
	bound, err := g.Store.Bound(ctx)
	if err != nil {
		return err
	}
	if !bound {
		size, err := g.Log.Size(ctx)
		if err != nil {
			return err
		}
		ps, err := g.Store.Principals(ctx)
		if err != nil {
			return err
		}
		if size > 0 && len(ps) == 0 {
			return fmt.Errorf("%w: the log holds %d entries and this store none of its state: it is not the log's store", sqldb.ErrOtherDeployment, size)
		}
	}
	return g.Store.BindDeployment(ctx, sqldb.Deployment{Origin: dir.Signer.Name(), LogKey: dir.VerifierKey, LogPlace: place})
}

// gates returns the gates the services share: the database's when
// gateways share it.
func (g *Gateway) gates() *gate.Set {
	if g.sharedGates != nil {
		return &gate.Set{Locker: g.sharedGates}
	}
	return new(gate.Set)
}

// Each service declares the store methods it calls; any whole store
// serves them all, whichever engine it is.
var (
	_ access.Store   = store.Store(nil)
	_ registry.Store = store.Store(nil)
	_ api.Store      = store.Store(nil)
	_ custody.Store  = store.Store(nil)
	_ review.Store   = store.Store(nil)
)

// ErrLogUnwritable: the log's directory cannot be written; the gateway
// does not start (it could log nothing, so it could decide nothing).
var ErrLogUnwritable = errors.New("the transparency log's directory is not writable")

// Open opens the deployment in dir: it locks the directory, opens the
// store and the log, settles what a crash left in flight, and loads the
// access policy.
func Open(ctx context.Context, dir *datadir.Dir, o Options) (_ *Gateway, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	g := &Gateway{Dir: dir, Registry: o.Registry, opts: o, logger: o.Logger}
	storeURL := dir.Config.Storage.StoreURL
	shared := storeURL != ""
	lock := dir.Lock
	if shared && dir.Config.Log.URL != "" {
		// Gateways on a shared store and a shared log may share the
		// directory too; a log in files admits one gateway.
		lock = dir.LockShared
	}
	if g.unlock, err = lock(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			g.Close(context.WithoutCancel(ctx))
		}
	}()
	if shared {
		g.Store, err = postgres.New(ctx, postgres.Config{URL: storeURL})
		if err == nil && dir.Config.Log.URL != "" {
			// Several gateways: the gates are the database's. One
			// gateway (a log in files) keeps them in its memory.
			g.sharedGates, err = postgres.NewGates(ctx, postgres.GatesConfig{URL: storeURL})
		}
	} else {
		g.Store, err = sqlite.New(ctx, sqlite.Config{Path: dir.DBPath()})
	}
	if err != nil {
		return nil, fmt.Errorf("failed to open metadata store: %w", err)
	}
	lc := dir.Config.Log
	policy := o.WitnessPolicy
	if policy == nil && lc.WitnessPolicy != "" {
		p := lc.WitnessPolicy
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir.Path, p)
		}
		if policy, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("log.witness_policy: %w", err)
		}
	}
	logDir := dir.LogPath()
	if lc.URL == "" {
		// A log on a read-only or unwritable directory stops the start
		// with a clear message instead of failing at the first append.
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrLogUnwritable, err)
		}
		if err := tlog.Writable(logDir); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrLogUnwritable, err)
		}
	}
	cfg := tlog.Config{
		Dir: logDir, URL: lc.URL, Signer: dir.Signer, Verifier: dir.Verifier,
		BatchMaxSize: lc.BatchMaxSize, BatchMaxAge: lc.BatchMaxAge.Duration, CheckpointInterval: lc.CheckpointInterval.Duration,
		AppendTimeout: lc.AppendTimeout.Duration, MaxOutstanding: lc.MaxOutstanding,
		WitnessPolicy: policy, WitnessTimeout: lc.WitnessTimeout.Duration,
		Metrics: tlog.NewMetrics(o.Registry), Logger: o.Logger, Shared: shared,
	}
	if o.BatchMaxAge > 0 {
		cfg.BatchMaxAge = o.BatchMaxAge
	}
	if o.BatchMaxSize > 0 {
		cfg.BatchMaxSize = o.BatchMaxSize
	}
	if o.CheckpointInterval > 0 {
		cfg.CheckpointInterval = o.CheckpointInterval
	}
	if g.Log, err = tlog.New(ctx, cfg); err != nil {
		return nil, fmt.Errorf("failed to open transparency log: %w", err)
	}
	if shared {
		if err := g.bind(ctx, dir); err != nil {
			return nil, err
		}
	}
	g.Witnesses = web.WitnessesFromPolicy(policy)
	g.Journal = &journal.Journal{Store: g.Store, Log: g.Log, Key: dir.Linkage}
	if o.Build != nil {
		// Before anything is decided, recovery and the first policy
		// included: every decision after this entry was made by this
		// build (or, on a shared log, by another gateway's).
		w, err := g.Journal.Write(ctx, journal.Record{Body: o.Build.Entry()})
		if err != nil {
			return nil, fmt.Errorf("failed to log the build entry, so this gateway does not start: %w", err)
		}
		g.Build = &web.RunningBuild{Running: *o.Build, Entry: w.Index}
		o.Logger.InfoContext(ctx, "build logged", "entry", w.Index, "binary_sha256", o.Build.BinarySHA256, "version", o.Build.Version, "vcs_revision", o.Build.Revision)
	}
	if err := g.openServices(ctx, dir); err != nil {
		return nil, err
	}
	// The KEK version is the deployment's: another gateway may have
	// rotated it since this one's keyring was written.
	if err := g.Custody.SyncKeys(ctx); err != nil {
		return nil, fmt.Errorf("failed to read the key-encryption key's current version: %w", err)
	}
	// Nothing else runs yet: every change still reserved was interrupted.
	// Other gateways sharing the store may have changes in flight: only
	// those old enough that no append for them can still be running are
	// settled here, the rest by the sweep.
	settleBefore := time.Now().Add(time.Hour)
	if shared {
		settleBefore = time.Now().Add(-custody.SettleAge)
	}
	if g.Recovered, err = g.Custody.Settle(ctx, settleBefore); err != nil {
		return nil, fmt.Errorf("failed to recover changes interrupted by a crash: %w", err)
	}
	if g.Recovered.Committed+g.Recovered.Undone > 0 {
		o.Logger.InfoContext(ctx, "recovered changes interrupted by a crash", "committed", g.Recovered.Committed, "undone", g.Recovered.Undone)
	}
	if err := g.Custody.Access.StartPolicy(ctx); err != nil {
		return nil, fmt.Errorf("failed to load %s: %w", dir.PolicyPath(), err)
	}
	if g.api, err = g.newAPI(); err != nil {
		return nil, err
	}
	if err := g.Custody.ScheduleRunCloses(ctx); err != nil {
		return nil, fmt.Errorf("failed to schedule the analytic runs' time limits: %w", err)
	}
	return g, nil
}

// API returns the deployment's HTTP API, with the public site mounted.
func (g *Gateway) API() *api.Server { return g.api }

// newAPI builds the deployment's HTTP API and its public site.
func (g *Gateway) newAPI() (*api.Server, error) {
	proxies, _ := g.Dir.Config.Proxies() // checked when the configuration was loaded
	caps := Capabilities(g.Dir.Config)
	site := &web.Site{Pseudonym: g.Dir.Linkage.Pseudonym, Origin: g.Dir.Signer.Name(), VerifierKey: g.Dir.VerifierKey, Verifier: g.Dir.Verifier, Log: g.Log,
		Reports: g.Reports, Witnesses: g.Witnesses, Logger: g.logger, PublicURL: g.Dir.Config.Server.PublicURL, WitnessGrace: g.Dir.Config.Log.WitnessGrace.Duration,
		Breaches:       g.Store.Breaches,
		NoticesOverdue: g.Store.NoticesOverdue,
		Quorum:         g.Store.Quorum,
		Sessions:       g.Store,
		Systems:        g.Store.AnalyticSystems,
		Contracts:      g.Store,
		RunCounts:      g.Store.RunCounts,
		ReviewCounts:   g.Store.ReviewCounts,
		Band:           g.Dir.Config.Report.Band,
		Capabilities:   caps,
		Build:          g.Build,
		Disclosure: web.DisclosureFor(g.Dir.Config, caps, func() *access.Policy {
			if p := g.Custody.Access.Current(); p != nil {
				return p
			}
			return g.Custody.Access.Policy()
		}, g.Store.Issuers, g.Store.Recipients),
		Review:         g.Review,
		Tips:           g.Tips,
		TipIndex:       g.Store.TipIndex,
		TrustedProxies: proxies,
		Reviewers: &web.Reviewers{
			Authenticate: func(ctx context.Context, tok string) (*ombud.Principal, error) {
				return api.Authenticate(ctx, g.Store, tok)
			},
			Principal: g.Store.Principal,
			Read:      g.Custody.Read,
		}}
	// The approver pages vote and run through the API's own path, which
	// runs an approved operation through its direct route: srv is set
	// before the site serves a request.
	var srv *api.Server
	site.Approvers = &web.Approvers{
		Proposals: g.Store.Proposals,
		Proposal:  g.Store.Proposal,
		Vote: func(ctx context.Context, id string, by *ombud.Principal, approve bool) (*ombud.Proposal, *apiv1.Executed, error) {
			p, _, ex, err := srv.VoteAndRun(ctx, id, by, approve)
			return p, ex, err
		},
		Run: func(ctx context.Context, id string) (*ombud.Proposal, *apiv1.Executed, error) {
			return srv.Run(ctx, id)
		},
		Policies: func() (*access.Policy, *access.Policy, error) {
			inForce := g.Custody.Access.Current()
			if inForce == nil {
				inForce = g.Custody.Access.Policy()
			}
			file, err := g.Custody.Access.FilePolicy()
			return inForce, file, err
		},
	}
	max := g.Dir.Config.Server.MaxBodyBytes
	if g.opts.MaxBodyBytes > 0 {
		max = g.opts.MaxBodyBytes
	}
	srv, err := api.New(api.Config{
		Store: g.Store, Log: g.Log, Journal: g.Journal, Custody: g.Custody, VerifierKey: g.Dir.VerifierKey,
		MaxBodyBytes: max, Logger: g.logger, Registry: g.Registry, Reports: g.Reports, Analytics: g.Analytics, Review: g.Review, Sharing: g.Sharing, Approval: g.Approval, Tips: g.Tips, Contracts: g.Contracts, Exports: g.Dir.Config.Sharing.Enabled, Site: site.Handler(),
		WitnessGrace: g.Dir.Config.Log.WitnessGrace.Duration, Witnessed: len(g.Witnesses) > 0,
	})
	return srv, err
}

// Capabilities are the optional parts a deployment with configuration cfg
// offers: sharing when [sharing] enables exports, the whistleblower
// intake when [tips] names the oversight body's keys, and the registry of
// procurement contracts always.
func Capabilities(cfg datadir.Config) report.Capabilities {
	return report.Capabilities{Sharing: cfg.Sharing.Enabled, Tips: len(cfg.Tips.Recipients) > 0, Contracts: true}
}

// TipBatch runs the whistleblower intake's daily batch once its moment
// has come (the holder of the background lease calls it): through the
// intake, or, on a deployment whose intake was turned off, for the
// submissions it took before, which its promises say will be logged.
func (g *Gateway) TipBatch(ctx context.Context) (int, error) {
	if g.Tips != nil {
		return g.Tips.Batch(ctx)
	}
	return tips.Batch(ctx, g.Store, g.Journal, time.Now())
}

// Handler is the API's handler.
func (g *Gateway) Handler() http.Handler { return g.API().Handler() }

// BootstrapAdmin creates the first admin when there are no principals yet
// and returns its token; created is false when principals exist.
func (g *Gateway) BootstrapAdmin(ctx context.Context) (p *ombud.Principal, tok ombud.Token, w journal.Leaf, created bool, err error) {
	ps, err := g.Store.Principals(ctx)
	if err != nil || len(ps) > 0 {
		return nil, ombud.Token{}, journal.Leaf{}, false, err
	}
	p, tok, w, err = g.Custody.AddPrincipal(ctx, "admin", []ombud.Role{ombud.RoleAdmin}, "")
	if err != nil {
		return nil, ombud.Token{}, journal.Leaf{}, false, fmt.Errorf("failed to create the admin principal: %w", err)
	}
	return p, tok, w, true, nil
}

// Close stops the services, flushes the log and closes the stores, then
// unlocks the directory.
func (g *Gateway) Close(ctx context.Context) error {
	var errs []error
	// The services first: their background work uses the log and the
	// store.
	if g.Custody != nil {
		errs = append(errs, g.Custody.Close(ctx))
	}
	if g.Log != nil {
		errs = append(errs, g.Log.Close(ctx))
	}
	if g.Store != nil {
		errs = append(errs, g.Store.Close())
	}
	if g.sharedGates != nil {
		errs = append(errs, g.sharedGates.Close())
	}
	if g.Custody != nil && g.Custody.Bucket != nil {
		errs = append(errs, g.Custody.Bucket.Close())
	}
	if g.unlock != nil {
		g.unlock()
		g.unlock = nil
	}
	return errors.Join(errs...)
}
